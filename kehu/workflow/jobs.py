"""Reminders before a task's deadline and escalation to the assignee's manager after it (R-PLT-08).

Policy "workflow.reminders": ``remind_days_before`` working days before the due date the task is marked reminded
(the inbox shows it; the notification service picks reminded tasks up); ``escalate_after_days`` working days after
the due date a supervision task (督办) goes to the head of the assignee's department (for a role task: the case's
department), once per task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import audit
from kehu.workflow.engine import deadline_for
from kehu.workflow.models import Task, TaskKind, TaskState
from kehu.workflow.policies import reminder_policy

ACTIVE_KINDS = [TaskKind.ACTION, TaskKind.COSIGN]


def _manager_of(task: Task) -> Any:
    dept = None
    if task.assignee_id and task.assignee is not None and task.assignee.department_id:
        dept = task.assignee.department
    elif task.department_id:
        dept = task.department
    elif task.case_id and task.case is not None and task.case.department_id:
        dept = task.case.department
    while dept is not None:
        if dept.head_id and dept.head_id != task.assignee_id:
            return dept.head
        dept = dept.parent
    return None


def remind_and_escalate(progress: Callable[[int, int, str], None] | None = None) -> dict[str, int]:
    """Mark due-soon tasks reminded and escalate overdue ones. Safe to run repeatedly (each happens once)."""
    policy, policy_version = reminder_policy()
    today = timezone.localdate()
    now = timezone.now()
    open_tasks = Task.objects.filter(state=TaskState.OPEN, kind__in=ACTIVE_KINDS, due__isnull=False)
    remind_until = deadline_for(today, policy.remind_days_before) if policy.remind_days_before else today
    with transaction.atomic():
        due_soon = open_tasks.filter(reminded_at__isnull=True, due__gte=today, due__lte=remind_until)
        reminded_ids = list(due_soon.values_list("pk", flat=True)[:10_000])
        reminded = Task.objects.filter(pk__in=reminded_ids).update(reminded_at=now)
        if reminded:
            audit.record(
                actor=None,
                action="other",
                object_type="workflow.task",
                object_repr=f"reminders: {reminded}",
                changes={"reminded": reminded_ids[:500], "count": reminded},
                reason="workflow.remind_and_escalate",
                policy_version=policy_version,
            )
    candidates = list(
        open_tasks.filter(escalated_at__isnull=True, due__lt=today)
        .select_related("assignee__department__head", "department__head", "case__department__head")
        .order_by("due", "pk")
    )
    escalated = 0
    total = len(candidates)
    for i, task in enumerate(candidates, 1):
        if deadline_for(task.due, policy.escalate_after_days) > today:  # type: ignore[arg-type]
            continue
        with transaction.atomic():
            locked = (
                Task.objects.select_for_update()
                .filter(pk=task.pk, escalated_at__isnull=True, state=TaskState.OPEN)
                .first()
            )
            if locked is None:
                continue
            manager = _manager_of(task)
            locked.escalated_at = now
            locked.escalated_to = manager
            locked.save(update_fields=["escalated_at", "escalated_to"])
            if manager is not None:
                Task.objects.create(
                    case_id=task.case_id,
                    kind=TaskKind.ESCALATION,
                    case_state=task.case_state,
                    title=(_("督办：%(title)s（%(due)s到期）") % {"title": task.title, "due": task.due})[
                        :300
                    ],
                    assignee=manager,
                    due=today,
                    created_at=now,
                    escalation_of=locked,
                    department=task.department,
                )
            audit.record(
                actor=None,
                action="update",
                obj=locked,
                changes={"escalated_to": [None, manager.pk if manager else None]},
                reason=_("待办超期督办"),
                policy_version=policy_version,
            )
            escalated += 1
        if progress is not None:
            progress(i, total, _("督办"))
    return {"reminded": reminded, "escalated": escalated}
