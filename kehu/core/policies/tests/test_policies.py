"""Policy resolution at dates, trial/formal rules, validation, propose/approve/retire, pages and API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from pydantic import BaseModel, Field

from kehu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kehu.core.models import AuditEntry
from kehu.core.policies import policy_get, policy_value_for_audit, register_policy_type
from kehu.core.policies.models import PolicyStatus, PolicyVersion
from kehu.core.policies.registry import get_type
from kehu.core.policies.services import (
    apply_approval,
    apply_rejection,
    clear_cache,
    policy_propose,
    policy_retire,
    today,
)
from kehu.core.policies.tests.sample import Sample
from kehu.core.tests.factories import user_with

pytestmark = pytest.mark.django_db

D = dt.date


def version(key: str, number: int, status: str, effective: dt.date, **values) -> PolicyVersion:
    policy_get(key)  # make sure v1 exists
    return PolicyVersion.objects.create(
        type_key=key,
        number=number,
        status=status,
        effective_from=effective,
        values={"review_days": 5, **values},
    )


# --- resolution -------------------------------------------------------------------------------------------------


def test_default_is_version_one_formal():
    pv = policy_get("test.sample", at=D(2026, 5, 1))
    v1 = PolicyVersion.objects.get(type_key="test.sample", number=1)
    assert (pv.version_id, pv.number, pv.status) == (v1.pk, 1, "formal")
    assert v1.author is None and v1.effective_from == D(2000, 1, 1)
    assert pv.values.review_days == 5
    assert isinstance(pv.values, Sample)
    assert policy_value_for_audit(pv) == str(v1.pk)


@pytest.mark.parametrize(
    ("key", "rows", "at", "expected"),
    [
        # formal beats trial on the same effective date
        ("test.sample", [(2, "trial", D(2026, 3, 1)), (3, "formal", D(2026, 3, 1))], D(2026, 3, 5), 3),
        ("test.sample", [(2, "formal", D(2026, 3, 1)), (3, "trial", D(2026, 3, 1))], D(2026, 3, 5), 2),
        # a later trial applies where trials are allowed ...
        ("test.sample", [(2, "formal", D(2026, 3, 1)), (3, "trial", D(2026, 4, 1))], D(2026, 4, 2), 3),
        # ... and is ignored where they are not
        ("test.notrial", [(2, "formal", D(2026, 3, 1)), (3, "trial", D(2026, 4, 1))], D(2026, 4, 2), 2),
        # before its effective date a version does not apply
        ("test.sample", [(2, "formal", D(2026, 3, 1))], D(2026, 2, 28), 1),
        ("test.sample", [(2, "formal", D(2026, 3, 1))], D(2026, 3, 1), 2),
        # retired, draft and pending versions never apply
        ("test.sample", [(2, "retired", D(2026, 3, 1))], D(2026, 3, 5), 1),
        ("test.sample", [(2, "draft", D(2026, 3, 1)), (3, "pending", D(2026, 3, 1))], D(2026, 3, 5), 1),
        # the latest effective date wins whatever the version numbers
        ("test.sample", [(2, "formal", D(2026, 6, 1)), (3, "formal", D(2026, 3, 1))], D(2026, 7, 1), 2),
        ("test.sample", [(2, "formal", D(2026, 6, 1)), (3, "formal", D(2026, 3, 1))], D(2026, 4, 1), 3),
    ],
)
def test_resolution_table(key, rows, at, expected):
    for number, status, effective in rows:
        version(key, number, status, effective, review_days=number * 10)
    pv = policy_get(key, at=at)
    assert pv.number == expected
    if expected > 1:
        assert pv.values.review_days == expected * 10


def test_cache_sees_writes():
    assert policy_get("test.sample", at=D(2026, 3, 5)).number == 1
    version("test.sample", 2, "formal", D(2026, 3, 1))
    assert policy_get("test.sample", at=D(2026, 3, 5)).number == 2
    PolicyVersion.objects.filter(type_key="test.sample", number=2).update(status="retired")
    clear_cache()
    assert policy_get("test.sample", at=D(2026, 3, 5)).number == 1


def test_registration_idempotent_and_conflicting():
    again = register_policy_type("test.sample", label="x", schema=Sample, default=Sample(), allows_trial=True)
    assert again is get_type("test.sample")

    class Other(BaseModel):
        x: int = Field(default=1)

    with pytest.raises(ValueError, match="different schema"):
        register_policy_type("test.sample", label="x", schema=Other, default=Other(), allows_trial=True)


def test_platform_retention_declared():
    pv = policy_get("platform.retention")
    assert pv.values.audit_years == 10


# --- propose ----------------------------------------------------------------------------------------------------


def good_values(**changes):
    values = Sample().model_dump(mode="json")
    values.update(changes)
    return values


@pytest.fixture
def pmo():
    return user_with("pmo")


@pytest.fixture
def gm():
    return user_with("general_manager")


def test_propose_creates_draft_and_audits(pmo):
    v = policy_propose(
        actor=pmo,
        key="test.sample",
        values=good_values(review_days=7),
        effective_from=today() + dt.timedelta(days=1),
        reason="缩短时限",
    )
    assert v.number == 2 and v.status in (PolicyStatus.DRAFT, PolicyStatus.PENDING) and v.author == pmo
    entry = AuditEntry.objects.filter(object_id=str(v.pk), object_type="policies.policyversion").latest("seq")
    assert entry.policy_version == str(v.pk)
    # a proposal is not in force
    assert policy_get("test.sample", at=today() + dt.timedelta(days=2)).number == 1


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"review_days": 0}, "review_days", "greater_than_equal"),
        ({"review_days": "abc"}, "review_days", "int_parsing"),
        ({"ratio": 1.5}, "ratio", "less_than_equal"),
        ({"level": "top"}, "level", "literal_error"),
        ({"limits": {"max_amount": "-1", "days": 30}}, "limits.max_amount", "greater_than_equal"),
        ({"limits": {"max_amount": "1", "days": 999}}, "limits.days", "less_than_equal"),
        ({"grades": "A"}, "grades", "list_type"),
        ({"start": "2026-13-01"}, "start", "date_from_datetime_parsing"),
    ],
)
def test_bad_values_refused_naming_field_and_rule(pmo, changes, field, rule):
    with pytest.raises(ValidationFailed) as exc:
        policy_propose(
            actor=pmo,
            key="test.sample",
            values=good_values(**changes),
            effective_from=today() + dt.timedelta(days=1),
            reason="x",
        )
    assert exc.value.field == field
    assert (exc.value.rule or "").startswith(rule.split("_")[0])
    assert field in str(exc.value.message)
    assert not PolicyVersion.objects.filter(type_key="test.sample", number__gt=1).exists()


def test_trial_refused_where_not_allowed(pmo):
    with pytest.raises(ValidationFailed) as exc:
        policy_propose(
            actor=pmo,
            key="test.notrial",
            values=good_values(),
            effective_from=today(),
            reason="x",
            trial=True,
        )
    assert (exc.value.field, exc.value.rule) == ("trial", "trial_not_allowed")


def test_formal_in_the_past_refused_trial_allowed(pmo):
    past = today() - dt.timedelta(days=3)
    with pytest.raises(ValidationFailed) as exc:
        policy_propose(actor=pmo, key="test.sample", values=good_values(), effective_from=past, reason="x")
    assert (exc.value.field, exc.value.rule) == ("effective_from", "not_in_past")
    v = policy_propose(
        actor=pmo, key="test.sample", values=good_values(), effective_from=past, reason="x", trial=True
    )
    assert v.requested_trial


def test_reason_required(pmo):
    with pytest.raises(ValidationFailed) as exc:
        policy_propose(
            actor=pmo, key="test.sample", values=good_values(), effective_from=today(), reason="  "
        )
    assert exc.value.field == "reason"


def test_propose_needs_permission():
    with pytest.raises(PermissionDenied):
        policy_propose(
            actor=user_with("sales_rep"),
            key="test.sample",
            values=good_values(),
            effective_from=today(),
            reason="x",
        )


# --- approval (below the case layer) and retirement -------------------------------------------------------------


def test_approval_makes_formal_and_retires_same_date_formal(pmo, gm):
    day = today() + dt.timedelta(days=10)
    a = policy_propose(
        actor=pmo, key="test.sample", values=good_values(review_days=8), effective_from=day, reason="a"
    )
    apply_approval(approver=gm, version_id=a.pk)
    a.refresh_from_db()
    assert a.status == PolicyStatus.FORMAL and a.approver == gm and a.approved_at
    assert policy_get("test.sample", at=day).number == a.number
    b = policy_propose(
        actor=pmo, key="test.sample", values=good_values(review_days=9), effective_from=day, reason="b"
    )
    apply_approval(approver=gm, version_id=b.pk)
    a.refresh_from_db()
    assert a.status == PolicyStatus.RETIRED
    pv = policy_get("test.sample", at=day)
    assert pv.number == b.number and pv.values.review_days == 9
    assert AuditEntry.objects.filter(action="decision", policy_version=str(b.pk)).exists()


def test_trial_approval_and_formal_beats_it(pmo, gm):
    day = today() + dt.timedelta(days=5)
    t = policy_propose(
        actor=pmo,
        key="test.sample",
        values=good_values(review_days=3),
        effective_from=day,
        reason="t",
        trial=True,
    )
    apply_approval(approver=gm, version_id=t.pk)
    t.refresh_from_db()
    assert t.status == PolicyStatus.TRIAL
    assert policy_get("test.sample", at=day).number == t.number
    f = policy_propose(
        actor=pmo, key="test.sample", values=good_values(review_days=4), effective_from=day, reason="f"
    )
    apply_approval(approver=gm, version_id=f.pk)
    assert policy_get("test.sample", at=day).number == f.number


def test_proposer_cannot_approve_and_approver_role_needed(gm):
    own = policy_propose(
        actor=gm, key="test.sample", values=good_values(), effective_from=today(), reason="x"
    )
    with pytest.raises(PermissionDenied):
        apply_approval(approver=gm, version_id=own.pk)
    other = policy_propose(
        actor=user_with("pmo"), key="test.sample", values=good_values(), effective_from=today(), reason="x"
    )
    with pytest.raises(PermissionDenied):
        apply_approval(approver=user_with("credit_manager"), version_id=other.pk)
    apply_approval(approver=gm, version_id=other.pk)
    with pytest.raises(Conflict):
        apply_approval(approver=gm, version_id=other.pk)


def test_rejection_retires_proposal(pmo, gm):
    v = policy_propose(actor=pmo, key="test.sample", values=good_values(), effective_from=today(), reason="x")
    apply_rejection(actor=gm, version_id=v.pk, reason="不同意")
    v.refresh_from_db()
    assert v.status == PolicyStatus.RETIRED and v.retire_reason == "不同意"


def test_retire(pmo, gm):
    day = today() + dt.timedelta(days=1)
    v = policy_propose(
        actor=pmo, key="test.sample", values=good_values(review_days=6), effective_from=day, reason="x"
    )
    apply_approval(approver=gm, version_id=v.pk)
    assert policy_get("test.sample", at=day).number == v.number
    with pytest.raises(ValidationFailed):
        policy_retire(actor=gm, version_id=v.pk, reason="")
    with pytest.raises(PermissionDenied):
        policy_retire(actor=user_with("sales_rep"), version_id=v.pk, reason="x")
    policy_retire(actor=gm, version_id=v.pk, reason="停用")
    assert policy_get("test.sample", at=day).number == 1
    with pytest.raises(Conflict):
        policy_retire(actor=gm, version_id=v.pk, reason="again")
    v1 = PolicyVersion.objects.get(type_key="test.sample", number=1)
    with pytest.raises(ValidationFailed):
        policy_retire(actor=gm, version_id=v1.pk, reason="x")
    assert AuditEntry.objects.filter(action="update", policy_version=str(v.pk)).exists()


# --- pages ------------------------------------------------------------------------------------------------------


def test_list_page_shows_types_in_force(client, django_assert_max_num_queries):
    user = user_with("sales_rep")
    client.force_login(user)
    policy_get("test.sample")
    with django_assert_max_num_queries(12):
        resp = client.get(reverse("policy_list"))
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "测试制度" in body and "test.sample" in body and 'data-status="formal"' in body


def test_detail_shows_values_readably(client, django_assert_max_num_queries):
    client.force_login(user_with("sales_rep"))
    with django_assert_max_num_queries(15):
        resp = client.get(reverse("policy_detail", args=["test.sample"]))
    body = resp.content.decode()
    assert resp.status_code == 200
    assert "审核时限" in body and "5 工作日" in body and "额度 / 最高金额" in body and "100000.00 元" in body
    assert 'id="propose"' not in body  # sales reps do not propose
    assert client.get(reverse("policy_detail", args=["nope.nope"])).status_code == 404


def test_version_and_diff_pages(client, pmo, gm):
    v = policy_propose(
        actor=pmo, key="test.sample", values=good_values(review_days=9), effective_from=today(), reason="x"
    )
    client.force_login(gm)
    resp = client.get(reverse("policy_version", args=["test.sample", v.number]))
    assert resp.status_code == 200 and "9 工作日" in resp.content.decode()
    resp = client.get(reverse("policy_diff", args=["test.sample"]) + f"?a=1&b={v.number}")
    body = resp.content.decode()
    assert resp.status_code == 200
    assert 'data-path="review_days" data-changed="1"' in body
    assert 'data-path="ratio" data-changed' not in body
    assert client.get(reverse("policy_diff", args=["test.sample"]) + "?a=99&b=1").status_code == 404
    assert client.get(reverse("policy_version", args=["test.sample", 99])).status_code == 404


def test_propose_page_generates_form_and_keeps_input(client, pmo):
    client.force_login(pmo)
    url = reverse("policy_propose", args=["test.sample"])
    resp = client.get(url)
    body = resp.content.decode()
    assert resp.status_code == 200
    for name in (
        "review_days",
        "ratio",
        "enabled",
        "level",
        "start",
        "limits.max_amount",
        "limits.days",
        "grades",
        "effective_from",
        "trial",
        "reason",
    ):
        assert f'name="{name}"' in body, name
    assert '<select name="level"' in body
    data = {
        "review_days": "0",
        "ratio": "0.3",
        "enabled": "on",
        "level": "high",
        "start": "2026-01-01",
        "note": "keep me",
        "limits.max_amount": "5000",
        "limits.days": "30",
        "grades": '["A"]',
        "effective_from": (today() + dt.timedelta(days=2)).isoformat(),
        "reason": "调整",
    }
    resp = client.post(url, data)
    body = resp.content.decode()
    assert resp.status_code == 200
    assert "review_days" in body and "必须大于或等于 1" in body
    assert 'value="keep me"' in body
    data["grades"] = "not json"
    data["review_days"] = "4"
    resp = client.post(url, data)
    assert "不是有效的 JSON" in resp.content.decode()
    data["grades"] = '["A", "C"]'
    resp = client.post(url, data)
    assert resp.status_code == 302
    v = PolicyVersion.objects.get(type_key="test.sample", number=2)
    assert v.values["review_days"] == 4 and v.values["limits"]["max_amount"] == "5000"
    assert v.values["grades"] == ["A", "C"] and v.values["level"] == "high"


def test_propose_page_refused_without_permission(client):
    client.force_login(user_with("sales_rep"))
    assert client.get(reverse("policy_propose", args=["test.sample"])).status_code == 403


def test_retire_page(client, pmo, gm):
    v = policy_propose(actor=pmo, key="test.sample", values=good_values(), effective_from=today(), reason="x")
    apply_approval(approver=gm, version_id=v.pk)
    client.force_login(gm)
    resp = client.post(reverse("policy_retire", args=["test.sample", v.number]), {"reason": "停用"})
    assert resp.status_code == 302
    v.refresh_from_db()
    assert v.status == PolicyStatus.RETIRED


# --- API --------------------------------------------------------------------------------------------------------


def test_api(client, pmo):
    client.force_login(pmo)
    resp = client.get("/api/v1/policies/types")
    assert resp.status_code == 200
    assert any(t["key"] == "test.sample" and t["in_force_number"] == 1 for t in resp.json())
    resp = client.get("/api/v1/policies/types/test.sample/in-force?at=2026-01-01")
    assert resp.json()["number"] == 1 and resp.json()["values"]["review_days"] == 5
    resp = client.post(
        "/api/v1/policies/types/test.sample/propose",
        {"values": good_values(review_days=0), "effective_from": str(today()), "reason": "x"},
        content_type="application/json",
    )
    assert resp.status_code == 400
    assert resp.json()["detail"]["field"] == "review_days"
    resp = client.post(
        "/api/v1/policies/types/test.sample/propose",
        {"values": good_values(review_days=2), "effective_from": str(today()), "reason": "x"},
        content_type="application/json",
    )
    assert resp.status_code == 201, resp.content
    assert resp.json()["number"] == 2
    assert client.get("/api/v1/policies/types/test.sample/versions").json()[0]["number"] == 2
    assert client.get("/api/v1/policies/types/nope/versions").status_code == 404


def test_three_people_three_steps_in_the_change_case(pmo, gm):
    """The proposer does not review their own change, and the reviewer does not approve it."""
    from kehu.workflow.engine import case_transition

    v = policy_propose(actor=pmo, key="test.sample", values=good_values(), effective_from=today(), reason="x")
    with pytest.raises(ValidationFailed):
        case_transition(actor=pmo, case_id=v.case_id, transition="review_pass", checklist={"impact": "yes"})
    reviewer = user_with(["pmo", "general_manager"])  # may review and, by role, approve
    case_transition(actor=reviewer, case_id=v.case_id, transition="review_pass", checklist={"impact": "yes"})
    with pytest.raises(ValidationFailed):
        case_transition(actor=reviewer, case_id=v.case_id, transition="approve")
    case_transition(actor=gm, case_id=v.case_id, transition="approve")
    v.refresh_from_db()
    assert v.status == PolicyStatus.FORMAL


def test_retiring_does_not_rewrite_the_past_and_needs_an_approver(gm):
    from django.utils import timezone

    v2 = version("test.sample", 2, PolicyStatus.FORMAL, dt.date(2025, 1, 1), review_days=9)
    PolicyVersion.objects.filter(pk=v2.pk).update(approved_at=timezone.now() - dt.timedelta(days=300))
    with pytest.raises(PermissionDenied):  # the process office is not an approver of this type
        policy_retire(actor=user_with("pmo"), version_id=v2.pk, reason="x")
    policy_retire(actor=gm, version_id=v2.pk, reason="不再适用")
    assert policy_get("test.sample", at=dt.date(2025, 6, 1)).number == 2  # decisions of 2025 stay explained
    assert policy_get("test.sample").number == 1  # from today on the default applies again


def test_each_status_step_of_a_proposal_is_on_the_versions_trail(pmo):
    from kehu.core.models import AuditEntry
    from kehu.workflow.engine import case_transition

    v = policy_propose(actor=pmo, key="test.sample", values=good_values(), effective_from=today(), reason="x")
    case_transition(
        actor=user_with("pmo"), case_id=v.case_id, transition="send_back", comment="请补充影响评估"
    )
    steps = list(
        AuditEntry.objects.filter(object_type="policies.policyversion", object_id=str(v.pk))
        .order_by("seq")
        .values_list("changes", flat=True)
    )
    assert {"status": ["draft", "pending"]} in steps and {"status": ["pending", "draft"]} in steps
