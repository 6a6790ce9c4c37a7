"""The grading app's actions. A run covers every active customer, so running, approving and reading runs are
company-wide (ALL); a customer's grade and inputs follow the customer's scope (a sales rep: own customers)."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.access import Scope, department_q, register, register_scope
from kehu.core.models.org import RoleCode as R
from kehu.customers.models import Customer
from kehu.grading.models import GradeOverride, GradingResult, InputEntry

ALL, DEPT, OWN = Scope.ALL, Scope.DEPARTMENT, Scope.OWN

register(
    {
        "grading.run.view": {
            R.SALES_MANAGER: ALL,
            R.GENERAL_MANAGER: ALL,
            R.CREDIT_MANAGER: ALL,
            R.AUDITOR: ALL,
            R.SYSADMIN: ALL,
        },
        "grading.run.start": {R.SALES_MANAGER: ALL, R.GENERAL_MANAGER: ALL},
        # the approver must also be someone other than the starter (services.run_approve)
        "grading.run.approve": {R.GENERAL_MANAGER: ALL},
        "grading.grade.view": {
            R.SALES_REP: OWN,
            R.SALES_MANAGER: DEPT,
            R.GENERAL_MANAGER: ALL,
            R.CREDIT_OFFICER: ALL,
            R.CREDIT_MANAGER: ALL,
            R.FINANCE: ALL,
            R.AUDITOR: ALL,
            R.SYSADMIN: ALL,
        },
        "grading.input.enter": {R.SALES_REP: OWN, R.SALES_MANAGER: DEPT, R.GENERAL_MANAGER: ALL},
        # R-GRD-05: a simulation scores every active customer, so it and its report are company-wide
        "grading.simulation.run": {R.SALES_MANAGER: ALL, R.GENERAL_MANAGER: ALL},
        # R-GRD-04: the approver must also be someone other than the requester (overrides.override_decide)
        "grading.override.request": {R.SALES_MANAGER: DEPT, R.GENERAL_MANAGER: ALL},
        "grading.override.approve": {R.GENERAL_MANAGER: ALL},
        "grading.override.view": {
            R.SALES_REP: OWN,
            R.SALES_MANAGER: DEPT,
            R.GENERAL_MANAGER: ALL,
            R.CREDIT_MANAGER: ALL,
            R.AUDITOR: ALL,
            R.SYSADMIN: ALL,
        },
    },
    descriptions={
        "grading.run.view": _("查看客户分级运行"),
        "grading.run.start": _("发起客户分级运行"),
        "grading.run.approve": _("批准客户分级运行结果"),
        "grading.grade.view": _("查看客户等级与评分明细"),
        "grading.input.enter": _("录入客户分级评分项"),
        "grading.simulation.run": _("运行分级模拟并查看其报告"),
        "grading.override.request": _("申请调整客户等级"),
        "grading.override.approve": _("批准客户等级调整"),
        "grading.override.view": _("查看客户等级调整"),
    },
)


def _own(prefix: str):  # type: ignore[no-untyped-def]
    def rule(u):  # type: ignore[no-untyped-def]
        pk = u.pk or 0
        return Q(**{f"{prefix}owner_id": pk}) | Q(
            **{f"{prefix}pk__in": Customer.staff.through.objects.filter(user_id=pk).values("customer_id")}
        )

    return rule


for model in (GradingResult, InputEntry, GradeOverride):
    register_scope(
        model,
        own=_own("customer__"),
        department=lambda u: department_q(u, "customer__department__", region_field="customer__region_id"),
    )
