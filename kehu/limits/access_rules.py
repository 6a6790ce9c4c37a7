"""Who may do what with credit limits (R-PLT-02).

The owning sales rep sees the customer's limits, applications (request and decision) and the credit overview of
their own customers, but never the investigation (findings, analysis conclusion, attachments) nor the review cases,
which carry the statements: those are for the credit roles, finance and the general manager.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.access import Scope, department_q, register, register_scope
from kehu.core.models import User
from kehu.core.models.org import RoleCode as R
from kehu.limits.models import CreditApplication, CreditLimit, CreditReview, LitigationFlag

ALL, DEPT, OWN = Scope.ALL, Scope.DEPARTMENT, Scope.OWN

CONFIDENTIAL: dict[str, Scope] = {
    R.CREDIT_OFFICER: ALL,
    R.CREDIT_MANAGER: ALL,
    R.CREDIT_COMMITTEE: ALL,
    R.FINANCE: ALL,
    R.GENERAL_MANAGER: ALL,
}
READERS: dict[str, Scope] = {**CONFIDENTIAL, R.SALES_REP: OWN, R.SALES_MANAGER: DEPT, R.AUDITOR: ALL}

register(
    {
        "limits.limit.view": dict(READERS),
        "limits.limit.export": dict(READERS),
        "limits.application.view": dict(READERS),
        "limits.application.apply": {
            R.SALES_REP: OWN,
            R.SALES_MANAGER: DEPT,
            R.CREDIT_OFFICER: ALL,
            R.CREDIT_MANAGER: ALL,
        },
        "limits.investigation.view": dict(CONFIDENTIAL),
        "limits.investigation.edit": {R.CREDIT_OFFICER: ALL, R.CREDIT_MANAGER: ALL},
        "limits.review.view": dict(CONFIDENTIAL),
        "limits.review.open": {R.CREDIT_OFFICER: ALL, R.CREDIT_MANAGER: ALL, R.FINANCE: ALL},
        "limits.review.decide": {R.CREDIT_MANAGER: ALL, R.CREDIT_COMMITTEE: ALL, R.GENERAL_MANAGER: ALL},
        "limits.litigation.record": {
            R.CREDIT_OFFICER: ALL,
            R.CREDIT_MANAGER: ALL,
            R.FINANCE: ALL,
            R.SALES_MANAGER: DEPT,
        },
    },
    descriptions={
        "limits.limit.view": _("查看信用额度与信用总览"),
        "limits.limit.export": _("导出信用额度一览表"),
        "limits.application.view": _("查看授信申请"),
        "limits.application.apply": _("提交授信申请"),
        "limits.investigation.view": _("查看信用调查（保密）"),
        "limits.investigation.edit": _("记录信用调查"),
        "limits.review.view": _("查看信用复查（保密）"),
        "limits.review.open": _("发起信用复查"),
        "limits.review.decide": _("作出信用复查结论"),
        "limits.litigation.record": _("记录客户涉诉"),
    },
)


def _own(user: User) -> Q:
    return Q(customer__owner_id=user.pk or 0)


def _dept(user: User) -> Q:
    return department_q(user, "customer__department__", region_field="customer__region_id")


for _model in (CreditApplication, CreditLimit, CreditReview, LitigationFlag):
    register_scope(_model, own=_own, department=_dept)
