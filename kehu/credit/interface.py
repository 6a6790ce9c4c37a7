"""What other modules read from the credit app (limits, receivables, reviews). Cheap reads, no access checks: the
caller decides who sees what it shows.

    rating_in_force(customer, at=None) -> RatingView | None
    latest_statements(customer) -> StatementsView | None
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kehu.credit import ratios
from kehu.credit.models import FinancialStatement, Rating, RatingStatus


@dataclass(frozen=True)
class RatingView:
    id: int
    score: Decimal
    grade: str  # "AAA" .. "D"
    credit_class: str  # "A" | "B" | "C" | "D"
    rated_on: dt.date
    overridden: bool
    policy_version_id: int | None


@dataclass(frozen=True)
class StatementsView:
    id: int
    period_end: dt.date
    period_type: str  # "year" | "quarter"
    ratios: dict[str, Decimal | None] = field(default_factory=dict)


def _customer_id(customer: Any) -> int:
    return int(getattr(customer, "pk", customer))


def _view(r: Rating) -> RatingView:
    return RatingView(
        id=r.pk,
        score=r.score,
        grade=r.grade,
        credit_class=r.credit_class,
        rated_on=r.rated_on,  # type: ignore[arg-type]  # an approved rating always has its date
        overridden=r.overridden,
        policy_version_id=r.policy_version_id,
    )


def rating_in_force(customer: Any, at: dt.date | None = None) -> RatingView | None:
    """The customer's approved rating in force (one query). With ``at``: the rating that was in force on that day,
    i.e. the latest approved or since-superseded rating rated on or before ``at``."""
    qs = Rating.objects.filter(customer_id=_customer_id(customer))
    if at is None:
        r = qs.filter(status=RatingStatus.APPROVED).first()
    else:
        r = (
            qs.filter(status__in=[RatingStatus.APPROVED, RatingStatus.SUPERSEDED], rated_on__lte=at)
            .order_by("-rated_on", "-decided_at", "-pk")
            .first()
        )
    return _view(r) if r is not None else None


def latest_statements(customer: Any) -> StatementsView | None:
    """The customer's statements with the latest period end and their ratios (one query)."""
    s = FinancialStatement.objects.filter(customer_id=_customer_id(customer)).order_by("-period_end").first()
    if s is None:
        return None
    return StatementsView(
        id=s.pk, period_end=s.period_end, period_type=s.period_type, ratios=ratios.compute(s)
    )
