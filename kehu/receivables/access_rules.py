"""The receivables module's actions (R-PLT-02). Every record is scoped through its customer: a sales rep sees the
ledger, exposure and collections of the customers they own or follow, a sales manager those of the department."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.access import Scope, department_q, register, register_scope
from kehu.core.models import User
from kehu.core.models.org import RoleCode as R
from kehu.customers.models import Customer
from kehu.receivables.models import (
    CollectionAlert,
    CollectionRecord,
    CollectionReport,
    CustomerExposure,
    Deposit,
    Entry,
    WriteOff,
)

ALL, DEPT, OWN = Scope.ALL, Scope.DEPARTMENT, Scope.OWN

CREDIT_ALL: dict[str, Scope] = {
    R.CREDIT_OFFICER: ALL,
    R.CREDIT_MANAGER: ALL,
    R.CREDIT_COMMITTEE: ALL,
    R.FINANCE: ALL,
    R.GENERAL_MANAGER: ALL,
}
READERS: dict[str, Scope] = {R.SALES_REP: OWN, R.SALES_MANAGER: DEPT, **CREDIT_ALL, R.AUDITOR: ALL}

register(
    {
        "receivables.view": READERS,
        "receivables.exposure": READERS,
        "receivables.ageing": READERS,
        "receivables.post": {R.FINANCE: ALL, R.CREDIT_OFFICER: ALL, R.CREDIT_MANAGER: ALL},
        "receivables.import": {R.FINANCE: ALL},
        "receivables.deposit": {R.FINANCE: ALL, R.CREDIT_OFFICER: ALL, R.CREDIT_MANAGER: ALL},
        "receivables.collect": {
            R.SALES_REP: OWN,
            R.SALES_MANAGER: DEPT,
            R.CREDIT_OFFICER: ALL,
            R.CREDIT_MANAGER: ALL,
            R.FINANCE: ALL,
        },
        # 收款异样报告表 and 问题帐款报告书 belong to the confidential credit file.
        "receivables.report.view": {**CREDIT_ALL, R.AUDITOR: ALL},
        "receivables.report.create": {R.CREDIT_OFFICER: ALL, R.CREDIT_MANAGER: ALL, R.FINANCE: ALL},
        "receivables.writeoff.view": {**CREDIT_ALL, R.AUDITOR: ALL},
        "receivables.writeoff.request": {R.CREDIT_OFFICER: ALL, R.CREDIT_MANAGER: ALL, R.FINANCE: ALL},
        "receivables.check": {R.CREDIT_MANAGER: ALL, R.FINANCE: ALL, R.SYSADMIN: ALL},
    },
    descriptions={
        "receivables.view": _("查看应收台账"),
        "receivables.exposure": _("查看信用占用"),
        "receivables.ageing": _("查看账龄分析"),
        "receivables.post": _("登记发票、收款、红字发票、预收款与冲销"),
        "receivables.import": _("从 Excel 导入应收台账"),
        "receivables.deposit": _("登记保证金、担保、抵押与信用保险"),
        "receivables.collect": _("登记催收记录与付款承诺"),
        "receivables.report.view": _("查看收款异样报告表与问题帐款报告书"),
        "receivables.report.create": _("填写收款异样报告表与问题帐款报告书"),
        "receivables.writeoff.view": _("查看坏账核销"),
        "receivables.writeoff.request": _("申请坏账核销"),
        "receivables.check": _("核对信用占用"),
    },
)


def _own(user: User) -> Q:
    pk = user.pk or 0
    return Q(customer__owner_id=pk) | Q(
        customer_id__in=Customer.staff.through.objects.filter(user_id=pk).values("customer_id")
    )


def _dept(user: User) -> Q:
    return department_q(user, "customer__department__", region_field="customer__region_id")


for _model in (
    Entry,
    CustomerExposure,
    Deposit,
    CollectionRecord,
    CollectionAlert,
    CollectionReport,
    WriteOff,
):
    register_scope(_model, own=_own, department=_dept)
