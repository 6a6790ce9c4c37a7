"""Credit check, credit hold and release (R-CRD-05), cancel, and the holes: amend, reopen and copy always run the
checks again (R-ORD-02)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.tests.factories import user_with
from kehu.orders import selectors, services
from kehu.orders.models import CheckKey, CreditHold, OrderStatus
from kehu.orders.tests.conftest import line, submitted
from kehu.receivables.exposure import exposure_check
from kehu.receivables.interface import OverdueView, exposure_parts

pytestmark = pytest.mark.django_db


def counted(c) -> D:
    return exposure_parts(c).approved_orders


def test_r_crd_05_exactly_at_limit_passes_one_cent_over_holds(org, cust, catalogue):
    a = submitted(org["rep1"], cust, [line(catalogue["p1"], "60")])  # 6 000.00
    b = submitted(org["rep1"], cust, [line(catalogue["p1"], "40")])  # 4 000.00: exposure = limit 10 000.00
    c = submitted(org["rep1"], cust, [line(catalogue["p1"], "1", "0.01")])
    assert (a.status, b.status) == (OrderStatus.APPROVED, OrderStatus.APPROVED)
    assert c.status == OrderStatus.CREDIT_HOLD and c.on_hold and c.counted_amount == 0
    assert counted(cust) == D("10000.00")
    hold = CreditHold.objects.get(order=c)
    assert hold.excess == D("0.01") and hold.required_role == "sales_manager" and hold.open
    r = {x.key: x for x in selectors.order_checks(c)}[CheckKey.CREDIT]
    assert not r.passed and "超额 0.01" in r.reason and r.figures["limit"] == "10000.00"
    assert exposure_check([cust.pk]) == []


def test_r_crd_05_no_limit_holds_everything_on_credit(org, world, catalogue):
    from kehu.receivables.tests.conftest import customer

    c = customer(org["rep1"])
    o = submitted(org["rep1"], c, [line(catalogue["p1"], "1")])
    assert o.status == OrderStatus.CREDIT_HOLD
    assert "没有生效的信用额度" in selectors.order_checks(o)[-1].reason


def test_r_crd_05_prepayment_orders_do_not_use_credit(org, world, catalogue):
    from kehu.receivables.tests.conftest import customer

    c = customer(org["rep1"])
    from kehu.orders.tests.conftest import terms

    world.grades[c.pk] = terms("D")
    o = submitted(org["rep1"], c, [line(catalogue["p1"], "1", "105")], payment_terms="prepayment")
    # not counted in exposure; grade D (rush rule strict review) always goes to the order review (R-ORD-03)
    assert o.status == OrderStatus.REVIEW_PENDING and o.counted_amount == 0
    assert selectors.order_checks(o)[-1].passed


@pytest.mark.parametrize(("days", "held"), [(30, False), (31, True)])
def test_r_crd_05_overdue_tolerance_edge(org, cust, catalogue, world, days, held):
    world.overdue[cust.pk] = OverdueView(D("500.00"), days, 1)
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "1")])
    assert (o.status == OrderStatus.CREDIT_HOLD) is held
    if held:
        assert CreditHold.objects.get(order=o).required_role == "credit_manager"


def test_r_crd_05_release_by_band(org, cust, catalogue):
    cmgr = user_with("credit_manager", username="cmgr")
    small = submitted(org["rep1"], cust, [line(catalogue["p1"], "150")])  # 15 000: excess 5 000
    assert small.status == OrderStatus.CREDIT_HOLD
    with pytest.raises(ValidationFailed) as e:
        services.order_release(actor=org["mgr_east"], order_id=small.pk, reason=" ")
    assert e.value.field == "reason"
    with pytest.raises(PermissionDenied):
        services.order_release(actor=org["rep1"], order_id=small.pk, reason="老客户")
    o = services.order_release(actor=org["mgr_east"], order_id=small.pk, reason="老客户，回款稳定")
    assert o.status == OrderStatus.APPROVED and o.counted_amount == D("15000.00") and not o.on_hold
    assert counted(cust) == D("15000.00")  # counts at once
    hold = CreditHold.objects.get(order=o)
    assert (hold.open, hold.released_by, hold.released_role) == (False, org["mgr_east"], "sales_manager")
    big = submitted(org["rep1"], cust, [line(catalogue["p1"], "600")])  # excess now 65 000 > 50 000
    assert CreditHold.objects.get(order=big, open=True).required_role == "credit_manager"
    with pytest.raises(PermissionDenied) as e2:
        services.order_release(actor=org["mgr_east"], order_id=big.pk, reason="急单")
    assert e2.value.rule == "release_band"
    assert (
        services.order_release(actor=cmgr, order_id=big.pk, reason="信用经理批准").status
        == OrderStatus.APPROVED
    )
    huge = submitted(org["rep1"], cust, [line(catalogue["p1"], "5000")])
    with pytest.raises(PermissionDenied):
        services.order_release(actor=cmgr, order_id=huge.pk, reason="x")
    services.order_release(actor=org["gm"], order_id=huge.pk, reason="总经理批准")
    assert counted(cust) == D("575000.00")
    assert exposure_check([cust.pk]) == []


def test_r_crd_05_release_band_uses_excess_at_release(org, cust, catalogue):
    """Exposure grew since the hold: the authority follows the excess now, not the one at submit."""
    held = submitted(org["rep1"], cust, [line(catalogue["p1"], "101")])  # excess 100
    assert CreditHold.objects.get(order=held).required_role == "sales_manager"
    other = submitted(org["rep1"], cust, [line(catalogue["p1"], "700")])
    services.order_release(actor=org["gm"], order_id=other.pk, reason="总经理批准")
    with pytest.raises(PermissionDenied):
        services.order_release(actor=org["mgr_east"], order_id=held.pk, reason="x")


def test_release_other_department_manager_cannot_see(org, cust, catalogue):
    from kehu.core.tests.factories import DepartmentFactory

    south_mgr = user_with(
        "sales_manager", username="mgr_s", department=DepartmentFactory(code="SX", kind="sales")
    )
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "101")])
    with pytest.raises(NotFound):
        services.order_release(actor=south_mgr, order_id=o.pk, reason="x")
    assert list(selectors.hold_queue(actor=south_mgr)) == []
    assert [h.order_id for h in selectors.hold_queue(actor=org["mgr_east"])] == [o.pk]


def test_release_of_an_order_not_on_hold_is_a_conflict(org, cust, catalogue):
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "1")])
    with pytest.raises(Conflict):
        services.order_release(actor=org["gm"], order_id=o.pk, reason="x")


def test_cancel_takes_the_order_off_exposure(org, cust, catalogue):
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "10")])
    assert counted(cust) == D("1000.00")
    with pytest.raises(ValidationFailed):
        services.order_cancel(actor=org["rep1"], order_id=o.pk, reason="")
    o = services.order_cancel(actor=org["rep1"], order_id=o.pk, reason="客户取消")
    assert o.status == OrderStatus.CANCELLED and counted(cust) == 0
    with pytest.raises(Conflict):
        services.order_cancel(actor=org["rep1"], order_id=o.pk, reason="again")
    h = submitted(org["rep1"], cust, [line(catalogue["p1"], "200")])
    services.order_cancel(actor=org["rep1"], order_id=h.pk, reason="不做了")
    assert not CreditHold.objects.filter(order=h, open=True).exists()
    assert exposure_check([cust.pk]) == []


# --- the holes ------------------------------------------------------------------------------------------------


def _edit(actor, o, lines, reason="客户加量"):
    return services.order_update(
        actor=actor,
        order_id=o.pk,
        channel=o.channel,
        requested_date=o.requested_date,
        payment_terms=o.payment_terms,
        lines=lines,
        reason=reason,
        cause="customer",
    )


def test_amend_after_approval_rechecks_the_new_total(org, cust, catalogue):
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "50")])
    with pytest.raises(ValidationFailed):
        _edit(org["rep1"], o, [line(catalogue["p1"], "60")], reason="")
    o = _edit(org["rep1"], o, [line(catalogue["p1"], "100")])  # 10 000: exactly the limit, only +5 000 added
    assert o.status == OrderStatus.APPROVED and o.check_run == 2 and counted(cust) == D("10000.00")
    o = _edit(org["rep1"], o, [line(catalogue["p1"], "101")])
    assert o.status == OrderStatus.CREDIT_HOLD and o.counted_amount == 0 and counted(cust) == 0
    assert CreditHold.objects.get(order=o, open=True).excess == D("100.00")
    o = _edit(org["rep1"], o, [line(catalogue["p1"], "30")], reason="减量")
    assert o.status == OrderStatus.APPROVED and counted(cust) == D("3000.00")
    assert not CreditHold.objects.filter(order=o, open=True).exists()
    assert exposure_check([cust.pk]) == []


def test_amend_cannot_sneak_in_a_bad_discount(org, cust, catalogue):
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "1")])
    o = _edit(org["rep1"], o, [line(catalogue["p1"], "1", "50")])
    assert o.status == OrderStatus.REVIEW_PENDING
    assert not {x.key: x for x in selectors.order_checks(o)}[CheckKey.DISCOUNT].passed


def test_reopen_runs_the_checks_again(org, cust, catalogue):
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "80")])
    services.order_cancel(actor=org["rep1"], order_id=o.pk, reason="改期")
    submitted(org["rep1"], cust, [line(catalogue["p1"], "50")])
    with pytest.raises(ValidationFailed):
        services.order_reopen(actor=org["rep1"], order_id=o.pk, reason="")
    o = services.order_reopen(actor=org["rep1"], order_id=o.pk, reason="客户恢复")
    assert o.status == OrderStatus.CREDIT_HOLD and o.check_run == 2 and counted(cust) == D("5000.00")
    with pytest.raises(Conflict):
        services.order_reopen(actor=org["rep1"], order_id=o.pk, reason="x")


def test_copy_is_a_new_draft_and_submitting_it_runs_the_checks(org, cust, catalogue):
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "80")])
    c = services.order_copy(actor=org["rep1"], order_id=o.pk)
    assert (
        c.status == OrderStatus.DRAFT
        and c.copied_from == o
        and c.counted_amount == 0
        and c.number != o.number
    )
    assert c.total_amount == o.total_amount
    c = services.order_submit(actor=org["rep1"], order_id=c.pk)
    assert c.status == OrderStatus.CREDIT_HOLD
    c2 = services.order_copy(actor=org["rep1"], order_id=o.pk, submit=True)
    assert c2.status == OrderStatus.CREDIT_HOLD and counted(cust) == D("8000.00")


def test_cancelled_or_held_amounts_never_linger(org, cust, catalogue):
    orders = [submitted(org["rep1"], cust, [line(catalogue["p1"], "30")]) for _ in range(4)]
    assert [o.status for o in orders].count(OrderStatus.CREDIT_HOLD) == 1
    for o in orders:
        services.order_cancel(actor=org["rep1"], order_id=o.pk, reason="清理")
    assert counted(cust) == 0 and exposure_check([cust.pk]) == []


# --- release runs every check again (R-CRD-05, R-ORD-02) --------------------------------------------------------


def test_r_crd_05_release_runs_every_check_again_and_keeps_the_limit_row(org, cust, catalogue):
    held = submitted(org["rep1"], cust, [line(catalogue["p1"], "150")])
    assert held.check_run == 1
    o = services.order_release(actor=org["mgr_east"], order_id=held.pk, reason="老客户，回款稳定")
    assert o.status == OrderStatus.APPROVED and o.check_run == 2 and o.counted_amount == D("15000.00")
    got = {r.key: r for r in selectors.order_checks(o)}  # the run of the release
    assert set(got) == set(CheckKey.values) and all(r.run == 2 for r in got.values())
    credit = got[CheckKey.CREDIT]
    assert not credit.passed and credit.figures["excess"] == "5000.00"
    # the limit row compared with is stored, so the decision can be replayed
    assert credit.figures["limit_id"] == cust.credit_limits.get().pk
    first = {r.key: r for r in selectors.order_checks(o, run=1)}[CheckKey.CREDIT]
    assert first.figures["limit_id"] == cust.credit_limits.get().pk


def test_r_crd_05_release_refused_when_the_customer_is_no_longer_active(org, cust, catalogue):
    from kehu.customers.models import Customer, CustomerStatus

    held = submitted(org["rep1"], cust, [line(catalogue["p1"], "150")])
    Customer.objects.filter(pk=cust.pk).update(status=CustomerStatus.SUSPENDED)
    with pytest.raises(Conflict) as e:
        services.order_release(actor=org["gm"], order_id=held.pk, reason="总经理批准")
    assert (e.value.field, e.value.rule) == ("customer", "customer_status") and "交易中" in str(
        e.value.message
    )
    held.refresh_from_db()
    assert (held.status, held.check_run, held.counted_amount) == (OrderStatus.CREDIT_HOLD, 1, 0)
    assert CreditHold.objects.get(order=held).open and counted(cust) == 0


def test_r_ord_02_release_under_block_sends_a_failing_order_back_to_draft(
    org, cust, catalogue, world, monkeypatch
):
    from kehu.orders import policies
    from kehu.orders.tests.conftest import Docs

    held = submitted(org["rep1"], cust, [line(catalogue["p1"], "150")])
    world.docs[cust.pk] = Docs(ok=False, problems=[1], message="营业执照已过期")  # since the hold
    monkeypatch.setattr(
        policies, "checks", lambda: (policies.ChecksPolicy(failed_check_action="block"), None)
    )
    o = services.order_release(actor=org["mgr_east"], order_id=held.pk, reason="老客户")
    assert (o.status, o.on_hold, o.counted_amount, o.check_run) == (OrderStatus.DRAFT, False, 0, 2)
    hold = CreditHold.objects.get(order=o)
    assert (hold.open, hold.closed_reason, hold.released_by) == (False, "blocked", None)
    assert not {r.key: r for r in selectors.order_checks(o)}[CheckKey.DOCUMENTS].passed
    assert counted(cust) == 0 and exposure_check([cust.pk]) == []


def test_r_ord_03_release_with_a_failing_check_under_review_goes_to_review(org, cust, catalogue, world):
    from kehu.orders.tests.conftest import Docs

    held = submitted(org["rep1"], cust, [line(catalogue["p1"], "150")])
    world.docs[cust.pk] = Docs(ok=False, problems=[1], message="营业执照已过期")
    o = services.order_release(actor=org["mgr_east"], order_id=held.pk, reason="老客户")
    assert o.status == OrderStatus.REVIEW_PENDING and o.counted_amount == D("15000.00")


def test_r_ord_03_release_of_a_grade_d_order_goes_to_review(org, cust, catalogue, world):
    from kehu.orders.tests.conftest import terms

    world.grades[cust.pk] = terms("D")
    held = submitted(org["rep1"], cust, [line(catalogue["p1"], "1", "105")], payment_terms="prepayment")
    assert held.status == OrderStatus.REVIEW_PENDING
    world.overdue[cust.pk] = OverdueView(D("500.00"), 45, 1)
    again = submitted(org["rep1"], cust, [line(catalogue["p1"], "1", "105")], payment_terms="prepayment")
    assert again.status == OrderStatus.CREDIT_HOLD
    cmgr = user_with("credit_manager", username="cmgr-d")
    o = services.order_release(actor=cmgr, order_id=again.pk, reason="已承诺付款")
    assert o.status == OrderStatus.REVIEW_PENDING


# --- reducing an order (R-CRD-05) --------------------------------------------------------------------------------


def test_r_crd_05_reducing_an_approved_order_over_the_limit_does_not_hold_it(org, cust, catalogue, world):
    from kehu.limits.models import CreditLimit

    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "80")])  # 8 000.00 approved
    CreditLimit.objects.filter(customer=cust).update(amount=D("5000.00"))  # lowered since: over the limit
    o = _edit(org["rep1"], o, [line(catalogue["p1"], "60")], reason="减量")  # takes less than it counts
    assert (
        o.status == OrderStatus.APPROVED
        and o.counted_amount == D("6000.00")
        and counted(cust) == D("6000.00")
    )
    credit = {r.key: r for r in selectors.order_checks(o)}[CheckKey.CREDIT]
    assert credit.passed and credit.figures["not_increasing"] and credit.figures["over_limit"] == "1000.00"
    assert credit.figures["excess"] == "0.00" and "未增加" in credit.reason
    o = _edit(org["rep1"], o, [line(catalogue["p1"], "60")], reason="改交期")  # the same amount: still fine
    assert o.status == OrderStatus.APPROVED
    o = _edit(org["rep1"], o, [line(catalogue["p1"], "61")], reason="加量")  # more than it counts: held
    assert o.status == OrderStatus.CREDIT_HOLD and counted(cust) == 0
    assert CreditHold.objects.get(order=o, open=True).excess == D("1100.00")
    assert exposure_check([cust.pk]) == []


def test_r_crd_05_reducing_an_order_still_holds_for_overdue(org, cust, catalogue, world):
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "20")])
    world.overdue[cust.pk] = OverdueView(D("500.00"), 31, 1)
    o = _edit(org["rep1"], o, [line(catalogue["p1"], "10")], reason="减量")
    assert o.status == OrderStatus.CREDIT_HOLD and counted(cust) == 0
    assert CreditHold.objects.get(order=o, open=True).required_role == "credit_manager"


def test_copy_owner_is_the_customers_owner_now(org, cust, catalogue):
    """A copy is a new order: its owner is the customer's owner at the time of the copy (as the guide says)."""
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "1")])
    type(cust).objects.filter(pk=cust.pk).update(owner=org["rep3"])
    c = services.order_copy(actor=org["mgr_east"], order_id=o.pk)
    assert o.owner == org["rep1"] and c.owner == org["rep3"] and c.created_by == org["mgr_east"]
