"""What a grade enforces in the dossier (R-GRD-03): the contact frequency and the quarterly visit.

* **Contact frequency.** The grading scheme gives each grade a visit frequency (``visit_every_days``; empty: no
  requirement). The contact log combines it with the customer class's interval through the extension point
  :func:`kehu.customers.contactlog.register_interval_source` (the customers module imports nothing of grading):
  the shorter non-zero interval wins, for the dossier (:func:`customer_interval`) and, in bulk by grade, for the
  daily contact-gap job (:func:`interval_groups`).
* **Quarterly visits.** A grade whose visit frequency is at most :data:`QUARTER_DAYS` (the longest quarter) is
  visited or called every quarter: the daily job :func:`quarter_visits_raise` raises, per active customer graded
  so and without a counting contact in the current quarter, one :class:`~kehu.grading.models.QuarterVisit` and one
  task for the owner ("本季度拜访：<客户>") due on the quarter's last working day. The contact-log channels that
  count are a value of the grading scheme (``visit_channels``; by default 拜访 and 电话). A counting contact dated in
  the quarter marks it done and closes the task at once (:func:`visit_logged`, a contact-log listener); the job
  also closes any it finds done. A correction that takes the contact away (another channel, another quarter)
  reopens the record and raises a new task at once when no other counting contact is left in the quarter; the job
  reopens records whose contact vanished otherwise. When the quarter is over, or the customer no longer trades,
  the open task is cancelled and the record stays undone (a missed visit). The grade that counts is the grade in
  force when the task is raised; a grade change takes effect with the next quarter's task.

The grade in force and its terms come from :mod:`kehu.grading.interface` (``grade_terms``, ``grade_subquery``);
the visit frequency of a grade comes from the scheme in force, or, for a grade the scheme no longer has, from
the scheme the run in force was graded under, or the scheme an override of it was requested under (as
``grade_terms`` does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import audit
from kehu.customers import contactlog
from kehu.customers.models import ContactChannel, ContactLog, Customer, CustomerStatus
from kehu.grading import policies
from kehu.grading.interface import grade_subquery, grade_terms, runs_in_force
from kehu.grading.models import GradeOverride, OverrideStatus, QuarterVisit

# A grade visited at least every QUARTER_DAYS days is visited at least once in every quarter (92 days: the longest
# quarter), so its customers get the quarterly visit task. Not a policy value: it is what "every quarter" means.
QUARTER_DAYS = 92
BATCH = 1000

Progress = Callable[[int, int, str], None] | None


# --------------------------------------------------------------------------------------------------------------
# Quarters
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quarter:
    label: str  # 2026Q4, as stored in QuarterVisit.quarter
    start: dt.date
    end: dt.date

    @property
    def due_on(self) -> dt.date:
        """The quarter's last working day."""
        from kehu.core.workdays import is_workday, workdays_add

        return self.end if is_workday(self.end) else workdays_add(self.end, -1)


def quarter_of(day: dt.date) -> Quarter:
    q = (day.month - 1) // 3
    start = dt.date(day.year, 3 * q + 1, 1)
    nxt = dt.date(day.year + 1, 1, 1) if q == 3 else dt.date(day.year, 3 * q + 4, 1)
    return Quarter(f"{day.year}Q{q + 1}", start, nxt - dt.timedelta(days=1))


# --------------------------------------------------------------------------------------------------------------
# Visit frequency per grade
# --------------------------------------------------------------------------------------------------------------


def grade_visit_days(at: dt.date) -> dict[str, int]:
    """The visit frequency (days) of each grade that has one, for the grades in force on ``at``: empty when no
    run is in force. Names the current scheme has take its value; names only earlier schemes have take the value
    of the scheme the run in force was graded under, else of the schemes its approved overrides were requested
    under (the latest first). Three queries plus one for earlier schemes."""
    from kehu.core.policies.models import PolicyVersion

    run = runs_in_force(at).values_list("pk", "policy_version_id").first()
    if run is None:
        return {}
    versions: list[int | None] = [run[1]]
    for v in (
        GradeOverride.objects.filter(
            run_id=run[0],
            status=OverrideStatus.APPROVED,
            effective_on__lte=at,
            policy_version_id__isnull=False,
        )
        .order_by("-policy_version_id")
        .values_list("policy_version_id", flat=True)
        .distinct()
    ):
        if v not in versions:
            versions.append(v)
    policy, current = policies.scheme(at)
    known = {g.name for g in policy.grades}
    days = {g.name: g.visit_every_days for g in policy.grades if g.visit_every_days}
    earlier = [v for v in versions if v is not None and v != current]
    if earlier:
        stored = dict(PolicyVersion.objects.filter(pk__in=earlier).values_list("pk", "values"))
        for v in earlier:
            if v not in stored:
                continue
            for g in policies.SchemePolicy.model_validate(stored[v]).grades:
                if g.name not in known:
                    known.add(g.name)
                    if g.visit_every_days:
                        days[g.name] = g.visit_every_days
    return days


def quarterly_grades(at: dt.date) -> list[str]:
    """The grades in force on ``at`` whose customers get a quarterly visit task."""
    return sorted(g for g, d in grade_visit_days(at).items() if d <= QUARTER_DAYS)


# --------------------------------------------------------------------------------------------------------------
# The contact-interval source (registered with the contact log)
# --------------------------------------------------------------------------------------------------------------


def customer_interval(customer: Customer, at: dt.date) -> tuple[int, str] | None:
    """The visit frequency of the customer's grade in force on ``at`` and the text naming it, or None."""
    if getattr(customer, "pk", None) is None:
        return None
    terms = grade_terms(customer, at)
    if terms is None or not terms.visit_every_days:
        return None
    return terms.visit_every_days, _("客户等级：%(g)s") % {"g": terms.grade}


def interval_groups(at: dt.date) -> tuple[Any, list[tuple[Any, int]]] | None:
    """For the gap job: the grade in force as an expression per customer row and each grade's frequency."""
    days = grade_visit_days(at)
    if not days:
        return None
    return grade_subquery("pk", at), sorted(days.items())


# --------------------------------------------------------------------------------------------------------------
# Quarterly visits
# --------------------------------------------------------------------------------------------------------------


def task_title(name: str) -> str:
    return _("本季度拜访：%(customer)s") % {"customer": name}


def _visit_ct() -> ContentType:
    return ContentType.objects.get_for_model(QuarterVisit)


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def counting_channels(at: dt.date) -> list[str]:
    """The contact-log channels that count as the quarter's contact on ``at`` (R-GRD-03: "visited or called"; the
    scheme's ``visit_channels``)."""
    return [str(c) for c in policies.scheme(at)[0].visit_channels]


def _first_visit_in(quarter: Quarter, channels: list[str]) -> Subquery:
    """The first counting contact of the visit record's customer in the quarter, for an UPDATE of the records."""
    return Subquery(
        ContactLog.objects.filter(
            customer_id=OuterRef("customer_id"),
            channel__in=channels,
            contacted_at__gte=_day_start(quarter.start),
            contacted_at__lt=_day_start(quarter.end + dt.timedelta(days=1)),
        )
        .order_by("contacted_at")
        .values("contacted_at")[:1]
    )


def _sync(log: ContactLog, quarter: Quarter, channels: list[str], actor: Any) -> None:
    """Bring the customer's visit record of ``quarter`` in line with its contacts: done by the first counting
    contact (its task closed), or, when none is left after a correction, open again with a new task for the owner
    (unless the quarter is over or the customer no longer trades: then it stays a missed visit)."""
    visit = (
        QuarterVisit.objects.select_for_update()
        .filter(customer_id=log.customer_id, quarter=quarter.label)
        .first()
    )
    if visit is None:
        return
    first = contactlog.first_visit_at(log.customer_id, quarter.start, quarter.end, channels)
    if first is not None and visit.done_at is None:
        from kehu.workflow.engine import task_close

        visit.done_at = first
        visit.save(update_fields=["done_at"])
        task_close(target=visit, actor=actor)
        audit.record(
            actor=actor,
            action="update",
            obj=visit,
            changes={"done_at": [None, visit.done_at], "contact_log": [None, log.pk]},
            reason=_("已拜访客户"),
        )
    elif first is not None and visit.done_at != first:
        before = visit.done_at
        visit.done_at = first
        visit.save(update_fields=["done_at"])
        audit.record(
            actor=actor,
            action="update",
            obj=visit,
            changes={"done_at": [before, first], "contact_log": [None, log.pk]},
            reason=_("联系记录已更正"),
        )
    elif first is None and visit.done_at is not None:
        before = visit.done_at
        visit.done_at = None
        visit.save(update_fields=["done_at"])
        today = timezone.localdate()
        customer = log.customer
        task = None
        if quarter.end >= today and customer.status == CustomerStatus.ACTIVE and customer.owner_id:
            from kehu.workflow.engine import task_create

            task = task_create(
                target=visit,
                title=task_title(customer.name),
                assignee=customer.owner,
                due=max(visit.due_on, today),
                actor=actor,
            )
        audit.record(
            actor=actor,
            action="update",
            obj=visit,
            changes={
                "done_at": [before, None],
                "contact_log": [log.pk, None],
                "task": task.pk if task is not None else None,
            },
            reason=_("联系记录更正后，本季度已无认可的拜访或联系"),
        )


def visit_logged(log: ContactLog, actor: Any, before: contactlog.ContactBefore | None = None) -> None:
    """Contact-log listener (R-GRD-03): a contact of a counting channel marks the visit of its quarter done and
    closes the owner's task; a correction that takes a counting contact away from its quarter (another channel,
    another date) checks that quarter again and reopens its visit, with a new task, when no counting contact is
    left."""
    channels = counting_channels(timezone.localdate())
    quarters: list[Quarter] = []
    if log.channel in channels:
        quarters.append(quarter_of(timezone.localtime(log.contacted_at).date()))
    if before is not None and before.channel in channels:
        old = quarter_of(timezone.localtime(before.contacted_at).date())
        if old not in quarters:
            quarters.append(old)
    for quarter in quarters:
        _sync(log, quarter, channels, actor)


def _raise(
    rows: list[tuple[Any, ...]], quarter: Quarter, due: dt.date, now: dt.datetime, version: int | None
) -> int:
    """One QuarterVisit and one owner task per row (customer id, name, owner id, grade); one audit entry."""
    from kehu.workflow.models import Task, TaskKind

    ct = _visit_ct()
    with transaction.atomic():
        visits = [
            QuarterVisit(customer_id=pk, quarter=quarter.label, grade=grade, due_on=due, raised_at=now)
            for pk, _name, _owner, grade in rows
        ]
        QuarterVisit.objects.bulk_create(visits, batch_size=500)
        Task.objects.bulk_create(
            [
                Task(
                    target_type=ct,
                    target_id=str(visit.pk),
                    kind=TaskKind.ACTION,
                    title=task_title(row[1])[:300],
                    assignee_id=row[2],
                    due=due,
                    created_at=now,
                )
                for visit, row in zip(visits, rows, strict=True)
            ],
            batch_size=500,
        )
        audit.record(
            actor=None,
            action="create",
            object_type="grading.quartervisit",
            object_repr=f"quarter visits {quarter.label}: {len(visits)}",
            changes={
                "quarter": quarter.label,
                "customers": [r[0] for r in rows][:500],
                "count": len(visits),
                "due_on": due,
            },
            reason="grading.quarter_visits_raise",
            policy_version=version,
        )
    return len(visits)


def _close_tasks(visit_ids: list[int], state: str, now: dt.datetime, reason: str) -> int:
    """Close the open tasks of these visits (done or cancelled); one audit entry when any closed."""
    from kehu.workflow.models import Task, TaskState

    if not visit_ids:
        return 0
    tasks = Task.objects.filter(
        target_type=_visit_ct(), target_id__in=[str(i) for i in visit_ids], state=TaskState.OPEN
    )
    n = tasks.update(state=state, closed_at=now)
    if n:
        audit.record(
            actor=None,
            action="update",
            object_type="grading.quartervisit",
            object_repr=f"quarter visit tasks {state}: {n}",
            changes={"visits": visit_ids[:500], "tasks": n, "state": state},
            reason=reason,
        )
    return n


def _mark_visited(quarter: Quarter, channels: list[str], now: dt.datetime) -> int:
    """Open visits of the quarter whose customer has a counting contact in it (e.g. a contact whose date was
    corrected into the quarter): done, tasks closed."""
    from kehu.workflow.models import TaskState

    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                QuarterVisit.objects.filter(quarter=quarter.label, done_at__isnull=True)
                .filter(contactlog.visit_exists(quarter.start, quarter.end, "customer_id", channels))
                .order_by("pk")
                .values_list("pk", flat=True)[:BATCH]
            )
            if not ids:
                return total
            QuarterVisit.objects.filter(pk__in=ids).update(done_at=_first_visit_in(quarter, channels))
            _close_tasks(ids, TaskState.DONE, now, _("已拜访客户"))
        total += len(ids)
        if len(ids) < BATCH:
            return total


def _reopen_vanished(quarter: Quarter, channels: list[str], today: dt.date, now: dt.datetime) -> int:
    """Done visits of the quarter without a counting contact in it any more (a contact changed without the
    listener, or a scheme that no longer counts its channel): open again, with a new task for the owner of each
    customer still trading. One audit entry per batch."""
    from kehu.workflow.models import Task, TaskKind

    ct = _visit_ct()
    due_floor = today
    total = 0
    while True:
        with transaction.atomic():
            rows = list(
                QuarterVisit.objects.select_for_update(of=("self",))
                .filter(quarter=quarter.label, done_at__isnull=False)
                .filter(~contactlog.visit_exists(quarter.start, quarter.end, "customer_id", channels))
                .order_by("pk")
                .values_list("pk", "due_on", "customer__name", "customer__owner_id", "customer__status")[
                    :BATCH
                ]
            )
            if not rows:
                return total
            ids = [r[0] for r in rows]
            QuarterVisit.objects.filter(pk__in=ids).update(done_at=None)
            Task.objects.bulk_create(
                [
                    Task(
                        target_type=ct,
                        target_id=str(pk),
                        kind=TaskKind.ACTION,
                        title=task_title(name)[:300],
                        assignee_id=owner,
                        due=max(due_on, due_floor),
                        created_at=now,
                    )
                    for pk, due_on, name, owner, status in rows
                    if status == CustomerStatus.ACTIVE and owner
                ],
                batch_size=500,
            )
            audit.record(
                actor=None,
                action="update",
                object_type="grading.quartervisit",
                object_repr=f"quarter visits reopened {quarter.label}: {len(ids)}",
                changes={"reopened": ids[:500], "count": len(ids), "done_at": None},
                reason=_("本季度已无认可的拜访或联系"),
            )
        total += len(ids)
        if len(rows) < BATCH:
            return total


def _cancel_stale(quarter: Quarter, now: dt.datetime) -> int:
    """Cancel the open tasks of earlier quarters (missed visits) and of customers no longer trading."""
    from kehu.workflow.models import Task, TaskState

    ct = _visit_ct()
    cancelled = 0
    while True:
        with transaction.atomic():
            past = list(
                Task.objects.filter(target_type=ct, state=TaskState.OPEN, due__lt=quarter.start)
                .order_by("pk")
                .values_list("target_id", flat=True)[:BATCH]
            )
            n = _close_tasks([int(t) for t in past], TaskState.CANCELLED, now, _("季度已结束，未拜访"))
        cancelled += n
        if len(past) < BATCH:
            break
    last = 0
    while True:
        with transaction.atomic():
            ids = list(
                QuarterVisit.objects.filter(quarter=quarter.label, done_at__isnull=True, pk__gt=last)
                .exclude(customer__status=CustomerStatus.ACTIVE)
                .order_by("pk")
                .values_list("pk", flat=True)[:BATCH]
            )
            if not ids:
                return cancelled
            last = ids[-1]
            cancelled += _close_tasks(ids, TaskState.CANCELLED, now, _("客户已不在交易中"))


def due_customers(quarter: Quarter, grades: list[str], at: dt.date, channels: list[str]) -> Any:
    """Active customers whose grade in force on ``at`` is one of ``grades``, without a counting contact in the
    quarter and without a visit record of it: (id, name, owner id, grade) rows."""
    raised = QuarterVisit.objects.filter(customer_id=OuterRef("pk"), quarter=quarter.label)
    return (
        Customer.objects.filter(status=CustomerStatus.ACTIVE)
        .annotate(grade_now=grade_subquery("pk", at))
        .filter(grade_now__in=grades)
        .filter(~contactlog.visit_exists(quarter.start, quarter.end, "pk", channels))
        .filter(~Exists(raised))
        .values_list("pk", "name", "owner_id", "grade_now")
    )


def quarter_visits_raise(progress: Progress = None, at: dt.date | None = None) -> dict[str, int]:
    """The daily job (R-GRD-03): raise the current quarter's visit tasks, close the visited ones, reopen the ones
    whose contact vanished and cancel the stale ones. Running it again raises nothing new (one record per customer
    and quarter). A bounded number of queries per batch of customers."""
    today = at or timezone.localdate()
    now = timezone.now()
    quarter = quarter_of(today)
    channels = counting_channels(today)
    cancelled = _cancel_stale(quarter, now)
    reopened = _reopen_vanished(quarter, channels, today, now)
    done = _mark_visited(quarter, channels, now)
    raised = 0
    grades = quarterly_grades(today)
    if grades:
        _policy, version = policies.scheme(today)
        due = max(quarter.due_on, today)
        rows_qs = due_customers(quarter, grades, today, channels)
        total = rows_qs.count() if progress is not None else 0
        last_pk = 0
        while True:
            batch = list(rows_qs.filter(pk__gt=last_pk).order_by("pk")[:BATCH])
            if not batch:
                break
            last_pk = batch[-1][0]
            try:
                raised += _raise(batch, quarter, due, now, version)
            except IntegrityError:
                # another run raised some of them meanwhile: raise the rest
                still = set(
                    due_customers(quarter, grades, today, channels)
                    .filter(pk__in=[r[0] for r in batch])
                    .values_list("pk", flat=True)
                )
                rest = [r for r in batch if r[0] in still]
                if rest:
                    raised += _raise(rest, quarter, due, now, version)
            if progress is not None:
                progress(min(raised, total), total, str(gettext_lazy("季度拜访检查")))
    return {"raised": raised, "done": done, "cancelled": cancelled, "reopened": reopened}


# --------------------------------------------------------------------------------------------------------------
# The dossier
# --------------------------------------------------------------------------------------------------------------


def quarter_status(customer: Customer, at: dt.date | None = None) -> dict[str, Any] | None:
    """The current quarter's visit for the grading section: whether the grade calls for it, the visit record, the
    latest counting contact in the quarter and the channels that count. None when neither the grade calls for a
    visit nor a record exists."""
    today = at or timezone.localdate()
    quarter = quarter_of(today)
    terms = grade_terms(customer, today)
    required = bool(terms and terms.visit_every_days and terms.visit_every_days <= QUARTER_DAYS)
    record = QuarterVisit.objects.filter(customer_id=customer.pk, quarter=quarter.label).first()
    if not required and record is None:
        return None
    channels = counting_channels(today)
    visited_at = contactlog.last_visit_at(customer.pk, quarter.start, quarter.end, channels)
    labels = dict(ContactChannel.choices)
    return {
        "quarter": quarter.label,
        "required": required,
        "grade": terms.grade if terms else (record.grade if record else ""),
        "due_on": record.due_on if record else quarter.due_on,
        "record": record,
        "visited_at": visited_at,
        "channels": "、".join(str(labels.get(c, c)) for c in channels),
    }


def register() -> None:
    """Hook the grade into the contact log (interval source and visit listener)."""
    contactlog.register_interval_source("grade", days_for_customer=customer_interval, groups=interval_groups)
    contactlog.register_contact_listener("grading.quarter_visit", visit_logged)
