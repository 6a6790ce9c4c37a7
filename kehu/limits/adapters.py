"""Reads from the other credit apps (kehu.credit, kehu.receivables) through their published interfaces.

Each function imports lazily. The neutral answer (no rating, no statements, exposure 0, nothing overdue, no late
payments) is used ONLY while the other app is not installed; once it is installed its interface is called directly
and its errors propagate.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.apps import apps

CREDIT_APP = "kehu.credit"
RECEIVABLES_APP = "kehu.receivables"


def credit_installed() -> bool:
    return apps.is_installed(CREDIT_APP)


def receivables_installed() -> bool:
    return apps.is_installed(RECEIVABLES_APP)


def rating_in_force(customer: Any) -> Any:
    """H6's RatingView or None."""
    if not credit_installed():
        return None
    from kehu.credit.interface import rating_in_force as fn  # type: ignore[import-not-found,unused-ignore]

    return fn(customer)


def latest_statements(customer: Any) -> Any:
    if not credit_installed():
        return None
    from kehu.credit.interface import latest_statements as fn  # type: ignore[import-not-found,unused-ignore]

    return fn(customer)


def credit_exposure(customer: Any) -> Decimal:
    """R-CRD-05 exposure of the customer (0 only while the receivables app is absent)."""
    if not receivables_installed():
        return Decimal("0")
    from kehu.receivables.interface import credit_exposure as fn  # type: ignore[import-not-found,unused-ignore]

    return Decimal(fn(customer))


def credit_exposures(customer_ids: list[int]) -> dict[int, Decimal]:
    """The exposure of many customers in one query (the receivables app's maintained rows read with its own
    ``with_deposits`` and ``view_of``, so the arithmetic stays there); 0 for each while that app is absent."""
    if not receivables_installed():
        return dict.fromkeys(customer_ids, Decimal("0"))
    from kehu.receivables import exposure  # type: ignore[import-not-found,unused-ignore]
    from kehu.receivables.models import CustomerExposure  # type: ignore[import-not-found,unused-ignore]

    out = dict.fromkeys(customer_ids, Decimal("0"))
    for row in exposure.with_deposits(CustomerExposure.objects.filter(pk__in=customer_ids)):
        out[row.pk] = Decimal(exposure.view_of(row).total)
    return out


def exposure_expression(customer_ref: str = "customer_id") -> Any:
    """The customers' exposure as a query expression (0 where there is no ledger, or no receivables app)."""
    from django.db.models import DecimalField, Value
    from django.db.models.functions import Coalesce

    zero = Value(Decimal("0"), output_field=DecimalField(max_digits=18, decimal_places=2))
    if not receivables_installed():
        return zero
    from kehu.receivables.interface import exposure_subquery  # type: ignore[import-not-found,unused-ignore]

    return Coalesce(exposure_subquery(customer_ref), zero)


def overdue_summary(customer: Any, at: dt.date | None = None) -> Any:
    if not receivables_installed():
        return None
    from kehu.receivables.interface import overdue_summary as fn  # type: ignore[import-not-found,unused-ignore]

    return fn(customer, at=at)


def late_payments(customer: Any, start: dt.date, end: dt.date) -> list[Any]:
    if not receivables_installed():
        return []
    from kehu.receivables.interface import late_payments as fn  # type: ignore[import-not-found,unused-ignore]

    return list(fn(customer, start, end))


def ageing_summary(actor: Any) -> dict[str, Decimal] | None:
    """The company ageing totals per bucket within the actor's scope, from the receivables app's ageing report;
    None while that app is absent or when the actor may not see ageing."""
    if not receivables_installed():
        return None
    from kehu.core import access
    from kehu.receivables import selectors  # type: ignore[import-not-found,unused-ignore]

    if not access.can(actor, "receivables.ageing"):
        return None
    report = selectors.ageing_report(actor, limit=0)
    return {str(b.label): Decimal(t) for b, t in zip(report.buckets, report.totals, strict=True)}
