"""Who may do what in the onboarding review (R-PLT-02) and the confidentiality of review content (R-ONB-06).

Review content is visible to the review team (reviewer, and the credit officers who take the risk assessment),
the owning sales rep and management (the sales manager of the customer's department, the credit manager, the
general manager). Nobody else: not the read-only auditor, not the system administrator, not another region's rep.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.access import Scope, department_q, register, register_scope
from kehu.core.models import User
from kehu.core.models.org import RoleCode as R
from kehu.onboarding.models import Qualification, Review, ReviewerQualification, TrainingRecord

ALL, DEPT, OWN = Scope.ALL, Scope.DEPARTMENT, Scope.OWN

REVIEW_READERS: dict[str, Scope] = {
    R.REVIEWER: ALL,
    R.CREDIT_OFFICER: ALL,
    R.CREDIT_MANAGER: ALL,
    R.GENERAL_MANAGER: ALL,
    R.SALES_MANAGER: DEPT,
    R.SALES_REP: OWN,
}

register(
    {
        "onboarding.review.view": dict(REVIEW_READERS),
        "onboarding.review.export": {k: v for k, v in REVIEW_READERS.items() if k != R.SALES_REP},
        "onboarding.review.apply": {R.SALES_REP: OWN, R.SALES_MANAGER: DEPT},
        # evidence files on a review: those taking part in it
        "onboarding.review.attach": dict(REVIEW_READERS),
        "onboarding.requal.open": {
            R.REVIEWER: ALL,
            R.CREDIT_MANAGER: ALL,
            R.GENERAL_MANAGER: ALL,
            R.SALES_MANAGER: DEPT,
        },
        "onboarding.report.view": {
            R.REVIEWER: ALL,
            R.CREDIT_MANAGER: ALL,
            R.GENERAL_MANAGER: ALL,
            R.SALES_MANAGER: DEPT,
        },
    },
    descriptions={
        "onboarding.review.view": _("查看客户审核（保密）"),
        "onboarding.review.export": _("导出客户审核一览表"),
        "onboarding.review.apply": _("提交客户审核申请"),
        "onboarding.review.attach": _("为客户审核上传资料"),
        "onboarding.requal.open": _("发起客户复审"),
        "onboarding.report.view": _("客户审核报表"),
    },
)

# Reviewer management (R-ONB-07): the general manager and the system administrator manage everyone's qualifications
# and training records, the credit manager those of their own department; reviewers and credit officers see their
# own records and their own performance figures.
register(
    {
        "onboarding.reviewer.view": {
            R.GENERAL_MANAGER: ALL,
            R.SYSADMIN: ALL,
            R.AUDITOR: ALL,
            R.CREDIT_MANAGER: DEPT,
            R.REVIEWER: OWN,
            R.CREDIT_OFFICER: OWN,
        },
        "onboarding.reviewer.manage": {R.GENERAL_MANAGER: ALL, R.SYSADMIN: ALL, R.CREDIT_MANAGER: DEPT},
        "onboarding.reviewer.report": {
            R.GENERAL_MANAGER: ALL,
            R.CREDIT_MANAGER: DEPT,
            R.REVIEWER: OWN,
            R.CREDIT_OFFICER: OWN,
        },
    },
    descriptions={
        "onboarding.reviewer.view": _("查看审核员资质与培训记录"),
        "onboarding.reviewer.manage": _("管理审核员资质与培训记录"),
        "onboarding.reviewer.report": _("审核员绩效报告"),
    },
)


def _customer_q(prefix: str) -> tuple[Callable[[User], Q], Callable[[User], Q]]:
    def own(user: User) -> Q:
        return Q(**{f"{prefix}owner_id": user.pk or 0})

    def dept(user: User) -> Q:
        return department_q(user, f"{prefix}department__", region_field=f"{prefix}region_id")

    return own, dept


_own, _dept = _customer_q("customer__")
register_scope(Review, own=_own, department=_dept)
register_scope(Qualification, own=_own, department=_dept)


def _person_own(user: User) -> Q:
    return Q(user_id=user.pk or 0)


def _person_dept(user: User) -> Q:
    return department_q(user, "user__department__")


register_scope(ReviewerQualification, own=_person_own, department=_person_dept)
register_scope(TrainingRecord, own=_person_own, department=_person_dept)
