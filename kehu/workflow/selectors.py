"""Reads of the workflow: the inbox, cases a user may see, definitions and process monitoring figures."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from kehu.core import access
from kehu.workflow.models import Case, CaseEvent, DefinitionVersion, ProcessDefinition, Task, TaskState


def inbox_q(user: Any, at: dt.datetime | None = None) -> Q:
    """Open tasks of ``user``: assigned to them; to a role they hold (within the task's department when it names
    one); and assigned to people they back up while those are absent. Sub-queries only: one SQL statement."""
    from kehu.core.models import Absence, Role, User

    at = at or timezone.now()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Q(pk__in=[])
    roles = Role.objects.filter(users=user).values("code")
    # as kehu.core.org.users_backed_by, in one statement: absent people naming this user as backup, while the
    # backup is active and not absent too
    absent_now = Absence.objects.filter(start__lte=at, end__gt=at, cancelled=False).values("user_id")
    absent = (
        User.objects.filter(backup_id=user.pk, backup__is_active=True, pk__in=absent_now)
        .exclude(backup_id__in=absent_now)
        .values("pk")
    )
    role_q = Q(assignee__isnull=True, assignee_role__in=roles) & (
        Q(department__isnull=True) | Q(department_id__in=_ancestor_ids_subquery(user))
    )
    return Q(state=TaskState.OPEN) & (Q(assignee_id=user.pk) | role_q | Q(assignee_id__in=absent))


def _ancestor_ids_subquery(user: Any) -> QuerySet[Any]:
    """Departments whose subtree contains the user's department (a sub-query on the department tree)."""
    from django.db.models import F

    from kehu.core.models import Department, User

    user_dept_path = User.objects.filter(pk=user.pk).values("department__path")[:1]
    return (
        Department.objects.annotate(user_path=user_dept_path)
        .filter(user_path__startswith=F("path"))
        .values("pk")
    )


def inbox_tasks(user: Any) -> QuerySet[Task]:
    return (
        Task.objects.filter(inbox_q(user))
        .select_related("case", "assignee", "case__definition")
        .prefetch_related("target")
    )


def inbox_count(user: Any) -> int:
    """Number of open tasks in the user's inbox (one query)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Task.objects.filter(inbox_q(user)).count()


def inbox_overdue_count(user: Any) -> int:
    return Task.objects.filter(inbox_q(user), due__lt=timezone.localdate()).count()


def cases_visible(user: Any) -> QuerySet[Case]:
    from kehu.workflow.engine import restrict_confidential

    return restrict_confidential(
        user,
        access.restrict(
            user,
            "workflow.case.view",
            Case.objects.select_related("definition", "definition_version", "opened_by"),
        ),
    )


def definitions_visible(user: Any) -> QuerySet[ProcessDefinition]:
    access.require(user, "workflow.definition.view")
    return ProcessDefinition.objects.all()


def definition_versions(pd: ProcessDefinition) -> QuerySet[DefinitionVersion]:
    return pd.versions.select_related("approved_by").order_by("-number")


# ---------------------------------------------------------------------------------------------------------------
# Monitoring (R-PLT-13)


@dataclass
class StateFigure:
    state: str
    label: str
    exits: int = 0
    avg_hours: float = 0.0
    overdue: int = 0


@dataclass
class Monitoring:
    definition: ProcessDefinition
    start: dt.date
    end: dt.date
    opened: int = 0
    closed: int = 0
    events: int = 0
    overdue_events: int = 0
    send_backs: int = 0
    states: list[StateFigure] = field(default_factory=list)

    @property
    def overdue_rate(self) -> float:
        return round(self.overdue_events / self.events, 4) if self.events else 0.0

    @property
    def send_back_rate(self) -> float:
        return round(self.send_backs / self.events, 4) if self.events else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "definition": self.definition.key,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "opened": self.opened,
            "closed": self.closed,
            "transitions": self.events,
            "overdue_rate": self.overdue_rate,
            "send_back_rate": self.send_back_rate,
            "states": [
                {
                    "state": s.state,
                    "label": s.label,
                    "exits": s.exits,
                    "avg_hours": s.avg_hours,
                    "overdue": s.overdue,
                }
                for s in self.states
            ],
        }


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    lo = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return lo, hi


def monitoring(*, actor: Any, definition: ProcessDefinition, start: dt.date, end: dt.date) -> Monitoring:
    """Figures of one definition over [start, end] (local dates, inclusive).

    opened/closed: cases opened/closed in the period. For every transition taken in the period: the time spent in
    the state it left (cycle time per state, mean hours), whether it was taken after the state's due date (overdue
    rate = overdue transitions / transitions) and whether it was a send-back (send-back rate = send-backs /
    transitions)."""
    access.require(actor, "workflow.monitoring.view")
    lo, hi = _bounds(start, end)
    cases = Case.objects.filter(definition=definition)
    out = Monitoring(definition=definition, start=start, end=end)
    out.opened = cases.filter(opened_at__gte=lo, opened_at__lt=hi).count()
    out.closed = cases.filter(closed_at__gte=lo, closed_at__lt=hi).count()
    events = list(
        CaseEvent.objects.filter(case__definition=definition, at__gte=lo, at__lt=hi).values(
            "case_id", "seq", "from_state", "at", "overdue", "send_back"
        )
    )
    # the moment each event's state was entered: the previous event of the case, or the case's opening
    keys = {(e["case_id"], e["seq"] - 1) for e in events if e["seq"] > 1}
    previous: dict[tuple[int, int], dt.datetime] = {}
    if keys:
        case_ids = {k[0] for k in keys}
        for row in CaseEvent.objects.filter(case_id__in=case_ids).values(
            "case_id", "seq", "at", "from_state", "to_state"
        ):
            previous[(row["case_id"], row["seq"])] = row["at"]
    opened_at = dict(
        Case.objects.filter(pk__in={e["case_id"] for e in events}).values_list("pk", "opened_at")
    )
    labels: dict[str, str] = {}
    for v in definition.versions.all():
        for s in v.spec.get("states", []):
            labels.setdefault(s["key"], gettext(s["label"]))
    totals: dict[str, list[float]] = defaultdict(list)
    overdue_by: dict[str, int] = defaultdict(int)
    for e in events:
        entered = previous.get((e["case_id"], e["seq"] - 1)) if e["seq"] > 1 else opened_at.get(e["case_id"])
        if entered is not None:
            totals[e["from_state"]].append((e["at"] - entered).total_seconds() / 3600)
        out.events += 1
        if e["overdue"]:
            out.overdue_events += 1
            overdue_by[e["from_state"]] += 1
        if e["send_back"]:
            out.send_backs += 1
    order = list(labels)
    for key in sorted(totals, key=lambda k: order.index(k) if k in order else len(order)):
        hours = totals[key]
        out.states.append(
            StateFigure(
                state=key,
                label=labels.get(key, key),
                exits=len(hours),
                avg_hours=round(sum(hours) / len(hours), 2) if hours else 0.0,
                overdue=overdue_by[key],
            )
        )
    return out
