"""Reviewer management (R-ONB-07): qualifications and training records (validation, permissions, audit), the
qualification guard on the reviewed stages (policy on and off), the performance report (volume, cycle time in
working days, decisions later overturned) with its page, export, API and the quarterly job."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
import python_calamine
from django.urls import reverse
from django.utils import timezone

from kehu.core.errors import NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import AuditEntry
from kehu.core.policies.models import PolicyVersion
from kehu.core.policies.services import clear_cache, policy_get
from kehu.core.tests.factories import PASSWORD, DepartmentFactory, user_with
from kehu.onboarding import reviewers, services
from kehu.onboarding.models import Decision, Review, ReviewerQualification, ReviewerReport, TrainingRecord
from kehu.onboarding.tests.conftest import APPLICATION, prospect, step, to_stage
from kehu.workflow.models import CaseEvent, Task, TaskState

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 25)


def qual_data(**kw: Any) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "kind": "internal_auditor",
        "certificate_no": "NSY-2026-001",
        "issued_by": "中国质量协会",
        "valid_from": today - dt.timedelta(days=100),
        "valid_to": today + dt.timedelta(days=300),
        **kw,
    }


def training_data(**kw: Any) -> dict[str, Any]:
    return {
        "course": "IATF 16949 内审员培训",
        "trained_on": timezone.localdate() - dt.timedelta(days=10),
        "hours": "16",
        "result": "passed",
        **kw,
    }


def set_policy(**values: Any) -> None:
    policy_get(reviewers.POLICY)
    last = PolicyVersion.objects.filter(type_key=reviewers.POLICY).order_by("-number").first()
    PolicyVersion.objects.create(
        type_key=reviewers.POLICY,
        number=(last.number if last else 0) + 1,
        status="formal",
        effective_from=timezone.localdate(),
        values={**reviewers.ReviewerPolicy().model_dump(), **values},
    )
    clear_cache()


def login(client: Any, user: Any) -> Any:
    assert client.login(username=user.username, password=PASSWORD)
    return client


# --- qualifications and training records ------------------------------------------------------------------------


def test_qualification_crud_is_audited(team):
    gm, reviewer = team["gm"], team["reviewer"]
    q = reviewers.qualification_create(actor=gm, user_id=reviewer.pk, **qual_data())
    assert q.user == reviewer and q.created_by == gm
    entry = AuditEntry.objects.filter(
        object_type="onboarding.reviewerqualification", object_id=str(q.pk)
    ).get()
    assert entry.action == "create" and entry.changes["certificate_no"] == [None, "NSY-2026-001"]
    q = reviewers.qualification_update(actor=gm, pk=q.pk, issued_by="中国质量认证中心")
    assert q.issued_by == "中国质量认证中心"
    assert (
        AuditEntry.objects.filter(object_id=str(q.pk), action="update").get().changes["issued_by"][1]
        == "中国质量认证中心"
    )
    reviewers.qualification_delete(actor=gm, pk=q.pk, reason="证书作废")
    assert not ReviewerQualification.objects.exists()
    assert AuditEntry.objects.filter(object_id=str(q.pk), action="other", reason="证书作废").exists()


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"certificate_no": " "}, "certificate_no", "required"),
        ({"issued_by": ""}, "issued_by", "required"),
        ({"kind": "pilot"}, "kind", "choice"),
        ({"valid_from": None}, "valid_from", "required"),
        ({"valid_to": "2026-13-01"}, "valid_to", "date"),
        ({"valid_from": "2026-05-01", "valid_to": "2026-04-30"}, "valid_to", "order"),
        ({"certificate_no": "X" * 61}, "certificate_no", "max_length"),
    ],
)
def test_qualification_validation_changes_nothing(team, changes, field, rule):
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        reviewers.qualification_create(actor=team["gm"], user_id=team["reviewer"].pk, **qual_data(**changes))
    assert (exc.value.field, exc.value.rule) == (field, rule)
    assert not ReviewerQualification.objects.exists() and AuditEntry.objects.count() == before


def test_duplicate_certificate_and_bad_update(team):
    gm = team["gm"]
    q = reviewers.qualification_create(actor=gm, user_id=team["reviewer"].pk, **qual_data())
    with pytest.raises(ValidationFailed) as exc:
        reviewers.qualification_create(actor=gm, user_id=team["reviewer2"].pk, **qual_data())
    assert exc.value.rule == "unique"
    with pytest.raises(ValidationFailed) as exc:
        reviewers.qualification_update(actor=gm, pk=q.pk, valid_to=q.valid_from - dt.timedelta(days=1))
    assert exc.value.field == "valid_to"
    q.refresh_from_db()
    assert q.valid_to == qual_data()["valid_to"]


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"course": ""}, "course", "required"),
        ({"hours": "0"}, "hours", "range"),
        ({"hours": "abc"}, "hours", "number"),
        ({"hours": "201"}, "hours", "range"),
        ({"result": "great"}, "result", "choice"),
        ({"trained_on": dt.date(2099, 1, 1)}, "trained_on", "future"),
    ],
)
def test_training_validation(team, changes, field, rule):
    with pytest.raises(ValidationFailed) as exc:
        reviewers.training_create(actor=team["gm"], user_id=team["reviewer"].pk, **training_data(**changes))
    assert (exc.value.field, exc.value.rule) == (field, rule)
    assert not TrainingRecord.objects.exists()


def test_training_crud(team):
    t = reviewers.training_create(actor=team["admin"], user_id=team["credit"].pk, **training_data())
    assert str(t.hours) == "16.0"
    t = reviewers.training_update(actor=team["admin"], pk=t.pk, hours="8.5", result="attended")
    assert str(t.hours) == "8.5" and t.result == "attended"
    reviewers.training_delete(actor=team["admin"], pk=t.pk)
    assert not TrainingRecord.objects.exists()


def test_permissions_and_own_records(team):
    reviewer, reviewer2 = team["reviewer"], team["reviewer2"]
    mine = reviewers.qualification_create(actor=team["gm"], user_id=reviewer.pk, **qual_data())
    other = reviewers.qualification_create(
        actor=team["gm"], user_id=reviewer2.pk, **qual_data(certificate_no="NSY-2")
    )
    # a reviewer manages nothing, a sales rep sees nothing
    with pytest.raises(PermissionDenied):
        reviewers.qualification_create(actor=reviewer, user_id=reviewer.pk, **qual_data(certificate_no="N3"))
    with pytest.raises(PermissionDenied):
        reviewers.qualification_update(actor=reviewer, pk=mine.pk, notes="x")
    with pytest.raises(PermissionDenied):
        reviewers.reviewer_list(actor=team["rep1"])
    # a reviewer sees own records only
    assert [u.pk for u in reviewers.reviewer_list(actor=reviewer)] == [reviewer.pk]
    assert reviewers.qualification_get(actor=reviewer, pk=mine.pk) == mine
    with pytest.raises(NotFound):
        reviewers.qualification_get(actor=reviewer, pk=other.pk)
    with pytest.raises(NotFound):
        reviewers.qualification_list(actor=reviewer, user_id=reviewer2.pk)
    # only people holding a reviewer role take records
    with pytest.raises(NotFound):
        reviewers.qualification_create(
            actor=team["gm"], user_id=team["rep1"].pk, **qual_data(certificate_no="N4")
        )


def test_credit_manager_manages_own_department_only(team):
    credit_dept = DepartmentFactory(code="CR", name="信用管理部", kind="credit")
    from kehu.core.org import department_path

    department_path(credit_dept)
    mgr = user_with("credit_manager", username="crmgr", department=credit_dept)
    inside = user_with("credit_officer", username="cr_in", department=credit_dept)
    q = reviewers.qualification_create(
        actor=mgr, user_id=inside.pk, **qual_data(kind="credit_analyst", certificate_no="CA-1")
    )
    assert q.user == inside
    with pytest.raises(NotFound):  # a reviewer outside the credit manager's department
        reviewers.qualification_create(actor=mgr, user_id=team["reviewer"].pk, **qual_data())


# --- the guard -----------------------------------------------------------------------------------------------------


def _at_qualification(team):
    c = prospect(team)
    review = services.review_apply(actor=team["rep1"], customer_id=c.pk, **APPLICATION)
    return to_stage(team, review, "qualification")


def test_guard_off_by_default_keeps_existing_flow(team):
    review = step(team["reviewer"], _at_qualification(team), "qualify")
    assert review.case.state == "business"


def test_guard_on_requires_a_valid_qualification(team):
    set_policy(require_qualification=True)
    review = _at_qualification(team)
    reviewer = team["reviewer"]
    with pytest.raises(ValidationFailed) as exc:
        step(reviewer, review, "qualify")
    assert "R-ONB-07" in str(exc.value.message) and "尚未登记" in str(exc.value.message)
    with pytest.raises(ValidationFailed):  # sending back is taking the stage too
        step(reviewer, review, "send_back_qualification", comment="缺少资质证书")
    # a certificate of another kind does not count; an expired one is refused with its own message
    reviewers.qualification_create(
        actor=team["gm"], user_id=reviewer.pk, **qual_data(kind="credit_analyst", certificate_no="CA-9")
    )
    today = timezone.localdate()
    expired = reviewers.qualification_create(
        actor=team["gm"],
        user_id=reviewer.pk,
        **qual_data(valid_from=today - dt.timedelta(days=800), valid_to=today - dt.timedelta(days=1)),
    )
    with pytest.raises(ValidationFailed) as exc:
        step(reviewer, review, "qualify")
    assert "已过期" in str(exc.value.message)
    review.case.refresh_from_db()
    assert review.case.state == "qualification"
    reviewers.qualification_update(actor=team["gm"], pk=expired.pk, valid_to=today + dt.timedelta(days=30))
    review = step(reviewer, review, "qualify")
    assert review.case.state == "business"
    # the business stage asks the same; the credit stage asks for a credit analyst
    review = step(reviewer, review, "pass_business")
    with pytest.raises(ValidationFailed):
        step(team["credit_officer"], review, "pass_risk", comment="信用良好")


# --- the performance report ---------------------------------------------------------------------------------------


def _at(day: str, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour)))


def _event(case_id: int, seq: int, day: str, hour: int = 10) -> None:
    CaseEvent.objects.filter(case_id=case_id, seq=seq).update(at=_at(day, hour))


def _task(case_id: int, state: str, day: str, hour: int = 9, nth: int = 0) -> None:
    pk = (
        Task.objects.filter(case_id=case_id, case_state=state)
        .order_by("pk")
        .values_list("pk", flat=True)[nth]
    )
    Task.objects.filter(pk=pk).update(created_at=_at(day, hour))


@pytest.fixture
def history(team):
    """Two reviews in 2026 Q1 (March has no public holiday):

    A: qualification (reviewer1, task 03-02 → step 03-04: 2 working days), business (reviewer1, 03-04 → 03-09: 3),
       risk (credit, 03-09 → 03-10: 1), approved 03-12; re-qualified and downgraded 03-30.
    B: qualification sent back by reviewer1 (03-16 09:00 → 17:00: 0), passed after rectification (03-18 → 03-20:
       2); on 03-25 reviewer2 at the business stage sends it back to the qualification stage (a missed finding).
    """
    a = services.review_apply(actor=team["rep1"], customer_id=prospect(team).pk, **APPLICATION)
    a = to_stage(team, a, "approval")
    a = step(team["gm"], a, "approve", comment="同意")
    ca = a.case_id
    _task(ca, "qualification", "2026-03-02")
    _event(ca, 2, "2026-03-04", 15)
    _task(ca, "business", "2026-03-04", 15)
    _event(ca, 3, "2026-03-09")
    _task(ca, "risk", "2026-03-09", 11)
    _event(ca, 4, "2026-03-10")
    Review.objects.filter(pk=a.pk).update(decided_at=_at("2026-03-12"))

    b = services.review_apply(
        actor=team["rep1"], customer_id=prospect(team, name="苏州恒远汽车零部件有限公司").pk, **APPLICATION
    )
    b = step(team["rep1"], b, "submit")
    b = step(team["reviewer"], b, "send_back_qualification", comment="缺少资质证书")
    b = step(team["rep1"], b, "resubmit_qualification", comment="已补交")
    b = step(team["reviewer"], b, "qualify")
    cb = b.case_id
    _task(cb, "qualification", "2026-03-16", 9, nth=0)
    _event(cb, 2, "2026-03-16", 17)
    _task(cb, "qualification", "2026-03-18", 9, nth=1)
    _event(cb, 4, "2026-03-20")
    CaseEvent.objects.create(
        case_id=cb,
        seq=5,
        transition="send_back_to_qualification",
        from_state="business",
        to_state="qualification",
        actor=team["reviewer2"],
        at=_at("2026-03-25"),
        send_back=True,
    )
    requal = Review.objects.create(
        kind="requalification",
        trigger="manual",
        customer=a.customer,
        decision=Decision.DOWNGRADE,
        decided_at=_at("2026-03-30"),
        created_by=team["gm"],
    )
    return {"a": a, "b": b, "requal": requal}


def _by_user(rows):
    return {r["username"]: r for r in rows}


def test_report_arithmetic(team, history, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        rows = _by_user(reviewers.compute_performance(dt.date(2026, 1, 1), dt.date(2026, 3, 31), None, 12))
    r1, r2, cr = rows["reviewer1"], rows["reviewer2"], rows["credit1"]
    assert (r1["passed"], r1["sent_back"], r1["steps"]) == (3, 1, 4)
    assert r1["median_days"] == 2.0 and r1["avg_days"] == 1.75  # 2, 3, 0, 2 working days
    assert (r1["overturned_rereview"], r1["overturned_requal"], r1["overturned"]) == (1, 1, 2)
    assert sorted(r1["overturned_reviews"]) == sorted([history["a"].number, history["b"].number])
    assert (r2["passed"], r2["sent_back"], r2["median_days"], r2["avg_days"]) == (0, 1, None, None)
    assert r2["overturned"] == 0
    assert (cr["passed"], cr["median_days"], cr["overturned"]) == (1, 1.0, 1)
    assert "rep1" not in rows  # screening and interview are sales steps, not reviewed stages
    # another period: nothing happened; the reviewers still appear with zeros
    later = _by_user(reviewers.compute_performance(dt.date(2026, 4, 1), dt.date(2026, 6, 30), None, 12))
    assert later["reviewer1"]["steps"] == 0 and later["reviewer1"]["median_days"] is None
    assert "credit1" not in later


def test_requal_overturn_respects_the_window(team, history):
    Review.objects.filter(pk=history["a"].pk).update(decided_at=_at("2025-02-27"))
    rows = _by_user(reviewers.compute_performance(dt.date(2026, 1, 1), dt.date(2026, 3, 31), None, 12))
    assert rows["reviewer1"]["overturned_requal"] == 0 and rows["reviewer1"]["overturned_rereview"] == 1
    rows = _by_user(reviewers.compute_performance(dt.date(2026, 1, 1), dt.date(2026, 3, 31), None, 14))
    assert rows["reviewer1"]["overturned_requal"] == 1


def test_report_scope(team, history):
    with pytest.raises(PermissionDenied):
        reviewers.reviewer_performance(actor=team["rep1"], start="2026-01-01", end="2026-03-31")
    _s, _e, rows = reviewers.reviewer_performance(
        actor=team["reviewer"], start="2026-01-01", end="2026-03-31"
    )
    assert [r["username"] for r in rows] == ["reviewer1"]
    with pytest.raises(NotFound):
        reviewers.reviewer_performance(
            actor=team["reviewer"], start="2026-01-01", end="2026-03-31", reviewer_id=team["reviewer2"].pk
        )
    with pytest.raises(ValidationFailed) as exc:
        reviewers.reviewer_performance(actor=team["gm"], start="2026-03-31", end="2026-01-01")
    assert exc.value.field == "end"
    _s, _e, rows = reviewers.reviewer_performance(
        actor=team["gm"], start="2026-01-01", end="2026-03-31", reviewer_id=team["reviewer2"].pk
    )
    assert [r["username"] for r in rows] == ["reviewer2"]


def test_quarterly_job_stores_report_and_tasks_the_general_manager(team, history, client):
    out = reviewers.quarterly_report_run(today="2026-04-02")
    assert out["created"] == 1 and out["label"] == "2026Q1"
    report = ReviewerReport.objects.get()
    assert (report.start, report.end) == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert _by_user(report.rows)["reviewer1"]["overturned"] == 2
    task = Task.objects.get(target_id=str(report.pk), assignee_role="general_manager")
    assert task.state == TaskState.OPEN and "2026Q1" in task.title
    assert reviewers.quarterly_report_run(today="2026-05-20") == {"created": 0}
    # a reviewer reading the stored report sees own row only and leaves the task open
    _r, rows = reviewers.report_read(actor=team["reviewer"], pk=report.pk)
    assert [r["username"] for r in rows] == ["reviewer1"]
    task.refresh_from_db()
    assert task.state == TaskState.OPEN
    login(client, team["gm"])
    r = client.get(reverse("onboarding_reviewer_report", args=[report.pk]))
    assert r.status_code == 200 and "2026Q1" in r.content.decode()
    task.refresh_from_db()
    assert task.state == TaskState.DONE


# --- pages, export, API -------------------------------------------------------------------------------------------


def test_performance_page_and_export(team, history, client, django_assert_max_num_queries):
    login(client, team["gm"])
    url = reverse("onboarding_reviewer_performance")
    with django_assert_max_num_queries(25):
        r = client.get(url, {"start": "2026-01-01", "end": "2026-03-31"})
    assert r.status_code == 200 and 'data-user="reviewer1"' in r.content.decode()
    r = client.get(url, {"start": "2026-01-01", "end": "2026-03-31", "export": "xlsx"})
    assert r.status_code == 200
    sheet = (
        python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(r.content))
        .get_sheet_by_index(0)
        .to_python()
    )
    assert sheet[0][0] == "审核人员"
    row = next(x for x in sheet if x[0] == "reviewer1")
    assert [int(x) for x in row[2:4]] == [3, 1] and float(row[4]) == 2.0 and int(row[8]) == 2
    r = client.get(url, {"start": "2026-03-31", "end": "2026-01-01"})
    assert r.status_code == 200 and "结束日期不能早于开始日期" in r.content.decode()
    login(client, team["rep1"])
    assert client.get(url).status_code == 403


def test_reviewer_pages(team, client, django_assert_max_num_queries):
    gm, reviewer = team["gm"], team["reviewer"]
    for i in range(3):
        u = user_with("reviewer", username=f"rv{i}")
        reviewers.qualification_create(actor=gm, user_id=u.pk, **qual_data(certificate_no=f"Q{i}"))
        reviewers.training_create(actor=gm, user_id=u.pk, **training_data())
    login(client, gm)
    with django_assert_max_num_queries(20):
        r = client.get(reverse("onboarding_reviewers"))
    assert r.status_code == 200 and "rv2" in r.content.decode()
    r = client.post(
        reverse("onboarding_reviewer_qualification_add", args=[reviewer.pk]),
        {**qual_data(), "valid_to": "2020-01-01"},
    )
    assert r.status_code == 200 and "有效期至不能早于有效期自" in r.content.decode()
    r = client.post(reverse("onboarding_reviewer_qualification_add", args=[reviewer.pk]), qual_data())
    q = ReviewerQualification.objects.get(user=reviewer)
    assert r.status_code == 302 and r["Location"] == reverse("onboarding_reviewer_qualification", args=[q.pk])
    r = client.get(reverse("onboarding_reviewer_qualification", args=[q.pk]))
    assert r.status_code == 200 and "证书文件" in r.content.decode()
    login(client, reviewer)
    assert client.get(reverse("onboarding_reviewer", args=[reviewer.pk])).status_code == 200
    assert client.get(reverse("onboarding_reviewer", args=[team["reviewer2"].pk])).status_code == 404
    r = client.post(reverse("onboarding_reviewer_training_add", args=[reviewer.pk]), training_data())
    assert r.status_code == 403 and not TrainingRecord.objects.filter(user=reviewer).exists()
    login(client, team["rep1"])
    assert client.get(reverse("onboarding_reviewers")).status_code == 403


def api(client, method, path, body=None):
    fn = getattr(client, method)
    kw = (
        {"content_type": "application/json", "data": json.dumps(body, default=str)}
        if body is not None
        else {}
    )
    return fn(f"/api/v1/reviews{path}", **kw)


def test_api(team, history, client):
    reviewer = team["reviewer"]
    login(client, team["gm"])
    r = api(client, "post", f"/reviewers/{reviewer.pk}/qualifications", qual_data(valid_to="2020-01-01"))
    assert r.status_code == 400 and r.json()["detail"]["field"] == "valid_to"
    r = api(client, "post", f"/reviewers/{reviewer.pk}/qualifications", qual_data())
    assert r.status_code == 201 and r.json()["state"] == "valid"
    qid = r.json()["id"]
    r = api(client, "patch", f"/reviewer-qualifications/{qid}", {"notes": "年审通过"})
    assert r.status_code == 200 and r.json()["notes"] == "年审通过"
    r = api(client, "post", f"/reviewers/{reviewer.pk}/trainings", training_data())
    assert r.status_code == 201 and r.json()["hours"] in ("16.0", 16.0)
    r = api(client, "get", "/reviewer-performance?start=2026-01-01&end=2026-03-31")
    assert r.status_code == 200 and _by_user(r.json()["rows"])["reviewer1"]["overturned"] == 2
    login(client, reviewer)
    r = api(client, "get", "/reviewers")
    assert r.status_code == 200 and [p["username"] for p in r.json()] == ["reviewer1"]
    assert api(client, "patch", f"/reviewer-qualifications/{qid}", {"notes": "x"}).status_code == 403
    assert api(client, "delete", f"/reviewer-qualifications/{qid}").status_code == 403
    r = api(client, "get", "/reviewer-performance?start=2026-01-01&end=2026-03-31")
    assert [x["username"] for x in r.json()["rows"]] == ["reviewer1"]
    login(client, team["gm"])
    assert api(client, "delete", f"/reviewer-qualifications/{qid}").status_code == 204
    assert not ReviewerQualification.objects.exists()
