"""The interface other modules call (credit_exposure, exposure_parts, overdue_summary, late_payments, exposure_add);
R-CRD-05, R-CRD-09 evidence, R-CRD-10."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from kehu.core.errors import ValidationFailed
from kehu.receivables import interface, services
from kehu.receivables.tests.conftest import days_ago

pytestmark = pytest.mark.django_db


def test_exposure_is_receivables_plus_orders_and_deliveries_minus_usable_deposits(
    fin, cust, django_assert_num_queries
):
    assert interface.credit_exposure(cust) == D("0")
    services.invoice_post(
        actor=fin, customer_id=cust.pk, number="F1", entry_date=days_ago(10), amount="1000.00"
    )
    interface.exposure_add(cust, kind="order", amount=D("300.00"), ref="SO-1")
    interface.exposure_add(cust, kind="delivery", amount=D("200.00"), ref="DN-1")
    services.deposit_create(
        actor=fin,
        customer_id=cust.pk,
        kind="margin",
        reference="BZ-1",
        amount="500",
        usable_amount="400",
        valid_from=days_ago(5),
        valid_to=days_ago(-30),
    )
    # an expired guarantee does not count
    services.deposit_create(
        actor=fin,
        customer_id=cust.pk,
        kind="guarantee",
        reference="DB-1",
        amount="900",
        valid_from=days_ago(100),
        valid_to=days_ago(1),
    )
    with django_assert_num_queries(1):
        total = interface.credit_exposure(cust)
    assert total == D("1100.00")
    parts = interface.exposure_parts(cust.pk)
    assert parts == interface.ExposureView(D("1000.00"), D("200.00"), D("300.00"), D("400.00"), D("1100.00"))


def test_exposure_add_moves_order_to_delivery_and_refuses_negative(cust):
    interface.exposure_add(cust, kind="order", amount=D("100.00"), ref="SO-2")
    interface.exposure_add(cust, kind="order", amount=D("-100.00"), ref="SO-2")
    view = interface.exposure_add(cust, kind="delivery", amount=D("100.00"), ref="SO-2")
    assert (view.approved_orders, view.unbilled_deliveries, view.total) == (D("0"), D("100.00"), D("100.00"))
    with pytest.raises(ValidationFailed) as exc:
        interface.exposure_add(cust, kind="order", amount=D("-0.01"), ref="SO-3")
    assert exc.value.rule == "not_negative"
    with pytest.raises(ValidationFailed):
        interface.exposure_add(cust, kind="invoice", amount=D("1"), ref="X")
    with pytest.raises(ValidationFailed):
        interface.exposure_add(cust, kind="order", amount=1.5, ref="X")
    assert interface.credit_exposure(cust) == D("100.00")


def test_overdue_summary_counts_open_invoices_past_due(fin, cust):
    services.invoice_post(
        actor=fin,
        customer_id=cust.pk,
        number="A",
        entry_date=days_ago(70),
        due_date=days_ago(40),
        amount="100",
    )
    services.invoice_post(
        actor=fin, customer_id=cust.pk, number="B", entry_date=days_ago(20), due_date=days_ago(5), amount="50"
    )
    services.invoice_post(
        actor=fin,
        customer_id=cust.pk,
        number="C",
        entry_date=days_ago(1),
        due_date=days_ago(-29),
        amount="70",
    )
    view = interface.overdue_summary(cust)
    assert view == interface.OverdueView(amount=D("150.00"), oldest_days=40, items=2)
    # as of the day invoice B fell due it was not overdue yet
    assert interface.overdue_summary(cust, at=days_ago(5)) == interface.OverdueView(D("100.00"), 35, 1)


def test_late_payments_by_settlement_day(fin, cust):
    late = services.invoice_post(
        actor=fin,
        customer_id=cust.pk,
        number="L",
        entry_date=days_ago(60),
        due_date=days_ago(30),
        amount="100",
    )
    ontime = services.invoice_post(
        actor=fin,
        customer_id=cust.pk,
        number="O",
        entry_date=days_ago(60),
        due_date=days_ago(10),
        amount="100",
    )
    services.receipt_post(
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(20),
        lines=[{"method": "wire", "amount": "100"}],
        allocations=[{"invoice_id": late.pk, "amount": "100"}],
    )
    services.receipt_post(
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(12),
        lines=[{"method": "cash", "amount": "100"}],
        allocations=[{"invoice_id": ontime.pk, "amount": "100"}],
    )
    got = interface.late_payments(cust, days_ago(40), days_ago(0))
    assert got == [interface.LatePayment(late.pk, days_ago(30), days_ago(20), 10)]
    assert interface.late_payments(cust, days_ago(19), days_ago(0)) == []


def test_late_payments_ignore_credit_notes_closing_after_the_due_date(fin, cust):
    """R-CRD-09: the paid day comes from money (receipts, prepayments). 90 paid on time and 10 by a credit note after
    the due date is no late payment; 90 paid after the due date (10 by an on-time credit note) is."""

    def invoice(number: str) -> Any:
        return services.invoice_post(
            actor=fin,
            customer_id=cust.pk,
            number=number,
            entry_date=days_ago(60),
            due_date=days_ago(30),
            amount="100",
        )

    def pay(invoice_id: int, age: int) -> None:
        services.receipt_post(
            actor=fin,
            customer_id=cust.pk,
            entry_date=days_ago(age),
            lines=[{"method": "wire", "amount": "90"}],
            allocations=[{"invoice_id": invoice_id, "amount": "90"}],
        )

    def note(invoice_id: int, age: int) -> None:
        services.credit_note_post(
            actor=fin,
            customer_id=cust.pk,
            entry_date=days_ago(age),
            amount="10",
            invoice_id=invoice_id,
            memo="折让",
        )

    on_time = invoice("A")
    pay(on_time.pk, 35)
    note(on_time.pk, 5)
    late = invoice("B")
    note(late.pk, 40)
    pay(late.pk, 20)
    late_then_note = invoice("C")
    pay(late_then_note.pk, 25)
    note(late_then_note.pk, 5)
    got = interface.late_payments(cust, days_ago(60), days_ago(0))
    assert got == [
        interface.LatePayment(late_then_note.pk, days_ago(30), days_ago(25), 5),
        interface.LatePayment(late.pk, days_ago(30), days_ago(20), 10),
    ]
    # the window is about the day the money came
    assert interface.late_payments(cust, days_ago(19), days_ago(0)) == []
