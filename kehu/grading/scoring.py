"""Scorecard arithmetic (R-GRD-01) and forced distribution (R-GRD-02), free of the database so that it can be
checked by hand.

Tie rule: customers are ranked by score (highest first; equal scores share a rank). The quota of grade *i* ends at
the cumulative cut ``round_half_up(n × (q1 + … + qi) / 100)``. A group of equal scores gets the grade in which its
first member's position falls, so **ties go to the better grade**: that grade may exceed its quota and the grades
after it get fewer customers. The last grade takes everyone left.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from kehu.grading.policies import SchemePolicy

CENT = Decimal("0.01")


def _fraction(x: Decimal) -> Decimal:
    return max(Decimal(0), min(Decimal(1), x))


@dataclass(frozen=True)
class Inputs:
    """The raw inputs of one customer; None means missing."""

    sales_volume: Decimal | None = None
    order_volume: int | None = None
    worst_days_late: int | None = None
    margin: Decimal | None = None
    years_of_trade: Decimal | None = None
    sales_model: str | None = None
    purchase_share: Decimal | None = None
    industry_reputation: int | None = None

    def as_json(self) -> dict[str, str | int | None]:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in self.__dict__.items()}


def item_fractions(policy: SchemePolicy, i: Inputs) -> dict[str, tuple[Decimal | None, object]]:
    """Per item: the fraction of its weight earned (None when missing) and the raw value shown."""
    r = policy.rules
    out: dict[str, tuple[Decimal | None, object]] = {}
    out["sales_volume"] = (
        (_fraction(i.sales_volume / r.sales_full_at), str(i.sales_volume))
        if i.sales_volume is not None
        else (None, None)
    )
    out["order_volume"] = (
        (_fraction(Decimal(i.order_volume) / r.orders_full_at), i.order_volume)
        if i.order_volume is not None
        else (None, None)
    )
    out["payment_reputation"] = (
        (_fraction(1 - Decimal(i.worst_days_late) / r.late_zero_at_days), i.worst_days_late)
        if i.worst_days_late is not None
        else (None, None)
    )
    out["margin"] = (
        (_fraction(i.margin / r.margin_full_at), str(i.margin)) if i.margin is not None else (None, None)
    )
    out["years_of_trade"] = (
        (_fraction(i.years_of_trade / r.years_full_at), str(i.years_of_trade))
        if i.years_of_trade is not None
        else (None, None)
    )
    if i.sales_model is not None and i.sales_model in r.sales_model_percent:
        out["sales_model"] = (_fraction(Decimal(r.sales_model_percent[i.sales_model]) / 100), i.sales_model)
    else:
        out["sales_model"] = (None, None)
    out["purchase_share"] = (
        (_fraction(i.purchase_share / r.share_full_at), str(i.purchase_share))
        if i.purchase_share is not None
        else (None, None)
    )
    out["industry_reputation"] = (
        (_fraction(Decimal(i.industry_reputation - 1) / 4), i.industry_reputation)
        if i.industry_reputation is not None
        else (None, None)
    )
    return out


def score(policy: SchemePolicy, inputs: Inputs) -> tuple[Decimal, list[dict[str, object]], int]:
    """The total score (two decimals), the breakdown rows and the number of missing items."""
    fractions = item_fractions(policy, inputs)
    missing_fraction = Decimal(policy.rules.missing_percent) / 100
    total = Decimal(0)
    rows: list[dict[str, object]] = []
    missing = 0
    for item in policy.items:
        fraction, value = fractions[item.key]
        is_missing = fraction is None
        if fraction is None:
            missing += 1
            fraction = missing_fraction
        points = (Decimal(item.weight) * fraction).quantize(CENT, ROUND_HALF_UP)
        total += points
        rows.append(
            {
                "key": item.key,
                "weight": item.weight,
                "value": value,
                "points": str(points),
                "missing": is_missing,
            }
        )
    return total, rows, missing


def cuts(n: int, quotas: Sequence[int]) -> list[int]:
    """Cumulative end position of each grade's quota (the last is always n)."""
    out, acc = [], 0
    for q in quotas:
        acc += q
        out.append(int((Decimal(n) * acc / 100).quantize(Decimal(1), ROUND_HALF_UP)))
    out[-1] = n
    return out


@dataclass(frozen=True)
class Placed:
    key: int
    score: Decimal
    rank: int
    grade: str


def allocate(
    scores: Sequence[tuple[int, Decimal]], grades: Sequence[str], quotas: Sequence[int]
) -> list[Placed]:
    """Rank ``(key, score)`` pairs and give grades by quota with the tie rule of this module. Deterministic: the
    order is score descending, then key ascending."""
    ordered = sorted(scores, key=lambda t: (-t[1], t[0]))
    limits = cuts(len(ordered), quotas)
    out: list[Placed] = []
    grade_index = 0
    rank = 0
    previous: Decimal | None = None
    for pos, (key, value) in enumerate(ordered):
        if value != previous:
            rank = pos + 1
            while grade_index < len(grades) - 1 and pos >= limits[grade_index]:
                grade_index += 1
            previous = value
        out.append(Placed(key=key, score=value, rank=rank, grade=grades[grade_index]))
    return out


def years_between(start: dt.date, end: dt.date) -> Decimal:
    return (Decimal((end - start).days) / Decimal("365.25")).quantize(CENT, ROUND_HALF_UP)
