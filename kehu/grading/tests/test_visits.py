"""What a grade enforces (R-GRD-03): the grade's visit frequency shortens the contact interval of the dossier (and
the contact-gap job), and customers of a grade visited at least every quarter get one visit task per quarter,
closed by the visit. Policy versions are honoured; the jobs run a bounded number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Max
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kehu.core.jobs.testing import run_pending_jobs
from kehu.core.models import AuditEntry
from kehu.core.tests.factories import PASSWORD
from kehu.customers import contactlog
from kehu.customers.models import ContactGap, ContactLog, Customer
from kehu.grading import policies, services, visits
from kehu.grading.models import GradingResult, GradingRun, InputEntry, QuarterVisit, RunStatus
from kehu.grading.tests.conftest import make_active
from kehu.workflow.models import Task, TaskState

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_policies():
    from kehu.core.policies.services import clear_cache

    clear_cache()
    yield
    clear_cache()


def today() -> dt.date:
    return timezone.localdate()


def new_scheme(effective_from: dt.date, **grades: dict[str, Any]) -> int:
    """A formal version of the grading scheme from ``effective_from`` with some grades' terms changed."""
    from kehu.core.policies.models import PolicyVersion
    from kehu.core.policies.services import clear_cache

    policies.scheme()  # the default version 1 exists
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


def grade(
    org: dict[str, Any], grades: dict[Customer, str], effective_on: dt.date | None = None
) -> GradingRun:
    """An approved run in force from ``effective_on`` giving these grades (test set-up, bypassing the run)."""
    effective_on = effective_on or today()
    run = GradingRun.objects.create(
        period_start=effective_on - dt.timedelta(days=365),
        period_end=effective_on - dt.timedelta(days=1),
        policy_version_id=policies.scheme(effective_on)[1],
        status=RunStatus.APPROVED,
        started_by=org["mgr_east"],
        approved_by=org["gm"],
        approved_at=timezone.now(),
        effective_on=effective_on,
        customer_count=len(grades),
    )
    GradingResult.objects.bulk_create(
        GradingResult(run=run, customer=c, score=D(90 - i), rank=i + 1, grade=g, breakdown={"items": []})
        for i, (c, g) in enumerate(grades.items())
    )
    return run


def contacted(c: Customer, days_ago: int) -> Customer:
    Customer.objects.filter(pk=c.pk).update(
        last_contact_at=timezone.now() - dt.timedelta(days=days_ago),
        status_changed_at=timezone.now() - dt.timedelta(days=400),
    )
    c.refresh_from_db()
    return c


def in_quarter() -> dt.datetime:
    """A moment of the current quarter that is not in the future."""
    start = visits.quarter_of(today()).start
    start_at = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    return max(timezone.now() - dt.timedelta(hours=1), start_at)


def visit(actor: Any, c: Customer, channel: str = "visit", at: dt.datetime | None = None) -> ContactLog:
    return contactlog.contact_log_create(
        actor=actor,
        customer_id=c.pk,
        channel=channel,
        contacted_at=at or in_quarter(),
        summary="季度走访，了解明年采购计划",
        contact_name="王经理",
    )


def tasks_of(target: Any) -> Any:
    ct = ContentType.objects.get_for_model(type(target))
    return Task.objects.filter(target_type=ct, target_id=str(target.pk))


def login(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


# ---------------------------------------------------------------------------------------------------------------
# Contact frequency from the grade
# ---------------------------------------------------------------------------------------------------------------


def test_quarters():
    q = visits.quarter_of(dt.date(2026, 11, 25))
    assert (q.label, q.start, q.end) == ("2026Q4", dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    q = visits.quarter_of(dt.date(2027, 1, 1))
    assert (q.label, q.start, q.end) == ("2027Q1", dt.date(2027, 1, 1), dt.date(2027, 3, 31))
    assert visits.quarter_of(dt.date(2026, 6, 30)).label == "2026Q2"
    # the task is due on the quarter's last working day: 2027-01-31 is a Sunday; Q3 2026 ends on a Wednesday
    assert visits.Quarter("2027Q1", dt.date(2027, 1, 1), dt.date(2027, 1, 31)).due_on == dt.date(2027, 1, 29)
    assert visits.quarter_of(dt.date(2026, 8, 1)).due_on == dt.date(2026, 9, 30)


def test_r_grd_03_grade_shortens_the_contact_interval(org):
    rep = org["rep1"]
    general_a, general_b, core_a, ungraded = (make_active(rep, i) for i in range(4))
    Customer.objects.filter(pk=core_a.pk).update(customer_class="core")
    core_a.refresh_from_db()
    # no grade in force yet: the class decides
    assert contactlog.contact_interval(general_a) == contactlog.ContactInterval(90, "class", "客户类别：一般")
    grade(org, {general_a: "A", general_b: "B", core_a: "A"})
    # default scheme: A every 90 days, equal to the general class: the class is named
    assert contactlog.contact_interval(general_a).source == "class"
    new_scheme(today(), A={"visit_every_days": 60})
    got = contactlog.contact_interval(general_a)
    assert (got.days, got.source, got.basis) == (60, "grade", "客户等级：A")
    assert contactlog.contact_interval_days(general_b) == 90  # B: no visit frequency
    assert contactlog.contact_interval(core_a) == contactlog.ContactInterval(30, "class", "客户类别：核心")
    assert contactlog.contact_interval_days(ungraded) == 90
    assert contactlog.contact_interval_days(Customer(customer_class="general")) == 90  # unsaved: no grade
    # a class without a minimum takes the grade's interval
    from kehu.customers.tests.test_contactlog import set_contact_policy

    set_contact_policy(general_days=0)
    assert contactlog.contact_interval_days(general_a) == 60
    assert contactlog.contact_interval_days(general_b) == 0


def test_r_grd_03_policy_versions_are_honoured(org):
    c = make_active(org["rep1"], 1)
    grade(org, {c: "A"}, effective_on=today() - dt.timedelta(days=30))
    new_scheme(today() - dt.timedelta(days=10), A={"visit_every_days": 45})
    new_scheme(today() + dt.timedelta(days=10), A={"visit_every_days": 20})
    assert contactlog.contact_interval_days(c, today() - dt.timedelta(days=20)) == 90  # version 1
    assert contactlog.contact_interval_days(c, today()) == 45
    assert contactlog.contact_interval_days(c, today() + dt.timedelta(days=11)) == 20
    assert contactlog.contact_interval_days(c, today() - dt.timedelta(days=40)) == 90  # not graded then


def test_r_grd_03_a_grade_only_an_earlier_scheme_has_keeps_its_frequency(org):
    c = make_active(org["rep1"], 1)
    old = new_scheme(
        today() - dt.timedelta(days=60),
        A={"name": "VIP", "visit_every_days": 30},
    )
    run = grade(org, {c: "VIP"}, effective_on=today() - dt.timedelta(days=50))
    assert run.policy_version_id == old
    new_scheme(today() - dt.timedelta(days=5))  # A/B/C/D again
    assert visits.grade_visit_days(today()) == {"A": 90, "VIP": 30}
    assert contactlog.contact_interval(c) == contactlog.ContactInterval(30, "grade", "客户等级：VIP")
    assert visits.quarterly_grades(today()) == ["A", "VIP"]


def test_r_grd_03_interval_groups_split_classes_by_grade(org):
    grade(org, {make_active(org["rep1"], 1): "A"})
    policy = contactlog.contact()[0]
    # defaults: every part of every class has the class's interval: plain class filters
    assert [d for _q, d in contactlog.interval_groups(policy)] == [30, 30, 90]
    new_scheme(today(), A={"visit_every_days": 60}, B={"visit_every_days": 20})
    assert [d for _q, d in contactlog.interval_groups(policy)] == [20, 30, 20, 30, 20, 60, 90]


@pytest.mark.parametrize("n", [2, 8])
def test_r_grd_03_gap_job_uses_the_grade_interval_with_bounded_queries(org, n, django_assert_max_num_queries):
    rep1, rep2 = org["rep1"], org["rep2"]
    new_scheme(today(), A={"visit_every_days": 60})
    grades: dict[Customer, str] = {}
    expect: dict[int, int] = {}
    for i in range(n):
        a = contacted(make_active(rep1, 10 * i), 70)  # general, A: 60 days → gap
        b = contacted(make_active(rep2, 10 * i + 1), 70)  # general, B: 90 days → none
        none = contacted(make_active(rep1, 10 * i + 2), 70)  # general, ungraded → none
        core = contacted(
            make_active(rep2, 10 * i + 3, customer_class="core", staff=[rep1]), 40
        )  # core, A: 30 → gap
        old = contacted(make_active(rep1, 10 * i + 4), 95)  # general, ungraded: 90 → gap
        grades.update({a: "A", b: "B", core: "A"})
        expect.update({a.pk: 60, core.pk: 30, old.pk: 90})
        assert none.pk not in expect
    grade(org, grades)
    with django_assert_max_num_queries(45):  # the same for 2 and 8 customers per kind
        result = contactlog.contact_gaps_raise()
    assert result == {"opened": 3 * n, "closed": 0}
    gaps = {g.customer_id: g.interval_days for g in ContactGap.objects.filter(closed_at__isnull=True)}
    assert gaps == expect
    titles = set(Task.objects.filter(target_type__model="contactgap").values_list("title", flat=True))
    assert any("60天" in t for t in titles)
    assert contactlog.contact_gaps_raise() == {"opened": 0, "closed": 0}


# ---------------------------------------------------------------------------------------------------------------
# Quarterly visits
# ---------------------------------------------------------------------------------------------------------------


def test_r_grd_03_quarter_visit_job_raises_one_task_per_customer_and_quarter(org):
    rep1, rep2, rep3 = org["rep1"], org["rep2"], org["rep3"]
    a1 = make_active(rep1, 1)
    a2 = make_active(rep2, 2)
    a_visited = make_active(rep1, 3, staff=[rep3])
    a_called = make_active(rep1, 4)
    a_suspended = make_active(rep1, 5)
    b = make_active(rep1, 6)
    grade(org, {a1: "A", a2: "A", a_visited: "A", a_called: "A", a_suspended: "A", b: "B"})
    Customer.objects.filter(pk=a_suspended.pk).update(status="suspended")
    visit(rep3, a_visited)
    visit(rep1, a_called, channel="call")  # R-GRD-03: visited or called
    visit(rep2, a2, channel="email")  # an email does not count

    result = visits.quarter_visits_raise()
    assert result == {"raised": 2, "done": 0, "cancelled": 0, "reopened": 0}
    quarter = visits.quarter_of(today())
    records = {v.customer_id: v for v in QuarterVisit.objects.all()}
    assert set(records) == {a1.pk, a2.pk}
    record = records[a2.pk]
    assert (record.quarter, record.grade, record.due_on, record.done_at) == (
        quarter.label,
        "A",
        max(quarter.due_on, today()),
        None,
    )
    task = tasks_of(record).get()
    assert task.assignee == rep2 and task.state == TaskState.OPEN and task.due == record.due_on
    assert task.title == f"本季度拜访：{a2.name}"
    from kehu.workflow.selectors import inbox_tasks

    assert inbox_tasks(rep2).filter(pk=task.pk).exists()
    entry = AuditEntry.objects.filter(object_type="grading.quartervisit", action="create").get()
    assert entry.changes["count"] == 2 and entry.policy_version == str(policies.scheme()[1])

    # running again raises nothing new
    assert visits.quarter_visits_raise() == {"raised": 0, "done": 0, "cancelled": 0, "reopened": 0}
    assert QuarterVisit.objects.count() == 2
    assert Task.objects.filter(target_type__model="quartervisit").count() == 2


def test_r_grd_03_a_visit_closes_the_task_at_once(org):
    rep1, rep3 = org["rep1"], org["rep3"]
    c = make_active(rep1, 1, staff=[rep3])
    grade(org, {c: "A"})
    visits.quarter_visits_raise()
    record = QuarterVisit.objects.get(customer=c)
    visit(rep1, c, channel="email")  # an email is neither a visit nor a call
    record.refresh_from_db()
    assert record.done_at is None and tasks_of(record).get().state == TaskState.OPEN
    log = visit(rep3, c)  # by the assigned staff member
    record.refresh_from_db()
    assert record.done_at == log.contacted_at
    task = tasks_of(record).get()
    assert task.state == TaskState.DONE and task.closed_by == rep3
    assert AuditEntry.objects.filter(object_type="grading.quartervisit", object_id=str(record.pk)).exists()
    # a second visit changes nothing
    visit(rep1, c)
    record.refresh_from_db()
    assert record.done_at == log.contacted_at


def test_r_grd_03_correcting_a_contact_into_a_visit_closes_the_task(org):
    rep1 = org["rep1"]
    c = make_active(rep1, 1)
    grade(org, {c: "A"})
    log = visit(rep1, c, channel="email")
    visits.quarter_visits_raise()
    record = QuarterVisit.objects.get(customer=c)
    contactlog.contact_log_update(actor=rep1, log_id=log.pk, reason="实为上门拜访", channel="visit")
    record.refresh_from_db()
    assert record.done_at is not None and tasks_of(record).get().state == TaskState.DONE


def scheme_with(effective_from: dt.date, **fields: Any) -> int:
    """A formal version of the grading scheme from ``effective_from`` with some top-level values changed."""
    from kehu.core.policies.models import PolicyVersion
    from kehu.core.policies.services import clear_cache

    policies.scheme()
    values = {**policies.SchemePolicy().model_dump(mode="json"), **fields}
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


def test_r_grd_03_a_call_counts_as_the_quarters_contact(org):
    """R-GRD-03: "A customers visited or called every quarter"."""
    rep1 = org["rep1"]
    c = make_active(rep1, 1)
    grade(org, {c: "A"})
    visits.quarter_visits_raise()
    record = QuarterVisit.objects.get(customer=c)
    log = visit(rep1, c, channel="call")
    record.refresh_from_db()
    assert record.done_at == log.contacted_at and tasks_of(record).get().state == TaskState.DONE
    status = visits.quarter_status(c)
    assert status is not None and status["visited_at"] == log.contacted_at
    page = login(rep1).get(f"/customers/{c.pk}/?tab=5").content.decode()
    assert "已拜访" in page


def test_r_grd_03_the_counting_channels_are_a_policy_value(org):
    rep1 = org["rep1"]
    called, visited = make_active(rep1, 1), make_active(rep1, 2)
    grade(org, {called: "A", visited: "A"})
    visit(rep1, called, channel="call")
    visit(rep1, visited, channel="visit")
    scheme_with(today(), visit_channels=["visit"])
    assert policies.scheme()[0].visit_channels == ["visit"]
    assert visits.quarter_visits_raise()["raised"] == 1
    assert QuarterVisit.objects.get().customer_id == called.pk
    visit(rep1, called, channel="call")  # still not counted
    assert QuarterVisit.objects.get().done_at is None


def test_r_grd_03_visit_channels_are_checked_and_stored_versions_keep_working(org):
    from kehu.core.errors import ValidationFailed
    from kehu.core.policies import schema as policy_schema
    from kehu.core.policies.models import PolicyVersion
    from kehu.core.policies.services import clear_cache

    values = policies.SchemePolicy().model_dump(mode="json")
    assert values["visit_channels"] == ["visit", "call"]
    for bad, rule in ((["pigeon"], "enum"), ([], "too_short"), ("visit", "list_type")):
        with pytest.raises(ValidationFailed) as e:
            policy_schema.validate(policies.SchemePolicy, {**values, "visit_channels": bad})
        assert str(e.value.field).startswith("visit_channels") and e.value.rule == rule
    policies.scheme()
    old = {k: v for k, v in values.items() if k != "visit_channels"}  # a version stored before the field
    PolicyVersion.objects.create(
        type_key=policies.SCHEME, number=99, status="formal", effective_from=today(), values=old
    )
    clear_cache()
    assert policies.scheme()[0].visit_channels == ["visit", "call"]


def test_r_grd_03_correcting_the_contact_away_reopens_the_visit(org):
    rep1 = org["rep1"]
    c = make_active(rep1, 1)
    grade(org, {c: "A"})
    visits.quarter_visits_raise()
    record = QuarterVisit.objects.get(customer=c)
    log = visit(rep1, c)
    record.refresh_from_db()
    assert record.done_at == log.contacted_at
    contactlog.contact_log_update(actor=rep1, log_id=log.pk, reason="实为邮件往来", channel="email")
    record.refresh_from_db()
    assert record.done_at is None
    tasks = list(tasks_of(record).order_by("pk"))
    assert [t.state for t in tasks] == [TaskState.DONE, TaskState.OPEN]
    assert (tasks[1].assignee, tasks[1].due, tasks[1].title) == (rep1, record.due_on, f"本季度拜访：{c.name}")
    assert AuditEntry.objects.filter(
        object_type="grading.quartervisit", object_id=str(record.pk), changes__done_at__isnull=False
    ).exists()
    # corrected back: done again, no task left open
    contactlog.contact_log_update(actor=rep1, log_id=log.pk, reason="确为电话", channel="call")
    record.refresh_from_db()
    assert record.done_at == log.contacted_at
    assert not tasks_of(record).filter(state=TaskState.OPEN).exists()
    # its date moved into the last quarter: open again
    quarter = visits.quarter_of(today())
    earlier = timezone.make_aware(dt.datetime.combine(quarter.start - dt.timedelta(days=3), dt.time(10)))
    contactlog.contact_log_update(actor=rep1, log_id=log.pk, reason="日期记错", contacted_at=earlier)
    record.refresh_from_db()
    assert record.done_at is None and tasks_of(record).filter(state=TaskState.OPEN).count() == 1


def test_r_grd_03_another_contact_keeps_the_visit_done(org):
    rep1 = org["rep1"]
    c = make_active(rep1, 1)
    grade(org, {c: "A"})
    visits.quarter_visits_raise()
    start = visits.quarter_of(today()).start
    first_at = max(
        timezone.make_aware(dt.datetime.combine(start, dt.time.min)), timezone.now() - dt.timedelta(hours=3)
    )
    first = visit(rep1, c, at=first_at)
    second = visit(rep1, c, channel="call", at=first_at + dt.timedelta(minutes=1))
    record = QuarterVisit.objects.get(customer=c)
    assert record.done_at == first.contacted_at
    contactlog.contact_log_update(actor=rep1, log_id=first.pk, reason="实为邮件", channel="email")
    record.refresh_from_db()
    assert record.done_at == second.contacted_at
    assert not tasks_of(record).filter(state=TaskState.OPEN).exists()


def test_r_grd_03_job_reopens_a_visit_whose_contact_vanished(org):
    rep1 = org["rep1"]
    c = make_active(rep1, 1)
    grade(org, {c: "A"})
    visits.quarter_visits_raise()
    log = visit(rep1, c)
    record = QuarterVisit.objects.get(customer=c)
    assert record.done_at is not None
    ContactLog.objects.filter(pk=log.pk).update(channel="email")  # a correction without the listener
    assert visits.quarter_visits_raise() == {"raised": 0, "done": 0, "cancelled": 0, "reopened": 1}
    record.refresh_from_db()
    assert record.done_at is None and tasks_of(record).filter(state=TaskState.OPEN).count() == 1
    assert visits.quarter_visits_raise() == {"raised": 0, "done": 0, "cancelled": 0, "reopened": 0}


def test_r_grd_03_job_closes_visited_and_cancels_stale_tasks(org):
    rep1 = org["rep1"]
    quarter = visits.quarter_of(today())
    last_quarter_day = quarter.start - dt.timedelta(days=1)
    visited, missed, leaving = (make_active(rep1, i) for i in range(3))
    grade(org, {visited: "A", missed: "A", leaving: "A"}, effective_on=today() - dt.timedelta(days=400))
    # last quarter: tasks raised, nobody visited
    assert visits.quarter_visits_raise(at=last_quarter_day)["raised"] == 3
    previous = {v.customer_id: v for v in QuarterVisit.objects.all()}
    # this quarter: the last quarter's tasks are cancelled (missed visits) and new ones raised
    assert visits.quarter_visits_raise() == {"raised": 3, "done": 0, "cancelled": 3, "reopened": 0}
    for old in previous.values():
        old.refresh_from_db()
        assert old.done_at is None and tasks_of(old).get().state == TaskState.CANCELLED
    # a visit stored without the listener (e.g. a data correction) is found by the job
    log = ContactLog.objects.create(
        customer=visited,
        channel="visit",
        contacted_at=in_quarter(),
        staff=rep1,
        contact_name="王经理",
        summary="拜访",
        recorded_by=rep1,
    )
    Customer.objects.filter(pk=leaving.pk).update(status="ended")
    assert visits.quarter_visits_raise() == {"raised": 0, "done": 1, "cancelled": 1, "reopened": 0}
    current = {v.customer_id: v for v in QuarterVisit.objects.filter(quarter=quarter.label)}
    assert current[visited.pk].done_at == log.contacted_at
    assert tasks_of(current[visited.pk]).get().state == TaskState.DONE
    assert tasks_of(current[leaving.pk]).get().state == TaskState.CANCELLED
    assert tasks_of(current[missed.pk]).get().state == TaskState.OPEN
    assert visits.quarter_visits_raise() == {"raised": 0, "done": 0, "cancelled": 0, "reopened": 0}


def test_r_grd_03_which_grades_get_the_quarterly_visit_follows_the_scheme(org):
    a, b = make_active(org["rep1"], 1), make_active(org["rep1"], 2)
    grade(org, {a: "A", b: "B"})
    assert visits.quarterly_grades(today()) == ["A"]
    new_scheme(today(), A={"visit_every_days": 120}, B={"visit_every_days": 92})
    assert visits.quarterly_grades(today()) == ["B"]
    assert visits.quarter_visits_raise()["raised"] == 1
    assert QuarterVisit.objects.get().customer_id == b.pk


@pytest.mark.parametrize("n", [3, 12])
def test_r_grd_03_quarter_visit_job_bounded_queries(org, n):
    rep1, rep2 = org["rep1"], org["rep2"]
    customers = [make_active(rep1 if i % 2 else rep2, i) for i in range(n)]
    grade(org, dict.fromkeys(customers, "A"))
    for c in customers[:2]:
        visit(c.owner, c, channel="email")
    with CaptureQueriesContext(connection) as ctx:
        assert visits.quarter_visits_raise()["raised"] == n
    # the same bound for 3 and 12 (each step of the job is a constant number of queries per batch)
    assert len(ctx.captured_queries) <= 28, [q["sql"][:120] for q in ctx.captured_queries]
    ContactLog.objects.filter(customer__in=customers[:2]).update(channel="visit")
    with CaptureQueriesContext(connection) as ctx:
        assert visits.quarter_visits_raise()["done"] == 2
    assert len(ctx.captured_queries) <= 28


def test_r_grd_03_job_is_a_daily_periodic_job():
    from kehu.core.jobs.scheduler import discover

    job = {j.name: j for j in discover()}["grading.quarter_visits_raise"]
    assert job.func == "kehu.grading.visits.quarter_visits_raise" and job.every.startswith("daily")


# ---------------------------------------------------------------------------------------------------------------
# End to end and the dossier
# ---------------------------------------------------------------------------------------------------------------


def test_r_grd_03_end_to_end_run_approval_visit_task_and_dossier(org, finance, django_assert_max_num_queries):
    rep1, rep2 = org["rep1"], org["rep2"]
    from kehu.receivables import services as rcv

    customers = [make_active(rep1 if i % 2 == 0 else rep2, i) for i in range(5)]
    top = customers[0]
    rcv.invoice_post(
        actor=finance,
        customer_id=top.pk,
        number="INV-TOP",
        entry_date=today() - dt.timedelta(days=60),
        amount=D(4_000_000),
    )
    services.inputs_enter(actor=rep1, customer_id=top.pk, values={"industry_reputation": "5"})
    run = services.run_start(actor=org["mgr_east"])
    run_pending_jobs()
    services.run_approve(actor=org["gm"], run_id=run.pk)
    assert GradingResult.objects.get(run=run, customer=top).grade == "A"
    assert visits.quarter_visits_raise()["raised"] == 1
    record = QuarterVisit.objects.get()
    assert record.customer_id == top.pk

    client = login(rep1)
    with django_assert_max_num_queries(30):
        page = client.get(f"/customers/{top.pk}/?tab=5").content.decode()
    assert 'id="grade-quarter-visit"' in page and "待拜访" in page
    assert 'data-contact-interval="class"' in page  # A: 90 days, the same as the general class

    new_scheme(today(), A={"visit_every_days": 60})
    visit(rep1, top)
    page = client.get(f"/customers/{top.pk}/?tab=5").content.decode()
    assert "已拜访" in page
    assert 'data-contact-interval="grade"' in page and "至少每 60 天联系一次（客户等级：A）" in page
    # another rep's customer: not found
    assert client.get(f"/customers/{customers[1].pk}/?tab=5").status_code == 404


def test_r_grd_03_section_without_grade_shows_no_visit(org):
    c = make_active(org["rep1"], 1)
    page = login(org["rep1"]).get(f"/customers/{c.pk}/?tab=5").content.decode()
    assert 'id="grade-quarter-visit"' not in page
    assert 'data-contact-interval="class"' in page and "客户类别：一般" in page


def test_demo_grades_customers_and_raises_visit_tasks(db):
    from kehu.core.demo import load_org
    from kehu.core.models import User
    from kehu.grading.demo import load_grading
    from kehu.receivables.demo import load_receivables

    load_org()
    reps = list(User.objects.filter(username__in=["sales1", "sales2"]))
    customers = [make_active(reps[i % 2], i) for i in range(24)]
    load_receivables()
    load_grading()
    run = GradingRun.objects.get()
    assert run.status == RunStatus.APPROVED and run.started_by.username == "salesmgr"
    assert run.approved_by is not None and run.approved_by.username == "gm"
    assert run.customer_count == len(customers)
    assert run.distribution == {"A": 5, "B": 7, "C": 10, "D": 2}
    assert InputEntry.objects.values("customer").distinct().count() == 22
    raised = QuarterVisit.objects.filter(done_at__isnull=True)
    assert raised.count() == 5 and set(raised.values_list("grade", flat=True)) == {"A"}
    assert set(raised.values_list("customer__owner__username", flat=True)) <= {"sales1", "sales2"}
    assert Task.objects.filter(target_type__model="quartervisit", state=TaskState.OPEN).count() == 5
