"""The standard ratios of one period's statements. A ratio whose denominator is zero, negative where that makes the
ratio meaningless, or missing is None (shown as "—"), never an error."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

HUNDRED = Decimal(100)
PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class RatioDef:
    key: str
    label: str | Promise
    unit: str  # "%" or "x" (times)


RATIOS: tuple[RatioDef, ...] = (
    RatioDef("current_ratio", _("流动比率"), "x"),
    RatioDef("quick_ratio", _("速动比率"), "x"),
    RatioDef("debt_to_asset", _("资产负债率"), "%"),
    RatioDef("interest_cover", _("利息保障倍数"), "x"),
    RatioDef("gross_margin", _("毛利率"), "%"),
    RatioDef("net_margin", _("净利率"), "%"),
    RatioDef("roe", _("净资产收益率"), "%"),
    RatioDef("receivable_turnover", _("应收账款周转率"), "x"),
    RatioDef("inventory_turnover", _("存货周转率"), "x"),
    RatioDef("ocf_to_debt", _("经营现金流负债比"), "%"),
)


def _div(num: Decimal | None, den: Decimal | None, *, scale: Decimal = Decimal(1)) -> Decimal | None:
    if num is None or den is None or den == 0:
        return None
    return (Decimal(num) * scale / Decimal(den)).quantize(PLACES)


def _positive(value: Decimal | None) -> Decimal | None:
    return value if value is not None and value > 0 else None


def compute(s: Any) -> dict[str, Decimal | None]:
    """Ratios of a statement (any object with the statement's line attributes).

    - current = current assets / current liabilities; quick = (current assets − inventory) / current liabilities
    - debt-to-asset = total liabilities / total assets (%)
    - interest cover = (operating profit + interest expense) / interest expense
    - gross margin = (revenue − cost of sales) / revenue (%); net margin = net profit / revenue (%)
    - ROE = net profit / equity (%), only for positive equity
    - receivable turnover = revenue / receivables; inventory turnover = cost of sales / inventory
    - operating cash flow to debt = operating cash flow / total liabilities (%)
    """
    g = lambda name: getattr(s, name, None)  # noqa: E731
    ca, cl, inv = g("current_assets"), g("current_liabilities"), g("inventory")
    revenue, cogs = g("revenue"), g("cost_of_sales")
    op, interest = g("operating_profit"), g("interest_expense")
    quick_num = ca - (inv or 0) if ca is not None else None
    gross = revenue - cogs if revenue is not None and cogs is not None else None
    ebit = op + interest if op is not None and interest is not None else None
    return {
        "current_ratio": _div(ca, cl),
        "quick_ratio": _div(quick_num, cl),
        "debt_to_asset": _div(g("total_liabilities"), _positive(g("total_assets")), scale=HUNDRED),
        "interest_cover": _div(ebit, _positive(interest)),
        "gross_margin": _div(gross, _positive(revenue), scale=HUNDRED),
        "net_margin": _div(g("net_profit"), _positive(revenue), scale=HUNDRED),
        "roe": _div(g("net_profit"), _positive(g("equity")), scale=HUNDRED),
        "receivable_turnover": _div(revenue, _positive(g("receivables"))),
        "inventory_turnover": _div(cogs, _positive(inv)),
        "ocf_to_debt": _div(g("operating_cash_flow"), _positive(g("total_liabilities")), scale=HUNDRED),
    }


def display(value: Decimal | None, unit: str) -> str:
    """ "—" for a ratio that cannot be computed; two decimals otherwise (with "%" for percentages)."""
    if value is None:
        return "—"
    text = f"{value.quantize(Decimal('0.01')):,}"
    return f"{text}%" if unit == "%" else text


def rows(s: Any) -> list[dict[str, Any]]:
    values = compute(s)
    return [
        {
            "key": r.key,
            "label": r.label,
            "unit": r.unit,
            "value": values[r.key],
            "text": display(values[r.key], r.unit),
        }
        for r in RATIOS
    ]
