"""Demo data of the confidential archive: one request waiting for the credit office head and one approved for
three days (with its grant)."""

from __future__ import annotations

from kehu.core.models import User


def load_confidential() -> None:
    from kehu.confidential import services
    from kehu.confidential.models import AccessRequest
    from kehu.customers.models import Customer, CustomerStatus

    if AccessRequest.objects.exists():
        return
    users = {u.username: u for u in User.objects.filter(username__in=["sales1", "sales2", "creditmgr"])}
    if len(users) < 3:
        return
    mine = list(
        Customer.objects.filter(owner=users["sales1"], status=CustomerStatus.ACTIVE).order_by("pk")[:2]
    )
    others = list(
        Customer.objects.filter(owner=users["sales2"], status=CustomerStatus.ACTIVE).order_by("pk")[:1]
    )
    if mine:
        services.request_create(
            actor=users["sales1"],
            customer_id=mine[0].pk,
            items=["credit.statements"],
            purpose="客户要求提高订货量，需了解其近两年财务状况以便与信用管理部沟通账期。",
            period_days=5,
        )
    if others:
        req = services.request_create(
            actor=users["sales2"],
            customer_id=others[0].pk,
            items=["credit.file"],
            purpose="年度客户拜访前了解客户信用档案和评级结论。",
            period_days=7,
        )
        services.request_act(
            actor=users["creditmgr"],
            request_id=req.pk,
            transition="approve",
            days=3,
            comment="同意查阅三天，仅限本次拜访准备使用。",
        )
