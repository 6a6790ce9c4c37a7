"""What other modules may call of the receivables module (credit limits, reviews, orders).

- :func:`credit_exposure` — open receivables + unbilled deliveries + approved open orders − usable deposits and
  guarantees (R-CRD-05, R-CRD-10), never below zero; one query on the maintained row.
- :func:`exposure_parts` — the same, part by part.
- :func:`overdue_summary` — open invoices past their due date on ``at``.
- :func:`late_payments` — invoices whose money came after their due date, by that day (R-CRD-09 evidence).
- :func:`exposure_add` — for the orders module: add (or, negative, take off) an approved order or an unbilled
  delivery, under the customer's exposure row lock. Moving an amount from order to delivery to receivable is two
  calls (``order −x``, ``delivery +x``) and then the invoice posting with ``delivery −x``, all in the caller's
  transaction, so the total never jumps.

None of these check the caller's permission: the calling module does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Count, Min, Sum
from django.utils import timezone

from kehu.receivables.exposure import ExposureView, exposure_of
from kehu.receivables.models import ZERO, Allocation, Entry, EntryKind

__all__ = [
    "ExposureView",
    "LatePayment",
    "OverdueView",
    "credit_exposure",
    "exposure_add",
    "exposure_parts",
    "late_payments",
    "overdue_summary",
]


def _cid(customer: Any) -> int:
    return int(getattr(customer, "pk", customer))


def credit_exposure(customer: Any) -> Decimal:
    """The customer's exposure (a Customer or its id)."""
    return exposure_of(_cid(customer)).total


def exposure_subquery(customer_ref: str = "customer_id") -> Any:
    """An expression for the exposure of the customer ``OuterRef(customer_ref)`` (the same arithmetic as
    :func:`credit_exposure`, never below zero), for other modules' list queries: one subquery instead of a read
    per customer. None (SQL NULL) for a customer with no ledger yet."""
    from django.db.models import F, OuterRef, Subquery, Value
    from django.db.models.functions import Greatest

    from kehu.receivables.exposure import MONEY, with_deposits
    from kehu.receivables.models import CustomerExposure

    rows = with_deposits(CustomerExposure.objects.filter(pk=OuterRef(customer_ref))).annotate(
        total=Greatest(
            F("open_receivables") + F("unbilled_deliveries") + F("approved_orders") - F("deposits"),
            Value(ZERO),
            output_field=MONEY,
        )
    )
    return Subquery(rows.values("total")[:1], output_field=MONEY)


def exposure_parts(customer: Any) -> ExposureView:
    return exposure_of(_cid(customer))


@dataclass(frozen=True)
class OverdueView:
    amount: Decimal
    oldest_days: int
    items: int


def overdue_summary(customer: Any, at: dt.date | None = None) -> OverdueView:
    """Open invoices due before ``at`` (today): their open amount, the days the oldest is overdue, their count."""
    at = at or timezone.localdate()
    got = Entry.objects.filter(
        customer_id=_cid(customer), kind=EntryKind.INVOICE, open_amount__gt=0, due_date__lt=at
    ).aggregate(amount=Sum("open_amount"), oldest=Min("due_date"), items=Count("id"))
    oldest = (at - got["oldest"]).days if got["oldest"] else 0
    return OverdueView(amount=got["amount"] or ZERO, oldest_days=oldest, items=got["items"] or 0)


@dataclass(frozen=True)
class LatePayment:
    invoice_id: int
    due_on: dt.date
    paid_on: dt.date
    days_late: int


def late_payments(customer: Any, start: dt.date, end: dt.date) -> list[LatePayment]:
    """Invoices fully settled whose money (receipts, prepayments applied) came on a day within [start, end] later
    than their due date. The paid day is the day of the last allocation of money to the invoice: a credit note
    (红字发票) or write-off closing the rest afterwards is not a payment and does not make it late; an invoice
    settled without money is not a payment at all. Money later taken back (its pair of credit and invoice nets to
    zero, e.g. a reversed receipt) does not count. Reversed invoices are left out."""
    money = (EntryKind.RECEIPT, EntryKind.PREPAYMENT)
    closed = Entry.objects.filter(
        customer_id=_cid(customer), kind=EntryKind.INVOICE, open_amount=0, reversed_by__isnull=True
    )
    candidates = closed.filter(
        allocations_in__credit__kind__in=money,
        allocations_in__amount__gt=0,
        allocations_in__applied_on__gte=start,
        allocations_in__applied_on__lte=end,
    ).values("pk")
    rows = (
        Allocation.objects.filter(debit_id__in=candidates, credit__kind__in=money)
        .order_by()
        .values_list("debit_id", "debit__due_date", "credit_id", "amount", "applied_on")
    )
    net: dict[tuple[int, int], Decimal] = {}
    last: dict[tuple[int, int], dt.date] = {}
    due: dict[int, dt.date | None] = {}
    for debit_id, due_on, credit_id, amount, applied_on in rows:
        key = (debit_id, credit_id)
        due[debit_id] = due_on
        net[key] = net.get(key, ZERO) + amount
        if amount > 0 and (key not in last or applied_on > last[key]):
            last[key] = applied_on
    paid: dict[int, dt.date] = {}
    for key, amount in net.items():
        if amount > 0 and key in last and (key[0] not in paid or last[key] > paid[key[0]]):
            paid[key[0]] = last[key]
    out = []
    for pk, paid_on in paid.items():
        due_on = due[pk]
        if due_on is not None and start <= paid_on <= end and paid_on > due_on:
            out.append(
                LatePayment(invoice_id=pk, due_on=due_on, paid_on=paid_on, days_late=(paid_on - due_on).days)
            )
    return sorted(out, key=lambda p: (p.paid_on, p.invoice_id))


def exposure_add(
    customer: Any, *, kind: Literal["order", "delivery"], amount: Decimal, ref: str
) -> ExposureView:
    """Add ``amount`` to the customer's approved orders (``order``) or unbilled deliveries (``delivery``); negative
    to take it off. Locks the customer's exposure row; a part may not go below zero (ValidationFailed)."""
    from kehu.customers.models import Customer
    from kehu.receivables.services import exposure_move

    obj = customer if isinstance(customer, Customer) else Customer.objects.get(pk=_cid(customer))
    exposure_move(customer=obj, kind=kind, amount=amount, ref=ref)
    return exposure_of(obj.pk)
