"""The approval case of a policy change, through the workflow engine: propose → PMO review → approval."""

from __future__ import annotations

import datetime as dt

import pytest

from kehu.core.errors import PermissionDenied, ValidationFailed
from kehu.core.policies import policy_get
from kehu.core.policies.models import PolicyStatus
from kehu.core.policies.services import policy_propose, today
from kehu.core.policies.tests.sample import Sample
from kehu.core.tests.factories import user_with

engine = pytest.importorskip("kehu.workflow.engine")

pytestmark = pytest.mark.django_db


def propose(actor, **kwargs):
    values = Sample(review_days=kwargs.pop("review_days", 9)).model_dump(mode="json")
    return policy_propose(
        actor=actor,
        key="test.sample",
        values=values,
        effective_from=kwargs.pop("effective_from", today() + dt.timedelta(days=1)),
        reason="调整审核时限",
        **kwargs,
    )


@pytest.fixture
def people():
    return {
        "proposer": user_with("credit_manager"),
        "pmo": user_with("pmo"),
        "gm": user_with("general_manager"),
    }


def test_propose_review_approve(people):
    v = propose(people["proposer"])
    assert v.case_id and v.status == PolicyStatus.PENDING
    case = engine.case_get(actor=people["pmo"], case_id=v.case_id)
    assert case.state == "review" and case.data["version_id"] == v.pk
    assert [t.key for t in engine.allowed_transitions(case, people["proposer"])] == []
    with pytest.raises(ValidationFailed):  # the impact check is mandatory
        engine.case_transition(actor=people["pmo"], case_id=case.pk, transition="review_pass", checklist={})
    engine.case_transition(
        actor=people["pmo"], case_id=case.pk, transition="review_pass", checklist={"impact": "yes"}
    )
    case.refresh_from_db()
    assert case.state == "approval"
    assert "approve" in [t.key for t in engine.allowed_transitions(case, people["gm"])]
    engine.case_transition(actor=people["gm"], case_id=case.pk, transition="approve")
    v.refresh_from_db()
    assert v.status == PolicyStatus.FORMAL and v.approver == people["gm"]
    assert policy_get("test.sample", at=v.effective_from).version_id == v.pk


def test_proposer_cannot_approve_own_change(people):
    gm2 = user_with("general_manager")
    v = propose(people["gm"])
    engine.case_transition(
        actor=people["pmo"], case_id=v.case_id, transition="review_pass", checklist={"impact": "yes"}
    )
    case = engine.case_get(actor=people["gm"], case_id=v.case_id)
    assert "approve" not in [t.key for t in engine.allowed_transitions(case, people["gm"])]
    with pytest.raises((ValidationFailed, PermissionDenied)):
        engine.case_transition(actor=people["gm"], case_id=v.case_id, transition="approve")
    v.refresh_from_db()
    assert v.status == PolicyStatus.PENDING
    engine.case_transition(actor=gm2, case_id=v.case_id, transition="approve")
    v.refresh_from_db()
    assert v.status == PolicyStatus.FORMAL and v.approver == gm2


def test_trial_approval(people):
    v = propose(people["proposer"], trial=True, effective_from=today())
    engine.case_transition(
        actor=people["pmo"], case_id=v.case_id, transition="review_pass", checklist={"impact": "yes"}
    )
    engine.case_transition(actor=people["gm"], case_id=v.case_id, transition="approve")
    v.refresh_from_db()
    assert v.status == PolicyStatus.TRIAL
    assert policy_get("test.sample").number == v.number


def test_send_back_and_reject(people):
    v = propose(people["proposer"])
    with pytest.raises(ValidationFailed):
        engine.case_transition(
            actor=people["pmo"], case_id=v.case_id, transition="send_back"
        )  # comment needed
    engine.case_transition(
        actor=people["pmo"], case_id=v.case_id, transition="send_back", comment="请补充依据"
    )
    v.refresh_from_db()
    assert v.status == PolicyStatus.DRAFT
    engine.case_transition(actor=people["proposer"], case_id=v.case_id, transition="submit", comment="已补充")
    v.refresh_from_db()
    assert v.status == PolicyStatus.PENDING
    engine.case_transition(actor=people["pmo"], case_id=v.case_id, transition="reject", comment="不同意")
    v.refresh_from_db()
    assert v.status == PolicyStatus.RETIRED and v.retire_reason == "不同意"
    assert policy_get("test.sample", at=v.effective_from).number == 1


def test_case_steps_from_the_version_page(client, people, django_assert_max_num_queries):
    from django.urls import reverse

    v = propose(people["proposer"])
    url = reverse("policy_version", args=["test.sample", v.number])
    action = reverse("policy_case_action", args=["test.sample", v.number])
    client.force_login(people["proposer"])
    body = client.get(url).content.decode()
    assert 'id="case-panel"' in body and 'data-action="review_pass"' not in body
    client.force_login(people["pmo"])
    with django_assert_max_num_queries(30):
        body = client.get(url).content.decode()
    assert 'data-action="review_pass"' in body
    resp = client.post(action, {"transition": "review_pass", "state": "review"}, follow=True)
    assert "必填检查项" in resp.content.decode()  # refused: the impact check is mandatory
    client.post(action, {"transition": "review_pass", "state": "review", "check_impact": "yes"})
    client.force_login(people["gm"])
    assert 'data-action="approve"' in client.get(url).content.decode()
    client.post(action, {"transition": "approve", "state": "approval"})
    v.refresh_from_db()
    assert v.status == PolicyStatus.FORMAL
    resp = client.post(action, {"transition": "approve", "state": "approval"}, follow=True)
    assert resp.status_code == 200  # stale: shown as a message, nothing changes
