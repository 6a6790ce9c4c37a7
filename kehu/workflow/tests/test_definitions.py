"""Definition versions: trial minimum and extension, approval routed by reach (single vs cross-department L3)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kehu.core.models import AuditEntry
from kehu.core.tests.factories import DepartmentFactory, user_with
from kehu.workflow import engine
from kehu.workflow.definitions import definition_version_submit, trial_status
from kehu.workflow.engine import case_open, case_transition
from kehu.workflow.models import DefinitionVersion, Task, TaskKind, TaskState, VersionStatus

pytestmark = pytest.mark.django_db


def simple_definition(
    key: str, *, level: str, departments: list[str], label: str = "处理", owner_user: str = ""
) -> engine.Definition:
    return engine.Definition(
        key=key,
        name=f"流程{key}",
        level=level,
        departments=departments,
        owner_role="general_manager",
        owner_user=owner_user,
        initial="draft",
        states=[engine.State("draft", label), engine.State("done", "完成", final=True)],
        transitions=[engine.Transition("finish", "完成", source="draft", target="done")],
    )


@pytest.fixture
def two_versions(request):
    """A definition with a formal v1 and a trial v2, cleaned up afterwards."""
    made = []

    def make(key: str, **kwargs):
        engine.register_definition(simple_definition(key, **kwargs))
        v1 = engine.sync_definition(key)
        engine.register_definition(simple_definition(key, label="处理（新）", **kwargs))
        v2 = engine.sync_definition(key)
        made.append(key)
        return v1, v2

    yield make
    for key in made:
        engine.unregister_definition(key)


def age(version: DefinitionVersion, days: int) -> None:
    DefinitionVersion.objects.filter(pk=version.pk).update(
        trial_started_at=timezone.now() - dt.timedelta(days=days)
    )
    version.refresh_from_db()


def test_first_version_formal_later_trial(two_versions):
    v1, v2 = two_versions("wf_v", level="L2", departments=["quality"])
    assert v1.status == VersionStatus.FORMAL and v1.formal_at
    assert v2.status == VersionStatus.TRIAL and v2.number == 2
    assert engine.current_version("wf_v") == v2
    assert AuditEntry.objects.filter(object_type="workflow.definitionversion", object_id=str(v2.pk)).exists()


def test_trial_minimum_and_extension(two_versions):
    _v1, v2 = two_versions("wf_t", level="L2", departments=["quality"])
    status = trial_status(v2)
    assert not status.met and status.min_days == 30 and status.min_cases == 1
    age(v2, 31)
    status = trial_status(v2)
    assert status.extended and not status.met  # days passed, but no case ran: trial extended
    user = user_with("pmo")
    case_open(actor=user, definition_key="wf_t", title="x")
    status = trial_status(v2)
    assert status.met and not status.extended and status.cases_run == 1


def test_submit_refused_before_trial_minimum(two_versions):
    _v1, v2 = two_versions("wf_early", level="L2", departments=["quality"])
    pmo = user_with("pmo")
    with pytest.raises(ValidationFailed) as exc:
        definition_version_submit(actor=pmo, version_id=v2.pk)
    assert exc.value.rule == "trial_minimum"
    with pytest.raises(PermissionDenied):
        definition_version_submit(actor=user_with("sales_rep"), version_id=v2.pk)


def test_single_department_route_head_approves_pmo_copied(two_versions):
    head = user_with("quality_engineer")
    DepartmentFactory(kind="quality", head=head)
    v1, v2 = two_versions("wf_single", level="L2", departments=["quality"])
    pmo, pmo2 = user_with("pmo"), user_with("pmo")
    case_open(actor=pmo, definition_key="wf_single", title="试运行")
    age(v2, 40)
    case = definition_version_submit(actor=pmo, version_id=v2.pk, comment="申请转正")
    assert case.state == "dept_approval"
    task = Task.objects.get(case=case, state=TaskState.OPEN, kind=TaskKind.ACTION)
    assert task.assignee == head
    copy = Task.objects.get(case=case, kind=TaskKind.COPY)
    assert copy.assignee_role == "pmo" and copy.state == TaskState.OPEN
    from kehu.workflow.selectors import inbox_tasks

    assert inbox_tasks(pmo2).filter(pk=copy.pk).exists()
    with pytest.raises(ValidationFailed):  # mandatory checklist item
        case_transition(actor=head, case_id=case.pk, transition="approve")
    case = case_transition(
        actor=head, case_id=case.pk, transition="approve", checklist={"trial_reviewed": "yes"}
    )
    assert case.state == "approved"
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v2.status == VersionStatus.FORMAL and v2.approved_by == head and v1.status == VersionStatus.RETIRED


def test_cross_department_l3_route_cosign_review_owner(two_versions):
    h1, h2 = user_with("quality_engineer"), user_with("credit_manager")
    DepartmentFactory(kind="quality", head=h1)
    DepartmentFactory(kind="credit", head=h2)
    owner = user_with("general_manager")
    _v1, v2 = two_versions(
        "wf_cross", level="L3", departments=["quality", "credit"], owner_user=owner.username
    )
    pmo, reviewer = user_with("pmo"), user_with("pmo")
    case_open(actor=pmo, definition_key="wf_cross", title="试运行")
    age(v2, 40)
    case = definition_version_submit(actor=pmo, version_id=v2.pk)
    assert case.state == "cosign"
    signers = set(Task.objects.filter(case=case, state=TaskState.OPEN).values_list("assignee_id", flat=True))
    assert signers == {h1.pk, h2.pk}
    case = case_transition(actor=h1, case_id=case.pk, transition="cosign", comment="同意")
    assert case.state == "cosign"  # waits for every participating head
    with pytest.raises((PermissionDenied, Conflict)):
        case_transition(actor=h1, case_id=case.pk, transition="cosign")
    case = case_transition(actor=h2, case_id=case.pk, transition="cosign")
    assert case.state == "pmo_review"
    with pytest.raises(ValidationFailed):  # the submitter cannot review their own request
        case_transition(actor=pmo, case_id=case.pk, transition="review_pass", checklist={"controls": "yes"})
    case = case_transition(
        actor=reviewer, case_id=case.pk, transition="review_pass", checklist={"controls": "yes"}
    )
    assert case.state == "owner_approval"
    assert Task.objects.get(case=case, state=TaskState.OPEN).assignee == owner
    case = case_transition(actor=owner, case_id=case.pk, transition="owner_approve")
    v2.refresh_from_db()
    assert case.state == "approved" and v2.status == VersionStatus.FORMAL
    assert case.events.filter(transition="cosign").count() == 2


def test_cross_route_send_back_and_resubmit(two_versions):
    h1, h2 = user_with("quality_engineer"), user_with("credit_manager")
    DepartmentFactory(kind="quality", head=h1)
    DepartmentFactory(kind="credit", head=h2)
    _v1, v2 = two_versions("wf_cross2", level="L3", departments=["quality", "credit"])
    pmo = user_with("pmo")
    case_open(actor=pmo, definition_key="wf_cross2", title="试运行")
    age(v2, 40)
    case = definition_version_submit(actor=pmo, version_id=v2.pk)
    case = case_transition(actor=h2, case_id=case.pk, transition="send_back", comment="控制点不清")
    assert case.state == "draft"
    assert not Task.objects.filter(case=case, state=TaskState.OPEN, assignee=h1).exists()
    case = case_transition(actor=pmo, case_id=case.pk, transition="submit_cosign")
    assert case.state == "cosign"


def test_two_processes_may_not_share_a_case_number_prefix():
    from kehu.workflow.engine import Definition, State, register_definition, unregister_definition

    def simple(key: str, prefix: str = "") -> Definition:
        return Definition(
            key=key, name=key, states=[State("a", "A")], transitions=[], initial="a", number_prefix=prefix
        )

    register_definition(simple("long_process_name_one"))
    try:
        with pytest.raises(ValueError, match="LONGPROCESSN"):
            register_definition(simple("long_process_name_two"))
        register_definition(simple("long_process_name_two", prefix="LPN2"))
        assert engine.case_prefix(engine.get_definition("long_process_name_two")) == "LPN2"
    finally:
        unregister_definition("long_process_name_one")
        unregister_definition("long_process_name_two")
