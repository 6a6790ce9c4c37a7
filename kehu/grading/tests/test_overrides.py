"""Grade overrides (R-GRD-04): request, approval by someone other than the requester, rejection with a comment,
withdrawal; who may ask for which customer; bad input; the grade in force (grade_terms, grade_subquery) follows an
approved override until a later run supersedes it, and that run reports it; pages, exports, query counts, API."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.jobs.testing import run_pending_jobs
from kehu.core.models import AuditEntry
from kehu.core.tests.factories import user_with
from kehu.customers.models import Customer
from kehu.grading import columns, interface, overrides, services
from kehu.grading.models import GradeOverride, GradingResult, GradingRun, OverrideStatus
from kehu.grading.tests.conftest import make_active

pytestmark = pytest.mark.django_db


def _today() -> dt.date:
    return timezone.localdate()


def _approved_run(starter: Any, approver: Any) -> GradingRun:
    run = services.run_start(actor=starter)
    run_pending_jobs()
    return services.run_approve(actor=approver, run_id=run.pk)


@pytest.fixture
def graded(org) -> dict[str, Any]:
    """Four active customers (rep1 in the east department, rep2 in the south) graded by an approved run."""
    customers = [make_active(org["rep1"] if i % 2 == 0 else org["rep2"], i) for i in range(4)]
    for i, c in enumerate(customers):
        services.inputs_enter(
            actor=org["rep1"] if i % 2 == 0 else org["rep2"],
            customer_id=c.pk,
            values={"industry_reputation": str(5 - i), "margin": str(30 - 5 * i)},
        )
    run = _approved_run(org["mgr_east"], org["gm"])
    grades = dict(GradingResult.objects.filter(run=run).values_list("customer_id", "grade"))
    return {"customers": customers, "run": run, "grades": grades, "east": customers[0], "south": customers[1]}


def _other_grade(current: str) -> str:
    return "D" if current != "D" else "A"


def _request(org: Any, graded: dict[str, Any], actor: Any = None, **kw: Any) -> GradeOverride:
    c = kw.pop("customer", graded["east"])
    to = kw.pop("to_grade") if "to_grade" in kw else _other_grade(graded["grades"][c.pk])
    return overrides.override_request(
        actor=actor or org["mgr_east"],
        customer_id=c.pk,
        to_grade=to,
        reason=kw.pop("reason", "战略客户，需保级"),
    )


def _xlsx_rows(content: bytes) -> list[list[Any]]:
    from python_calamine import CalamineWorkbook

    rows: list[list[Any]] = (
        CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    )
    return rows


def _trail(obj: Any) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).order_by("seq")
    )


# --------------------------------------------------------------------------------------------------------------
# Services


def test_request_and_approve_move_the_grade_in_force(org, graded):
    """R-GRD-04: a manager moves a grade with a reason; it takes effect on approval, score and rank stay."""
    c, run = graded["east"], graded["run"]
    before = interface.grade_terms(c)
    assert before is not None and not before.overridden and before.override_id is None
    ov = _request(org, graded)
    assert (ov.status, ov.run_id, ov.from_grade) == (OverrideStatus.PENDING, run.pk, before.grade)
    assert interface.grade_terms(c) == before  # pending: no effect
    ov = overrides.override_decide(actor=org["gm"], override_id=ov.pk, approve=True, comment="同意")
    assert (ov.status, ov.decided_by, ov.effective_on) == (OverrideStatus.APPROVED, org["gm"], _today())
    after = interface.grade_terms(c)
    assert after is not None
    assert (after.grade, after.overridden, after.override_id) == (ov.to_grade, True, ov.pk)
    assert (after.score, after.rank, after.run_id) == (before.score, before.rank, run.pk)
    assert after.discount_cap != before.discount_cap  # the terms are those of the new grade
    actions = [e.action for e in _trail(ov)]
    assert actions == ["create", "decision"]
    customer_entries = [e for e in _trail(c) if "grade_override" in e.changes]
    assert [e.action for e in customer_entries] == ["create", "decision"]
    assert customer_entries[-1].changes["grade"] == [ov.from_grade, ov.to_grade]
    assert customer_entries[0].reason == "战略客户，需保级"


def test_reject_needs_a_comment_and_changes_nothing(org, graded):
    c = graded["east"]
    ov = _request(org, graded)
    with pytest.raises(ValidationFailed) as e:
        overrides.override_decide(actor=org["gm"], override_id=ov.pk, approve=False, comment="  ")
    assert (e.value.field, e.value.rule) == ("comment", "required")
    ov.refresh_from_db()
    assert ov.status == OverrideStatus.PENDING
    overrides.override_decide(actor=org["gm"], override_id=ov.pk, approve=False, comment="理由不充分")
    ov.refresh_from_db()
    assert (ov.status, ov.effective_on, ov.decision_comment) == (OverrideStatus.REJECTED, None, "理由不充分")
    terms = interface.grade_terms(c)
    assert terms is not None and terms.grade == graded["grades"][c.pk] and not terms.overridden
    with pytest.raises(Conflict):
        overrides.override_decide(actor=org["gm"], override_id=ov.pk, approve=True)


def test_withdraw_by_the_requester_only_while_pending(org, graded, gm2):
    ov = _request(org, graded)
    with pytest.raises(PermissionDenied):
        overrides.override_withdraw(actor=org["gm"], override_id=ov.pk)
    with pytest.raises(NotFound):  # another department's manager does not see it
        overrides.override_withdraw(actor=user_with("sales_manager", username="mgr_x"), override_id=ov.pk)
    overrides.override_withdraw(actor=org["mgr_east"], override_id=ov.pk, comment="误报")
    ov.refresh_from_db()
    assert ov.status == OverrideStatus.WITHDRAWN and ov.decided_by is None
    with pytest.raises(Conflict):
        overrides.override_withdraw(actor=org["mgr_east"], override_id=ov.pk)
    with pytest.raises(Conflict):
        overrides.override_decide(actor=gm2, override_id=ov.pk, approve=True)
    assert [e.action for e in _trail(ov)] == ["create", "update"]


def test_wrong_roles_are_refused(org, graded):
    c = graded["east"]
    for who in (org["rep1"], org["credit"], org["auditor"]):
        with pytest.raises(PermissionDenied):
            overrides.override_request(actor=who, customer_id=c.pk, to_grade="D", reason="x")
    ov = _request(org, graded)
    with pytest.raises(PermissionDenied):  # a sales manager may ask, not approve
        overrides.override_decide(actor=org["mgr_east"], override_id=ov.pk, approve=True)
    with pytest.raises(PermissionDenied):
        overrides.override_decide(actor=org["rep1"], override_id=ov.pk, approve=True)
    ov.refresh_from_db()
    assert ov.status == OverrideStatus.PENDING


def test_other_departments_customer_is_out_of_reach(org, graded):
    with pytest.raises(NotFound):
        _request(org, graded, customer=graded["south"])
    # the general manager may ask for any customer
    ov = _request(org, graded, actor=org["gm"], customer=graded["south"])
    assert ov.customer_id == graded["south"].pk
    assert not overrides.override_list(actor=org["mgr_east"]).filter(pk=ov.pk).exists()
    assert not overrides.override_list(actor=org["rep1"]).filter(pk=ov.pk).exists()
    assert overrides.override_list(actor=org["rep2"]).filter(pk=ov.pk).exists()  # own customer


def test_the_requester_cannot_approve(org, graded, gm2):
    ov = _request(org, graded, actor=org["gm"])
    with pytest.raises(PermissionDenied):
        overrides.override_decide(actor=org["gm"], override_id=ov.pk, approve=True)
    overrides.override_decide(actor=gm2, override_id=ov.pk, approve=True)
    ov.refresh_from_db()
    assert ov.status == OverrideStatus.APPROVED


def test_ungraded_customer_is_refused(org, graded):
    fresh = make_active(org["rep1"], 10)  # active after the run: not graded
    count = GradeOverride.objects.count()
    with pytest.raises(ValidationFailed) as e:
        _request(org, graded, customer=fresh, to_grade="A")
    assert (e.value.field, e.value.rule) == ("customer", "graded")
    assert GradeOverride.objects.count() == count


def test_bad_grade_and_reason_are_refused_naming_the_field(org, graded):
    c = graded["east"]
    current = graded["grades"][c.pk]
    cases = [
        ({"to_grade": "Z"}, "to_grade", "choice"),
        ({"to_grade": ""}, "to_grade", "choice"),
        ({"to_grade": current}, "to_grade", "differs"),
        ({"reason": "   "}, "reason", "required"),
    ]
    for kwargs, field, rule in cases:
        with pytest.raises(ValidationFailed) as e:
            _request(org, graded, **kwargs)
        assert (e.value.field, e.value.rule) == (field, rule)
        assert str(e.value.message).startswith({"to_grade": "调整后等级", "reason": "调整理由"}[field])
    assert not GradeOverride.objects.exists()


def test_one_pending_request_per_customer(org, graded):
    first = _request(org, graded)
    with pytest.raises(Conflict):
        _request(org, graded, actor=org["gm"])
    assert GradeOverride.objects.filter(customer=graded["east"]).count() == 1
    overrides.override_decide(actor=org["gm"], override_id=first.pk, approve=True)
    # after the decision a new request moves from the overridden grade
    second = _request(org, graded, to_grade="B" if first.to_grade != "B" else "C")
    assert second.from_grade == first.to_grade


def test_grade_subquery_and_terms_honour_the_override_from_its_effective_day(org, graded):
    c, run = graded["east"], graded["run"]
    GradingRun.objects.filter(pk=run.pk).update(effective_on=_today() - dt.timedelta(days=10))
    ov = _request(org, graded)
    overrides.override_decide(actor=org["gm"], override_id=ov.pk, approve=True)
    columns.register()
    got = dict(columns._annotate(Customer.objects.all()).values_list("pk", "customer_grade"))
    assert got == {**graded["grades"], c.pk: ov.to_grade}
    yesterday = _today() - dt.timedelta(days=1)
    terms = interface.grade_terms(c, yesterday)
    assert terms is not None and terms.grade == graded["grades"][c.pk] and not terms.overridden
    earlier = Customer.objects.annotate(g=interface.grade_subquery("pk", yesterday)).get(pk=c.pk)
    assert earlier.g == graded["grades"][c.pk]


def test_a_later_run_supersedes_the_override_and_reports_it(org, graded, gm2):
    c, first = graded["east"], graded["run"]
    ov = _request(org, graded)
    overrides.override_decide(actor=org["gm"], override_id=ov.pk, approve=True)
    second = services.run_start(actor=org["mgr_east"])
    run_pending_jobs()
    second.refresh_from_db()
    new_grade = GradingResult.objects.get(run=second, customer=c).grade
    # computed, not yet approved: the override still holds, the run already lists what it will supersede
    terms = interface.grade_terms(c)
    assert terms is not None and terms.overridden
    report = overrides.superseded_by(second, first, org["gm"])
    assert [(s["override"].pk, s["override_grade"], s["new_grade"]) for s in report] == [
        (ov.pk, ov.to_grade, new_grade)
    ]
    services.run_approve(actor=gm2, run_id=second.pk)
    second.refresh_from_db()
    terms = interface.grade_terms(c)
    assert terms is not None
    assert (terms.grade, terms.overridden, terms.run_id) == (new_grade, False, second.pk)
    got = Customer.objects.annotate(g=interface.grade_subquery("pk")).get(pk=c.pk)
    assert got.g == new_grade
    assert overrides.run_overrides(first).get() == ov
    assert not overrides.run_overrides(second).exists()
    assert len(overrides.superseded_by(second, first, org["gm"])) == 1


def test_a_pending_request_cannot_be_approved_after_a_new_run_took_effect(org, graded, gm2):
    ov = _request(org, graded)
    _approved_run(org["mgr_east"], gm2)
    with pytest.raises(Conflict):
        overrides.override_decide(actor=org["gm"], override_id=ov.pk, approve=True)
    overrides.override_decide(actor=org["gm"], override_id=ov.pk, approve=False, comment="已重新分级")
    ov.refresh_from_db()
    assert ov.status == OverrideStatus.REJECTED


# --------------------------------------------------------------------------------------------------------------
# Pages


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_request_from_the_dossier_and_decide_on_the_detail_page(org, graded):
    c = graded["east"]
    mgr, gm = _client(org["mgr_east"]), _client(org["gm"])
    section = mgr.get(f"/customers/{c.pk}/?tab=5").content.decode()
    assert 'id="grade-override-request"' in section
    assert (
        'id="grade-override-request"'
        not in _client(org["rep1"]).get(f"/customers/{c.pk}/?tab=5").content.decode()
    )
    url = reverse("grading_override_request", args=[c.pk])
    assert mgr.get(url).status_code == 200
    assert _client(org["rep1"]).get(url).status_code == 403
    assert mgr.get(reverse("grading_override_request", args=[graded["south"].pk])).status_code == 404
    bad = mgr.post(url, {"to_grade": _other_grade(graded["grades"][c.pk]), "reason": ""})
    assert bad.status_code == 400 and not GradeOverride.objects.exists()
    to = _other_grade(graded["grades"][c.pk])
    resp = mgr.post(url, {"to_grade": to, "reason": "年度战略合作"})
    assert resp.status_code == 302
    ov = GradeOverride.objects.get()
    again = mgr.post(url, {"to_grade": to, "reason": "再次申请"})
    assert (
        again.status_code == 400
        and "待批准" in again.content.decode()
        and "再次申请" in again.content.decode()
    )
    detail = reverse("grading_override_detail", args=[ov.pk])
    page = mgr.get(detail).content.decode()
    assert 'id="override-withdraw"' in page and 'id="override-decide"' not in page
    page = gm.get(detail).content.decode()
    assert 'id="override-decide"' in page and 'id="override-withdraw"' not in page
    decide = reverse("grading_override_decide", args=[ov.pk])
    refused = gm.post(decide, {"decision": "reject", "comment": ""})
    assert refused.status_code == 400 and "驳回时必须填写" in refused.content.decode()
    assert mgr.post(decide, {"decision": "approve"}).status_code == 403
    assert gm.post(decide, {"decision": "approve", "comment": "同意"}).status_code == 302
    ov.refresh_from_db()
    assert ov.status == OverrideStatus.APPROVED
    assert "按本调整执行" in gm.get(detail).content.decode()
    section = mgr.get(f"/customers/{c.pk}/?tab=5").content.decode()
    assert 'id="grade-override-in-force"' in section


def test_withdraw_on_the_page(org, graded):
    ov = _request(org, graded)
    url = reverse("grading_override_withdraw", args=[ov.pk])
    assert _client(org["gm"]).post(url, {}).status_code == 403
    assert _client(org["mgr_east"]).post(url, {"comment": "撤回"}).status_code == 302
    ov.refresh_from_db()
    assert ov.status == OverrideStatus.WITHDRAWN


def _many_overrides(org: Any, graded: dict[str, Any], n: int) -> list[GradeOverride]:
    """n more graded customers of rep1 with an approved override each (the first run stays in force)."""
    run = graded["run"]
    out = []
    for i in range(n):
        c = make_active(org["rep1"], 20 + i)
        GradingResult.objects.create(
            run=run, customer=c, score=10, rank=99, grade="C", breakdown={"items": []}
        )
        ov = overrides.override_request(actor=org["mgr_east"], customer_id=c.pk, to_grade="B", reason="调整")
        out.append(overrides.override_decide(actor=org["gm"], override_id=ov.pk, approve=True))
    return out


def test_list_page_filters_export_and_bounded_queries(org, graded, django_assert_max_num_queries):
    gm = _client(org["gm"])
    _many_overrides(org, graded, 2)
    url = reverse("grading_override_list")
    gm.get(url)
    with django_assert_max_num_queries(12) as small:
        assert gm.get(url).status_code == 200
    _many_overrides(org, graded, 8)
    pending = _request(org, graded)
    with django_assert_max_num_queries(len(small.captured_queries)):
        body = gm.get(url).content.decode()
    assert body.count('data-status="approved"') == 10 and body.count('data-status="pending"') == 1
    body = gm.get(url + "?status=pending").content.decode()
    assert body.count('data-status="') == 1 and f'href="/grading/overrides/{pending.pk}/"' in body
    assert (
        gm.get(url + f"?grade={pending.to_grade}&status=pending").content.decode().count('data-status="') == 1
    )
    export = gm.get(url + "?export=xlsx")
    assert export.status_code == 200 and "spreadsheetml" in export["Content-Type"]
    head, *rows = _xlsx_rows(export.content)
    assert len(rows) == 11
    at = {name: head.index(name) for name in ("客户", "客户编号", "原等级", "调整后等级", "状态")}
    mine = [r for r in rows if r[at["客户编号"]] == pending.customer.number and r[at["状态"]] == "待批准"]
    assert len(mine) == 1
    assert mine[0][at["客户"]] == pending.customer.name
    assert (mine[0][at["原等级"]], mine[0][at["调整后等级"]]) == (pending.from_grade, pending.to_grade)
    # the export follows the list's filters
    _head, *only = _xlsx_rows(gm.get(url + "?status=pending&export=xlsx").content)
    assert [(r[at["客户"]], r[at["调整后等级"]]) for r in only] == [(pending.customer.name, pending.to_grade)]
    # a sales rep sees the overrides of own customers only
    assert _client(org["rep2"]).get(url).content.decode().count('data-status="') == 0
    assert _client(org["credit"]).get(url).status_code == 403


def test_run_detail_reports_overrides_with_bounded_queries(org, graded, gm2, django_assert_max_num_queries):
    run = graded["run"]
    mgr, gm = _client(org["mgr_east"]), _client(org["gm"])
    url = reverse("grading_run_detail", args=[run.pk])
    _many_overrides(org, graded, 2)
    mgr.get(url)
    with django_assert_max_num_queries(25) as small:
        body = mgr.get(url).content.decode()
    assert 'id="run-overrides-count">2<' in body
    # request links on the rows of the run in force, for the manager's own department only
    east = [c.pk for c in graded["customers"] if c.owner_id == org["rep1"].pk]
    assert f'data-override-request="{graded["east"].pk}"' in body
    assert f'data-override-request="{graded["south"].pk}"' not in body
    assert body.count("data-override-request=") == len(east) + 2
    _many_overrides(org, graded, 8)
    with django_assert_max_num_queries(len(small.captured_queries)):
        body = mgr.get(url).content.decode()
    assert 'id="run-overrides-count">10<' in body
    # a new run lists the overrides it supersedes; the old run loses its request links
    second = _approved_run(org["mgr_east"], gm2)
    page = gm.get(reverse("grading_run_detail", args=[second.pk])).content.decode()
    assert 'id="superseded-overrides"' in page and page.count("data-override=") == 10
    assert "data-override-request=" not in mgr.get(url).content.decode()


def test_customer_list_grade_column_with_overrides_keeps_its_query_count(
    org, graded, django_assert_max_num_queries
):
    rep = _client(org["rep1"])
    url = reverse("customer_list")
    rep.get(url)
    with django_assert_max_num_queries(12) as small:
        rep.get(url)
    made = _many_overrides(org, graded, 5)
    with django_assert_max_num_queries(len(small.captured_queries)):
        body = rep.get(url).content.decode()
    assert body.count(">B<") >= len(made)


# --------------------------------------------------------------------------------------------------------------
# API


def test_api_statuses(org, graded, gm2):
    c = graded["east"]
    mgr, gm, rep = _client(org["mgr_east"]), _client(org["gm"]), _client(org["rep1"])
    base = "/api/v1/grading/overrides"
    to = _other_grade(graded["grades"][c.pk])
    body = {"customer_id": c.pk, "to_grade": to, "reason": "重点项目"}
    assert rep.post(base, body, content_type="application/json").status_code == 403
    other = {**body, "customer_id": graded["south"].pk}
    assert mgr.post(base, other, content_type="application/json").status_code == 404
    bad = mgr.post(base, {**body, "to_grade": "Z"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["detail"] == {"field": "to_grade", "rule": "choice"}
    made = mgr.post(base, body, content_type="application/json")
    assert made.status_code == 201, made.content
    oid = made.json()["id"]
    assert made.json()["status"] == "pending" and made.json()["from_grade"] == graded["grades"][c.pk]
    assert mgr.post(base, body, content_type="application/json").status_code == 409
    assert mgr.get(f"{base}/{oid}").status_code == 200
    assert _client(org["rep2"]).get(f"{base}/{oid}").status_code == 404
    assert mgr.post(f"{base}/{oid}/approve", {}, content_type="application/json").status_code == 403
    reject = gm.post(f"{base}/{oid}/reject", {"comment": ""}, content_type="application/json")
    assert reject.status_code == 400 and reject.json()["detail"]["field"] == "comment"
    ok = gm.post(f"{base}/{oid}/approve", {"comment": "同意"}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["status"] == "approved" and ok.json()["decided_by"] == "gm1"
    assert mgr.post(f"{base}/{oid}/withdraw", {}, content_type="application/json").status_code == 409
    listing = rep.get(base).json()
    assert listing["count"] == 1 and listing["items"][0]["id"] == oid
    assert mgr.get(base, {"status": "pending"}).json()["count"] == 0
    terms = rep.get(f"/api/v1/grading/customers/{c.pk}/terms").json()
    assert (terms["grade"], terms["overridden"], terms["override_id"]) == (to, True, oid)
    run = gm.get(f"/api/v1/grading/runs/{graded['run'].pk}").json()
    assert run["overrides_count"] == 1 and run["overrides"][0]["id"] == oid
    second = _approved_run(org["mgr_east"], gm2)
    report = gm.get(f"/api/v1/grading/runs/{second.pk}").json()
    assert [s["override_id"] for s in report["superseded_overrides"]] == [oid]
    assert report["superseded_overrides"][0]["override_grade"] == to
    assert rep.get(f"/api/v1/grading/customers/{c.pk}/terms").json()["overridden"] is False
    # withdraw through the API
    now = rep.get(f"/api/v1/grading/customers/{c.pk}/terms").json()["grade"]
    again = mgr.post(base, {**body, "to_grade": _other_grade(now)}, content_type="application/json")
    assert again.status_code == 201, again.content
    gone = mgr.post(f"{base}/{again.json()['id']}/withdraw", {}, content_type="application/json")
    assert gone.status_code == 200 and gone.json()["status"] == "withdrawn"


# --------------------------------------------------------------------------------------------------------------
# Who sees which override of a run; decisions and comments on the pages


def test_run_overrides_list_only_those_within_the_users_scope(org, graded, gm2):
    """R-GRD-04: the run's overrides carry the reason and the comment, so each user lists only the overrides of
    customers within their own scope; the count stays company-wide and the page says how many the user sees."""
    east = _request(org, graded)
    overrides.override_decide(actor=org["gm"], override_id=east.pk, approve=True, comment="同意")
    south = _request(org, graded, actor=org["gm"], customer=graded["south"], reason="华南重点客户")
    overrides.override_decide(actor=gm2, override_id=south.pk, approve=True, comment="华南同意")
    run = graded["run"]
    mgr = _client(org["mgr_east"])
    got = mgr.get(f"/api/v1/grading/runs/{run.pk}").json()
    assert got["overrides_count"] == 2 and got["overrides_visible"] == 1
    assert [o["id"] for o in got["overrides"]] == [east.pk]
    assert "华南" not in str(got["overrides"])
    full = _client(org["gm"]).get(f"/api/v1/grading/runs/{run.pk}").json()
    assert full["overrides_visible"] == 2 and {o["id"] for o in full["overrides"]} == {east.pk, south.pk}
    page = mgr.get(reverse("grading_run_detail", args=[run.pk])).content.decode()
    block = page.split('id="run-overrides"', 1)[1].split("</table>", 1)[0]
    assert f'data-override="{east.pk}"' in block and f'data-override="{south.pk}"' not in block
    assert "共 2 项，您可查看 1 项" in block


def test_superseded_overrides_list_only_those_within_the_users_scope(org, graded, gm2):
    """R-GRD-04: a new run lists the overrides it supersedes with the customer and the grades; a department's
    sales manager sees only those of the customers within the department, on the page, in the API and from the
    service."""
    east = _request(org, graded)
    overrides.override_decide(actor=org["gm"], override_id=east.pk, approve=True, comment="同意")
    south = _request(org, graded, actor=org["gm"], customer=graded["south"], reason="华南重点客户")
    overrides.override_decide(actor=gm2, override_id=south.pk, approve=True, comment="华南同意")
    first = graded["run"]
    second = services.run_start(actor=org["mgr_east"])
    run_pending_jobs()
    second.refresh_from_db()

    def ids(actor: Any) -> list[int]:
        return [s["override"].pk for s in overrides.superseded_by(second, first, actor)]

    assert sorted(ids(org["gm"])) == sorted([east.pk, south.pk])
    assert ids(org["mgr_east"]) == [east.pk]
    assert ids(org["rep2"]) == [south.pk]  # a sales rep: own customers only
    api = _client(org["mgr_east"]).get(f"/api/v1/grading/runs/{second.pk}").json()
    assert [s["override_id"] for s in api["superseded_overrides"]] == [east.pk]
    full = _client(org["gm"]).get(f"/api/v1/grading/runs/{second.pk}").json()
    assert {s["override_id"] for s in full["superseded_overrides"]} == {east.pk, south.pk}
    page = _client(org["mgr_east"]).get(reverse("grading_run_detail", args=[second.pk])).content.decode()
    block = page.split('id="superseded-overrides"', 1)[1].split("</table>", 1)[0]
    assert f'data-override="{east.pk}"' in block and f'data-override="{south.pk}"' not in block
    assert graded["south"].name not in block


def test_decide_page_needs_approve_or_reject(org, graded):
    ov = _request(org, graded)
    gm = _client(org["gm"])
    url = reverse("grading_override_decide", args=[ov.pk])
    for data in ({"comment": "先看看"}, {"decision": "maybe", "comment": "先看看"}):
        resp = gm.post(url, data)
        assert resp.status_code == 400 and "请选择批准或驳回" in resp.content.decode()
        ov.refresh_from_db()
        assert ov.status == OverrideStatus.PENDING
    assert gm.post(url, {"decision": "reject", "comment": "不同意"}).status_code == 302
    ov.refresh_from_db()
    assert ov.status == OverrideStatus.REJECTED


def test_an_over_long_comment_is_refused_naming_the_field(org, graded):
    long = "长" * (overrides.COMMENT_MAX + 1)
    ov = _request(org, graded)
    with pytest.raises(ValidationFailed) as e:
        overrides.override_withdraw(actor=org["mgr_east"], override_id=ov.pk, comment=long)
    assert (e.value.field, e.value.rule) == ("comment", "max_length")
    ov.refresh_from_db()
    assert ov.status == OverrideStatus.PENDING
    resp = _client(org["mgr_east"]).post(
        reverse("grading_override_withdraw", args=[ov.pk]), {"comment": long}
    )
    assert resp.status_code == 400 and "撤回说明：不得超过 2000 个字符" in resp.content.decode()
    ov.refresh_from_db()
    assert ov.status == OverrideStatus.PENDING
    api = _client(org["mgr_east"]).post(
        f"/api/v1/grading/overrides/{ov.pk}/withdraw", {"comment": long}, content_type="application/json"
    )
    assert api.status_code == 400 and api.json()["detail"] == {"field": "comment", "rule": "max_length"}
    resp = _client(org["gm"]).post(
        reverse("grading_override_decide", args=[ov.pk]), {"decision": "approve", "comment": long}
    )
    assert resp.status_code == 400 and "审批意见：不得超过 2000 个字符" in resp.content.decode()
    ov.refresh_from_db()
    assert ov.status == OverrideStatus.PENDING and ov.decision_comment == ""
