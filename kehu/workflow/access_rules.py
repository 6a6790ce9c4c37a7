"""Actions of the workflow engine, the inbox and process monitoring."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.access import Scope, department_q, register, register_scope
from kehu.core.models.org import RoleCode as R

ALL, DEPT, OWN = Scope.ALL, Scope.DEPARTMENT, Scope.OWN
EVERY_ROLE = list(R)
OVERSIGHT = {R.SYSADMIN, R.PMO, R.GENERAL_MANAGER, R.AUDITOR}
MANAGERS = {R.SALES_MANAGER, R.CREDIT_MANAGER}

register(
    {
        "workflow.inbox.view": dict.fromkeys(EVERY_ROLE, OWN),
        "workflow.case.view": {
            **dict.fromkeys(OVERSIGHT, ALL),
            **dict.fromkeys(MANAGERS, DEPT),
            **{r: OWN for r in EVERY_ROLE if r not in OVERSIGHT | MANAGERS},
        },
        # Attaching evidence to a case: only those taking part in it (never the read-only auditor).
        "workflow.case.attach": {r: OWN for r in EVERY_ROLE if r != R.AUDITOR},
        "workflow.definition.view": dict.fromkeys(EVERY_ROLE, ALL),
        "workflow.definition.manage": {R.PMO: ALL, R.SYSADMIN: ALL},
        "workflow.monitoring.view": {R.PMO: ALL, R.GENERAL_MANAGER: ALL, R.SYSADMIN: ALL, R.AUDITOR: ALL},
    },
    descriptions={
        "workflow.inbox.view": _("查看待办"),
        "workflow.case.view": _("查看流程"),
        "workflow.case.attach": _("为流程上传附件"),
        "workflow.definition.view": _("查看流程定义"),
        "workflow.definition.manage": _("申请流程定义转正"),
        "workflow.monitoring.view": _("流程监控"),
    },
)


def _case_own(user) -> Q:  # type: ignore[no-untyped-def]
    from kehu.core.models import Role
    from kehu.workflow.models import CaseEvent, Task
    from kehu.workflow.selectors import inbox_q

    # Tasks that are or were the user's own, role tasks not limited to a department, and (through the inbox's
    # rule) open tasks of the user's roles in their department and of absent colleagues the user backs up now.
    tasks = Task.objects.filter(
        Q(assignee=user)
        | Q(escalated_to=user)
        | Q(
            assignee__isnull=True,
            department__isnull=True,
            assignee_role__in=Role.objects.filter(users=user).values("code"),
        )
        | inbox_q(user)
    ).values("case_id")
    return (
        Q(opened_by=user) | Q(pk__in=tasks) | Q(pk__in=CaseEvent.objects.filter(actor=user).values("case_id"))
    )


def _register_scopes() -> None:
    from kehu.workflow.models import Case

    register_scope(Case, own=_case_own, department=lambda u: department_q(u, "department__"))


_register_scopes()
