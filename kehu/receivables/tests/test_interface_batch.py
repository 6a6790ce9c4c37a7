"""The batch functions of the receivables interface (invoice_totals, worst_days_late) give for many customers at
once what the per-customer functions give one by one (late_payments, overdue_summary), on random ledgers with
partial payments, over-receipts, prepayments applied by transfer, credit notes, write-offs and reversals; a fixed
number of queries per chunk of customers (R-GRD-01, R-GRD-02, R-CRD-09 evidence)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import timezone

from kehu.core.errors import ValidationFailed
from kehu.receivables import interface, services
from kehu.receivables.models import Entry, EntryKind
from kehu.receivables.tests.conftest import customer

pytestmark = pytest.mark.django_db


def _money(rng: random.Random, low: int, high: int) -> D:
    return D(rng.randint(low * 100, high * 100)) / 100


def random_ledger(
    rng: random.Random, actor: Any, customer_id: int, steps: int = 30, span: int = 420, settle: bool = False
) -> None:
    """Post a random but valid history for one customer through the services, day by day from ``span`` days ago
    to today: invoices (some due already, some not), receipts paying in part, in full, FIFO or more than owed,
    prepayments later applied directly or by transfer, credit notes on one invoice or FIFO, write-offs, and
    reversals of invoices and of credits. Refused steps (nothing open to pay, say) change nothing. With ``settle``
    a last receipt pays everything still open (so that nothing is overdue and late payments decide)."""
    today = timezone.localdate()
    day = today - dt.timedelta(days=span)
    k = 0

    def number() -> str:
        nonlocal k
        k += 1
        return f"R{customer_id}-{k}"

    def entries(*kinds: str, open_only: bool = False) -> list[Entry]:
        qs = Entry.objects.filter(customer_id=customer_id, kind__in=kinds, reversed_by__isnull=True)
        if open_only:
            qs = qs.filter(open_amount__gt=0)
        return list(qs.order_by("pk"))

    for _step in range(steps):
        day = min(today, day + dt.timedelta(days=rng.randint(0, span // steps * 2)))
        op = rng.choices(
            ["invoice", "receipt", "fifo", "prepay", "apply", "transfer", "note", "writeoff", "reverse"],
            weights=[30, 20, 8, 5, 4, 4, 7, 3, 8],
        )[0]
        try:
            if op == "invoice":
                services.invoice_post(
                    actor=actor,
                    customer_id=customer_id,
                    number=number(),
                    entry_date=day,
                    due_date=day + dt.timedelta(days=rng.choice([0, 10, 30, 60, 90])),
                    amount=_money(rng, 50, 5000),
                )
            elif op == "receipt":
                open_ = entries(EntryKind.INVOICE, open_only=True)
                if not open_:
                    continue
                inv = rng.choice(open_)
                part = inv.open_amount if rng.random() < 0.6 else (inv.open_amount / 2).quantize(D("0.01"))
                extra = _money(rng, 1, 100) if rng.random() < 0.2 else D(0)  # over-receipt stays as credit
                services.receipt_post(
                    actor=actor,
                    customer_id=customer_id,
                    entry_date=day,
                    number=number(),
                    lines=[{"method": rng.choice(["wire", "cash", "cheque"]), "amount": part + extra}],
                    allocations=[{"invoice_id": inv.pk, "amount": part}],
                )
            elif op == "fifo":
                services.receipt_post(
                    actor=actor,
                    customer_id=customer_id,
                    entry_date=day,
                    number=number(),
                    lines=[{"method": "wire", "amount": _money(rng, 100, 6000)}],
                )
            elif op == "prepay":
                services.receipt_post(
                    actor=actor,
                    customer_id=customer_id,
                    entry_date=day,
                    number=number(),
                    prepayment=True,
                    lines=[{"method": "wire", "amount": _money(rng, 100, 3000)}],
                )
            elif op == "apply":
                services.credit_apply(actor=actor, customer_id=customer_id, entry_date=day)
            elif op == "transfer":
                credit = sum(
                    (e.open_amount for e in entries(EntryKind.PREPAYMENT, EntryKind.RECEIPT, open_only=True)),
                    D(0),
                )
                owing = sum((e.open_amount for e in entries(EntryKind.INVOICE, open_only=True)), D(0))
                transfer = min(credit, owing, _money(rng, 10, 2000))
                if transfer <= 0:
                    continue
                services.receipt_post(
                    actor=actor,
                    customer_id=customer_id,
                    entry_date=day,
                    number=number(),
                    lines=[
                        {"method": "transfer", "amount": transfer},
                        {"method": "cash", "amount": _money(rng, 1, 500)},
                    ],
                )
            elif op == "note":
                open_ = entries(EntryKind.INVOICE, open_only=True)
                target = rng.choice(open_) if open_ and rng.random() < 0.7 else None
                amount = (
                    min(target.open_amount, _money(rng, 1, 800))
                    if target is not None
                    else _money(rng, 1, 800)
                )
                services.credit_note_post(
                    actor=actor,
                    customer_id=customer_id,
                    entry_date=day,
                    amount=amount,
                    invoice_id=target.pk if target is not None else None,
                    memo="折让",
                )
            elif op == "writeoff":
                open_ = entries(EntryKind.INVOICE, open_only=True)
                if not open_:
                    continue
                from kehu.customers.models import Customer

                services.write_off_entry(
                    actor=actor,
                    customer=Customer.objects.get(pk=customer_id),
                    invoice_ids=[rng.choice(open_).pk],
                    day=day,
                    reason="无法收回",
                    number=number(),
                )
            else:
                kinds = [
                    EntryKind.INVOICE,
                    EntryKind.RECEIPT,
                    EntryKind.PREPAYMENT,
                    EntryKind.CREDIT_NOTE,
                    EntryKind.WRITE_OFF,
                ]
                pool = [e for e in entries(*kinds) if e.entry_date <= day]
                if not pool:
                    continue
                services.entry_reverse(
                    actor=actor, entry_id=rng.choice(pool).pk, entry_date=day, reason="录错"
                )
        except ValidationFailed:
            continue
    owing = sum((e.open_amount for e in entries(EntryKind.INVOICE, open_only=True)), D(0))
    if settle and owing > 0:
        services.receipt_post(
            actor=actor,
            customer_id=customer_id,
            entry_date=min(today, day + dt.timedelta(days=rng.randint(0, 20))),
            number=number(),
            lines=[{"method": "wire", "amount": owing}],
        )


def per_customer_worst(cid: int, start: dt.date, end: dt.date) -> int:
    """The per-customer rule the batch replaces: the most days late of the period's late payments and of the
    oldest overdue invoice on ``end``, at least 0."""
    late = interface.late_payments(cid, start, end)
    return max([p.days_late for p in late] + [interface.overdue_summary(cid, end).oldest_days, 0])


def _live_invoices(cid: int) -> list[Entry]:
    return [
        e
        for e in Entry.objects.filter(customer_id=cid, kind=EntryKind.INVOICE)
        if not Entry.objects.filter(reverses=e).exists()
    ]


@pytest.fixture
def ledgers(org, fin) -> list[int]:
    """Twelve customers with random ledgers (half of them settled in the end) and two without any entry."""
    rng = random.Random(20260)
    ids = []
    for i in range(14):
        c = customer(org["rep1"] if i % 2 else org["rep2"])
        if i < 12:
            random_ledger(rng, fin, c.pk, steps=rng.randint(10, 40), settle=i % 2 == 0)
        ids.append(c.pk)
    return ids


def _windows() -> list[tuple[dt.date, dt.date]]:
    today = timezone.localdate()
    ago = lambda n: today - dt.timedelta(days=n)  # noqa: E731
    return [
        (ago(365), ago(1)),
        (ago(420), today),
        (ago(200), ago(100)),
        (ago(60), ago(30)),
        (ago(30), ago(30)),
    ]


def test_worst_days_late_equals_the_per_customer_functions_on_random_ledgers(ledgers):
    """R-GRD-01 payment reputation: batch == max(late_payments days late, overdue_summary oldest days, 0)."""
    kinds = set(Entry.objects.values_list("kind", flat=True))
    assert kinds >= {"invoice", "receipt", "prepayment", "credit_note", "write_off", "reversal"}
    assert Entry.objects.filter(kind=EntryKind.INVOICE, reversed_by__isnull=False).exists()
    some_late = False
    for start, end in _windows():
        got = interface.worst_days_late(ledgers, start, end)
        assert set(got) == set(ledgers)
        expected = {cid: per_customer_worst(cid, start, end) for cid in ledgers}
        assert got == expected, (start, end)
        some_late = some_late or any(interface.late_payments(cid, start, end) for cid in ledgers)
    assert some_late


def test_most_days_paid_late_equals_late_payments_on_random_ledgers(ledgers):
    """The late-payment part alone (the overdue part would hide it where it is larger)."""
    found = 0
    for start, end in _windows():
        got = interface._most_days_paid_late(ledgers, start, end)
        expected = {
            cid: max(p.days_late for p in late)
            for cid in ledgers
            if (late := interface.late_payments(cid, start, end))
        }
        assert got == expected, (start, end)
        found += len(got)
    assert found >= 10


def test_worst_days_late_counts_paid_late_even_without_anything_overdue(fin, org):
    c = customer(org["rep1"])
    today = timezone.localdate()
    inv = services.invoice_post(
        actor=fin,
        customer_id=c.pk,
        number="F1",
        entry_date=today - dt.timedelta(days=90),
        due_date=today - dt.timedelta(days=60),
        amount="100",
    )
    # paid in two parts, the last 25 days after the due date; a receipt taken back does not count
    services.receipt_post(
        actor=fin,
        customer_id=c.pk,
        entry_date=today - dt.timedelta(days=50),
        lines=[{"method": "wire", "amount": "40"}],
        allocations=[{"invoice_id": inv.pk, "amount": "40"}],
    )
    wrong = services.receipt_post(
        actor=fin,
        customer_id=c.pk,
        entry_date=today - dt.timedelta(days=40),
        lines=[{"method": "wire", "amount": "60"}],
        allocations=[{"invoice_id": inv.pk, "amount": "60"}],
    )
    services.entry_reverse(
        actor=fin, entry_id=wrong.entry.pk, entry_date=today - dt.timedelta(days=38), reason="录错"
    )
    services.receipt_post(
        actor=fin,
        customer_id=c.pk,
        entry_date=today - dt.timedelta(days=35),
        lines=[{"method": "cash", "amount": "60"}],
        allocations=[{"invoice_id": inv.pk, "amount": "60"}],
    )
    start, end = today - dt.timedelta(days=365), today
    assert (
        interface.worst_days_late([c.pk], start, end)
        == {c.pk: 25}
        == {c.pk: per_customer_worst(c.pk, start, end)}
    )
    # the paid day is outside a window that ends before it
    assert interface.worst_days_late([c], start, today - dt.timedelta(days=36)) == {c.pk: 0}


def test_paid_day_ignores_money_taken_back_even_when_posted_out_of_order(fin, org):
    """Entries may be dated back: money taken back by a reversal does not give the paid day (its pair nets to
    zero), and the day of the taking back is not a payment day (only positive allocations date a payment)."""
    c = customer(org["rep1"])
    today = timezone.localdate()

    def ago(n: int) -> dt.date:
        return today - dt.timedelta(days=n)

    one = services.invoice_post(
        actor=fin, customer_id=c.pk, number="F1", entry_date=ago(90), due_date=ago(60), amount="100"
    )
    wrong = services.receipt_post(
        actor=fin,
        customer_id=c.pk,
        entry_date=ago(40),
        lines=[{"method": "wire", "amount": "100"}],
        allocations=[{"invoice_id": one.pk, "amount": "100"}],
    )
    services.entry_reverse(actor=fin, entry_id=wrong.entry.pk, entry_date=ago(38), reason="录错")
    services.receipt_post(
        actor=fin,
        customer_id=c.pk,
        entry_date=ago(45),
        lines=[{"method": "wire", "amount": "100"}],
        allocations=[{"invoice_id": one.pk, "amount": "100"}],
    )
    two = services.invoice_post(
        actor=fin, customer_id=c.pk, number="F2", entry_date=ago(90), due_date=ago(60), amount="100"
    )
    services.receipt_post(
        actor=fin,
        customer_id=c.pk,
        entry_date=ago(80),
        prepayment=True,
        lines=[{"method": "wire", "amount": "100"}],
    )
    moved = services.receipt_post(
        actor=fin,
        customer_id=c.pk,
        entry_date=ago(50),
        lines=[{"method": "transfer", "amount": "100"}, {"method": "cash", "amount": "1"}],
        allocations=[{"invoice_id": two.pk, "amount": "100"}],
    )
    services.entry_reverse(actor=fin, entry_id=moved.entry.pk, entry_date=ago(30), reason="录错")
    services.credit_apply(
        actor=fin, customer_id=c.pk, entry_date=ago(55), allocations=[{"invoice_id": two.pk, "amount": "100"}]
    )
    start, end = ago(365), today
    late = {p.invoice_id: p.days_late for p in interface.late_payments(c.pk, start, end)}
    assert late == {one.pk: 15, two.pk: 10}
    assert interface._most_days_paid_late([c.pk], start, end) == {c.pk: 15}
    assert interface.worst_days_late([c.pk], start, end) == {c.pk: 15}
    # the second invoice alone: paid 50 days ago (not 30, the day its transfer was taken back)
    assert interface.worst_days_late([c.pk], ago(52), ago(48)) == {c.pk: 10}
    assert per_customer_worst(c.pk, ago(52), ago(48)) == 10


def test_invoice_totals_leave_out_reversed_invoices(ledgers):
    """First invoice up to the period's end, amount and count within the period, per customer."""
    seen_without_sales = False
    for start, end in _windows():
        totals = interface.invoice_totals(ledgers, start, end)
        for cid in ledgers:
            live = [e for e in _live_invoices(cid) if e.entry_date <= end]
            within = [e for e in live if start <= e.entry_date]
            if not live:
                assert cid not in totals
                continue
            expected = interface.InvoiceTotals(
                min(e.entry_date for e in live), sum((e.amount for e in within), D(0)), len(within)
            )
            assert totals[cid] == expected
            seen_without_sales = seen_without_sales or not within
    assert seen_without_sales


def test_batches_take_a_fixed_number_of_queries(ledgers, monkeypatch, django_assert_num_queries):
    start, end = _windows()[0]
    with django_assert_num_queries(2):
        whole = interface.worst_days_late(ledgers, start, end)
    with django_assert_num_queries(1):
        totals = interface.invoice_totals(ledgers, start, end)
    with django_assert_num_queries(0):
        assert interface.worst_days_late([], start, end) == {} == interface.invoice_totals([], start, end)
    # in chunks of 5: 14 customers take 3 chunks, and give the same answer
    monkeypatch.setattr(interface, "CHUNK", 5)
    with django_assert_num_queries(6):
        assert interface.worst_days_late(ledgers, start, end) == whole
    with django_assert_num_queries(3):
        assert interface.invoice_totals(ledgers, start, end) == totals
