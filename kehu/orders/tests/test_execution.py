"""Execution (R-ORD-05): execution notice, deliveries and invoices moving the customer's exposure from approved
order to unbilled delivery to receivable, completion, cancellation releasing what is undelivered; records and
exceptions (R-ORD-06, R-ORD-07): amendments after approval with accountability, the error report, retention."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import AuditEntry
from kehu.core.tests.factories import DepartmentFactory, user_with
from kehu.orders import execution, services
from kehu.orders.models import (
    AmendmentCause,
    Delivery,
    OrderAmendment,
    OrderInvoice,
    OrderStatus,
)
from kehu.orders.tests.conftest import far_date, line, submitted, terms
from kehu.receivables.exposure import exposure_check, exposure_of
from kehu.receivables.models import Entry, EntryKind
from kehu.workflow.models import Task, TaskState

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def fin(db):
    return user_with("finance", username="fin1")


@pytest.fixture
def approved(org, cust, catalogue):
    """An approved order of 3 lines: 10 × 100 (P1, no tax), 4 × 100 + 13 % (P4), 3 × 100 (P1) = 1,752.00."""
    o = submitted(
        org["rep1"],
        cust,
        [line(catalogue["p1"], "10"), line(catalogue["p4"], "4"), line(catalogue["p1"], "3")],
    )
    assert o.status == OrderStatus.APPROVED and o.total_amount == D("1752.00")
    return o


def assign(actor, o, **kw):
    kw.setdefault("responsible_id", kw.pop("person").pk if "person" in kw else actor.pk)
    kw.setdefault("delivery_deadline", o.requested_date)
    kw.setdefault("quality_requirements", "按图纸 GB/T 17587 检验，附出厂检验报告")
    return execution.order_assign(actor=actor, order_id=o.pk, **kw)


def lines_of(o):
    return list(o.lines.order_by("position"))


def parts(customer):
    v = exposure_of(customer.pk)
    return v.approved_orders, v.unbilled_deliveries, v.open_receivables


# --- execution notice ---------------------------------------------------------------------------------------------


def test_r_ord_05_notice_names_the_responsible_person_and_opens_their_task(org, approved):
    n = assign(org["mgr_east"], approved, person=org["rep3"], production_plan="第48周排产")
    o = approved.__class__.objects.get(pk=approved.pk)
    assert o.status == OrderStatus.EXECUTING and o.responsible == org["rep3"]
    assert n.number.startswith("ZXTZ-") and n.production_plan == "第48周排产"
    task = Task.objects.get(target_id=str(o.pk), state=TaskState.OPEN)
    assert task.assignee == org["rep3"] and task.due == o.requested_date and o.number in task.title
    # a second notice supersedes: the earlier person's task closes, the new one opens
    n2 = assign(
        org["mgr_east"], o, person=org["rep1"], delivery_deadline=o.requested_date - dt.timedelta(days=1)
    )
    assert n2.number != n.number
    open_tasks = Task.objects.filter(target_id=str(o.pk), state=TaskState.OPEN)
    assert [t.assignee for t in open_tasks] == [org["rep1"]]
    entry = AuditEntry.objects.filter(object_id=str(o.pk), changes__notice=n2.number).get()
    assert entry.changes["supersedes"] == n.number


def test_r_ord_05_notice_refusals(org, cust, approved):
    mgr = org["mgr_east"]
    with pytest.raises(PermissionDenied):  # a sales rep does not name the responsible person
        assign(org["rep1"], approved)
    with pytest.raises(ValidationFailed) as e:
        assign(mgr, approved, delivery_deadline=approved.requested_date + dt.timedelta(days=1))
    assert e.value.field == "delivery_deadline" and e.value.rule == "after_requested"
    with pytest.raises(ValidationFailed) as e:
        assign(mgr, approved, delivery_deadline=timezone.localdate() - dt.timedelta(days=1))
    assert e.value.rule == "not_past"
    with pytest.raises(ValidationFailed) as e:
        assign(mgr, approved, quality_requirements="  ")
    assert e.value.field == "quality_requirements"
    gone = user_with("sales_rep", username="gone", is_active=False)
    with pytest.raises(ValidationFailed) as e:
        assign(mgr, approved, person=gone)
    assert e.value.field == "responsible"
    south = user_with("sales_manager", username="mgr_s", department=DepartmentFactory())
    with pytest.raises((NotFound, PermissionDenied)):  # another department's manager
        assign(south, approved)
    held = submitted(org["rep1"], cust, [line(approved.lines.first().product, "500")])
    assert held.status == OrderStatus.CREDIT_HOLD
    with pytest.raises(Conflict):
        assign(mgr, held)
    assert approved.__class__.objects.get(pk=approved.pk).status == OrderStatus.APPROVED  # nothing changed


# --- deliveries and invoices --------------------------------------------------------------------------------------


def test_r_ord_05_partial_deliveries_and_invoices_move_exposure_order_delivery_receivable(
    org, cust, approved, fin
):
    o = approved
    assert parts(cust) == (D("1752.00"), 0, 0)
    with pytest.raises(Conflict):  # no notice yet
        execution.delivery_post(actor=org["rep1"], order_id=o.pk, delivered_on=timezone.localdate(), lines=[])
    assign(org["mgr_east"], o, person=org["rep3"])
    l1, l2, l3 = lines_of(o)
    today = timezone.localdate()
    # the responsible person (rep3, not the customer's owner) records a partial delivery: 4 of line 1, 1 of line 2
    d1 = execution.delivery_post(
        actor=org["rep3"],
        order_id=o.pk,
        delivered_on=today,
        lines=[{"line_id": l1.pk, "quantity": "4"}, {"line_id": l2.pk, "quantity": "1"}],
        note="第一批",
    )
    assert d1.amount == D("400.00") + D("113.00") and d1.number.startswith("FH-")
    total_before = exposure_of(cust.pk).total
    assert parts(cust) == (D("1239.00"), D("513.00"), 0)
    assert exposure_of(cust.pk).total == total_before == D("1752.00")  # moved, not added
    # finance invoices part of it, then the rest of what is delivered
    inv1 = execution.order_invoice(actor=fin, order_id=o.pk, number="FP001", invoiced_on=today, amount="400")
    assert inv1.due_date == today + dt.timedelta(days=30)  # net_30
    assert parts(cust) == (D("1239.00"), D("113.00"), D("400.00"))
    entry = Entry.objects.get(pk=inv1.entry_id)
    assert entry.kind == EntryKind.INVOICE and entry.amount == D("400.00") and o.number in entry.memo
    with pytest.raises(ValidationFailed) as e:  # more than delivered and not invoiced
        execution.order_invoice(actor=fin, order_id=o.pk, number="FP002", invoiced_on=today, amount="113.01")
    assert e.value.field == "amount" and e.value.rule == "max"
    execution.order_invoice(actor=fin, order_id=o.pk, number="FP002", invoiced_on=today)
    assert parts(cust) == (D("1239.00"), 0, D("513.00"))
    # the rest: the last delivery of each line takes exactly what is left of its amount
    execution.delivery_post(
        actor=org["rep1"],
        order_id=o.pk,
        delivered_on=today,
        lines=[
            {"line_id": l1.pk, "quantity": "6"},
            {"line_id": l2.pk, "quantity": "3"},
            {"line_id": l3.pk, "quantity": "3"},
        ],
    )
    o.refresh_from_db()
    assert (
        o.delivered_amount == o.total_amount and o.counted_amount == 0 and o.status == OrderStatus.EXECUTING
    )
    execution.order_invoice(actor=fin, order_id=o.pk, number="FP003", invoiced_on=today)
    o.refresh_from_db()
    assert o.status == OrderStatus.COMPLETED and o.invoiced_amount == D("1752.00") and o.completed_at
    assert parts(cust) == (0, 0, D("1752.00"))
    assert not Task.objects.filter(target_id=str(o.pk), state=TaskState.OPEN).exists()
    assert exposure_check([cust.pk]) == []
    assert execution.retain_until(o) == timezone.localdate().replace(year=timezone.localdate().year + 1)
    with pytest.raises(
        Conflict
    ):  # nothing left to deliver or invoice, and a completed order is not cancelled
        execution.order_invoice(actor=fin, order_id=o.pk, number="FP004", invoiced_on=today)
    with pytest.raises(Conflict):
        services.order_cancel(actor=org["rep1"], order_id=o.pk, reason="x")


def test_r_ord_05_delivery_refusals_change_nothing(org, cust, approved, fin):
    o = approved
    assign(org["mgr_east"], o)
    l1, l2, _l3 = lines_of(o)
    today = timezone.localdate()

    def deliver(actor, rows, day=today):
        return execution.delivery_post(actor=actor, order_id=o.pk, delivered_on=day, lines=rows)

    bad = [
        ([{"line_id": l1.pk, "quantity": "10.001"}], "max"),  # more than ordered
        ([{"line_id": l1.pk, "quantity": "-1"}], "positive"),
        ([{"line_id": l1.pk, "quantity": "1.0001"}], "decimal_places"),
        ([{"line_id": l1.pk, "quantity": "abc"}], "decimal"),
        ([{"line_id": l1.pk, "quantity": "1"}, {"line_id": l1.pk, "quantity": "1"}], "unique"),
        ([{"line_id": 999999, "quantity": "1"}], "exists"),
        ([{"line_id": l2.pk, "quantity": ""}], "required"),
    ]
    for rows, rule in bad:
        with pytest.raises(ValidationFailed) as e:
            deliver(org["rep1"], rows)
        assert e.value.rule == rule, rows
    with pytest.raises(ValidationFailed) as e:
        deliver(org["rep1"], [{"line_id": l1.pk, "quantity": "1"}], today + dt.timedelta(days=1))
    assert e.value.field == "delivered_on"
    with pytest.raises(ValidationFailed) as e:  # before the order was approved
        deliver(org["rep1"], [{"line_id": l1.pk, "quantity": "1"}], today - dt.timedelta(days=1))
    assert e.value.rule == "before_approval"
    with pytest.raises(NotFound):  # another rep's customer
        deliver(org["rep2"], [{"line_id": l1.pk, "quantity": "1"}])
    with pytest.raises(PermissionDenied):  # finance reads orders but does not deliver
        deliver(fin, [{"line_id": l1.pk, "quantity": "1"}])
    with pytest.raises(PermissionDenied):  # a sales rep does not invoice
        execution.order_invoice(actor=org["rep1"], order_id=o.pk, number="X", invoiced_on=today)
    with pytest.raises(Conflict):  # nothing delivered yet
        execution.order_invoice(actor=fin, order_id=o.pk, number="X", invoiced_on=today)
    assert not Delivery.objects.exists() and parts(cust) == (D("1752.00"), 0, 0)
    # a ledger refusal (duplicate invoice number) leaves the order and the exposure as they were
    deliver(org["rep1"], [{"line_id": l1.pk, "quantity": "1"}])
    execution.order_invoice(actor=fin, order_id=o.pk, number="DUP", invoiced_on=today, amount="50")
    with pytest.raises(ValidationFailed):
        execution.order_invoice(actor=fin, order_id=o.pk, number="DUP", invoiced_on=today, amount="50")
    o.refresh_from_db()
    assert o.invoiced_amount == D("50.00") and OrderInvoice.objects.count() == 1
    assert parts(cust) == (D("1652.00"), D("50.00"), D("50.00")) and exposure_check([cust.pk]) == []


def test_r_ord_05_cancel_in_execution_releases_only_the_undelivered_part(org, cust, approved, fin):
    o = approved
    assign(org["mgr_east"], o)
    l1 = lines_of(o)[0]
    today = timezone.localdate()
    execution.delivery_post(
        actor=org["rep1"], order_id=o.pk, delivered_on=today, lines=[{"line_id": l1.pk, "quantity": "5"}]
    )
    services.order_cancel(actor=org["rep1"], order_id=o.pk, reason="客户取消剩余部分")
    o.refresh_from_db()
    assert o.status == OrderStatus.CANCELLED and o.counted_amount == 0
    assert parts(cust) == (0, D("500.00"), 0)  # the delivered goods still count until invoiced
    assert not Task.objects.filter(target_id=str(o.pk), state=TaskState.OPEN).exists()
    with pytest.raises(Conflict):  # no reopening with deliveries (copy instead), no amending
        services.order_reopen(actor=org["rep1"], order_id=o.pk, reason="x")
    execution.order_invoice(actor=fin, order_id=o.pk, number="FPC", invoiced_on=today)
    assert parts(cust) == (0, 0, D("500.00")) and exposure_check([cust.pk]) == []
    assert execution.retain_until(o) is not None


def test_r_ord_05_prepaid_order_moves_nothing_but_its_invoice(org, cust, catalogue, fin, world):
    world.grades[cust.pk] = terms("C")  # C allows prepayment
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "2")], payment_terms="prepayment")
    assert o.status == OrderStatus.APPROVED and o.counted_amount == 0
    assign(org["mgr_east"], o)
    execution.delivery_post(
        actor=org["rep1"],
        order_id=o.pk,
        delivered_on=timezone.localdate(),
        lines=[{"line_id": lines_of(o)[0].pk, "quantity": "2"}],
    )
    assert parts(cust) == (0, 0, 0)
    inv = execution.order_invoice(actor=fin, order_id=o.pk, number="PP1", invoiced_on=timezone.localdate())
    assert inv.due_date == timezone.localdate()  # prepayment: 0 days
    assert parts(cust) == (0, 0, D("200.00")) and exposure_check([cust.pk]) == []


def test_r_ord_05_open_list_puts_a_grade_rush_orders_first(org, cust, catalogue, world):
    normal = submitted(org["rep1"], cust, [line(catalogue["p1"], "1")], requested_date=far_date(40))
    rush = submitted(org["rep1"], cust, [line(catalogue["p1"], "1")], requested_date=far_date(5))
    assert rush.rush and rush.priority == 1 and rush.grade == "A"  # A: rush rule "jump_queue"
    assert rush.status == OrderStatus.REVIEW_PENDING  # it still fails the lead time check and goes to review
    world.grades[cust.pk] = terms("B")
    b_rush = submitted(org["rep1"], cust, [line(catalogue["p1"], "1")], requested_date=far_date(5))
    assert b_rush.rush and b_rush.priority == 0
    services.approve(rush)
    rush.save()
    services.approve(b_rush)
    b_rush.save()
    from kehu.orders import selectors

    listed = list(selectors.order_list(actor=org["rep1"], filters={"status": "open"}))
    assert [x.pk for x in listed] == [rush.pk, b_rush.pk, normal.pk]


# --- amendments after approval (R-ORD-07) ---------------------------------------------------------------------


def _amend(actor, o, qty, **kw):
    return services.order_update(
        actor=actor,
        order_id=o.pk,
        channel=o.channel,
        requested_date=o.requested_date,
        payment_terms=o.payment_terms,
        lines=[line(o.lines.first().product, qty)],
        reason=kw.pop("reason", "数量录入错误"),
        **kw,
    )


def test_r_ord_07_amendment_after_approval_records_accountability(org, cust, catalogue):
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "10")])
    with pytest.raises(ValidationFailed) as e:
        _amend(org["rep1"], o, "12")
    assert e.value.field == "cause"
    with pytest.raises(ValidationFailed) as e:
        _amend(org["rep1"], o, "12", cause="error")
    assert e.value.field == "department"
    with pytest.raises(ValidationFailed) as e:
        _amend(org["rep1"], o, "12", cause="bogus")
    assert e.value.field == "cause"
    assert not OrderAmendment.objects.exists() and o.lines.first().quantity == D("10")
    _amend(org["rep1"], o, "12", cause="error", department_id=org["east"].pk, person_id=org["rep1"].pk)
    a = OrderAmendment.objects.get()
    assert a.after_approval and a.cause == AmendmentCause.ERROR and a.department == org["east"]
    assert a.person == org["rep1"] and a.total_before == D("1000.00") and a.total_after == D("1200.00")
    assert a.status_before == OrderStatus.APPROVED
    o.refresh_from_db()
    assert o.status == OrderStatus.APPROVED and o.counted_amount == D("1200.00")  # checked again
    # in execution: approved again after the amendment, it stays in execution (the notice stands)
    assign(org["mgr_east"], o)
    _amend(org["rep1"], o, "11", cause="customer", reason="客户减量")
    o.refresh_from_db()
    assert o.status == OrderStatus.EXECUTING and o.counted_amount == D("1100.00")
    # with deliveries, no amendment
    execution.delivery_post(
        actor=org["rep1"],
        order_id=o.pk,
        delivered_on=timezone.localdate(),
        lines=[{"line_id": lines_of(o)[0].pk, "quantity": "1"}],
    )
    with pytest.raises(Conflict) as c:
        _amend(org["rep1"], o, "20", cause="customer")
    assert c.value.rule == "delivered"


def test_r_ord_07_error_report_by_department(org, cust, catalogue, fin):
    from kehu.orders import policies

    other = DepartmentFactory(name="物流部")
    for _i in range(3):
        o = submitted(org["rep1"], cust, [line(catalogue["p1"], "1")])
        _amend(org["rep1"], o, "2", cause="error", department_id=org["east"].pk)
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "1")])
    _amend(org["rep1"], o, "2", cause="error", department_id=other.pk, person_id=org["rep3"].pk)
    _amend(org["rep1"], o, "3", cause="customer")  # not an error
    with pytest.raises(PermissionDenied):
        list(execution.error_report(actor=org["rep1"]))
    with CaptureQueriesContext(connection) as ctx:
        rows = list(execution.error_report(actor=org["gm"]))
    assert len(ctx.captured_queries) <= 4
    assert [(r.pk, r.errors, r.orders, r.repeated) for r in rows] == [
        (org["east"].pk, 3, 3, True),
        (other.pk, 1, 1, False),
    ]
    assert rows[0].changed == D("300.00") and rows[1].people == 1
    assert policies.execution()[0].repeat_errors == 3
    later = timezone.localdate() + dt.timedelta(days=1)
    assert list(execution.error_report(actor=org["gm"], start=later, end=later)) == []
    with pytest.raises(ValidationFailed):
        list(execution.error_report(actor=org["gm"], start=later, end=timezone.localdate()))
    entries = list(execution.error_entries(actor=org["gm"], department_id=other.pk))
    assert len(entries) == 1 and entries[0].person == org["rep3"]


# --- holes closed ---------------------------------------------------------------------------------------------


def _open_tasks(o):
    return list(Task.objects.filter(target_id=str(o.pk), state=TaskState.OPEN))


def test_reopened_order_needs_a_new_notice(org, approved):
    assign(org["mgr_east"], approved, person=org["rep3"])
    services.order_cancel(actor=org["rep1"], order_id=approved.pk, reason="客户暂缓")
    o = services.order_reopen(actor=org["rep1"], order_id=approved.pk, reason="客户恢复")
    assert o.status == OrderStatus.APPROVED and o.responsible is None and not _open_tasks(o)
    assert o.notices.count() == 1  # the old notice stays in the archive


def test_accountability_cannot_be_skipped_by_a_second_amendment(org, approved):
    assign(org["mgr_east"], approved, person=org["rep3"])
    o = _amend(org["rep1"], approved, "500", cause="customer", reason="客户大幅加量")
    assert o.status == OrderStatus.CREDIT_HOLD and not _open_tasks(o)  # not executable: the to-do closes
    with pytest.raises(
        ValidationFailed
    ) as e:  # on hold now, but approved before: the cause is still required
        _amend(org["rep1"], o, "10", reason="改回")
    assert e.value.field == "cause"
    o = _amend(org["rep1"], o, "10", cause="error", department_id=org["east"].pk, reason="录入多了一个零")
    assert o.status == OrderStatus.EXECUTING
    assert [t.assignee for t in _open_tasks(o)] == [org["rep3"]]  # in execution again: the to-do reopens
    assert [a.after_approval for a in o.amendments.order_by("pk")] == [True, True]


def test_fully_delivered_order_is_not_cancelled_and_rounding_adds_up(org, cust, catalogue, fin):
    o = submitted(
        org["rep1"], cust, [line(catalogue["p1"], "2", price="0.01"), line(catalogue["p1"], "1", "0")]
    )
    assert o.total_amount == D("0.02")
    services.approve(o)
    o.save()
    assign(org["mgr_east"], o)
    cheap, free = lines_of(o)
    for _i in range(4):  # 0.5 at a time: 0.01, 0.00, 0.01, 0.00 — never more than the line's amount
        execution.delivery_post(
            actor=org["rep1"],
            order_id=o.pk,
            delivered_on=timezone.localdate(),
            lines=[{"line_id": cheap.pk, "quantity": "0.5"}],
        )
    o.refresh_from_db()
    assert o.delivered_amount == D("0.02") and o.status == OrderStatus.EXECUTING  # the free line is still due
    execution.order_invoice(actor=fin, order_id=o.pk, number="R1", invoiced_on=timezone.localdate())
    o.refresh_from_db()
    assert o.status == OrderStatus.EXECUTING
    d = execution.delivery_post(
        actor=org["rep1"],
        order_id=o.pk,
        delivered_on=timezone.localdate(),
        lines=[{"line_id": free.pk, "quantity": "1"}],
    )
    assert d.amount == 0
    o.refresh_from_db()
    assert o.status == OrderStatus.COMPLETED and exposure_check([cust.pk]) == []


def test_fully_delivered_order_cannot_be_cancelled(org, approved):
    assign(org["mgr_east"], approved)
    execution.delivery_post(
        actor=org["rep1"],
        order_id=approved.pk,
        delivered_on=timezone.localdate(),
        lines=[{"line_id": x.pk, "quantity": str(x.quantity)} for x in lines_of(approved)],
    )
    with pytest.raises(Conflict) as c:
        services.order_cancel(actor=org["rep1"], order_id=approved.pk, reason="x")
    assert c.value.rule == "delivered"


def test_bad_amounts_and_periods_are_refused_not_crashed(org, approved, fin):
    assign(org["mgr_east"], approved)
    execution.delivery_post(
        actor=org["rep1"],
        order_id=approved.pk,
        delivered_on=timezone.localdate(),
        lines=[{"line_id": lines_of(approved)[0].pk, "quantity": "1"}],
    )
    for amount, rule in (
        ("1e30", "max"),
        ("NaN", "decimal"),
        ("-5", "positive"),
        ("0.001", "decimal_places"),
        ("x", "decimal"),
    ):
        with pytest.raises(ValidationFailed) as e:
            execution.order_invoice(
                actor=fin, order_id=approved.pk, number="B1", invoiced_on=timezone.localdate(), amount=amount
            )
        assert (e.value.field, e.value.rule) == ("amount", rule), amount
    with pytest.raises(ValidationFailed) as e:  # the ledger's refusal names the order invoice's field
        execution.order_invoice(
            actor=fin,
            order_id=approved.pk,
            number="B1",
            invoiced_on=timezone.localdate() + dt.timedelta(days=1),
        )
    assert e.value.field == "invoiced_on"
    with pytest.raises(ValidationFailed) as e:
        execution.error_window(end=dt.date(1, 1, 1))
    assert e.value.field == "end"
