"""The automatic checks on submit (R-ORD-02), each at its edges, and order intake (R-ORD-01)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from kehu.core.errors import NotFound, PermissionDenied, ValidationFailed
from kehu.core.policies import policy_values
from kehu.core.workdays import workdays_add
from kehu.customers.models import Customer, CustomerStatus
from kehu.orders import policies, selectors, services
from kehu.orders.models import CheckKey, CheckResult, OrderStatus
from kehu.orders.tests.conftest import Docs, draft, give_limit, line, submitted, terms
from kehu.receivables.interface import exposure_parts

pytestmark = pytest.mark.django_db


def results(order) -> dict[str, CheckResult]:
    return {r.key: r for r in selectors.order_checks(order)}


def test_r_ord_01_draft_has_number_owner_and_amounts(org, cust, catalogue):
    o = draft(org["mgr_east"], cust, [line(catalogue["p4"], "3", "100", "10", "13")])
    assert o.number.startswith("DD-") and o.status == OrderStatus.DRAFT
    assert o.owner == org["rep1"] and o.created_by == org["mgr_east"]
    # 3 x 100 x 90 % = 270.00, tax 13 % = 35.10
    assert (o.net_amount, o.tax_amount, o.total_amount) == (D("270.00"), D("35.10"), D("305.10"))
    assert o.counted_amount == 0 and exposure_parts(cust).approved_orders == 0


def test_r_ord_01_line_defaults_from_catalogue(org, cust, catalogue):
    o = draft(org["rep1"], cust, [{"product_id": catalogue["p4"].pk, "quantity": "2"}])
    ln = o.lines.get()
    assert (ln.unit_price, ln.tax_rate, ln.unit, ln.spec) == (D("100.00"), D("13.00"), "台", "1.5kW")


@pytest.mark.parametrize("typed", ["0", "6", "12.99"])
def test_r_ord_02_tax_rate_is_the_catalogues_and_cannot_shrink_the_credit_amount(org, cust, catalogue, typed):
    """A line's tax rate is its product's in the catalogue: a lower typed rate (a smaller total counted against
    the limit) is refused, naming the line and the field; nothing is stored."""
    with pytest.raises(ValidationFailed) as e:
        draft(org["rep1"], cust, [line(catalogue["p4"], "10", tax=typed)])
    assert (e.value.field, e.value.rule) == ("lines[1].tax_rate", "catalogue")
    assert str(e.value.message) == "第1行 税率（%）：须与产品目录一致（13%）。"
    assert not cust.orders.exists()
    o = draft(org["rep1"], cust, [line(catalogue["p4"], "10", tax="13.00")])
    assert o.total_amount == D("1130.00") and o.lines.get().tax_rate == D("13.00")


def test_r_ord_02_all_checks_pass_and_store_policy_versions(org, cust, catalogue):
    o = submitted(org["rep1"], cust, [line(catalogue["p1"])])
    assert o.status == OrderStatus.APPROVED and o.checks_passed
    got = results(o)
    assert set(got) == set(CheckKey.values)
    assert all(r.passed and r.reason for r in got.values())
    _, version = policy_values(policies.CHECKS, policies.ChecksPolicy)
    assert got[CheckKey.CREDIT].policy_versions == {"orders.checks": version}
    assert got[CheckKey.CREDIT].figures["after"] == "1000.00"


@pytest.mark.parametrize("status", [CustomerStatus.PROSPECT, CustomerStatus.SUSPENDED, CustomerStatus.ENDED])
def test_r_ord_02_customer_not_active_goes_to_review(org, cust, catalogue, status):
    Customer.objects.filter(pk=cust.pk).update(status=status)
    o = submitted(org["rep1"], cust, [line(catalogue["p1"])])
    r = results(o)[CheckKey.CUSTOMER]
    assert not r.passed and "交易中" in r.reason
    assert o.status == OrderStatus.REVIEW_PENDING and o.counted_amount == D("1000.00")


def test_r_ord_02_failed_check_blocks_when_policy_says_so(org, cust, catalogue, monkeypatch):
    monkeypatch.setattr(
        policies, "checks", lambda: (policies.ChecksPolicy(failed_check_action="block"), None)
    )
    Customer.objects.filter(pk=cust.pk).update(status=CustomerStatus.SUSPENDED)
    o = submitted(org["rep1"], cust, [line(catalogue["p1"])])
    assert o.status == OrderStatus.DRAFT and o.counted_amount == 0 and o.check_run == 1


def test_r_ord_02_documents(org, cust, catalogue, world):
    world.docs[cust.pk] = Docs(ok=False, problems=[1], message="营业执照已于2026-01-01过期")
    r = results(submitted(org["rep1"], cust, [line(catalogue["p1"])]))[CheckKey.DOCUMENTS]
    assert not r.passed and "营业执照" in r.reason


def test_r_ord_02_scope_out_and_stopped_product(org, cust, catalogue):
    o = submitted(org["rep1"], cust, [line(catalogue["p1"]), line(catalogue["p2"]), line(catalogue["p3"])])
    r = results(o)[CheckKey.SCOPE]
    assert not r.passed and "第2行 P2" in r.reason and "第3行 P3" in r.reason and "第1行" not in r.reason


def test_r_ord_02_lines_complete(org, cust, catalogue):
    o = submitted(
        org["rep1"], cust, [line(catalogue["p1"]), {"quantity": "1", "unit_price": "5", "unit": "个"}]
    )
    r = results(o)[CheckKey.LINES]
    assert not r.passed and "第2行缺少产品" in r.reason
    o2 = submitted(org["rep1"], cust, [])
    assert not results(o2)[CheckKey.LINES].passed


def test_r_ord_02_line_without_quantity_is_incomplete(org, cust, catalogue):
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], qty="")])
    assert "数量" in results(o)[CheckKey.LINES].reason


@pytest.mark.parametrize(
    ("price", "discount", "ok"),
    [("95", "0", True), ("94.99", "0", False), ("100", "5", True), ("100", "5.01", False)],
)
def test_r_ord_02_discount_cap_edge(org, cust, catalogue, price, discount, ok):
    # grade A: at most 5 % below the control price 100.00
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "1", price, discount)])
    assert results(o)[CheckKey.DISCOUNT].passed is ok


@pytest.mark.parametrize(
    ("price", "discount", "ok"),
    [
        ("950.00", "0", True),  # exactly 5 % below 1 000.00
        ("949.96", "0", False),  # 5.004 % below: rounded to 5.00 % it passed before
        ("999.99", "4.99", True),  # 950.0405... net
        ("999.99", "5", False),  # 949.9905 net: 5.001 % below
    ],
)
def test_r_ord_02_discount_cap_compares_prices_exactly(org, cust, price, discount, ok):
    """Grade A (5 %): the net unit price must be >= control price x (1 - 5 / 100), compared exactly."""
    from kehu.orders.models import Product

    p = Product.objects.create(code="PX", name="刀塔", unit="套", control_price=D("1000"), tax_rate=D("0"))
    o = submitted(org["rep1"], cust, [line(p, "1", price, discount)])
    r = results(o)[CheckKey.DISCOUNT]
    assert r.passed is ok
    if not ok:
        assert "最低价 950.00" in r.reason and o.status == OrderStatus.REVIEW_PENDING


def test_r_ord_02_negative_cap_means_above_control_price(org, cust, catalogue, world):
    world.grades[cust.pk] = terms("D")  # 5 % above the control price, prepayment only
    ok = submitted(org["rep1"], cust, [line(catalogue["p1"], "1", "105")], payment_terms="prepayment")
    bad = submitted(org["rep1"], cust, [line(catalogue["p1"], "1", "104.99")], payment_terms="prepayment")
    assert results(ok)[CheckKey.DISCOUNT].passed and not results(bad)[CheckKey.DISCOUNT].passed


def test_r_ord_02_no_grade_fails_grade_checks(org, cust, catalogue, world):
    world.grades[cust.pk] = None
    got = results(submitted(org["rep1"], cust, [line(catalogue["p1"])]))
    assert not got[CheckKey.DISCOUNT].passed and not got[CheckKey.TERMS].passed
    assert not got[CheckKey.LEAD_TIME].passed and "等级" in got[CheckKey.TERMS].reason


def test_r_ord_02_terms_by_grade_and_by_credit_level(org, cust, catalogue, world):
    world.grades[cust.pk] = terms("C")
    r = results(submitted(org["rep1"], cust, [line(catalogue["p1"])], payment_terms="net_30"))[CheckKey.TERMS]
    assert not r.passed and "C级" in r.reason
    world.grades[cust.pk] = terms("A")
    other = cust.__class__.objects.get(pk=cust.pk)
    other.credit_limits.update(terms_level="D")
    r = results(submitted(org["rep1"], cust, [line(catalogue["p1"])], payment_terms="net_30"))[CheckKey.TERMS]
    assert not r.passed and "等级 D" in r.reason


def test_r_ord_02_lead_time_in_working_days_edge(org, cust, catalogue):
    today = timezone.localdate()
    earliest = workdays_add(today, 20)  # grade A: 20 working days
    ok = submitted(org["rep1"], cust, [line(catalogue["p1"], "1")], requested_date=earliest)
    bad = submitted(
        org["rep1"], cust, [line(catalogue["p1"], "1")], requested_date=earliest - dt.timedelta(days=1)
    )
    assert results(ok)[CheckKey.LEAD_TIME].passed
    r = results(bad)[CheckKey.LEAD_TIME]
    assert not r.passed and str(earliest) in r.reason


def test_r_ord_03_grade_d_strict_review_goes_to_review(org, cust, catalogue, world):
    """Grade D's rush rule is strict review: its orders go to the order review even when every check passes."""
    world.grades[cust.pk] = terms("D")
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "1", "105")], payment_terms="prepayment")
    assert all(r.passed for r in results(o).values())
    assert o.status == OrderStatus.REVIEW_PENDING
    assert results(o)[CheckKey.LEAD_TIME].figures["rush_rule"] == "strict_review"
    world.grades[cust.pk] = terms("C")
    c = submitted(org["rep1"], cust, [line(catalogue["p1"], "1", "100")], payment_terms="prepayment")
    assert c.status == OrderStatus.APPROVED


def test_r_ord_03_value_threshold_and_non_standard_go_to_review(org, cust, catalogue, monkeypatch):
    monkeypatch.setattr(policies, "checks", lambda: (policies.ChecksPolicy(review_threshold=D("1000")), None))
    at = submitted(org["rep1"], cust, [line(catalogue["p1"], "10")])
    over = submitted(org["rep1"], cust, [line(catalogue["p1"], "10", "100.01")])
    ns = submitted(org["rep1"], cust, [line(catalogue["p1"], "1")], non_standard=True)
    assert at.status == OrderStatus.APPROVED
    assert over.status == OrderStatus.REVIEW_PENDING and ns.status == OrderStatus.REVIEW_PENDING


# --- bad input, permissions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel": "telegram"}, "channel"),
        ({"payment_terms": "net_999"}, "payment_terms"),
        ({"requested_date": "2020-01-01"}, "requested_date"),
        ({"requested_date": "soon"}, "requested_date"),
    ],
)
def test_bad_header_names_the_field(org, cust, catalogue, change, field):
    with pytest.raises(ValidationFailed) as e:
        draft(org["rep1"], cust, [line(catalogue["p1"])], **change)
    assert e.value.field == field


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        ({"discount": "100"}, "lines[1].discount", "第1行 折扣（%）：须在 0 至 100% 之间（不含 100）。"),
        ({"quantity": "-1"}, "lines[1].quantity", "第1行 数量：必须大于零。"),
        ({"quantity": "abc"}, "lines[1].quantity", "第1行 数量：不是有效数字。"),
        ({"unit_price": "1.234"}, "lines[1].unit_price", "第1行 单价：最多 2 位小数。"),
        ({"product_id": 999999}, "lines[1].product_id", "第1行 产品：产品不存在。"),
    ],
)
def test_bad_line_names_the_line_and_field_in_words(org, cust, catalogue, bad, field, message):
    """The message names the line and the field in the user's language; ``field`` keeps the API's key."""
    with pytest.raises(ValidationFailed) as e:
        draft(org["rep1"], cust, [{**line(catalogue["p1"]), **bad}])
    assert e.value.field == field and str(e.value.message) == message
    assert "lines[" not in str(e.value.message)
    assert not cust.orders.exists()


def test_bad_line_message_in_english(org, cust, catalogue):
    from django.utils import translation

    with translation.override("en"), pytest.raises(ValidationFailed) as e:
        draft(org["rep1"], cust, [{**line(catalogue["p1"]), "quantity": "abc"}])
    assert str(e.value.message) == "Line 1 Quantity: not a valid number."


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"quantity": "1e20"}, "lines[1].quantity"),
        (
            {"quantity": "100000000000"},
            "lines[1].quantity",
        ),  # 12 digits: the column holds 11 before the point
        ({"quantity": "1E+400"}, "lines[1].quantity"),
        ({"unit_price": "1000000000000"}, "lines[1].unit_price"),
        ({"unit_price": "9" * 40}, "lines[1].unit_price"),
        ({"quantity": "99999999999", "unit_price": "999999999999"}, "lines[1].amount"),
        ({"quantity": "1000001", "unit_price": "100"}, "lines[1].amount"),  # 100 000 100.00 > 100 000 000
        ({"discount": "1e30"}, "lines[1].discount"),
    ],
)
def test_huge_numbers_are_refused_with_rule_max(org, cust, catalogue, bad, field):
    """Column limits and the policy's largest order amount (default 100 000 000.00): refused, never a database
    error."""
    with pytest.raises(ValidationFailed) as e:
        draft(org["rep1"], cust, [{**line(catalogue["p1"]), **bad}])
    assert (e.value.field, e.value.rule) == (field, "max")
    assert not cust.orders.exists()


def test_order_total_above_the_policy_maximum_is_refused(org, cust, catalogue, monkeypatch):
    monkeypatch.setattr(
        policies, "checks", lambda: (policies.ChecksPolicy(max_order_amount=D("100000")), None)
    )
    ok = draft(org["rep1"], cust, [line(catalogue["p1"], "500"), line(catalogue["p1"], "500")])
    assert ok.total_amount == D("100000.00")  # exactly the maximum
    with pytest.raises(ValidationFailed) as e:
        draft(org["rep1"], cust, [line(catalogue["p1"], "500"), line(catalogue["p1"], "500", "100.01")])
    assert (e.value.field, e.value.rule) == ("total_amount", "max")
    assert "订单价税合计" in str(e.value.message)
    assert cust.orders.count() == 1


def test_other_reps_customer_and_roles_without_entry(org, cust, catalogue):
    with pytest.raises(NotFound):
        draft(org["rep2"], cust, [line(catalogue["p1"])])
    with pytest.raises(PermissionDenied):
        draft(org["auditor"], cust, [line(catalogue["p1"])])
    o = draft(org["rep1"], cust, [line(catalogue["p1"])])
    with pytest.raises(NotFound):
        services.order_submit(actor=org["rep3"], order_id=o.pk)
    assert selectors.order_list(actor=org["rep3"]).count() == 0
    assert selectors.order_list(actor=org["mgr_east"]).count() == 1
    assert selectors.order_list(actor=org["auditor"]).count() == 1


def test_submit_twice_is_a_conflict(org, cust, catalogue):
    from kehu.core.errors import Conflict

    o = submitted(org["rep1"], cust, [line(catalogue["p1"])])
    with pytest.raises(Conflict):
        services.order_submit(actor=org["rep1"], order_id=o.pk)


def test_submit_query_count_is_bounded(org, cust, catalogue, django_assert_max_num_queries):
    o = draft(org["rep1"], cust, [line(catalogue["p1"], str(k + 1)) for k in range(30)])
    with django_assert_max_num_queries(40):
        services.order_submit(actor=org["rep1"], order_id=o.pk)


def test_limit_fixture_sanity(org, world):
    from kehu.receivables.tests.conftest import customer

    c = customer(org["rep1"])
    give_limit(c, "1.00")
    assert c.credit_limits.count() == 1
