"""What other modules may call of the grading module (R-GRD-03).

- :func:`grade_terms` — the grade in force for a customer on a day and what that grade is entitled to (discount
  cap, payment terms, lead time, rush-order rule, inquiry response time, visit frequency), or None when the
  customer has no grade yet (not in any approved run). The caller checks its own permissions.
- :func:`grade_subquery` — the grade in force as an expression for other modules' list queries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from kehu.grading import policies
from kehu.grading.models import GradingResult, RunStatus

__all__ = ["GradeTerms", "grade_subquery", "grade_terms"]


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


def _in_force(at: dt.date) -> Q:
    return Q(run__status=RunStatus.APPROVED, run__effective_on__lte=at)


def grade_terms(customer: Any, at: dt.date | None = None) -> GradeTerms | None:
    """The grade from the latest approved run in effect on ``at`` (today) and its terms from the grading scheme in
    force on ``at``; when that scheme no longer has the grade, the terms of the scheme the run was graded under."""
    at = at or timezone.localdate()
    cid = int(getattr(customer, "pk", customer))
    result = (
        GradingResult.objects.filter(_in_force(at), customer_id=cid)
        .select_related("run")
        .order_by("-run__effective_on", "-run__approved_at", "-run_id")
        .first()
    )
    if result is None:
        return None
    policy, version = policies.scheme(at)
    grade = policy.grade(result.grade)
    if grade is None:
        version = result.run.policy_version_id
        grade = policies.scheme_of_version(version).grade(result.grade)
    if grade is None:
        return None
    return GradeTerms(
        grade=result.grade,
        score=result.score,
        rank=result.rank,
        run_id=result.run_id,
        effective_on=result.run.effective_on or at,
        policy_version_id=version,
        discount_cap=grade.discount_cap,
        payment_terms=list(grade.payment_terms),
        lead_time_days=grade.lead_time_days,
        rush_rule=grade.rush_rule,
        response_hours=grade.response_hours,
        visit_every_days=grade.visit_every_days,
    )


def grade_subquery(customer_ref: str = "pk", at: dt.date | None = None) -> Any:
    """The grade in force for ``OuterRef(customer_ref)`` (NULL when ungraded), one subquery."""
    at = at or timezone.localdate()
    rows = GradingResult.objects.filter(_in_force(at), customer_id=OuterRef(customer_ref)).order_by(
        "-run__effective_on", "-run__approved_at", "-run_id"
    )
    return Subquery(rows.values("grade")[:1])
