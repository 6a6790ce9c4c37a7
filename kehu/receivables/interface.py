"""What other modules may call of the receivables module (credit limits, reviews, orders).

- :func:`credit_exposure` — open receivables + unbilled deliveries + approved open orders − usable deposits and
  guarantees (R-CRD-05, R-CRD-10), never below zero; one query on the maintained row.
- :func:`exposure_parts` — the same, part by part.
- :func:`overdue_summary` — open invoices past their due date on ``at``.
- :func:`late_payments` — invoices whose money came after their due date, by that day (R-CRD-09 evidence).
- :func:`invoice_totals`, :func:`worst_days_late` — for a batch of customers at once (the grading run,
  R-GRD-01/02): first invoice and the period's invoicing, and the most days late (paid late or still overdue, the
  facts of ``late_payments`` and ``overdue_summary``); a fixed number of queries per batch, not per customer.
- :func:`invoice_for_delivery` — for the orders module: post an invoice of delivered goods to the ledger (the
  actor needs ``receivables.post``; the posting is checked as every invoice) and take its amount off the unbilled
  deliveries, in the caller's transaction.
- :func:`exposure_add` — for the orders module: add (or, negative, take off) an approved order or an unbilled
  delivery, under the customer's exposure row lock. Moving an amount from order to delivery to receivable is two
  calls (``order −x``, ``delivery +x``) and then the invoice posting with ``delivery −x``, all in the caller's
  transaction, so the total never jumps.

None of these check the caller's permission: the calling module does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Round
from django.utils import timezone

from kehu.receivables.exposure import ExposureView, exposure_of
from kehu.receivables.models import ZERO, Allocation, Entry, EntryKind

__all__ = [
    "ExposureView",
    "InvoiceTotals",
    "LatePayment",
    "OverdueView",
    "credit_exposure",
    "exposure_add",
    "exposure_lock",
    "exposure_parts",
    "invoice_for_delivery",
    "invoice_totals",
    "late_payments",
    "overdue_summary",
    "worst_days_late",
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


def _overdue_q(at: dt.date) -> Q:
    """An invoice overdue on ``at``: still open and due before that day (the one rule of every overdue read)."""
    return Q(kind=EntryKind.INVOICE, open_amount__gt=0, due_date__lt=at)


def overdue_exists(customer_ref: str = "customer_id", at: dt.date | None = None) -> Any:
    """An ``Exists`` expression: the customer ``OuterRef(customer_ref)`` has an open invoice due before ``at``
    (today), for other modules' list filters (the same rule as :func:`overdue_summary`)."""
    from django.db.models import Exists, OuterRef

    return Exists(
        Entry.objects.filter(_overdue_q(at or timezone.localdate()), customer_id=OuterRef(customer_ref))
    )


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
    got = Entry.objects.filter(_overdue_q(at), customer_id=_cid(customer)).aggregate(
        amount=Sum("open_amount"), oldest=Min("due_date"), items=Count("id")
    )
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


# ---------------------------------------------------------------------------------------------------------------
# Batches: the same ledger facts for many customers at once (the grading run, R-GRD-01/02), a fixed number of
# queries per chunk of customers instead of queries per customer.

CHUNK = 500  # customer ids per query (well within every database's limit on bound parameters)


def _chunks(customers: Iterable[Any]) -> Iterator[list[int]]:
    ids = sorted({_cid(c) for c in customers})
    for k in range(0, len(ids), CHUNK):
        yield ids[k : k + CHUNK]


def _not_reversed(ref: str = "pk") -> Q:
    """Entries (``ref``: the entry's id column) that no reversal reverses. A NOT EXISTS on the unique index of
    ``reverses``, which costs the same for every chunk of customers (an outer join to the reversals is planned on
    PostgreSQL as a merge over their whole index up to the chunk's entries)."""
    return ~Q(Exists(Entry.objects.filter(reverses_id=OuterRef(ref))))


def _live_invoices(ids: list[int]) -> QuerySet[Entry]:
    return Entry.objects.filter(_not_reversed(), customer_id__in=ids, kind=EntryKind.INVOICE).order_by()


@dataclass(frozen=True)
class InvoiceTotals:
    """A customer's invoicing up to the end of a period: the date of its first invoice, and the amount and number
    of its invoices dated within the period (zero when none)."""

    first: dt.date
    amount: Decimal
    count: int


def invoice_totals(customers: Iterable[Any], start: dt.date, end: dt.date) -> dict[int, InvoiceTotals]:
    """Per customer (Customers or ids) that has an invoice dated on or before ``end``: its first invoice date, and
    the amount and number of its invoices dated within [start, end]; reversed invoices are left out. Customers
    without such an invoice are not in the result. One query per :data:`CHUNK` customers."""
    within = Q(entry_date__gte=start)
    out: dict[int, InvoiceTotals] = {}
    for ids in _chunks(customers):
        rows = (
            _live_invoices(ids)
            .filter(entry_date__lte=end)
            .values("customer_id")
            .annotate(
                first=Min("entry_date"), total=Sum("amount", filter=within), n=Count("id", filter=within)
            )
            .values_list("customer_id", "first", "total", "n")
        )
        out.update({cid: InvoiceTotals(first, total or ZERO, n) for cid, first, total, n in rows})
    return out


def worst_days_late(customers: Iterable[Any], start: dt.date, end: dt.date) -> dict[int, int]:
    """Per customer (every one given is a key): the most days its money was late over [start, end], that is the
    largest of the days late of :func:`late_payments` ``(c, start, end)``, of
    :func:`overdue_summary` ``(c, end).oldest_days`` and of 0. Two queries per :data:`CHUNK` customers."""
    out: dict[int, int] = {}
    for ids in _chunks(customers):
        worst = dict.fromkeys(ids, 0)
        for part in (_oldest_overdue_days(ids, end), _most_days_paid_late(ids, start, end)):
            for cid, days in part.items():
                worst[cid] = max(worst[cid], days)
        out.update(worst)
    return out


def _oldest_overdue_days(ids: list[int], end: dt.date) -> dict[int, int]:
    """``overdue_summary(c, end).oldest_days`` of the customers with an invoice overdue on ``end``. One query."""
    rows = (
        Entry.objects.filter(_overdue_q(end), customer_id__in=ids)
        .order_by()
        .values("customer_id")
        .annotate(oldest=Min("due_date"))
        .values_list("customer_id", "oldest")
    )
    return {cid: (end - oldest).days for cid, oldest in rows}


def _most_days_paid_late(ids: list[int], start: dt.date, end: dt.date) -> dict[int, int]:
    """The largest ``days_late`` of :func:`late_payments` ``(c, start, end)`` of the customers that have one. One
    query.

    The rule of :func:`late_payments`, per settled invoice of the customers in one statement: its paid day is the
    latest day of a positive allocation among its pairs of invoice and money credit whose allocations net above
    zero (a correlated subquery on the allocations' index by invoice, the same cost for every chunk whatever the
    size of the ledger). The net is rounded to cents in SQL, which keeps it exact where SQLite sums decimals as
    floating point."""
    money = (EntryKind.RECEIPT, EntryKind.PREPAYMENT)
    pairs = (
        Allocation.objects.filter(debit_id=OuterRef("pk"), credit__kind__in=money)
        .order_by()
        .values("credit_id")
        .annotate(net=Round(Sum("amount"), 2), last=Max("applied_on", filter=Q(amount__gt=0)))
        .filter(net__gt=0, last__isnull=False)
    )
    invoices = (
        Entry.objects.filter(_not_reversed(), customer_id__in=ids, kind=EntryKind.INVOICE, open_amount=0)
        .order_by()
        .values_list("customer_id", "due_date", Subquery(pairs.order_by("-last").values("last")[:1]))
    )
    out: dict[int, int] = {}
    for cid, due_on, paid_on in invoices:
        if paid_on is not None and due_on is not None and start <= paid_on <= end and paid_on > due_on:
            out[cid] = max(out.get(cid, 0), (paid_on - due_on).days)
    return out


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


def exposure_lock(customer: Any) -> ExposureView:
    """Lock the customer's exposure row (created when missing) for the rest of the caller's transaction and return
    the exposure read under that lock: the order credit check (R-CRD-05) compares and adds under one lock."""
    from kehu.receivables.services import _lock_row

    _lock_row(_cid(customer))
    return exposure_of(_cid(customer))


def invoice_for_delivery(
    customer: Any,
    *,
    actor: Any,
    number: str,
    entry_date: Any,
    amount: Decimal,
    due_date: Any,
    unbilled: Decimal,
    ref: str,
    memo: str = "",
) -> int:
    """Post the invoice (open receivables +amount) and take ``unbilled`` (at most the amount) off the unbilled
    deliveries, under the customer's exposure row lock; returns the ledger entry's id."""
    from kehu.customers.models import Customer
    from kehu.receivables.services import exposure_move, invoice_post

    obj = customer if isinstance(customer, Customer) else Customer.objects.get(pk=_cid(customer))
    entry = invoice_post(
        actor=actor,
        customer_id=obj.pk,
        number=number,
        entry_date=entry_date,
        amount=amount,
        due_date=due_date,
        memo=memo,
    )
    if unbilled:
        exposure_move(customer=obj, kind="delivery", amount=-unbilled, ref=ref, actor=actor)
    return entry.pk
