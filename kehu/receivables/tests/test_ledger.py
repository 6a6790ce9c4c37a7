"""Ledger postings (R-CRD-06): invoices, receipts in every settlement method including mixed settlement,
allocation limits, credit notes, reversals; ageing at bucket edges; every bad input changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from kehu.core.errors import NotFound, PermissionDenied, ValidationFailed
from kehu.core.models.audit import AuditEntry
from kehu.receivables import interface, selectors, services
from kehu.receivables.exposure import exposure_check
from kehu.receivables.models import Allocation, Entry, EntryKind
from kehu.receivables.tests.conftest import customer, days_ago

pytestmark = pytest.mark.django_db


def inv(fin, c, number, amount, *, age=40, due_in=30):
    return services.invoice_post(
        actor=fin,
        customer_id=c.pk,
        number=number,
        entry_date=days_ago(age),
        due_date=days_ago(age - due_in),
        amount=amount,
    )


def refused(rule, fn, **kw):
    before = (Entry.objects.count(), Allocation.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ValidationFailed) as exc:
        fn(**kw)
    assert exc.value.rule == rule, exc.value.message
    assert (Entry.objects.count(), Allocation.objects.count(), AuditEntry.objects.count()) == before
    return exc.value


def test_invoice_due_date_from_terms_or_policy_default(fin, cust):
    a = services.invoice_post(
        actor=fin, customer_id=cust.pk, number="F1", entry_date=days_ago(10), amount="100"
    )
    b = services.invoice_post(
        actor=fin, customer_id=cust.pk, number="F2", entry_date=days_ago(10), amount="100", terms_days=60
    )
    assert a.due_date == days_ago(10) + dt.timedelta(days=30)
    assert b.due_date == days_ago(10) + dt.timedelta(days=60)
    assert AuditEntry.objects.filter(object_type__icontains="entry", object_id=str(a.pk)).exists()
    assert interface.credit_exposure(cust) == D("200.00")


@pytest.mark.parametrize(
    ("kw", "rule"),
    [
        ({"amount": "0"}, "positive"),
        ({"amount": "-5"}, "positive"),
        ({"amount": "1.005"}, "decimal_places"),
        ({"amount": 10.5}, "decimal"),
        ({"amount": "abc"}, "decimal"),
        ({"entry_date": days_ago(-1)}, "not_future"),
        ({"due_date": days_ago(20)}, "after_entry_date"),
        ({"number": ""}, "required"),
        ({"currency": "USD"}, "currency"),
    ],
)
def test_invoice_bad_input_changes_nothing(fin, cust, kw, rule):
    args = {
        "actor": fin,
        "customer_id": cust.pk,
        "number": "F9",
        "entry_date": days_ago(10),
        "amount": "100",
        **kw,
    }
    refused(rule, services.invoice_post, **args)
    assert interface.credit_exposure(cust) == 0


def test_duplicate_invoice_number_refused(fin, cust):
    inv(fin, cust, "F1", "100")
    refused(
        "unique",
        services.invoice_post,
        actor=fin,
        customer_id=cust.pk,
        number="F1",
        entry_date=days_ago(1),
        amount="5",
    )


def test_roles_and_scope_of_posting(org, fin, cust):
    with pytest.raises(PermissionDenied):
        services.invoice_post(
            actor=org["rep1"], customer_id=cust.pk, number="X", entry_date=days_ago(1), amount="5"
        )
    with pytest.raises(NotFound):
        services.invoice_post(actor=fin, customer_id=999999, number="X", entry_date=days_ago(1), amount="5")


def test_receipt_fifo_by_due_date(fin, cust):
    late = inv(fin, cust, "A", "100", age=10, due_in=30)
    early = inv(fin, cust, "B", "100", age=50, due_in=30)
    got = services.receipt_post(
        actor=fin, customer_id=cust.pk, entry_date=days_ago(1), lines=[{"method": "wire", "amount": "150"}]
    )
    early.refresh_from_db()
    late.refresh_from_db()
    assert (early.open_amount, late.open_amount, got.entry.open_amount) == (D("0"), D("50.00"), D("0"))
    assert interface.credit_exposure(cust) == D("50.00")


def test_explicit_allocation_limits(fin, org, cust):
    a = inv(fin, cust, "A", "100")
    other = customer(org["rep2"])
    foreign = inv(fin, other, "Z", "100")
    base = {
        "actor": fin,
        "customer_id": cust.pk,
        "entry_date": days_ago(1),
        "lines": [{"method": "cash", "amount": "80"}],
    }
    big = {**base, "lines": [{"method": "cash", "amount": "200"}]}
    refused(
        "within_open", services.receipt_post, **big, allocations=[{"invoice_id": a.pk, "amount": "100.01"}]
    )
    refused("within_funds", services.receipt_post, **base, allocations=[{"invoice_id": a.pk, "amount": "90"}])
    refused(
        "invoice", services.receipt_post, **base, allocations=[{"invoice_id": foreign.pk, "amount": "10"}]
    )
    refused(
        "unique",
        services.receipt_post,
        **base,
        allocations=[{"invoice_id": a.pk, "amount": "1"}, {"invoice_id": a.pk, "amount": "1"}],
    )
    got = services.receipt_post(**base, allocations=[{"invoice_id": a.pk, "amount": "30"}])
    a.refresh_from_db()
    # 30 applied, 50 kept as unapplied credit (prepayment)
    assert (a.open_amount, got.entry.open_amount) == (D("70.00"), D("50.00"))
    assert interface.credit_exposure(cust) == D("20.00")


def test_mixed_settlement_cash_and_owed(fin, cust):
    """现100欠56: invoice 156, 100 cash, 56 stays owed."""
    a = inv(fin, cust, "A", "156")
    lines = [{"method": "cash", "amount": "100"}, {"method": "on_credit", "amount": "57"}]
    refused(
        "on_credit_within_open",
        services.receipt_post,
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(1),
        lines=lines,
        allocations=[{"invoice_id": a.pk, "amount": "100"}],
    )
    lines[1]["amount"] = "56"
    got = services.receipt_post(
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(1),
        lines=lines,
        allocations=[{"invoice_id": a.pk, "amount": "100"}],
    )
    a.refresh_from_db()
    assert a.open_amount == D("56.00") and got.entry.amount == D("100.00")
    assert sorted(got.entry.lines.values_list("method", "amount")) == [
        ("cash", D("100.00")),
        ("on_credit", D("56.00")),
    ]


def test_mixed_settlement_cash_and_transfer_from_prepayment(fin, cust):
    """现100+转账56: 56 comes from an earlier prepayment."""
    pre = services.receipt_post(
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(30),
        prepayment=True,
        lines=[{"method": "wire", "amount": "56"}],
    ).entry
    a = inv(fin, cust, "A", "156", age=5)
    lines = [{"method": "cash", "amount": "100"}, {"method": "transfer", "amount": "57"}]
    refused(
        "transfer_available",
        services.receipt_post,
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(1),
        lines=lines,
    )
    lines[1]["amount"] = "56"
    services.receipt_post(actor=fin, customer_id=cust.pk, entry_date=days_ago(1), lines=lines)
    a.refresh_from_db()
    pre.refresh_from_db()
    assert (a.open_amount, pre.open_amount) == (D("0"), D("0"))
    assert interface.credit_exposure(cust) == D("0")
    assert exposure_check() == []


def test_mixed_settlement_overpayment_kept_as_prepayment(fin, cust):
    """现160(预4): 4 is kept as prepayment."""
    a = inv(fin, cust, "A", "156")
    refused(
        "prepaid_remainder",
        services.receipt_post,
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(1),
        lines=[{"method": "cash", "amount": "160"}, {"method": "prepaid", "amount": "5"}],
    )
    got = services.receipt_post(
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(1),
        lines=[{"method": "cash", "amount": "160"}, {"method": "prepaid", "amount": "4"}],
    )
    a.refresh_from_db()
    assert (a.open_amount, got.entry.open_amount) == (D("0"), D("4.00"))
    assert interface.exposure_parts(cust).open_receivables == D("-4.00")
    assert interface.credit_exposure(cust) == D("0")


def test_acceptance_bill_needs_maturity_and_money_method_needed(fin, cust):
    inv(fin, cust, "A", "100")
    base = {"actor": fin, "customer_id": cust.pk, "entry_date": days_ago(1)}
    refused("bill_maturity", services.receipt_post, **base, lines=[{"method": "acceptance", "amount": "100"}])
    refused(
        "bill_maturity",
        services.receipt_post,
        **base,
        lines=[{"method": "acceptance", "amount": "100", "bill_maturity": days_ago(2)}],
    )
    refused("money_required", services.receipt_post, **base, lines=[{"method": "on_credit", "amount": "100"}])
    refused("method", services.receipt_post, **base, lines=[{"method": "bitcoin", "amount": "100"}])
    refused("required", services.receipt_post, **base, lines=[])
    got = services.receipt_post(
        **base,
        lines=[
            {"method": "acceptance", "amount": "100", "bill_number": "CD-1", "bill_maturity": days_ago(-180)}
        ],
    )
    line = got.entry.lines.get()
    assert (line.bill_number, line.bill_maturity) == ("CD-1", days_ago(-180))


def test_credit_note_against_an_invoice(fin, cust):
    a = inv(fin, cust, "A", "100")
    base = {"actor": fin, "customer_id": cust.pk, "entry_date": days_ago(1), "invoice_id": a.pk}
    refused("within_open", services.credit_note_post, **base, amount="100.01", memo="折让")
    refused("required", services.credit_note_post, **base, amount="10", memo="")
    services.credit_note_post(**base, amount="10", memo="质量折让")
    a.refresh_from_db()
    assert a.open_amount == D("90.00") and interface.credit_exposure(cust) == D("90.00")


def test_reversals(fin, cust):
    a = inv(fin, cust, "A", "100")
    r = services.receipt_post(
        actor=fin, customer_id=cust.pk, entry_date=days_ago(2), lines=[{"method": "wire", "amount": "60"}]
    ).entry
    refused(
        "allocated", services.entry_reverse, actor=fin, entry_id=a.pk, entry_date=days_ago(1), reason="开错"
    )
    refused("required", services.entry_reverse, actor=fin, entry_id=r.pk, entry_date=days_ago(1), reason="")
    refused(
        "after_original", services.entry_reverse, actor=fin, entry_id=r.pk, entry_date=days_ago(3), reason="x"
    )
    rev = services.entry_reverse(actor=fin, entry_id=r.pk, entry_date=days_ago(1), reason="银行退票")
    a.refresh_from_db()
    r.refresh_from_db()
    assert (a.open_amount, r.open_amount, rev.kind, rev.reverses_id) == (
        D("100.00"),
        D("0"),
        EntryKind.REVERSAL,
        r.pk,
    )
    assert interface.credit_exposure(cust) == D("100.00")
    refused(
        "already_reversed",
        services.entry_reverse,
        actor=fin,
        entry_id=r.pk,
        entry_date=days_ago(1),
        reason="x",
    )
    refused(
        "reversal", services.entry_reverse, actor=fin, entry_id=rev.pk, entry_date=days_ago(1), reason="x"
    )
    # the receipt's entry itself was not edited
    assert (r.amount, r.entry_date) == (D("60.00"), days_ago(2))
    services.entry_reverse(actor=fin, entry_id=a.pk, entry_date=days_ago(1), reason="开错客户")
    assert interface.credit_exposure(cust) == D("0")
    assert exposure_check() == []


def test_reversing_a_receipt_takes_back_its_transfer(fin, cust):
    pre = services.receipt_post(
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(30),
        prepayment=True,
        lines=[{"method": "wire", "amount": "50"}],
    ).entry
    a = inv(fin, cust, "A", "150", age=5)
    r = services.receipt_post(
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(1),
        lines=[{"method": "cash", "amount": "100"}, {"method": "transfer", "amount": "50"}],
    ).entry
    services.entry_reverse(actor=fin, entry_id=r.pk, entry_date=days_ago(0), reason="录错")
    a.refresh_from_db()
    pre.refresh_from_db()
    assert (a.open_amount, pre.open_amount) == (D("150.00"), D("50.00"))
    assert exposure_check() == []


EDGES = [
    (0, "current"),
    (1, "d1_30"),
    (30, "d1_30"),
    (31, "d31_60"),
    (60, "d31_60"),
    (61, "d61_90"),
    (90, "d61_90"),
    (91, "d91_180"),
    (180, "d91_180"),
    (181, "d181_365"),
    (365, "d181_365"),
    (366, "d366_"),
    (-5, "current"),
]


def test_bucket_edges():
    bks, _v = selectors.buckets()
    assert [b.key for b in bks] == ["current", "d1_30", "d31_60", "d61_90", "d91_180", "d181_365", "d366_"]
    for days, key in EDGES:
        assert selectors.bucket_of(days, bks).key == key, days


def test_ageing_report_at_bucket_edges_equals_balance_and_raw_sql(fin, org, cust):
    at = days_ago(0)
    for n, (days, _key) in enumerate(EDGES):
        due = at - dt.timedelta(days=days)
        services.invoice_post(
            actor=fin,
            customer_id=cust.pk,
            number=f"E{n}",
            entry_date=min(due, at) - dt.timedelta(days=1),
            due_date=due,
            amount=str(10 ** (n % 6) + n),
        )
    services.receipt_post(
        actor=fin,
        customer_id=cust.pk,
        entry_date=at,
        prepayment=True,
        lines=[{"method": "cash", "amount": "7"}],
    )
    rep = selectors.ageing_report(org["gm"], at=at)
    row = next(r for r in rep.rows if r.customer_id == cust.pk)
    want = {b.key: D("0") for b in rep.buckets}
    for n, (_days, key) in enumerate(EDGES):
        want[key] += D(10 ** (n % 6) + n)
    assert dict(zip([b.key for b in rep.buckets], row.amounts, strict=True)) == want
    assert row.credits == D("7.00")
    assert row.balance == rep.total_balance == selectors.ledger(fin, cust.pk).balance
    raw = selectors.ageing_raw_sql(at, [30, 60, 90, 180, 365])
    assert [raw[b.key] for b in rep.buckets] == rep.totals and raw["credits"] == rep.total_credits
    # a day later every invoice moves on by one day: the 0-day one is now 1 day overdue
    later = selectors.ageing_report(org["gm"], at=at + dt.timedelta(days=1))
    assert later.totals[0] == want["current"] - D(10**0 + 0) and later.total_balance == rep.total_balance


def test_ageing_filters_and_scope(fin, org, cust):
    other = customer(org["rep2"])
    inv(fin, cust, "A", "100")
    inv(fin, other, "B", "300")
    assert selectors.ageing_report(org["rep1"]).total_balance == D("100.00")
    assert selectors.ageing_report(org["gm"]).total_balance == D("400.00")
    assert selectors.ageing_report(org["gm"], filters={"owner": org["rep2"].pk}).total_balance == D("300.00")
    assert selectors.ageing_report(org["gm"], filters={"department": org["east"].pk}).total_balance == D(
        "100.00"
    )
    assert selectors.ageing_report(org["gm"], filters={"region": org["r_east"].pk}).count == 1


def _transfer_scenario(fin, c):
    """Invoice I 1000 with 200 paid by R3; prepayment P 100; receipt R = 电汇10 + 转账90 applied to I."""
    i = inv(fin, c, "I", "1000", age=20)
    services.receipt_post(
        actor=fin,
        customer_id=c.pk,
        entry_date=days_ago(10),
        number="R3",
        lines=[{"method": "wire", "amount": "200"}],
        allocations=[{"invoice_id": i.pk, "amount": "200"}],
    )
    p = services.receipt_post(
        actor=fin,
        customer_id=c.pk,
        entry_date=days_ago(9),
        prepayment=True,
        lines=[{"method": "wire", "amount": "100"}],
    ).entry
    r = services.receipt_post(
        actor=fin,
        customer_id=c.pk,
        entry_date=days_ago(5),
        number="R",
        lines=[{"method": "wire", "amount": "10"}, {"method": "transfer", "amount": "90"}],
        allocations=[{"invoice_id": i.pk, "amount": "100"}],
    ).entry
    assert Allocation.objects.filter(credit=p, debit=i, via=r, amount=D("90")).exists()
    i.refresh_from_db()
    assert i.open_amount == D("700.00")
    return i, p, r


@pytest.mark.parametrize("order", ["prepayment_first", "receipt_first"])
def test_reversing_a_transfer_receipt_after_its_prepayment_nets_earlier_reversals(fin, cust, order):
    """R-CRD-06: an allocation made by 转账 and already undone by the prepayment's own reversal is not undone a
    second time when the receipt is reversed (and the other way round)."""
    i, p, r = _transfer_scenario(fin, cust)
    first, second = (p, r) if order == "prepayment_first" else (r, p)
    services.entry_reverse(actor=fin, entry_id=first.pk, entry_date=days_ago(1), reason="录错")
    services.entry_reverse(actor=fin, entry_id=second.pk, entry_date=days_ago(0), reason="录错")
    for e in (i, p, r):
        e.refresh_from_db()
    assert (i.open_amount, p.open_amount, r.open_amount) == (D("800.00"), D("0"), D("0"))
    pair = Allocation.objects.filter(credit=p, debit=i).values_list("amount", flat=True)
    assert sum(pair, D("0")) == 0
    assert interface.exposure_parts(cust).open_receivables == D("800.00")
    assert exposure_check() == []


def test_reversing_the_prepayment_after_its_transfer_receipt_was_reversed(fin, cust):
    """The receipt's reversal gave the 90 back to P; P's own reversal then has nothing left applied to undo."""
    i, p, r = _transfer_scenario(fin, cust)
    services.entry_reverse(actor=fin, entry_id=r.pk, entry_date=days_ago(1), reason="银行退票")
    p.refresh_from_db()
    i.refresh_from_db()
    assert (i.open_amount, p.open_amount) == (D("800.00"), D("100.00"))
    assert exposure_check() == []
