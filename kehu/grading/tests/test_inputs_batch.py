"""The scorecard inputs of a batch of customers (R-GRD-01) read through the receivables batch functions give what
the per-customer reading gave (sales and invoices of the period, late payments and the oldest overdue invoice,
first invoice, the latest entered items before the start), with a fixed number of queries per batch so that a run
over every customer (R-GRD-02) does not grow queries per customer."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from kehu.customers.models import Customer
from kehu.grading import scoring, services
from kehu.grading.models import InputEntry
from kehu.receivables import interface as receivables
from kehu.receivables import services as rcv
from kehu.receivables.models import Entry, EntryKind
from kehu.receivables.tests.conftest import customer
from kehu.receivables.tests.test_interface_batch import random_ledger

pytestmark = pytest.mark.django_db


def per_customer_inputs(
    customers: list[Customer], start: dt.date, end: dt.date, as_of: dt.datetime
) -> dict[int, scoring.Inputs]:
    """The reading customer by customer that the batch replaces: invoice totals and the first invoice from the
    ledger rows, ``late_payments`` and ``overdue_summary`` per customer, entered items one customer at a time."""
    out: dict[int, scoring.Inputs] = {}
    for c in customers:
        live = [
            e
            for e in Entry.objects.filter(customer_id=c.pk, kind=EntryKind.INVOICE, entry_date__lte=end)
            if not Entry.objects.filter(reverses=e).exists()
        ]
        mine: dict[str, str] = {}
        for item, value in (
            InputEntry.objects.filter(customer_id=c.pk, entered_at__lte=as_of)
            .order_by("item", "entered_at", "id")
            .values_list("item", "value")
        ):
            mine[item] = value
        if live:
            within = [e for e in live if e.entry_date >= start]
            late = receivables.late_payments(c.pk, start, end)
            overdue = receivables.overdue_summary(c.pk, end)
            ledger: dict[str, Any] = {
                "sales_volume": sum((e.amount for e in within), Decimal(0)),
                "order_volume": len(within),
                "worst_days_late": max([p.days_late for p in late] + [overdue.oldest_days, 0]),
                "years_of_trade": scoring.years_between(min(e.entry_date for e in live), end),
            }
        else:
            ledger = {}
        out[c.pk] = scoring.Inputs(
            **ledger,
            margin=Decimal(mine["margin"]) if "margin" in mine else None,
            sales_model=mine.get("sales_model"),
            purchase_share=Decimal(mine["purchase_share"]) if "purchase_share" in mine else None,
            industry_reputation=int(mine["industry_reputation"]) if "industry_reputation" in mine else None,
        )
    return out


@pytest.fixture
def book(org, finance) -> list[Customer]:
    """Sixteen active customers: twelve with random ledgers (half settled in the end), four without; entered
    items for most, some entered twice."""
    rng = random.Random(4242)
    out = []
    for i in range(16):
        owner = org["rep1"] if i % 2 else org["rep2"]
        c = customer(owner)
        if i < 12:
            random_ledger(rng, finance, c.pk, steps=rng.randint(8, 30), span=600, settle=i % 3 == 0)
        if i % 4 != 3:
            services.inputs_enter(
                actor=owner,
                customer_id=c.pk,
                values={
                    "margin": str(rng.randint(0, 60)),
                    "sales_model": rng.choice(["direct", "distributor", "agent", "trader"]),
                    "industry_reputation": str(rng.randint(1, 5)),
                    **({"purchase_share": f"{rng.randint(0, 1000) / 10}"} if i % 2 else {}),
                },
            )
        out.append(c)
    return out


def _windows() -> list[tuple[dt.date, dt.date]]:
    today = timezone.localdate()
    ago = lambda n: today - dt.timedelta(days=n)  # noqa: E731
    return [(ago(365), ago(1)), (ago(600), today), (ago(300), ago(120)), (ago(500), ago(400))]


def test_batch_inputs_equal_the_per_customer_reading(book, org):
    """R-GRD-01: same inputs as customer-by-customer, for several periods."""
    now = timezone.now()
    for start, end in _windows():
        got = services.collect_inputs(book, start, end, now)
        assert list(got) == [c.pk for c in book]
        assert got == per_customer_inputs(book, start, end, now), (start, end)
    got = services.collect_inputs(book, *_windows()[0], now)
    assert any(i.worst_days_late for i in got.values())
    assert any(i.sales_volume is None for i in got.values())  # no ledger: missing, not zero


def test_entries_made_after_as_of_are_not_read(book, org):
    as_of = timezone.now()
    c = book[0]
    services.inputs_enter(
        actor=org["rep2"], customer_id=c.pk, values={"margin": "99", "sales_model": "agent"}
    )
    start, end = _windows()[0]
    before = services.collect_inputs([c], start, end, as_of)[c.pk]
    after = services.collect_inputs([c], start, end, timezone.now())[c.pk]
    assert before == per_customer_inputs([c], start, end, as_of)[c.pk]
    assert (
        (after.margin, after.sales_model)
        == (Decimal("99.00"), "agent")
        != (before.margin, before.sales_model)
    )


def test_query_count_is_fixed_per_batch(
    org, finance, django_assert_max_num_queries, django_assert_num_queries
):
    """R-GRD-02: 5 customers and 50 customers cost the same four queries (invoice totals, overdue, late
    payments, entered items)."""
    today = timezone.localdate()
    customers = [customer(org["rep1"]) for _ in range(50)]
    for k, c in enumerate(customers[:40]):
        inv = rcv.invoice_post(
            actor=finance,
            customer_id=c.pk,
            number=f"Q{k}",
            entry_date=today - dt.timedelta(days=100 + k),
            due_date=today - dt.timedelta(days=70),
            amount="1000.00",
        )
        if k % 2:
            rcv.receipt_post(
                actor=finance,
                customer_id=c.pk,
                entry_date=today - dt.timedelta(days=k),
                lines=[{"method": "wire", "amount": "1000.00"}],
                allocations=[{"invoice_id": inv.pk, "amount": "1000.00"}],
            )
        services.inputs_enter(actor=org["rep1"], customer_id=c.pk, values={"margin": "20"})
    start, end, now = today - dt.timedelta(days=365), today - dt.timedelta(days=1), timezone.now()
    with django_assert_num_queries(4):
        few = services.collect_inputs(customers[:5], start, end, now)
    with django_assert_max_num_queries(4):
        many = services.collect_inputs(customers, start, end, now)
    assert len(many) == 50 and all(many[c.pk] == few[c.pk] for c in customers[:5])
    assert many == per_customer_inputs(customers, start, end, now)
    assert {many[c.pk].worst_days_late for c in customers[:40]} >= {69}  # paid late or still overdue
    with django_assert_num_queries(2):  # nobody with a ledger: no ledger query past the totals
        services.collect_inputs(customers[40:], start, end, now)
