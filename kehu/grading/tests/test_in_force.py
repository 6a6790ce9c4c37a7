"""The grade in force (R-GRD-02, R-GRD-04): the latest approved run in effect decides, by approval order; a customer
absent from it is ungraded and its overrides on earlier runs end; an older computed run cannot be approved after a
newer one; an override is never approved against a run that a concurrent approval replaces; an override keeps the
terms of the scheme it was requested under; the dossier shows the grade in force."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal as D
from typing import Any

import pytest
from django.db.models import Max
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kehu.core.errors import Conflict
from kehu.core.jobs.testing import run_pending_jobs
from kehu.customers.models import Customer
from kehu.grading import interface, overrides, policies, selectors, services, visits
from kehu.grading.models import GradeOverride, GradingResult, GradingRun, OverrideStatus, RunStatus
from kehu.grading.tests.conftest import make_active

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_policies():
    from kehu.core.policies.services import clear_cache

    clear_cache()
    yield
    clear_cache()


def today() -> dt.date:
    return timezone.localdate()


def approved_run(
    org: dict[str, Any],
    grades: dict[Customer, str],
    effective_on: dt.date | None = None,
    *,
    started_at: dt.datetime | None = None,
    approved_at: dt.datetime | None = None,
) -> GradingRun:
    """An approved run giving these grades (set-up, bypassing the computation)."""
    effective_on = effective_on or today()
    run = GradingRun.objects.create(
        period_start=effective_on - dt.timedelta(days=365),
        period_end=effective_on - dt.timedelta(days=1),
        policy_version_id=policies.scheme(effective_on)[1],
        status=RunStatus.APPROVED,
        started_by=org["mgr_east"],
        approved_by=org["gm"],
        approved_at=approved_at or timezone.now(),
        effective_on=effective_on,
        customer_count=len(grades),
        distribution={"A": 0, "B": 0, "C": 0, "D": 0},
    )
    if started_at is not None:
        GradingRun.objects.filter(pk=run.pk).update(started_at=started_at)
        run.refresh_from_db()
    GradingResult.objects.bulk_create(
        GradingResult(run=run, customer=c, score=D(90 - i), rank=i + 1, grade=g, breakdown={"items": []})
        for i, (c, g) in enumerate(grades.items())
    )
    return run


def approved_override(org: dict[str, Any], c: Customer, to_grade: str) -> GradeOverride:
    ov = overrides.override_request(
        actor=org["mgr_east"], customer_id=c.pk, to_grade=to_grade, reason="战略客户"
    )
    return overrides.override_decide(actor=org["gm"], override_id=ov.pk, approve=True, comment="同意")


def scheme_version(effective_from: dt.date, **grades: dict[str, Any]) -> int:
    from kehu.core.policies.models import PolicyVersion
    from kehu.core.policies.services import clear_cache

    policies.scheme()  # the default version exists
    values = policies.SchemePolicy().model_dump(mode="json")
    for g in values["grades"]:
        g.update(grades.get(g["name"], {}))
    number = PolicyVersion.objects.filter(type_key=policies.SCHEME).aggregate(n=Max("number"))["n"] or 0
    version = PolicyVersion.objects.create(
        type_key=policies.SCHEME,
        number=number + 1,
        status="formal",
        effective_from=effective_from,
        values=values,
    )
    clear_cache()
    return version.pk


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


# --------------------------------------------------------------------------------------------------------------
# The run in force decides (R-GRD-04)


def test_r_grd_04_a_customer_absent_from_the_run_in_force_is_ungraded_and_its_override_ends(org):
    a, b = make_active(org["rep1"], 1), make_active(org["rep1"], 2)
    approved_run(org, {a: "C", b: "B"}, today() - dt.timedelta(days=10))
    ov = approved_override(org, a, "A")
    terms = interface.grade_terms(a)
    assert terms is not None and (terms.grade, terms.overridden) == ("A", True)
    second = approved_run(org, {b: "B"})  # a no longer trades when the second run is computed
    assert interface.grade_terms(a) is None
    yesterday = interface.grade_terms(a, today() - dt.timedelta(days=1))
    assert yesterday is not None and (yesterday.grade, yesterday.overridden) == ("C", False)
    got = dict(Customer.objects.annotate(g=interface.grade_subquery("pk")).values_list("pk", "g"))
    assert got[a.pk] is None and got[b.pk] == "B"
    previous = selectors.previous_run(second)
    report = overrides.superseded_by(second, previous, org["gm"])
    assert [(s["override"].pk, s["override_grade"], s["new_grade"]) for s in report] == [(ov.pk, "A", None)]
    assert overrides.customer_overrides(actor=org["gm"], customer_id=a.pk)["in_force"] is None


def test_r_grd_04_the_grade_column_stays_one_expression(org, django_assert_max_num_queries):
    customers = [make_active(org["rep1"], i) for i in range(6)]
    approved_run(org, dict.fromkeys(customers, "B"), today() - dt.timedelta(days=5))
    approved_override(org, customers[0], "A")
    approved_run(org, dict.fromkeys(customers[1:], "C"))
    with django_assert_max_num_queries(1):
        got = dict(Customer.objects.annotate(g=interface.grade_subquery("pk")).values_list("pk", "g"))
    assert got == {customers[0].pk: None, **{c.pk: "C" for c in customers[1:]}}


# --------------------------------------------------------------------------------------------------------------
# The dossier shows the grade in force (R-GRD-04)


def test_r_grd_04_dossier_shows_the_overridden_grade_with_a_link_and_keeps_the_history(org):
    c = make_active(org["rep1"], 1)
    approved_run(org, {c: "C"})
    ov = approved_override(org, c, "A")
    page = _client(org["rep1"]).get(f"/customers/{c.pk}/?tab=5").content.decode()
    assert 'id="grade-current">A</span>' in page
    assert 'id="grade-overridden"' in page and reverse("grading_override_detail", args=[ov.pk]) in page
    history = page.split('id="grade-history"', 1)[1].split("</table>", 1)[0]
    assert "<td>C</td>" in history and "<td>A</td>" not in history
    # a user who may see grades but not overrides sees the tag without the link
    page = _client(org["credit"]).get(f"/customers/{c.pk}/?tab=5").content.decode()
    assert 'id="grade-current">A</span>' in page and 'id="grade-overridden"' in page
    assert reverse("grading_override_detail", args=[ov.pk]) not in page


def test_r_grd_04_dossier_of_a_customer_left_out_of_the_run_in_force(org):
    a, b = make_active(org["rep1"], 1), make_active(org["rep1"], 2)
    approved_run(org, {a: "B", b: "C"}, today() - dt.timedelta(days=3))
    approved_run(org, {b: "C"})
    page = _client(org["rep1"]).get(f"/customers/{a.pk}/?tab=5").content.decode()
    assert 'id="grade-current"' not in page and 'id="grade-ungraded"' in page
    assert (
        'id="grade-override-request"'
        not in _client(org["mgr_east"]).get(f"/customers/{a.pk}/?tab=5").content.decode()
    )
    history = page.split('id="grade-history"', 1)[1].split("</table>", 1)[0]
    assert "<td>B</td>" in history


# --------------------------------------------------------------------------------------------------------------
# Approval order (R-GRD-02)


def test_r_grd_02_an_older_computed_run_cannot_be_approved_after_a_newer_one(org, gm2):
    make_active(org["rep1"], 1)
    older = services.run_start(actor=org["mgr_east"])
    run_pending_jobs()
    GradingRun.objects.filter(pk=older.pk).update(started_at=timezone.now() - dt.timedelta(hours=1))
    newer = services.run_start(actor=org["mgr_east"])
    run_pending_jobs()
    services.run_approve(actor=org["gm"], run_id=newer.pk)
    with pytest.raises(Conflict) as e:
        services.run_approve(actor=gm2, run_id=older.pk)
    assert f"#{newer.pk}" in str(e.value.message)
    older.refresh_from_db()
    assert older.status == RunStatus.COMPUTED and older.effective_on is None
    api = _client(gm2).post(f"/api/v1/grading/runs/{older.pk}/approve", {}, content_type="application/json")
    assert api.status_code == 409
    page = _client(gm2).post(reverse("grading_run_approve", args=[older.pk]), {}, follow=True)
    assert "不能再批准" in page.content.decode()
    assert GradingRun.objects.get(pk=older.pk).status == RunStatus.COMPUTED
    # a run started after the run in force may be approved
    latest = services.run_start(actor=org["mgr_east"])
    run_pending_jobs()
    assert services.run_approve(actor=gm2, run_id=latest.pk).status == RunStatus.APPROVED
    assert selectors.previous_run(latest) == newer


def test_r_grd_02_previous_run_follows_the_approval_order(org):
    c = make_active(org["rep1"], 1)
    now = timezone.now()
    # started first, approved last
    late = approved_run(
        org,
        {c: "A"},
        today(),
        started_at=now - dt.timedelta(days=9),
        approved_at=now - dt.timedelta(minutes=1),
    )
    early = approved_run(
        org,
        {c: "B"},
        today() - dt.timedelta(days=2),
        started_at=now - dt.timedelta(days=5),
        approved_at=now - dt.timedelta(days=2),
    )
    assert selectors.previous_run(late) == early
    assert selectors.previous_run(early) is None
    computed = GradingRun.objects.create(
        period_start=today() - dt.timedelta(days=365),
        period_end=today() - dt.timedelta(days=1),
        status=RunStatus.COMPUTED,
        started_by=org["mgr_east"],
    )
    assert selectors.previous_run(computed) == late  # the run it would replace
    terms = interface.grade_terms(c)
    assert terms is not None and (terms.grade, terms.run_id) == ("A", late.pk)


# --------------------------------------------------------------------------------------------------------------
# The override keeps the scheme it was requested under (R-GRD-04, R-GRD-06)


def test_r_grd_04_override_terms_fall_back_to_the_scheme_of_the_request(org):
    c = make_active(org["rep1"], 1)
    approved_run(org, {c: "C"}, today() - dt.timedelta(days=30))
    renamed = scheme_version(
        today() - dt.timedelta(days=5), A={"name": "VIP", "discount_cap": "7", "visit_every_days": 30}
    )
    ov = approved_override(org, c, "VIP")
    assert ov.policy_version_id == renamed
    scheme_version(today() + dt.timedelta(days=10))  # A/B/C/D again
    later = today() + dt.timedelta(days=20)
    terms = interface.grade_terms(c, later)
    assert terms is not None
    assert (terms.grade, terms.discount_cap, terms.policy_version_id, terms.overridden) == (
        "VIP",
        D("7"),
        renamed,
        True,
    )
    assert visits.grade_visit_days(later).get("VIP") == 30  # the bulk form agrees


# --------------------------------------------------------------------------------------------------------------
# Override approval racing run approval (R-GRD-04), PostgreSQL


def _committed_setup(tag: str) -> dict[str, Any]:
    from kehu.core.tests.factories import DepartmentFactory, user_with

    dept = DepartmentFactory(kind="sales", code=f"G{tag}")
    rep = user_with("sales_rep", department=dept, username=f"gr{tag}")
    mgr = user_with("sales_manager", department=dept, username=f"gm{tag}")
    gm_a = user_with("general_manager", username=f"ga{tag}")
    gm_b = user_with("general_manager", username=f"gb{tag}")
    c = make_active(rep, int(tag[:4], 16))
    now = timezone.now()
    first = GradingRun.objects.create(
        period_start=today() - dt.timedelta(days=365),
        period_end=today() - dt.timedelta(days=1),
        status=RunStatus.APPROVED,
        started_by=mgr,
        approved_by=gm_a,
        approved_at=now,
        effective_on=today(),
        customer_count=1,
    )
    GradingResult.objects.create(run=first, customer=c, score=D(50), rank=1, grade="C", breakdown={})
    second = GradingRun.objects.create(
        period_start=today() - dt.timedelta(days=365),
        period_end=today() - dt.timedelta(days=1),
        status=RunStatus.COMPUTED,
        started_by=mgr,
        customer_count=1,
    )
    GradingResult.objects.create(run=second, customer=c, score=D(50), rank=1, grade="B", breakdown={})
    ov = GradeOverride.objects.create(
        customer=c, run=first, from_grade="C", to_grade="A", reason="并发", requested_by=mgr
    )
    return {"users": [rep, mgr, gm_a, gm_b], "customer": c, "first": first, "second": second, "override": ov}


def _committed_cleanup(s: dict[str, Any]) -> None:
    from kehu.core.tests.threads import in_thread, retire_committed

    def drop() -> None:
        GradeOverride.objects.filter(pk=s["override"].pk).delete()
        GradingRun.objects.filter(pk__in=[s["first"].pk, s["second"].pk]).delete()
        Customer.objects.filter(pk=s["customer"].pk).delete()

    in_thread(drop)
    retire_committed(users=s["users"])


@pytest.fixture
def committed(monkeypatch) -> Any:
    from kehu.core.tests.threads import in_thread

    # the default scheme without a stored version (a committed version would outlive the test)
    monkeypatch.setattr(policies, "scheme", lambda at=None: (policies.SchemePolicy(), None))
    s = in_thread(lambda: _committed_setup(uuid.uuid4().hex[:6]))
    yield s
    _committed_cleanup(s)


@pytest.mark.postgres
def test_r_grd_04_override_approval_waits_for_a_run_approval_and_is_refused(committed):
    from kehu.core.tests.threads import in_thread
    from kehu.grading.tests.locking import hold_and_race

    s = committed
    _rep, _mgr, gm_a, gm_b = s["users"]
    run, decided = hold_and_race(
        lambda: services.run_approve(actor=gm_a, run_id=s["second"].pk),
        lambda: overrides.override_decide(actor=gm_b, override_id=s["override"].pk, approve=True),
    )
    assert isinstance(run, GradingRun) and run.status == RunStatus.APPROVED, run
    assert isinstance(decided, Conflict), decided
    assert in_thread(lambda: GradeOverride.objects.get(pk=s["override"].pk).status) == OverrideStatus.PENDING


@pytest.mark.postgres
def test_r_grd_04_run_approval_waits_for_an_override_approval_and_supersedes_it(committed):
    from kehu.core.tests.threads import in_thread
    from kehu.grading.tests.locking import hold_and_race

    s = committed
    _rep, _mgr, gm_a, gm_b = s["users"]
    decided, run = hold_and_race(
        lambda: overrides.override_decide(actor=gm_b, override_id=s["override"].pk, approve=True),
        lambda: services.run_approve(actor=gm_a, run_id=s["second"].pk),
    )
    assert isinstance(decided, GradeOverride) and decided.status == OverrideStatus.APPROVED, decided
    assert isinstance(run, GradingRun) and run.status == RunStatus.APPROVED, run

    def report() -> list[int]:
        second = GradingRun.objects.get(pk=s["second"].pk)
        return [
            x["override"].pk for x in overrides.superseded_by(second, selectors.previous_run(second), gm_a)
        ]

    assert in_thread(report) == [s["override"].pk]
