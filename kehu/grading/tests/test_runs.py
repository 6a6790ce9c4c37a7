"""Grading runs end to end (R-GRD-01, R-GRD-02, R-GRD-03): inputs from the ledger and the entry form, the run as a
background job, determinism, approval by someone other than the starter, grade_terms, permissions, pages, API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.jobs.testing import run_pending_jobs
from kehu.core.models import AuditEntry
from kehu.customers.models import Customer
from kehu.grading import columns, interface, services
from kehu.grading.models import GradingResult, GradingRun, InputEntry, RunStatus
from kehu.grading.tests.conftest import make_active
from kehu.receivables import services as rcv

pytestmark = pytest.mark.django_db


def _today() -> dt.date:
    return timezone.localdate()


@pytest.fixture
def book(org, finance) -> dict[str, Any]:
    """Six active customers of rep1 and rep2 with ledger data and entered items of different strength."""
    customers = [make_active(org["rep1"] if i % 2 == 0 else org["rep2"], i) for i in range(6)]
    today = _today()
    for i, c in enumerate(customers[:4]):
        rcv.invoice_post(
            actor=finance,
            customer_id=c.pk,
            number=f"INV-{i}",
            entry_date=today - dt.timedelta(days=100),
            due_date=today - dt.timedelta(days=70),
            amount=D(1_000_000 * (4 - i)),
        )
    for i, c in enumerate(customers):
        owner = org["rep1"] if i % 2 == 0 else org["rep2"]
        services.inputs_enter(
            actor=owner,
            customer_id=c.pk,
            values={"sales_model": "direct" if i < 3 else "trader", "industry_reputation": str(5 - i % 5)},
        )
    return {"customers": customers}


def _run(actor: Any) -> GradingRun:
    run = services.run_start(actor=actor)
    assert run.status == RunStatus.QUEUED
    assert run_pending_jobs() >= 1
    run.refresh_from_db()
    return run


def _outcome(run: GradingRun) -> list[tuple[int, D, int, str]]:
    return list(GradingResult.objects.filter(run=run).values_list("customer_id", "score", "rank", "grade"))


def test_run_scores_all_active_customers_with_breakdown(org, book):
    run = _run(org["mgr_east"])
    assert run.status == RunStatus.COMPUTED
    assert run.customer_count == 6 and sum(run.distribution.values()) == 6
    assert list(run.distribution) == ["A", "B", "C", "D"]
    first = GradingResult.objects.get(run=run, customer=book["customers"][0])
    items = {r["key"]: r for r in first.breakdown["items"]}
    # 4,000,000 of 5,000,000 × 25; one invoice of 24 × 10; the open invoice is 69 days overdue on
    # the period end (yesterday): (1 − 69/90) × 20
    assert items["sales_volume"]["points"] == "20.00"
    assert items["order_volume"]["points"] == "0.42"
    assert items["payment_reputation"]["points"] == "4.67"
    assert items["margin"]["missing"] is True and items["purchase_share"]["missing"] is True
    assert first.missing == 2
    no_ledger = GradingResult.objects.get(run=run, customer=book["customers"][5])
    assert no_ledger.missing == 6  # four ledger items + margin + share
    assert AuditEntry.objects.filter(object_type__endswith="gradingrun", object_id=str(run.pk)).count() == 2


def test_same_inputs_and_policy_give_the_same_result(org, book):
    one = _run(org["mgr_east"])
    two = _run(org["gm"])
    assert one.policy_version_id == two.policy_version_id
    assert _outcome(one) == _outcome(two)
    assert one.distribution == two.distribution


def test_inputs_entered_after_the_start_are_not_used(org, book):
    run = services.run_start(actor=org["mgr_east"])
    services.inputs_enter(actor=org["rep1"], customer_id=book["customers"][0].pk, values={"margin": "30"})
    run_pending_jobs()
    r = GradingResult.objects.get(run=run, customer=book["customers"][0])
    assert next(i for i in r.breakdown["items"] if i["key"] == "margin")["missing"] is True


def test_approval_by_another_person_only(org, book, gm2):
    run = _run(org["gm"])
    with pytest.raises(PermissionDenied):
        services.run_approve(actor=org["gm"], run_id=run.pk)
    with pytest.raises(PermissionDenied):
        services.run_approve(actor=org["mgr_east"], run_id=run.pk)  # no approving role
    run.refresh_from_db()
    assert run.status == RunStatus.COMPUTED
    services.run_approve(actor=gm2, run_id=run.pk, comment="同意")
    run.refresh_from_db()
    assert (run.status, run.approved_by, run.effective_on) == (RunStatus.APPROVED, gm2, _today())
    with pytest.raises(Conflict):
        services.run_approve(actor=gm2, run_id=run.pk)


def test_only_one_run_computing_at_a_time_and_no_future_period(org, book):
    services.run_start(actor=org["mgr_east"])
    with pytest.raises(Conflict):
        services.run_start(actor=org["gm"])
    run_pending_jobs()
    with pytest.raises(ValidationFailed) as e:
        services.run_start(actor=org["gm"], period_end=_today() + dt.timedelta(days=1))
    assert e.value.field == "period_end"


def test_sales_rep_cannot_start_or_approve(org, book):
    with pytest.raises(PermissionDenied):
        services.run_start(actor=org["rep1"])
    run = _run(org["mgr_east"])
    with pytest.raises(PermissionDenied):
        services.run_approve(actor=org["rep1"], run_id=run.pk)
    assert GradingRun.objects.count() == 1


def test_grade_terms_in_force_only_after_approval(org, book):
    c = book["customers"][0]
    assert interface.grade_terms(c) is None
    run = _run(org["mgr_east"])
    assert interface.grade_terms(c) is None  # computed, not approved
    services.run_approve(actor=org["gm"], run_id=run.pk)
    terms = interface.grade_terms(c)
    assert terms is not None
    result = GradingResult.objects.get(run=run, customer=c)
    assert terms.grade == result.grade and terms.run_id == run.pk
    expected = {
        "A": (D("5"), 20, "jump_queue"),
        "B": (D("3"), 30, "case_by_case"),
        "C": (D("0"), 40, "queue"),
    }
    if terms.grade in expected:
        assert (terms.discount_cap, terms.lead_time_days, terms.rush_rule) == expected[terms.grade]
    assert interface.grade_terms(c, _today() - dt.timedelta(days=1)) is None  # not yet effective then
    assert interface.grade_terms(c.pk) == terms


def test_top_customer_gets_a_and_its_terms(org, book):
    run = _run(org["mgr_east"])
    services.run_approve(actor=org["gm"], run_id=run.pk)
    top = GradingResult.objects.filter(run=run).order_by("rank", "customer_id").first()
    assert top is not None and top.grade == "A" and top.customer_id == book["customers"][0].pk
    terms = interface.grade_terms(top.customer_id)
    assert terms is not None
    assert terms.payment_terms == ["after_delivery_90", "net_30", "cash_on_delivery"]
    assert (terms.response_hours, terms.visit_every_days) == (24, 90)


def test_inputs_entry_records_who_and_refuses_bad_values(org, book):
    c = book["customers"][0]
    before = InputEntry.objects.count()
    with pytest.raises(ValidationFailed) as e:
        services.inputs_enter(
            actor=org["rep1"], customer_id=c.pk, values={"margin": "20", "purchase_share": "120"}
        )
    assert (e.value.field, e.value.rule) == ("purchase_share", "range")
    with pytest.raises(ValidationFailed):
        services.inputs_enter(actor=org["rep1"], customer_id=c.pk, values={"sales_model": "pirate"})
    with pytest.raises(ValidationFailed):
        services.inputs_enter(actor=org["rep1"], customer_id=c.pk, values={"sales_volume": "1"})
    assert InputEntry.objects.count() == before
    with pytest.raises(NotFound):
        services.inputs_enter(actor=org["rep2"], customer_id=c.pk, values={"margin": "20"})
    rows = services.inputs_enter(actor=org["rep1"], customer_id=c.pk, values={"margin": "22.5"})
    assert rows[0].entered_by == org["rep1"] and rows[0].value == "22.50"


def test_grade_column_in_the_customer_list(org, book):
    run = _run(org["mgr_east"])
    services.run_approve(actor=org["gm"], run_id=run.pk)
    columns.register()
    got = dict(columns._annotate(Customer.objects.all()).values_list("pk", "customer_grade"))
    assert got == dict(GradingResult.objects.filter(run=run).values_list("customer_id", "grade"))


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_pages_run_list_detail_and_approve(org, book, django_assert_max_num_queries):
    mgr, gm = _client(org["mgr_east"]), _client(org["gm"])
    resp = mgr.post("/grading/runs/", {"period_end": ""})
    assert resp.status_code == 302
    run_pending_jobs()
    run = GradingRun.objects.get()
    assert mgr.get("/grading/runs/").status_code == 200
    page = gm.get(f"/grading/runs/{run.pk}/")
    assert page.status_code == 200 and b'id="approve-run"' in page.content
    assert b'id="approve-run"' not in mgr.get(f"/grading/runs/{run.pk}/").content
    assert gm.post(f"/grading/runs/{run.pk}/approve/", {"comment": ""}).status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.APPROVED
    # more customers do not cost more queries
    for i in range(6, 20):
        make_active(org["rep1"], i)
    second = _run(org["mgr_east"])
    with django_assert_max_num_queries(20):
        resp = gm.get(f"/grading/runs/{second.pk}/")
    assert resp.status_code == 200 and "新分级".encode() in resp.content


def test_rep_pages_and_dossier_section(org, book):
    rep = _client(org["rep1"])
    assert rep.get("/grading/runs/").status_code == 403
    own, other = book["customers"][0], book["customers"][1]
    assert rep.get(f"/grading/customers/{own.pk}/inputs/").status_code == 200
    assert rep.get(f"/grading/customers/{other.pk}/inputs/").status_code == 404
    resp = rep.post(f"/grading/customers/{own.pk}/inputs/", {"purchase_share": "40"})
    assert resp.status_code == 302
    assert InputEntry.objects.filter(customer=own, item="purchase_share", value="40.00").exists()
    run = _run(org["mgr_east"])
    services.run_approve(actor=org["gm"], run_id=run.pk)
    dossier = rep.get(f"/customers/{own.pk}/?tab=5")
    assert dossier.status_code == 200 and b'id="grade-breakdown"' in dossier.content


def test_api_runs_and_terms(org, book, gm2):
    gm, rep = _client(org["gm"]), _client(org["rep1"])
    resp = gm.post("/api/v1/grading/runs", {}, content_type="application/json")
    assert resp.status_code == 201, resp.content
    run_id = resp.json()["id"]
    assert rep.post("/api/v1/grading/runs", {}, content_type="application/json").status_code == 403
    run_pending_jobs()
    detail = gm.get(f"/api/v1/grading/runs/{run_id}").json()
    assert detail["status"] == "computed" and detail["results_count"] == 6
    assert (
        gm.post(f"/api/v1/grading/runs/{run_id}/approve", {}, content_type="application/json").status_code
        == 403
    )
    ok = _client(gm2).post(f"/api/v1/grading/runs/{run_id}/approve", {}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["approved_by"] == "gm2"
    assert gm.get("/api/v1/grading/runs").json()["count"] == 1
    own, other = book["customers"][0], book["customers"][1]
    terms = rep.get(f"/api/v1/grading/customers/{own.pk}/terms")
    assert terms.status_code == 200 and terms.json()["graded"] is True and terms.json()["grade"] == "A"
    assert rep.get(f"/api/v1/grading/customers/{other.pk}/terms").status_code == 404
    assert rep.get(f"/api/v1/grading/runs/{run_id}").status_code == 403


def test_movers_against_the_previous_approved_run(org, book):
    first = _run(org["mgr_east"])
    services.run_approve(actor=org["gm"], run_id=first.pk)
    before = dict(GradingResult.objects.filter(run=first).values_list("customer_id", "grade"))
    # the last customer (no ledger) gets the best entered items; the strongest ledger customer gets the worst
    last, top = book["customers"][5], book["customers"][0]
    services.inputs_enter(
        actor=org["rep2"],
        customer_id=last.pk,
        values={"margin": "30", "purchase_share": "50", "sales_model": "direct", "industry_reputation": "5"},
    )
    second = _run(org["mgr_east"])
    from kehu.grading import selectors

    assert selectors.previous_run(second) == first
    moved = {
        m["result"].customer_id: (m["before"], m["result"].grade, m["direction"])
        for m in selectors.movers(second, first)
    }
    after = dict(GradingResult.objects.filter(run=second).values_list("customer_id", "grade"))
    assert moved == {
        cid: (before[cid], after[cid], moved[cid][2]) for cid in after if after[cid] != before[cid]
    }
    assert last.pk in moved and moved[last.pk][2] == "up"
    assert all(d in ("up", "down") for _b, _a, d in moved.values())
    assert top.pk not in moved or moved[top.pk][2] == "down"


def test_run_page_counts_movers_and_says_when_there_is_nothing_to_compare(org, book, client):
    """The first run has no run to compare with: the page says so instead of listing everyone as new; a later run
    shows the counts per direction and its movers."""
    first = _run(org["mgr_east"])
    services.run_approve(actor=org["gm"], run_id=first.pk)
    client.force_login(org["gm"])
    body = client.get(reverse("grading_run_detail", args=[first.pk])).content.decode()
    assert "首次分级，没有可对比的运行" in body and 'id="movers"' not in body
    services.inputs_enter(
        actor=org["rep2"],
        customer_id=book["customers"][5].pk,
        values={"margin": "30", "purchase_share": "50", "sales_model": "direct", "industry_reputation": "5"},
    )
    second = _run(org["mgr_east"])
    body = client.get(reverse("grading_run_detail", args=[second.pk])).content.decode()
    assert 'id="mover-counts"' in body and 'data-direction="up"' in body


def test_progress_is_reported_and_a_failure_frees_the_queue(org, book, monkeypatch):
    from kehu.core.jobs.models import JobRun

    run = _run(org["mgr_east"])
    job = JobRun.objects.get(pk=run.job_run_id)
    assert (job.progress_done, job.progress_total) == (6, 6)

    def boom(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "score", boom)
    failed = services.run_start(actor=org["mgr_east"])
    run_pending_jobs()
    failed.refresh_from_db()
    assert failed.status == RunStatus.FAILED and "boom" in failed.error
    assert not GradingResult.objects.filter(run=failed).exists()
    monkeypatch.undo()
    assert _run(org["mgr_east"]).status == RunStatus.COMPUTED


def test_item_values_are_shown_as_people_read_them():
    from kehu.grading.views import item_value

    assert item_value("sales_volume", "498250") == "498,250.00"
    assert item_value("payment_reputation", 168) == "最长逾期 168 天"
    assert item_value("sales_model", "agent") == "代理商"
    assert item_value("margin", "27.00") == "27.00%"
    assert item_value("order_volume", 8) == "8" and item_value("margin", None) == ""
