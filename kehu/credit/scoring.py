"""The scorecard arithmetic of a rating (R-CRD-03), pure functions over the policy.

Each indicator's value falls in one band of its category's scorecard and earns that band's points (0–100); its
weighted contribution is points × weight / 100, and the score is the sum of the contributions (0–100). A
quantitative indicator that cannot be computed (no statements, zero denominator) earns 0 points. The grade is the
first grade whose minimum score the score reaches; the class is the group the grade belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _

from kehu.credit import ratios
from kehu.credit.policies import INDICATORS, Band, RatingPolicy, Scorecard

TEN_THOUSAND = Decimal(10000)
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Inputs:
    """The analyst's qualitative inputs: levels 1 (poor) .. 5 (excellent), years of trade in years."""

    payment_history: int
    years_of_trade: Decimal
    industry_outlook: int
    management: int
    litigation: int


@dataclass(frozen=True)
class Result:
    category: str
    score: Decimal
    grade: str
    credit_class: str
    details: list[dict[str, Any]]


def indicator_values(statement: Any | None, inputs: Inputs) -> dict[str, Decimal | None]:
    values: dict[str, Decimal | None] = dict.fromkeys(
        ("current_ratio", "debt_to_asset", "net_margin", "ocf_to_debt", "total_assets")
    )
    if statement is not None:
        r = ratios.compute(statement)
        values.update({k: r[k] for k in ("current_ratio", "debt_to_asset", "net_margin", "ocf_to_debt")})
        ta = getattr(statement, "total_assets", None)
        values["total_assets"] = (Decimal(ta) / TEN_THOUSAND).quantize(CENTS) if ta is not None else None
    values.update(
        {
            "payment_history": Decimal(inputs.payment_history),
            "years_of_trade": Decimal(inputs.years_of_trade),
            "industry_outlook": Decimal(inputs.industry_outlook),
            "management": Decimal(inputs.management),
            "litigation": Decimal(inputs.litigation),
        }
    )
    return values


def band_of(value: Decimal | None, bands: list[Band]) -> tuple[int, Band | None]:
    """(index, band) of the first band the value falls in; (-1, None) when the value is missing or no band fits."""
    if value is None:
        return -1, None
    for i, b in enumerate(bands):
        if (b.min is None or value >= b.min) and (b.max is None or value < b.max):
            return i, b
    return -1, None


def band_text(b: Band | None) -> str:
    if b is None:
        return "—"
    if b.min is not None and b.max is not None:
        return f"[{b.min}, {b.max})"
    if b.min is not None:
        return f"≥ {b.min}"
    if b.max is not None:
        return f"< {b.max}"
    return _("其余")


def score(policy: RatingPolicy, category: str, statement: Any | None, inputs: Inputs) -> Result:
    card: Scorecard = getattr(policy.scorecards, category)
    values = indicator_values(statement, inputs)
    details = []
    total = Decimal(0)
    for key, _label, kind in INDICATORS:
        rule = getattr(card, key)
        _i, band = band_of(values[key], rule.bands)
        points = band.points if band is not None else 0
        contribution = (Decimal(points) * Decimal(rule.weight) / 100).quantize(CENTS, ROUND_HALF_UP)
        total += contribution
        details.append(
            {
                "key": key,
                "kind": kind,
                "value": None if values[key] is None else str(values[key]),
                "band": band_text(band),
                "points": points,
                "weight": rule.weight,
                "contribution": str(contribution),
            }
        )
    total = total.quantize(CENTS)
    grade = policy.grade_for(total)
    return Result(
        category=category, score=total, grade=grade, credit_class=policy.class_for(grade), details=details
    )
