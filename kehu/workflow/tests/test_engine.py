"""The workflow engine: every transition rule, AB backup, deadlines, versions, audit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType

from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import Attachment, AuditEntry, FileBlob
from kehu.workflow import engine
from kehu.workflow.engine import allowed_transitions, case_get, case_open, case_transition
from kehu.workflow.models import CaseEvent, DefinitionVersion, Task, TaskState, VersionStatus
from kehu.workflow.selectors import inbox_count, inbox_tasks
from kehu.workflow.tests.conftest import EFFECTS, make_absent, make_definition

pytestmark = pytest.mark.django_db


def attach(case, user):
    blob, _ = FileBlob.objects.get_or_create(sha256="a" * 64, defaults={"size": 3})
    return Attachment.objects.create(
        content_type=ContentType.objects.get_for_model(type(case)),
        object_id=str(case.pk),
        blob=blob,
        filename="a.pdf",
        mime_type="application/pdf",
        size=3,
        doc_type="other",
        uploaded_by=user,
    )


def opened(people, **data):
    data.setdefault("approver_id", people["manager"].pk)
    return case_open(actor=people["rep"], definition_key="wf_test", title="测试事项", data=data)


def to_approval(people):
    case = opened(people)
    case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
    att = attach(case, people["reviewer"])
    return case_transition(
        actor=people["reviewer"],
        case_id=case.pk,
        transition="review_pass",
        checklist={"docs": "yes", "visit": "na"},
        attachments=[att.pk],
    )


def test_open_sets_initial_state_number_and_task(wf_def, people):
    case = opened(people)
    assert case.state == "draft" and case.number.startswith("WFTEST") and case.definition_version.number >= 1
    task = Task.objects.get(case=case, state=TaskState.OPEN)
    assert task.assignee == people["rep"]
    assert (
        AuditEntry.objects.filter(
            object_type="workflow.case", object_id=str(case.pk), action="create"
        ).count()
        == 1
    )


def test_happy_path_history_and_one_audit_entry_per_transition(wf_def, people):
    case = to_approval(people)
    assert case.state == "approval"
    case = case_transition(actor=people["manager"], case_id=case.pk, transition="approve", comment="同意")
    assert case.state == "done" and case.closed_at is not None
    events = list(case.events.order_by("seq"))
    assert [e.transition for e in events] == ["submit", "review_pass", "approve"]
    assert events[1].checklist == {"docs": "yes", "visit": "na"} and len(events[1].attachment_ids) == 1
    assert events[2].comment == "同意"
    assert (
        AuditEntry.objects.filter(
            object_type="workflow.case", object_id=str(case.pk), action="transition"
        ).count()
        == 3
    )
    assert [(case.pk, "approve")] == EFFECTS
    assert not Task.objects.filter(case=case, state=TaskState.OPEN).exists()


def test_role_refused(wf_def, people):
    case = opened(people)
    # a reviewer cannot submit: the draft is not theirs → 403 (they can see nothing of it → 404)
    with pytest.raises((PermissionDenied, NotFound)):
        case_transition(actor=people["reviewer"], case_id=case.pk, transition="submit")
    # the opener holds the task but lacks the role of the transition
    people["rep"].roles.clear()
    people["rep"].__dict__.pop("_role_codes", None)
    with pytest.raises(PermissionDenied):
        case_transition(actor=people["rep"], case_id=case.pk, transition="submit")


def test_holder_of_role_without_task_gets_403(wf_def, people):
    case = opened(people)
    case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
    # the rep opened the case, so sees it, but the review is the reviewers'
    with pytest.raises(PermissionDenied):
        case_transition(actor=people["rep"], case_id=case.pk, transition="review_pass")


def test_outsider_gets_404(wf_def, people):
    case = opened(people)
    with pytest.raises(NotFound):
        case_transition(actor=people["outsider"], case_id=case.pk, transition="submit")
    with pytest.raises(NotFound):
        case_get(actor=people["outsider"], case_id=case.pk)


def test_guard_refusal_message(wf_def, people):
    case = to_approval(people)
    case.data["frozen"] = True
    case.save(update_fields=["data"])
    with pytest.raises(ValidationFailed) as exc:
        case_transition(actor=people["manager"], case_id=case.pk, transition="approve")
    assert exc.value.rule == "guard" and "冻结" in str(exc.value.message)
    assert "approve" not in [t.key for t in allowed_transitions(case, people["manager"])]


@pytest.mark.parametrize(
    "answers,rule",
    [
        ({}, "mandatory"),
        ({"docs": "no"}, "mandatory"),
        ({"docs": "na"}, "mandatory"),
        ({"docs": "maybe"}, "choices"),
    ],
)
def test_mandatory_checklist_blocks(wf_def, people, answers, rule):
    case = opened(people)
    case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
    att = attach(case, people["reviewer"])
    with pytest.raises(ValidationFailed) as exc:
        case_transition(
            actor=people["reviewer"],
            case_id=case.pk,
            transition="review_pass",
            checklist=answers,
            attachments=[att.pk],
        )
    assert exc.value.field == "checklist.docs" and exc.value.rule == rule
    case.refresh_from_db()
    assert case.state == "review" and case.events.count() == 1


def test_attachments_required_and_foreign_attachment_refused(wf_def, people):
    case = opened(people)
    case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
    with pytest.raises(ValidationFailed) as exc:
        case_transition(
            actor=people["reviewer"], case_id=case.pk, transition="review_pass", checklist={"docs": "yes"}
        )
    assert exc.value.field == "attachments" and exc.value.rule == "required"
    other = opened(people)
    foreign = attach(other, people["rep"])
    with pytest.raises(ValidationFailed) as exc:
        case_transition(
            actor=people["reviewer"],
            case_id=case.pk,
            transition="review_pass",
            checklist={"docs": "yes"},
            attachments=[foreign.pk],
        )
    assert exc.value.rule == "invalid"


def test_comment_required(wf_def, people):
    case = opened(people)
    case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
    with pytest.raises(ValidationFailed) as exc:
        case_transition(actor=people["reviewer"], case_id=case.pk, transition="send_back", comment="  ")
    assert exc.value.field == "comment" and exc.value.rule == "required"


def test_send_back_returns_with_reason_in_history(wf_def, people):
    case = opened(people)
    case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
    case = case_transition(
        actor=people["reviewer"], case_id=case.pk, transition="send_back", comment="缺营业执照"
    )
    assert case.state == "draft"
    event = case.events.get(seq=2)
    assert event.send_back and event.comment == "缺营业执照" and event.from_state == "review"
    task = Task.objects.get(case=case, state=TaskState.OPEN)
    assert task.assignee == people["rep"] and task.case_state == "draft"
    entry = AuditEntry.objects.filter(object_id=str(case.pk), action="transition").latest("seq")
    assert entry.reason == "缺营业执照" and entry.changes["send_back"] is True
    # resubmission works
    case = case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
    assert case.state == "review"


def test_segregation_of_duties(wf_def, people):
    people["reviewer"].roles.add(*people["manager"].roles.all())
    people["reviewer"].__dict__.pop("_role_codes", None)
    case = opened(people, approver_id=people["reviewer"].pk)
    case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
    att = attach(case, people["reviewer"])
    case = case_transition(
        actor=people["reviewer"],
        case_id=case.pk,
        transition="review_pass",
        checklist={"docs": "yes"},
        attachments=[att.pk],
    )
    with pytest.raises(ValidationFailed) as exc:
        case_transition(actor=people["reviewer"], case_id=case.pk, transition="approve")
    assert exc.value.rule == "guard" and "职责分离" in str(exc.value.message)


def test_default_not_preparer_covers_opener(people, db):
    definition = make_definition("wf_sod")
    definition = engine.Definition(
        **{
            **{f: getattr(definition, f) for f in ("key", "name", "states", "initial", "level")},
            "transitions": [
                engine.Transition("submit", "提交", source="draft", target="review"),
                engine.Transition(
                    "approve", "批准", source="review", target="done", guards=[engine.not_preparer()]
                ),
            ],
        }
    )
    engine.register_definition(definition)
    try:
        people["rep"].roles.add(*people["reviewer"].roles.all())
        people["rep"].__dict__.pop("_role_codes", None)
        case = case_open(actor=people["rep"], definition_key="wf_sod", title="x")
        case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
        with pytest.raises(ValidationFailed):
            case_transition(actor=people["rep"], case_id=case.pk, transition="approve")
        case = case_transition(actor=people["reviewer"], case_id=case.pk, transition="approve")
        assert case.state == "done"
    finally:
        engine.unregister_definition("wf_sod")


def test_ab_backup_routing(wf_def, people):
    case = to_approval(people)
    backup, manager = people["backup"], people["manager"]
    assert not inbox_tasks(backup).filter(case=case).exists()
    with pytest.raises((PermissionDenied, NotFound)):
        case_transition(actor=backup, case_id=case.pk, transition="approve")
    make_absent(manager)
    rows = list(inbox_tasks(backup).filter(case=case))
    assert len(rows) == 1 and rows[0].assignee == manager
    assert [t.key for t in allowed_transitions(case, backup)] == ["approve", "reject"]
    case = case_transition(actor=backup, case_id=case.pk, transition="approve", comment="代批")
    event = case.events.latest("seq")
    assert event.actor == backup and event.acting_for == manager
    entry = AuditEntry.objects.filter(object_id=str(case.pk), action="transition").latest("seq")
    assert entry.actor == backup and entry.acting_for == manager


def test_backup_not_routed_when_absence_cancelled(wf_def, people):
    case = to_approval(people)
    absence = make_absent(people["manager"])
    absence.cancelled = True
    absence.save()
    assert not inbox_tasks(people["backup"]).filter(case=case).exists()


def test_role_task_department_limited(people, db):
    base = make_definition("wf_dept")
    states = [
        engine.State("draft", "草稿"),
        engine.State("review", "审核", assignee_role="reviewer", department_limited=True),
        engine.State("done", "完成", final=True),
    ]
    engine.register_definition(
        engine.Definition(
            key="wf_dept",
            name="x",
            initial="draft",
            states=states,
            transitions=[
                engine.Transition("submit", "提交", source="draft", target="review"),
                engine.Transition("ok", "通过", source="review", target="done"),
            ],
        )
    )
    try:
        from kehu.core.tests.factories import DepartmentFactory, user_with

        del base
        other_reviewer = user_with("reviewer", department=DepartmentFactory())
        case = case_open(actor=people["rep"], definition_key="wf_dept", title="x")
        case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
        assert inbox_tasks(people["reviewer"]).filter(case=case).exists()
        assert not inbox_tasks(other_reviewer).filter(case=case).exists()
        with pytest.raises((PermissionDenied, NotFound)):
            case_transition(actor=other_reviewer, case_id=case.pk, transition="ok")
        assert case_transition(actor=people["reviewer"], case_id=case.pk, transition="ok").state == "done"
    finally:
        engine.unregister_definition("wf_dept")


def test_deadline_across_national_day_holiday():
    # 2025-10-01..08 are holidays, 2025-10-11 (Saturday) is a make-up working day
    assert engine.deadline_for(dt.date(2025, 9, 30), 3) == dt.date(2025, 10, 11)
    assert engine.deadline_for(dt.date(2025, 9, 26), 1) == dt.date(2025, 9, 28)  # Sunday make-up day


def test_task_due_uses_working_days(wf_def, people):
    from freezegun import freeze_time

    with freeze_time("2025-09-30 10:00:00+08:00"):
        case = opened(people)
        case = case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
    task = Task.objects.get(case=case, state=TaskState.OPEN)
    assert task.due == dt.date(2025, 10, 11) and case.state_due == dt.date(2025, 10, 11)


def test_stale_transition_conflict(wf_def, people):
    case = opened(people)
    case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
    with pytest.raises(Conflict):
        case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
    with pytest.raises(Conflict):
        case_transition(
            actor=people["reviewer"],
            case_id=case.pk,
            transition="send_back",
            comment="x",
            expected_state="draft",
        )


def test_unknown_transition(wf_def, people):
    case = opened(people)
    with pytest.raises(ValidationFailed) as exc:
        case_transition(actor=people["rep"], case_id=case.pk, transition="nope")
    assert exc.value.rule == "unknown"
    with pytest.raises(NotFound):
        case_transition(actor=people["rep"], case_id=999999, transition="submit")


def test_case_keeps_its_version(wf_def, people):
    old_case = opened(people)
    v1 = old_case.definition_version
    engine.register_definition(make_definition(review_label="复核"))
    new_case = opened(people)
    v2 = new_case.definition_version
    assert v2.number == v1.number + 1 and v2.status == VersionStatus.TRIAL and v2.trial_started_at
    old_case.refresh_from_db()
    assert old_case.definition_version_id == v1.pk
    case_transition(actor=people["rep"], case_id=old_case.pk, transition="submit")
    assert Task.objects.get(case=old_case, state=TaskState.OPEN).title.endswith("审核")
    case_transition(actor=people["rep"], case_id=new_case.pk, transition="submit")
    assert Task.objects.get(case=new_case, state=TaskState.OPEN).title.endswith("复核")
    # unchanged declaration: no further version
    opened(people)
    assert DefinitionVersion.objects.filter(definition__key="wf_test").count() == 2


def test_inbox_count_one_query(wf_def, people, django_assert_num_queries):
    for _ in range(3):
        opened(people)
    with django_assert_num_queries(1):
        assert inbox_count(people["rep"]) == 3
    make_absent(people["rep"])
    assert inbox_count(people["rep"]) == 3
    assert inbox_count(people["rep"].backup or people["outsider"]) == 0


def test_events_are_sequenced(wf_def, people):
    case = to_approval(people)
    assert list(CaseEvent.objects.filter(case=case).values_list("seq", flat=True)) == [1, 2]


def test_absent_backup_does_not_receive(wf_def, people):
    case = to_approval(people)
    make_absent(people["manager"])
    make_absent(people["backup"])
    assert not inbox_tasks(people["backup"]).filter(case=case).exists()
    assert engine.acting_task(case, people["backup"]) == (None, None)
