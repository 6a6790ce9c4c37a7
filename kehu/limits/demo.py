"""Demo credit limits: applications of about twenty active demo customers taken to every stage (draft,
investigation, approval, approved — one approved below the request — and rejected), so that limits are in force;
one periodic review due and one litigation review. Amounts follow each customer's class policy (the rating when
the rating module loaded its demo ratings first, otherwise the unrated class)."""

from __future__ import annotations

from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.utils import timezone

from kehu.core.models import User
from kehu.customers.models import Customer, CustomerStatus
from kehu.limits import policies, services
from kehu.limits.models import Channel, CreditLimit, LimitStatus

PLAN = [
    "approved",
    "approved",
    "approval",
    "investigation",
    "approved_lower",
    "draft",
    "approved",
    "rejected",
]
WANTED = [Decimal("80000"), Decimal("450000"), Decimal("1500000"), Decimal("60000"), Decimal("250000")]


def _proposal(customer: Customer, i: int) -> tuple[Decimal, int, Decimal | None] | None:
    allow = services.allowance(customer)
    if allow.credit_class == "D":
        return None
    want = WANTED[i % len(WANTED)]
    term = min(60, allow.max_term_days)
    if allow.credit_class == "A":
        return want, term, want * Decimal("1.5")
    cap = allow.max_amount or Decimal("0")
    amount = min(want, cap)
    if amount <= 0:
        return None
    return amount, term, None


def _investigate_and_route(app_id: int, investigator: User) -> None:
    services.finding_save(
        actor=investigator,
        application_id=app_id,
        channel=Channel.BANK,
        findings="开户行反馈：结算正常，无不良记录。",
    )
    services.finding_save(
        actor=investigator,
        application_id=app_id,
        channel=Channel.PUBLIC_RECORDS,
        findings="国家企业信用信息公示系统：无经营异常、无行政处罚。",
    )
    services.conclusion_save(
        actor=investigator, application_id=app_id, conclusion="经营稳定，付款记录良好，建议授信。"
    )
    app = services.CreditApplication.objects.get(pk=app_id)
    policy, _v = policies.credit()
    role = policies.approver_role(policy, app.requested_amount or Decimal("0"))
    services.application_act(actor=investigator, application_id=app_id, transition=f"route_{role}")


def load_limits() -> None:
    users = {u.username: u for u in User.objects.filter(username__in=["credit1", "creditmgr"])}
    officer, manager = users.get("credit1"), users.get("creditmgr")
    if officer is None or manager is None:
        return
    customers = list(
        Customer.objects.filter(status=CustomerStatus.ACTIVE, owner__roles__code="sales_rep")
        .select_related("owner")
        .distinct()
        .order_by("pk")[:20]
    )
    for i, customer in enumerate(customers):
        if services._open_application(customer) is not None:
            continue
        proposal = _proposal(customer, i)
        if proposal is None:
            continue
        amount, term, expected = proposal
        target = PLAN[i % len(PLAN)]
        app = services.application_create(
            actor=customer.owner,
            customer_id=customer.pk,
            requested_amount=amount,
            requested_term_days=term,
            expected_sales=expected,
            reason="客户业务稳定增长，申请信用额度以支持月度采购。",
        )
        if target == "draft":
            continue
        services.application_act(actor=customer.owner, application_id=app.pk, transition="submit")
        if target == "investigation":
            continue
        policy, _v = policies.credit()
        role = policies.approver_role(policy, amount)
        investigator, approver = (manager, officer) if role == "credit_officer" else (officer, manager)
        _investigate_and_route(app.pk, investigator)
        if target == "approval":
            continue
        if target == "rejected":
            services.application_act(
                actor=approver,
                application_id=app.pk,
                transition=f"reject_{role}",
                comment="财务状况不足以支持该额度。",
            )
            continue
        services.application_act(
            actor=approver,
            application_id=app.pk,
            transition=f"approve_{role}",
            comment="同意。",
            approved_amount=(amount * Decimal("0.8")).quantize(Decimal("1"))
            if target == "approved_lower"
            else None,
        )
    limits = list(
        CreditLimit.objects.filter(status=LimitStatus.IN_FORCE).select_related("customer").order_by("pk")
    )
    if limits:
        first = limits[0]
        first.next_review_on = timezone.localdate() - relativedelta(days=3)
        first.save(update_fields=["next_review_on"])
        services.reviews_due_run()
    if len(limits) > 1:
        services.litigation_record(
            actor=officer,
            customer_id=limits[1].customer_id,
            description="被供应商起诉拖欠货款，涉案金额 35 万元。",
        )
