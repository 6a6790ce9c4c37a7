"""Onboarding reads: the review list with its filters, the reviewer's queue, the re-qualification schedule, one
case's timeline and the reports (R-ONB-02, R-ONB-04, R-ONB-06, R-ONB-08). Each returns only what the acting user
may see (review content is confidential: R-ONB-06)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access
from kehu.core.models import User
from kehu.core.models.attachments import Attachment
from kehu.onboarding.models import Decision, Qualification, Rectification, Review
from kehu.onboarding.workflow import CHECKLISTS, REQUAL_KEY, REVIEW_KEY
from kehu.workflow.models import Case, CaseEvent, Task, TaskState
from kehu.workflow.selectors import inbox_q


def _base(actor: User) -> QuerySet[Review]:
    return access.restrict(actor, "onboarding.review.view", Review.objects.all()).select_related(
        "customer", "customer__owner", "case", "case__definition_version"
    )


def apply_filters(qs: QuerySet[Review], filters: dict[str, Any]) -> QuerySet[Review]:
    text = (filters.get("q") or "").strip()
    if text:
        qs = qs.filter(
            Q(customer__name__icontains=text)
            | Q(number__icontains=text)
            | Q(customer__number__icontains=text)
        )
    if filters.get("stage"):
        qs = qs.filter(case__state=filters["stage"])
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("owner"):
        qs = qs.filter(customer__owner=filters["owner"])
    if filters.get("decision"):
        qs = qs.filter(decision=filters["decision"])
    status = filters.get("status")
    if status == "open":
        qs = qs.filter(case__closed_at__isnull=True)
    elif status == "closed":
        qs = qs.filter(case__closed_at__isnull=False)
    if filters.get("overdue"):
        qs = qs.filter(case__closed_at__isnull=True, case__state_due__lt=timezone.localdate())
    return qs


def review_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Review]:
    return apply_filters(_base(actor), filters or {})


def review_queue(*, actor: User) -> QuerySet[Review]:
    """Open reviews with a step waiting for this user (own task, a role task, or as AB backup)."""
    cases = Task.objects.filter(inbox_q(actor), state=TaskState.OPEN, case__isnull=False).values("case_id")
    return _base(actor).filter(case_id__in=cases, case__closed_at__isnull=True)


def schedule_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Qualification]:
    qs = access.restrict(actor, "onboarding.review.view", Qualification.objects.all()).select_related(
        "customer", "customer__owner"
    )
    f = filters or {}
    if f.get("customer"):
        qs = qs.filter(customer_id=f["customer"])
    if f.get("q"):
        qs = qs.filter(Q(customer__name__icontains=f["q"]) | Q(customer__number__icontains=f["q"]))
    if f.get("customer_class"):
        qs = qs.filter(customer__customer_class=f["customer_class"])
    if f.get("due_within") not in (None, ""):
        qs = qs.filter(next_review_on__lte=timezone.localdate() + dt.timedelta(days=int(f["due_within"])))
    return qs


def state_labels(case: Case) -> dict[str, str]:
    return {s["key"]: _(s["label"]) for s in case.definition_version.spec.get("states", [])}


@dataclass
class Step:
    event: CaseEvent
    from_label: str
    to_label: str
    checklist: list[tuple[str, str, str]]  # label, answer label, evidence note
    files: list[Attachment]


def case_steps(review: Review) -> list[Step]:
    """The case's history with checklist answers (and their evidence) and files, oldest first."""
    case = review.case
    if case is None:
        return []
    labels = state_labels(case)
    events = list(case.events.select_related("actor", "acting_for").order_by("seq"))
    ids = {i for e in events for i in e.attachment_ids}
    files = {a.pk: a for a in Attachment.objects.filter(pk__in=ids)} if ids else {}
    answers = {"yes": _("是"), "no": _("否"), "na": _("不适用")}
    out = []
    for e in events:
        items = {c.key: str(c.label) for c in CHECKLISTS.get(e.from_state, [])}
        notes = (case.data or {}).get(f"evidence_{e.from_state}", {}) if e.checklist else {}
        out.append(
            Step(
                event=e,
                from_label=labels.get(e.from_state, e.from_state),
                to_label=labels.get(e.to_state, e.to_state),
                checklist=[
                    (items.get(k, k), answers.get(v, v), str(notes.get(k, "")))
                    for k, v in e.checklist.items()
                ],
                files=[files[i] for i in e.attachment_ids if i in files],
            )
        )
    return out


def rounds(review: Review) -> list[Rectification]:
    return list(
        review.rounds.select_related("requested_by", "responded_by", "rereviewed_by").order_by("round")
    )


# --------------------------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Report:
    start: dt.date
    end: dt.date
    by_stage: list[dict[str, Any]] = field(default_factory=list)
    cycle: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    decided: int = 0
    overdue: list[Review] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "by_stage": self.by_stage,
            "cycle": self.cycle,
            "decisions": self.decisions,
            "decided": self.decided,
            "overdue": [
                {
                    "id": r.pk,
                    "number": r.number,
                    "customer": r.customer.name,
                    "state": r.case.state if r.case else "",
                    "due": r.case.state_due.isoformat() if r.case and r.case.state_due else None,
                }
                for r in self.overdue
            ],
        }


def report(*, actor: User, start: dt.date, end: dt.date) -> Report:
    """Reviews by stage (open now), cycle time per stage and decision rates over [start, end], overdue reviews.
    Figures cover the reviews within the user's scope."""
    access.require(actor, "onboarding.report.view")
    from kehu.workflow.selectors import _bounds

    lo, hi = _bounds(start, end)
    scoped = access.restrict(actor, "onboarding.review.view", Review.objects.all())
    out = Report(start=start, end=end)
    from kehu.workflow.engine import get_definition

    labels: dict[str, str] = {}
    for key in (REVIEW_KEY, REQUAL_KEY):
        for s in get_definition(key).states:
            labels.setdefault(s.key, str(s.label))
    stage_counts = (
        scoped.filter(case__closed_at__isnull=True).values("case__state").annotate(n=Count("pk")).order_by()
    )
    out.by_stage = sorted(
        (
            {
                "state": r["case__state"],
                "label": labels.get(r["case__state"], r["case__state"]),
                "count": r["n"],
            }
            for r in stage_counts
        ),
        key=lambda x: list(labels).index(x["state"]) if x["state"] in labels else 99,
    )
    case_ids = scoped.values("case_id")
    events = list(
        CaseEvent.objects.filter(case_id__in=case_ids, at__gte=lo, at__lt=hi).values(
            "case_id", "seq", "from_state", "at", "overdue"
        )
    )
    need = {e["case_id"] for e in events}
    prev: dict[tuple[int, int], dt.datetime] = {}
    if need:
        for row in CaseEvent.objects.filter(case_id__in=need).values("case_id", "seq", "at"):
            prev[(row["case_id"], row["seq"])] = row["at"]
    opened = dict(Case.objects.filter(pk__in=need).values_list("pk", "opened_at"))
    hours: dict[str, list[float]] = defaultdict(list)
    late: dict[str, int] = defaultdict(int)
    for e in events:
        entered = prev.get((e["case_id"], e["seq"] - 1)) if e["seq"] > 1 else opened.get(e["case_id"])
        if entered is not None:
            hours[e["from_state"]].append((e["at"] - entered).total_seconds() / 3600)
        if e["overdue"]:
            late[e["from_state"]] += 1
    out.cycle = [
        {
            "state": s,
            "label": labels.get(s, s),
            "exits": len(hours[s]),
            "avg_hours": round(sum(hours[s]) / len(hours[s]), 1) if hours[s] else 0.0,
            "overdue": late.get(s, 0),
        }
        for s in labels
        if hours.get(s)
    ]
    decided = (
        scoped.filter(decided_at__gte=lo, decided_at__lt=hi)
        .exclude(decision="")
        .values("decision")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {r["decision"]: r["n"] for r in decided}
    out.decided = sum(counts.values())
    out.decisions = [
        {
            "decision": d.value,
            "label": str(d.label),
            "count": counts.get(d.value, 0),
            "rate": round(counts.get(d.value, 0) / out.decided, 4) if out.decided else 0.0,
        }
        for d in Decision
        if counts.get(d.value) or d.value in ("approve", "defer", "reject")
    ]
    out.overdue = list(
        _base(actor)
        .filter(case__closed_at__isnull=True, case__state_due__lt=timezone.localdate())
        .order_by("case__state_due")[:200]
    )
    return out
