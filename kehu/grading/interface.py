"""What other modules may call of the grading module (R-GRD-03).

- :func:`grade_terms` — the grade in force for a customer on a day and what that grade is entitled to (discount
  cap, payment terms, lead time, rush-order rule, inquiry response time, visit frequency), or None when the
  customer has no grade (not in the run in force). The caller checks its own permissions.
- :func:`grade_subquery` — the grade in force as an expression for other modules' list queries.

The run in force on a day is the latest approved run in effect then, by approval order (effective date, approval
time). A customer's grade in force is its grade in that run — a customer the run left out (e.g. no longer trading
when it was computed) is ungraded, whatever earlier runs gave it — unless an approved override (R-GRD-04) of that
same run moved it, from the override's own effective date on. A later approved run therefore ends every override of
earlier runs without any write.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from kehu.grading import policies
from kehu.grading.models import GradeOverride, GradingResult, GradingRun, OverrideStatus, RunStatus

__all__ = ["GradeTerms", "grade_subquery", "grade_terms", "runs_in_force"]


@dataclass(frozen=True)
class GradeTerms:
    grade: str
    score: Decimal
    rank: int
    run_id: int
    effective_on: dt.date
    policy_version_id: int | None
    discount_cap: Decimal
    payment_terms: list[str]
    lead_time_days: int | None
    rush_rule: str
    response_hours: int
    visit_every_days: int | None
    # R-GRD-04: True when an approved override sets ``grade`` (score and rank stay the run's)
    overridden: bool = False
    override_id: int | None = None


# The approval order of runs: the latest first (the run in force on a day is the first one in effect then).
RUN_ORDER = ("-effective_on", "-approved_at", "-id")
OVERRIDE_ORDER = ("-effective_on", "-decided_at", "-id")


def runs_in_force(at: dt.date) -> QuerySet[GradingRun]:
    """The approved runs in effect on ``at``, latest (the run in force) first."""
    return GradingRun.objects.filter(status=RunStatus.APPROVED, effective_on__lte=at).order_by(*RUN_ORDER)


def run_in_force_id(at: dt.date) -> Subquery:
    """The id of the run in force on ``at`` as an expression (NULL when none), the same for every row."""
    return Subquery(runs_in_force(at).values("pk")[:1])


def _override_in_force(at: dt.date) -> Q:
    return Q(status=OverrideStatus.APPROVED, effective_on__lte=at)


def override_in_force(customer_id: int, run_id: int, at: dt.date) -> GradeOverride | None:
    """The approved override of ``run_id`` for the customer in effect on ``at`` (the latest when several were
    approved on the same run), or None. The caller has checked that ``run_id`` is the run in force."""
    return (
        GradeOverride.objects.filter(_override_in_force(at), customer_id=customer_id, run_id=run_id)
        .order_by(*OVERRIDE_ORDER)
        .first()
    )


def grade_terms(customer: Any, at: dt.date | None = None) -> GradeTerms | None:
    """The customer's grade in the run in force on ``at`` (today), or the grade an approved override of that run
    sets from its effective date (R-GRD-04: ``overridden``, ``override_id``; ``effective_on`` is then the
    override's), and its terms from the grading scheme in force on ``at``; when that scheme no longer has the
    grade, the terms of the scheme the run was graded under, and for an overridden grade neither has, the terms of
    the scheme the override was requested under. None when the run in force left the customer out (or no run is in
    force). Two queries, three with an override."""
    at = at or timezone.localdate()
    cid = int(getattr(customer, "pk", customer))
    result = (
        GradingResult.objects.filter(run_id=run_in_force_id(at), customer_id=cid)
        .select_related("run")
        .first()
    )
    if result is None:
        return None
    override = override_in_force(cid, result.run_id, at)
    name = override.to_grade if override is not None else result.grade
    policy, version = policies.scheme(at)
    grade = policy.grade(name)
    if grade is None:
        version = result.run.policy_version_id
        grade = policies.scheme_of_version(version).grade(name)
    if grade is None and override is not None and override.policy_version_id is not None:
        version = override.policy_version_id
        grade = policies.scheme_of_version(version).grade(name)
    if grade is None:
        return None
    return GradeTerms(
        grade=name,
        score=result.score,
        rank=result.rank,
        run_id=result.run_id,
        effective_on=(override.effective_on if override is not None else result.run.effective_on) or at,
        policy_version_id=version,
        discount_cap=grade.discount_cap,
        payment_terms=list(grade.payment_terms),
        lead_time_days=grade.lead_time_days,
        rush_rule=grade.rush_rule,
        response_hours=grade.response_hours,
        visit_every_days=grade.visit_every_days,
        overridden=override is not None,
        override_id=override.pk if override is not None else None,
    )


def grade_subquery(customer_ref: str = "pk", at: dt.date | None = None) -> Any:
    """The grade in force for ``OuterRef(customer_ref)`` (NULL when ungraded) as one expression: the grade of an
    approved override of the run in force in effect on ``at`` (R-GRD-04), else the customer's grade in that run
    (NULL when the run left the customer out). The run in force is an uncorrelated subquery: evaluated once per
    query, not per row."""
    at = at or timezone.localdate()
    rows = GradingResult.objects.filter(run_id=run_in_force_id(at), customer_id=OuterRef(customer_ref))
    overrides = GradeOverride.objects.filter(
        _override_in_force(at), run_id=run_in_force_id(at), customer_id=OuterRef(customer_ref)
    ).order_by(*OVERRIDE_ORDER)
    return Coalesce(Subquery(overrides.values("to_grade")[:1]), Subquery(rows.values("grade")[:1]))
