"""Reminders before a deadline and escalation to the manager after it."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from kehu.core.models import AuditEntry
from kehu.core.tests.factories import user_with
from kehu.workflow.engine import case_open, case_transition
from kehu.workflow.jobs import remind_and_escalate
from kehu.workflow.models import Task, TaskKind, TaskState
from kehu.workflow.selectors import inbox_tasks

pytestmark = pytest.mark.django_db


def test_periodic_declared():
    from kehu.workflow.periodic import PERIODIC

    assert (
        PERIODIC[0]["func"] == "kehu.workflow.jobs.remind_and_escalate" and PERIODIC[0]["every"] == "hourly"
    )


def test_remind_then_escalate_to_department_head(wf_def, people):
    head = user_with("general_manager")
    people["dept"].head = head
    people["dept"].save()
    with freeze_time("2025-09-29 09:00:00+08:00"):  # Monday; 3 working days across the National Day holiday
        case = case_open(
            actor=people["rep"],
            definition_key="wf_test",
            title="x",
            data={"approver_id": people["manager"].pk},
        )
        case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
    task = Task.objects.get(case=case, state=TaskState.OPEN)
    assert str(task.due) == "2025-10-10"
    with freeze_time(
        "2025-10-05 09:00:00+08:00"
    ):  # holiday: the next working day (10-09) is before the due date
        assert remind_and_escalate() == {"reminded": 0, "escalated": 0}
    with freeze_time("2025-10-09 09:00:00+08:00"):  # one working day before
        assert remind_and_escalate() == {"reminded": 1, "escalated": 0}
        assert remind_and_escalate() == {"reminded": 0, "escalated": 0}
    with freeze_time("2025-10-10 18:00:00+08:00"):  # due today: not overdue
        assert remind_and_escalate()["escalated"] == 0
    with freeze_time("2025-10-11 09:00:00+08:00"):  # Saturday make-up working day = 1 working day after due
        assert remind_and_escalate()["escalated"] == 1
    task.refresh_from_db()
    # a role task: the head of the case's department is the manager
    assert task.reminded_at and task.escalated_to == head


def test_escalation_of_personal_task(wf_def, people):
    head = user_with("general_manager")
    people["dept"].head = head
    people["dept"].save()
    with freeze_time("2025-06-02 09:00:00+08:00"):
        case = case_open(
            actor=people["rep"],
            definition_key="wf_test",
            title="x",
            data={"approver_id": people["manager"].pk},
        )
        case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
    with freeze_time("2025-06-16 09:00:00+08:00"):
        result = remind_and_escalate()
    assert result["escalated"] == 1
    task = Task.objects.get(case=case, kind=TaskKind.ACTION, state=TaskState.OPEN)
    assert task.escalated_to == head and task.escalated_at
    esc = Task.objects.get(kind=TaskKind.ESCALATION, escalation_of=task)
    assert esc.assignee == head and inbox_tasks(head).filter(pk=esc.pk).exists()
    assert AuditEntry.objects.filter(object_type="workflow.task", object_id=str(task.pk)).count() == 1
    with freeze_time("2025-06-17 09:00:00+08:00"):
        assert remind_and_escalate()["escalated"] == 0  # once per task
