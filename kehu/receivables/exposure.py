"""Reading the maintained exposure (R-CRD-05, R-CRD-10) and recomputing it from the ledger.

The exposure row holds open receivables, unbilled deliveries and approved open orders; usable deposits and
guarantees are summed in the same query (they stop counting when they expire or are released), so reading a
customer's exposure is one query. :func:`exposure_check` recomputes every customer's row and every open amount
from the entries, allocations and moves and reports the differences (``python -m kehu receivables check``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, DecimalField, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from kehu.receivables.models import (
    ZERO,
    Allocation,
    CustomerExposure,
    Deposit,
    Entry,
    EntryKind,
    ExposureKind,
    ExposureMove,
)

MONEY = DecimalField(max_digits=18, decimal_places=2)


@dataclass(frozen=True)
class ExposureView:
    open_receivables: Decimal
    unbilled_deliveries: Decimal
    approved_orders: Decimal
    deposits: Decimal
    total: Decimal


def usable_deposits_q(at: dt.date) -> Q:
    return Q(valid_from__lte=at, valid_to__gte=at) & (Q(released_on__isnull=True) | Q(released_on__gt=at))


def _deposit_sum(at: dt.date) -> Subquery:
    return Subquery(
        Deposit.objects.filter(usable_deposits_q(at), customer_id=OuterRef("pk"))
        .order_by()
        .values("customer_id")
        .annotate(s=Sum("usable_amount"))
        .values("s")[:1],
        output_field=MONEY,
    )


def with_deposits(qs, at: dt.date | None = None):  # type: ignore[no-untyped-def]
    """Annotate exposure rows with ``deposits`` (usable on ``at``)."""
    at = at or timezone.localdate()
    return qs.annotate(deposits=Coalesce(_deposit_sum(at), Value(ZERO), output_field=MONEY))


def view_of(row: CustomerExposure | None, deposits: Decimal | None = None) -> ExposureView:
    if row is None:
        return ExposureView(ZERO, ZERO, ZERO, ZERO, ZERO)
    dep = deposits if deposits is not None else getattr(row, "deposits", ZERO)
    gross = row.open_receivables + row.unbilled_deliveries + row.approved_orders
    return ExposureView(
        open_receivables=row.open_receivables,
        unbilled_deliveries=row.unbilled_deliveries,
        approved_orders=row.approved_orders,
        deposits=dep,
        total=max(ZERO, gross - dep),
    )


def exposure_of(customer_id: int, at: dt.date | None = None) -> ExposureView:
    """One query: the maintained row with the usable deposits."""
    row = with_deposits(CustomerExposure.objects.filter(pk=customer_id), at).first()
    if row is None:
        return ExposureView(ZERO, ZERO, ZERO, ZERO, ZERO)
    return view_of(row)


# ---------------------------------------------------------------------------------------------------------------
# Full recomputation


def _signed_amount() -> Case:
    return Case(
        When(kind=EntryKind.INVOICE, then=F("amount")),
        When(kind=EntryKind.REVERSAL, reverses__kind=EntryKind.INVOICE, then=-F("amount")),
        When(kind=EntryKind.REVERSAL, then=F("amount")),
        default=-F("amount"),
        output_field=MONEY,
    )


def _cents(value: Decimal | float | None) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def recompute(customer_ids: list[int] | None = None) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
    """(open receivables, unbilled deliveries, approved orders) per customer from the entries and moves alone."""
    entries = Entry.objects.all()
    moves = ExposureMove.objects.all()
    if customer_ids is not None:
        entries = entries.filter(customer_id__in=customer_ids)
        moves = moves.filter(customer_id__in=customer_ids)
    out: dict[int, list[Decimal]] = {}
    # SQLite sums decimals as floats: round to cents (amounts have two decimals, so this is exact on PostgreSQL)
    for cid, total in (
        entries.values("customer_id").annotate(t=Sum(_signed_amount())).values_list("customer_id", "t")
    ):
        out.setdefault(cid, [ZERO, ZERO, ZERO])[0] = _cents(total)
    for cid, kind, total in (
        moves.values("customer_id", "kind").annotate(t=Sum("amount")).values_list("customer_id", "kind", "t")
    ):
        out.setdefault(cid, [ZERO, ZERO, ZERO])[2 if kind == ExposureKind.ORDER else 1] = _cents(total)
    return {cid: (v[0], v[1], v[2]) for cid, v in out.items()}


@dataclass(frozen=True)
class Difference:
    customer_id: int
    what: str
    maintained: Decimal
    recomputed: Decimal

    def __str__(self) -> str:
        return f"customer {self.customer_id}: {self.what} maintained {self.maintained} recomputed {self.recomputed}"


def _open_differences(customer_ids: list[int] | None) -> Iterator[Difference]:
    """Open amounts that do not match amount − allocations (zero for reversals and reversed entries)."""
    entries = Entry.objects.all()
    if customer_ids is not None:
        entries = entries.filter(customer_id__in=customer_ids)
    applied_in = Subquery(
        Allocation.objects.filter(debit_id=OuterRef("pk"))
        .order_by()
        .values("debit_id")
        .annotate(s=Sum("amount"))
        .values("s")[:1],
        output_field=MONEY,
    )
    applied_out = Subquery(
        Allocation.objects.filter(credit_id=OuterRef("pk"))
        .order_by()
        .values("credit_id")
        .annotate(s=Sum("amount"))
        .values("s")[:1],
        output_field=MONEY,
    )
    expected = Case(
        When(Q(kind=EntryKind.REVERSAL) | Q(reversed_by__isnull=False), then=Value(ZERO)),
        When(
            kind=EntryKind.INVOICE, then=F("amount") - Coalesce(applied_in, Value(ZERO), output_field=MONEY)
        ),
        default=F("amount") - Coalesce(applied_out, Value(ZERO), output_field=MONEY),
        output_field=MONEY,
    )
    bad = entries.annotate(expected=expected).exclude(open_amount=F("expected"))
    for pk, cid, have, want in bad.values_list("pk", "customer_id", "open_amount", "expected").iterator():
        if _cents(have) != _cents(want):
            yield Difference(cid, f"entry {pk} open_amount", _cents(have), _cents(want))


def exposure_check(customer_ids: list[int] | None = None) -> list[Difference]:
    """Every difference between the maintained rows (and open amounts) and a full recomputation."""
    want = recompute(customer_ids)
    rows = CustomerExposure.objects.all()
    if customer_ids is not None:
        rows = rows.filter(pk__in=customer_ids)
    have = {
        r[0]: (_cents(r[1]), _cents(r[2]), _cents(r[3]))
        for r in rows.values_list(
            "customer_id", "open_receivables", "unbilled_deliveries", "approved_orders"
        ).iterator()
    }
    names = ("open_receivables", "unbilled_deliveries", "approved_orders")
    diffs: list[Difference] = []
    for cid in sorted(set(want) | set(have)):
        a = have.get(cid, (ZERO, ZERO, ZERO))
        b = want.get(cid, (ZERO, ZERO, ZERO))
        for name, x, y in zip(names, a, b, strict=True):
            if x != y:
                diffs.append(Difference(cid, name, x, y))
    diffs.extend(_open_differences(customer_ids))
    return diffs
