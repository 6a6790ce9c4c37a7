"""Grading simulation (R-GRD-05): a draft scheme runs against the current data in the background and leaves no
trace but its report; the report equals what a real run under the draft would give; bad drafts are refused naming
the field and the rule; only sales managers and general managers may simulate; pages, download and API."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal as D
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from kehu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kehu.core.jobs import enqueue
from kehu.core.jobs.models import JobRun, JobState
from kehu.core.jobs.testing import run_pending_jobs
from kehu.core.models import AuditEntry
from kehu.core.policies.models import PolicyStatus, PolicyVersion
from kehu.core.policies.services import clear_cache
from kehu.customers.models import Customer, CustomerStatus
from kehu.grading import policies, services, simulation
from kehu.grading.models import GradeOverride, GradingResult, GradingRun, InputEntry, QuarterVisit
from kehu.grading.tests.conftest import make_active
from kehu.receivables import services as rcv

pytestmark = pytest.mark.django_db

# A draft that changes quotas, weights and a scoring rule: sales volume counts for more, a smaller A grade.
DRAFT: dict[str, Any] = {
    "grades": [
        {"name": "A", "quota": 10},
        {"name": "B", "quota": 20},
        {"name": "C", "quota": 50},
        {"name": "D", "quota": 20},
    ],
    "items": [
        {"key": "sales_volume", "weight": 40},
        {"key": "industry_reputation", "weight": 0},
        {"key": "margin", "weight": 10},
    ],
    "rules": {"sales_full_at": "3000000"},
}


def _today() -> dt.date:
    return timezone.localdate()


@pytest.fixture
def book(org, finance) -> dict[str, Any]:
    """Twelve active customers with ledger data of different size and entered items, graded by an approved run;
    then one more active customer (not graded yet) and one graded customer suspended (a run leaves it out)."""
    customers = [make_active(org["rep1"] if i % 2 == 0 else org["rep2"], i) for i in range(12)]
    today = _today()
    for i, c in enumerate(customers[:9]):
        for n in range(1 + i % 3):
            rcv.invoice_post(
                actor=finance,
                customer_id=c.pk,
                number=f"INV-{i}-{n}",
                entry_date=today - dt.timedelta(days=100 + 10 * n),
                due_date=today - dt.timedelta(days=70 - 5 * i),
                amount=D(400_000 * (9 - i) + 1000 * n),
            )
    for i, c in enumerate(customers):
        services.inputs_enter(
            actor=org["rep1"] if i % 2 == 0 else org["rep2"],
            customer_id=c.pk,
            values={
                "sales_model": ["direct", "distributor", "agent", "trader"][i % 4],
                "industry_reputation": str(1 + (i * 3) % 5),
                **({"margin": str(5 + 2 * i)} if i % 3 else {}),
            },
        )
    first = services.run_start(actor=org["mgr_east"])
    run_pending_jobs()
    services.run_approve(actor=org["gm"], run_id=first.pk)
    newcomer = make_active(org["rep1"], 12)
    leaver = customers[11]
    Customer.objects.filter(pk=leaver.pk).update(status=CustomerStatus.SUSPENDED)
    return {"customers": customers, "first": first, "newcomer": newcomer, "leaver": leaver}


def _simulate(actor: Any, draft: dict[str, Any] | None = None, **kwargs: Any) -> JobRun:
    job = simulation.simulation_start(actor=actor, draft=DRAFT if draft is None else draft, **kwargs)
    assert job.state == JobState.QUEUED
    assert run_pending_jobs() >= 1
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    return job


def _report(actor: Any, draft: dict[str, Any] | None = None) -> dict[str, Any]:
    result = _simulate(actor, draft).result
    assert isinstance(result, dict)
    return result


class Discard(Exception):
    pass


def _real_run_under(draft: policies.SchemePolicy, actor: Any) -> dict[int, tuple[str, D, int, D]]:
    """A grading run under ``draft`` made the scheme in force, computed and then rolled back: per customer the
    grade, score, rank and sales volume."""
    out: dict[int, tuple[str, D, int, D]] = {}
    try:
        with transaction.atomic():
            number = PolicyVersion.objects.filter(type_key=policies.SCHEME).count() + 1
            PolicyVersion.objects.create(
                type_key=policies.SCHEME,
                number=number,
                values=draft.model_dump(mode="json"),
                effective_from=_today() - dt.timedelta(days=1),
                status=PolicyStatus.FORMAL,
                approved_at=timezone.now(),
            )
            clear_cache()
            run = services.run_start(actor=actor)
            run_pending_jobs()
            for r in GradingResult.objects.filter(run=run):
                sales = r.breakdown["inputs"]["sales_volume"]
                out[r.customer_id] = (r.grade, r.score, r.rank, D(sales) if sales else D(0))
            raise Discard
    except Discard:
        pass
    finally:
        clear_cache()
    assert out
    return out


def test_report_equals_a_real_run_under_the_draft(org, book):
    """R-GRD-05: same grades, scores, ranks and revenue per grade as a run under the draft would give."""
    base, _version = policies.scheme()
    draft = simulation.draft_validate(DRAFT, base)
    expected = _real_run_under(draft, org["gm"])
    before = dict(GradingResult.objects.filter(run=book["first"]).values_list("customer_id", "grade"))
    report = _report(org["mgr_east"])

    assert report["active_customers"] == len(expected) == 12  # eleven of the first run and the newcomer
    rows = {g["grade"]: g for g in report["grades"]}
    assert [g["grade"] for g in report["grades"]] == ["A", "B", "C", "D", None]
    for name in "ABCD":
        mine = [cid for cid, e in expected.items() if e[0] == name]
        assert rows[name]["after_count"] == len(mine)
        assert D(rows[name]["after_revenue"]) == sum((expected[c][3] for c in mine), D(0))
        assert rows[name]["quota"] == {"A": 10, "B": 20, "C": 50, "D": 20}[name]
        assert rows[name]["before_count"] == sum(1 for g in before.values() if g == name)
    assert rows[None]["before_count"] == 1  # the newcomer has no grade yet
    assert rows[None]["after_count"] == 1  # the suspended customer has no grade under the draft

    movers = {m["customer_id"]: m for m in report["mover_rows"]}
    order = "ABCD"
    want = {}
    for cid, (grade, score, rank, _sales) in expected.items():
        old = before.get(cid)
        if old != grade:
            want[cid] = "new" if old is None else ("up" if order.index(grade) < order.index(old) else "down")
            assert (movers[cid]["after"], D(movers[cid]["after_score"]), movers[cid]["rank"]) == (
                grade,
                score,
                rank,
            )
    want[book["leaver"].pk] = "ungraded"
    assert {cid: m["direction"] for cid, m in movers.items()} == want
    assert movers[book["newcomer"].pk]["direction"] == "new"
    assert (
        movers[book["leaver"].pk]["after"] is None
        and movers[book["leaver"].pk]["before"] == before[book["leaver"].pk]
    )
    counts = report["movers"]
    assert counts["total"] == len(want) and counts["up"] + counts["down"] >= 1
    assert counts["ungraded"] == 1 and counts["new"] == 1
    assert report["draft"] == draft.model_dump(mode="json")
    assert report["base_version"] == _version and report["mover_rows_capped"] is False
    total_before = sum(D(g["before_revenue"]) for g in report["grades"])
    total_after = sum(D(g["after_revenue"]) for g in report["grades"])
    assert total_before == total_after == D(report["revenue"])


def test_simulation_leaves_no_trace_but_its_report(org, book):
    """'Simulation leaving no trace but its report': no grading rows, no inputs, no policy version, no audit."""
    models = (GradingRun, GradingResult, InputEntry, GradeOverride, QuarterVisit, AuditEntry, PolicyVersion)
    counts = {m: m.objects.count() for m in models}
    grades = dict(GradingResult.objects.values_list("pk", "grade"))
    jobs = JobRun.objects.count()
    job = _simulate(org["gm"])
    assert {m: m.objects.count() for m in models} == counts
    assert dict(GradingResult.objects.values_list("pk", "grade")) == grades
    assert JobRun.objects.count() == jobs + 1
    assert job.enqueued_by == org["gm"] and job.kwargs["draft"]["grades"][0]["quota"] == 10
    assert (job.progress_done, job.progress_total) == (24, 24)  # scoring and comparing, 12 customers each


@pytest.mark.parametrize(
    ("draft", "field", "rule"),
    [
        ({"grades": [{"name": "A", "quota": 30}, {"name": "B", "quota": 30}, {"name": "C", "quota": 30},
                     {"name": "D", "quota": 30}]}, "grades", "quota_sum"),
        ({"items": [{"key": "sales_volume", "weight": 50}]}, "items", "weight_sum"),
        ({"grades": [{"name": "S", "quota": 50}, {"name": "A", "quota": 50}]}, "grades.0.name", "unknown_grade"),
        ({"grades": [{"name": "A", "quota": 50}, {"name": "A", "quota": 50}]}, "grades", "unique_grade"),
        ({"grades": [{"name": "A", "quota": 150}, {"name": "B", "quota": -50}]}, "grades.0.quota",
         "less_than_equal"),
        ({"items": [{"key": "luck", "weight": 5}]}, "items.0.key", "unknown_item"),
        ({"rules": {"sales_full_at": "0"}}, "rules.sales_full_at", "greater_than"),
        ({"total_points": 120}, "items", "weight_sum"),
        ({"bonus": 1}, "bonus", "unknown_field"),
        ("quotas", "draft", "object"),
    ],
)  # fmt: skip
def test_bad_draft_is_refused_naming_field_and_rule(org, book, draft, field, rule):
    jobs = JobRun.objects.count()
    with pytest.raises(ValidationFailed) as e:
        simulation.simulation_start(actor=org["gm"], draft=draft)
    assert (e.value.field, e.value.rule) == (field, rule)
    assert str(e.value.message)
    assert JobRun.objects.count() == jobs


def test_new_grade_names_with_all_terms_are_accepted(org, book):
    """R-GRD-06: a draft may rename grades when it gives each new grade its terms."""
    base, _v = policies.scheme()
    terms = base.grades[0].model_dump(mode="json")
    draft = {
        "grades": [
            {**terms, "name": "VIP", "quota": 20},
            {**terms, "name": "核心", "quota": 30},
            {**terms, "name": "潜力", "quota": 50},
        ]
    }
    expected = _real_run_under(simulation.draft_validate(draft, base), org["gm"])
    before = dict(GradingResult.objects.filter(run=book["first"]).values_list("customer_id", "grade"))
    report = _report(org["gm"], draft)
    names = [g["grade"] for g in report["grades"]]
    assert names[:3] == ["VIP", "核心", "潜力"] and set(names[3:]) >= {"A", "B", "C"}
    after = {g["grade"]: g["after_count"] for g in report["grades"]}
    assert after["VIP"] + after["核心"] + after["潜力"] == 12 and after["A"] == 0
    # renamed grades are compared by position: VIP is where A was, 核心 where B was, 潜力 where C was
    old_pos = {g.name: n for n, g in enumerate(base.grades)}
    new_pos = {"VIP": 0, "核心": 1, "潜力": 2}
    want: dict[int, str] = {book["leaver"].pk: "ungraded"}
    kept = 0
    for cid, (grade, _score, _rank, _sales) in expected.items():
        old = before.get(cid)
        if old is None:
            want[cid] = "new"
        elif new_pos[grade] == old_pos[old]:
            kept += 1  # e.g. A before, VIP under the draft: not a mover
        else:
            want[cid] = "up" if new_pos[grade] < old_pos[old] else "down"
    assert kept >= 1 and len(want) < 13
    assert {m["customer_id"]: m["direction"] for m in report["mover_rows"]} == want


def test_period_and_roles(org, book):
    with pytest.raises(ValidationFailed) as e:
        simulation.simulation_start(actor=org["gm"], draft={}, period_end=_today() + dt.timedelta(days=1))
    assert e.value.field == "period_end"
    for who in ("rep1", "credit", "auditor"):
        with pytest.raises(PermissionDenied):
            simulation.simulation_start(actor=org[who], draft={})
        with pytest.raises(PermissionDenied):
            simulation.simulation_list(actor=org[who])
    job = _simulate(org["mgr_east"], {})
    with pytest.raises(PermissionDenied):
        simulation.simulation_get(actor=org["rep1"], simulation_id=job.pk)
    assert simulation.simulation_get(actor=org["gm"], simulation_id=job.pk) == job  # company-wide


def test_scheme_in_force_on_unchanged_data_moves_nobody(org, book):
    Customer.objects.filter(pk=book["leaver"].pk).update(status=CustomerStatus.ACTIVE)
    Customer.objects.filter(pk=book["newcomer"].pk).update(status=CustomerStatus.PROSPECT)
    report = _report(org["gm"], {})
    assert report["movers"] == {"up": 0, "down": 0, "new": 0, "ungraded": 0, "total": 0}
    assert all(g["before_count"] == g["after_count"] for g in report["grades"])


def test_one_simulation_per_user_at_a_time(org, book):
    simulation.simulation_start(actor=org["gm"], draft={})
    with pytest.raises(Conflict):
        simulation.simulation_start(actor=org["gm"], draft={})
    simulation.simulation_start(actor=org["mgr_east"], draft={})  # another user may
    run_pending_jobs()
    simulation.simulation_start(actor=org["gm"], draft={})


def test_movers_list_is_capped_and_says_so(org, book, monkeypatch):
    monkeypatch.setattr(simulation, "MOVERS_MAX", 1)
    report = _report(org["gm"])
    assert len(report["mover_rows"]) == 1 and report["movers"]["total"] > 1
    assert report["mover_rows_capped"] is True and report["mover_rows_max"] == 1


def test_other_jobs_are_not_simulations(org, book):
    other = enqueue("kehu.grading.services.run_compute", actor=org["gm"], run_id=0)
    from kehu.core.errors import NotFound

    with pytest.raises(NotFound):
        simulation.simulation_get(actor=org["gm"], simulation_id=other.pk)


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _xlsx_sheets(content: bytes) -> dict[str, list[list[Any]]]:
    import python_calamine

    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def _mover_rows(page: str) -> dict[int, str]:
    """The mover rows a report page shows: customer id -> direction."""
    return {int(c): d for c, d in re.findall(r'<tr data-customer="(\d+)" data-direction="([a-z]+)"', page)}


def test_pages_form_report_and_download(org, book, django_assert_max_num_queries):
    mgr = _client(org["mgr_east"])
    page = mgr.get("/grading/simulations/")
    assert page.status_code == 200
    assert b'name="grades.0.quota"' in page.content and b'name="items.0.weight"' in page.content
    assert b'name="rules.sales_full_at"' in page.content
    assert b'id="simulation-link"' in mgr.get("/grading/runs/").content
    base, _v = policies.scheme()
    post: dict[str, Any] = {"period_end": "", "period_months": 12, "total_points": 100}
    for i, g in enumerate(base.grades):
        post[f"grades.{i}.name"], post[f"grades.{i}.quota"] = g.name, [10, 20, 50, 20][i]
    for i, item in enumerate(base.items):
        post[f"items.{i}.weight"] = item.weight
    for name, value in base.rules.model_dump().items():
        if name == "sales_model_percent":
            for k, v in value.items():
                post[f"rules.sales_model_percent.{k}"] = v
        else:
            post[f"rules.{name}"] = value
    jobs = JobRun.objects.count()
    bad = mgr.post("/grading/simulations/", {**post, "grades.0.quota": 30})
    assert bad.status_code == 200 and "配额之和".encode() in bad.content
    assert b'value="30"' in bad.content  # the form keeps what was typed
    bad = mgr.post("/grading/simulations/", {**post, "items.0.weight": 99})
    assert bad.status_code == 200 and JobRun.objects.count() == jobs
    resp = mgr.post("/grading/simulations/", post)
    assert resp.status_code == 302
    job = JobRun.objects.get(name=simulation.JOB)
    assert resp["Location"] == f"/grading/simulations/{job.pk}/"
    waiting = mgr.get(resp["Location"])
    assert (
        waiting.status_code == 200
        and b"hx-get" in waiting.content
        and b'id="simulation-status"' in waiting.content
    )
    assert mgr.get(f"/grading/simulations/{job.pk}/xlsx/").status_code == 302  # not yet
    run_pending_jobs()
    partial = mgr.get(resp["Location"], HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and partial["HX-Refresh"] == "true"
    with django_assert_max_num_queries(12):
        report = mgr.get(resp["Location"])
    assert report.status_code == 200
    for marker in (b'id="grade-compare"', b'id="movers"', b'id="chart-count"', b"simulation-chart-data"):
        assert marker in report.content
    everyone = _mover_rows(report.content.decode())
    assert everyone[book["newcomer"].pk] == "new" and everyone[book["leaver"].pk] == "ungraded"
    only_new = mgr.get(resp["Location"] + "?direction=new")
    assert only_new.status_code == 200
    shown = _mover_rows(only_new.content.decode())
    assert book["newcomer"].pk in shown and book["leaver"].pk not in shown
    assert set(shown.values()) == {"new"}
    assert set(shown) == {c for c, d in everyone.items() if d == "new"}
    download = mgr.get(f"/grading/simulations/{job.pk}/xlsx/")
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    sheets = _xlsx_sheets(download.content)
    assert len(sheets) == 4
    compare, summary, movers, draft = sheets.values()
    assert [r[0] for r in summary[1:5]] == ["升级", "降级", "新分级", "不再分级"]
    assert [r[0] for r in compare[1:]] == ["A", "B", "C", "D", "未分级"]
    assert sum(r[3] for r in compare[1:]) == 13
    job.refresh_from_db()
    assert isinstance(job.result, dict)
    assert len(movers) - 1 == job.result["movers"]["total"] >= 1
    assert ["等级配额（%）", "A", 10] in draft
    listing = mgr.get("/grading/simulations/")
    assert f"#{job.pk}".encode() in listing.content


def test_pages_refused_to_other_roles(org, book):
    job = _simulate(org["gm"], {})
    rep = _client(org["rep1"])
    assert rep.get("/grading/simulations/").status_code == 403
    assert rep.get(f"/grading/simulations/{job.pk}/").status_code == 403
    assert rep.get(f"/grading/simulations/{job.pk}/xlsx/").status_code == 403
    assert b'id="simulation-link"' not in _client(org["auditor"]).get("/grading/runs/").content


def test_api_start_poll_and_report(org, book):
    gm, rep = _client(org["gm"]), _client(org["rep1"])
    resp = gm.post("/api/v1/grading/simulations", {"draft": DRAFT}, content_type="application/json")
    assert resp.status_code == 202, resp.content
    body = resp.json()
    assert body["state"] == "queued" and body["report"] is None and body["draft"]["grades"][0]["quota"] == 10
    sim = body["id"]
    assert gm.get(f"/api/v1/grading/simulations/{sim}/xlsx").status_code == 409
    run_pending_jobs()
    done = gm.get(f"/api/v1/grading/simulations/{sim}").json()
    assert done["state"] == "succeeded" and done["percent"] == 100
    assert done["report"]["movers"]["total"] == len(done["report"]["mover_rows"])
    assert gm.get("/api/v1/grading/simulations").json()["count"] == 1
    assert gm.get(f"/api/v1/grading/simulations/{sim}/xlsx").status_code == 200
    bad = gm.post(
        "/api/v1/grading/simulations",
        {"draft": {"grades": [{"name": "Z", "quota": 100}, {"name": "A", "quota": 0}]}},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert (
        bad.json()["detail"]["field"] == "grades.0.name" and bad.json()["detail"]["rule"] == "unknown_grade"
    )
    assert rep.post("/api/v1/grading/simulations", {}, content_type="application/json").status_code == 403
    assert rep.get(f"/api/v1/grading/simulations/{sim}").status_code == 403
    assert gm.get("/api/v1/grading/simulations/999999").status_code == 404


@pytest.fixture
def graded_eight(org, finance) -> dict[str, Any]:
    """Eight active customers of different sales, graded by an approved run (made before the browser starts:
    Playwright's sync API runs an event loop in the test's thread)."""
    for i in range(8):
        c = make_active(org["rep1"], i)
        rcv.invoice_post(
            actor=finance,
            customer_id=c.pk,
            number=f"B-{i}",
            entry_date=_today() - dt.timedelta(days=30),
            due_date=_today() + dt.timedelta(days=30),
            amount=D(500_000 * (i + 1)),
        )
    first = services.run_start(actor=org["mgr_east"])
    run_pending_jobs()
    services.run_approve(actor=org["gm"], run_id=first.pk)
    return {"mgr": org["mgr_east"]}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_simulate_a_smaller_a_grade(live_server, graded_eight, browser_page):
    """In a real browser: a sales manager edits the quotas, starts the simulation, the page follows the background
    job and shows the report with its chart (R-GRD-05)."""
    import re
    import threading

    from kehu.core.tests.test_browser import _login, _shot

    page, base = browser_page, live_server.url
    _login(page, base, graded_eight["mgr"].username)
    page.goto(f"{base}/grading/runs/")
    page.click("#simulation-link")
    page.fill("input[name='grades.0.quota']", "10")
    page.fill("input[name='grades.2.quota']", "50")
    _shot(page, "grading-simulation-form")
    with page.expect_navigation():
        page.click("#start-simulation")
    page.wait_for_url(re.compile(r".*/grading/simulations/\d+/$"))
    assert page.locator("#simulation-status").count() == 1
    worker = threading.Thread(target=run_pending_jobs)  # Playwright's loop runs in this thread
    worker.start()
    worker.join()
    page.wait_for_selector("#grade-compare", timeout=15000)  # the polling page reloads when the job is done
    assert page.locator("#chart-count canvas").count() == 1
    after = [int(page.inner_text(f"#grade-compare tr[data-grade='{g}'] td:nth-child(5)")) for g in "ABCD"]
    assert sum(after) == 8 and after[0] == 1
    _shot(page, "grading-simulation-report")


def test_refusal_is_in_the_users_language(org, book):
    from django.utils import translation

    bad = {"grades": [{"name": "A", "quota": 60}, {"name": "B", "quota": 60}]}
    with translation.override("en"), pytest.raises(ValidationFailed) as e:
        simulation.simulation_start(actor=org["gm"], draft=bad)
    assert (
        str(e.value.message)
        == "The draft grading scheme breaks a rule: The grade quotas must add up to 100%."
    )
    with pytest.raises(ValidationFailed) as e:
        simulation.simulation_start(actor=org["gm"], draft=bad)
    assert "各等级配额之和必须等于 100%" in str(e.value.message)


def test_grades_in_force_honour_an_approved_override(org, book, gm2):
    """'Before' is the grade in force as other modules read it (interface.grade_subquery): an approved override
    (R-GRD-04) counts, its score stays the run's."""
    from kehu.grading import overrides

    lowest = GradingResult.objects.filter(run=book["first"], grade="D").order_by("customer_id").first()
    assert lowest is not None
    ov = overrides.override_request(
        actor=org["gm"], customer_id=lowest.customer_id, to_grade="A", reason="战略客户"
    )
    overrides.override_decide(actor=gm2, override_id=ov.pk, approve=True)
    report = _report(org["gm"], {})
    row = next(m for m in report["mover_rows"] if m["customer_id"] == lowest.customer_id)
    assert (row["before"], row["direction"]) == ("A", "down")
    assert row["before_score"] == str(lowest.score)
    first: dict[str, int] = {}
    for grade in GradingResult.objects.filter(run=book["first"]).values_list("grade", flat=True):
        first[grade] = first.get(grade, 0) + 1
    before = {g["grade"]: g["before_count"] for g in report["grades"]}
    assert before["A"] == first["A"] + 1 and before["D"] == first["D"] - 1  # the leaver counts as before


def test_the_draft_is_laid_over_todays_scheme_whatever_the_period_end(org, book):
    """The form shows today's scheme, so the service takes today's scheme as the base for any period end (the
    report's base version is the one the form showed)."""
    older = policies.scheme()[1]
    values = policies.SchemePolicy().model_dump(mode="json")
    values["rules"]["missing_percent"] = 40
    newer = PolicyVersion.objects.create(
        type_key=policies.SCHEME,
        number=PolicyVersion.objects.filter(type_key=policies.SCHEME).count() + 1,
        values=values,
        effective_from=_today() - dt.timedelta(days=3),
        status=PolicyStatus.FORMAL,
        approved_at=timezone.now(),
    )
    clear_cache()
    try:
        assert policies.scheme(_today() - dt.timedelta(days=10))[1] == older != newer.pk
        job = _simulate(org["gm"], {}, period_end=_today() - dt.timedelta(days=10))
        assert job.kwargs["base_version"] == newer.pk
        assert job.kwargs["draft"]["rules"]["missing_percent"] == 40
        page = _client(org["gm"]).get("/grading/simulations/").content.decode()
        assert f"政策版本 {newer.pk}" in page
    finally:
        clear_cache()


@pytest.mark.postgres
def test_two_simultaneous_submits_by_one_user_enqueue_one(monkeypatch):
    import uuid

    from kehu.core.tests.factories import user_with
    from kehu.core.tests.threads import in_thread, retire_committed
    from kehu.grading.tests.locking import hold_and_race

    # the default scheme without a stored version (a committed version would outlive the test)
    monkeypatch.setattr(policies, "scheme", lambda at=None: (policies.SchemePolicy(), None))
    tag = uuid.uuid4().hex[:6]
    gm = in_thread(lambda: user_with("general_manager", username=f"sim{tag}"))
    try:
        first, second = hold_and_race(
            lambda: simulation.simulation_start(actor=gm, draft={}),
            lambda: simulation.simulation_start(actor=gm, draft={}),
        )
        assert isinstance(first, JobRun), first
        assert isinstance(second, Conflict), second
        assert in_thread(lambda: JobRun.objects.filter(name=simulation.JOB, enqueued_by=gm).count()) == 1
    finally:
        in_thread(lambda: JobRun.objects.filter(name=simulation.JOB, enqueued_by=gm).delete())
        retire_committed(users=[gm])
