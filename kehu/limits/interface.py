"""What other modules read about credit limits (R-CRD-02, R-CRD-05, R-CRD-09).

    credit_limit(customer, at=None) -> LimitView | None
    credit_available(customer) -> Decimal | None     # limit − exposure; None: no limit, no credit
    payment_terms_level(customer) -> str             # "A".."D" after any late-payment downgrade

Reads only; each is one or two indexed queries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kehu.limits import adapters
from kehu.limits.models import CreditLimit, LimitStatus


@dataclass(frozen=True)
class LimitView:
    id: int
    amount: Decimal
    currency: str
    term_days: int
    credit_class: str
    terms_level: str
    valid_from: dt.date
    valid_to: dt.date | None
    approved_by: str
    letter_number: str


def _row(customer: Any, at: dt.date | None) -> CreditLimit | None:
    qs = CreditLimit.objects.select_related("approved_by").filter(customer_id=customer.pk)
    if at is None:
        return qs.filter(status=LimitStatus.IN_FORCE).first()
    from django.db.models import Q

    return (
        qs.filter(valid_from__lte=at)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=at))
        .order_by("-valid_from", "-pk")
        .first()
    )


def credit_limit(customer: Any, at: dt.date | None = None) -> LimitView | None:
    """The limit in force now (or on ``at``, from the history), or None."""
    row = _row(customer, at)
    if row is None:
        return None
    return LimitView(
        id=row.pk,
        amount=row.amount,
        currency=row.currency,
        term_days=row.term_days,
        credit_class=row.credit_class,
        terms_level=row.terms_level,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        approved_by=row.approved_by.username if row.approved_by else "",
        letter_number=row.letter_number,
    )


def credit_available(customer: Any) -> Decimal | None:
    """Limit in force − exposure (R-CRD-05); negative when over limit; None when the customer has no limit."""
    row = _row(customer, None)
    if row is None:
        return None
    return row.amount - adapters.credit_exposure(customer)


def payment_terms_level(customer: Any) -> str:
    """The payment terms level after any R-CRD-09 downgrade; "D" (cash or prepayment) without a limit in force."""
    level = (
        CreditLimit.objects.filter(customer_id=customer.pk, status=LimitStatus.IN_FORCE)
        .values_list("terms_level", flat=True)
        .first()
    )
    return level or "D"


def limit_amount_subquery(customer_ref: str = "pk") -> Any:
    """An expression for the amount of the limit in force of the customer ``OuterRef(customer_ref)``, for other
    modules' list queries (one subquery instead of a read per customer)."""
    from django.db.models import OuterRef, Subquery

    return Subquery(
        CreditLimit.objects.filter(customer_id=OuterRef(customer_ref), status=LimitStatus.IN_FORCE).values(
            "amount"
        )[:1]
    )
