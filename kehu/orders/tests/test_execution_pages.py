"""Execution pages and API (R-ORD-05..07): the order page's notice, delivery, invoice and feedback forms, the open
order list, the error report, and /api/v1/orders/{id}/assign, /deliveries, /invoices, /feedback, /errors."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kehu.core.tests.factories import user_with
from kehu.orders import execution
from kehu.orders.models import Delivery, Order, OrderStatus
from kehu.orders.tests.conftest import far_date, line, submitted
from kehu.orders.tests.test_execution import _amend, assign
from kehu.receivables.exposure import exposure_check, exposure_of

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def fin(db):
    return user_with("finance", username="fin1")


@pytest.fixture
def order(org, cust, catalogue):
    return submitted(org["rep1"], cust, [line(catalogue["p1"], "10"), line(catalogue["p1"], "5")])


def test_notice_form_on_the_order_page(client, org, order):
    client.force_login(org["mgr_east"])
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="notice-form"' in page and 'id="notice-missing"' in page
    url = f"/orders/{order.pk}/execute/notice/"
    late = order.requested_date + dt.timedelta(days=3)
    r = client.post(
        url,
        {
            "responsible": org["rep3"].pk,
            "delivery_deadline": late.isoformat(),
            "quality_requirements": "全检",
        },
        follow=True,
    )
    assert "交付期限不能晚于客户要求交货日期" in r.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED
    r = client.post(url, {"responsible": org["rep3"].pk, "delivery_deadline": ""}, follow=True)
    assert "交付期限" in r.content.decode() and "质量要求" in r.content.decode()
    r = client.post(
        url,
        {
            "responsible": org["rep3"].pk,
            "delivery_deadline": order.requested_date.isoformat(),
            "quality_requirements": "按图纸检验，附检验报告",
            "production_plan": "第48周",
        },
    )
    assert r.status_code == 302 and r["Location"].endswith("#execution")
    order.refresh_from_db()
    assert order.status == OrderStatus.EXECUTING and order.responsible == org["rep3"]
    client.force_login(org["rep1"])  # the owner sees the notice but may not issue one
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "按图纸检验" in page and 'id="notice-form"' not in page and 'id="delivery-form"' in page
    r = client.post(  # a complete, valid notice: the service refuses the rep (the page answers 403)
        url,
        {
            "responsible": org["rep1"].pk,
            "delivery_deadline": order.requested_date.isoformat(),
            "quality_requirements": "全检",
        },
    )
    assert r.status_code == 403
    order.refresh_from_db()
    assert order.responsible == org["rep3"] and order.notices.count() == 1
    client.force_login(org["mgr_east"])
    r = client.post(f"/orders/{order.pk}/execute/bogus/", {}, follow=True)
    assert "未知的操作" in r.content.decode()


def test_responsible_person_delivers_and_finance_invoices_from_the_page(client, org, cust, order, fin):
    assign(org["mgr_east"], order, person=org["rep3"])
    l1, l2 = order.lines.order_by("position")
    client.force_login(org["rep3"])  # not the customer's owner: sees the order as its responsible person
    page = client.get(f"/orders/{order.pk}/")
    assert page.status_code == 200 and 'id="delivery-form"' in page.content.decode()
    today = timezone.localdate().isoformat()
    r = client.post(
        f"/orders/{order.pk}/execute/delivery/",
        {f"qty-{l1.pk}": "11", "delivered_on": today},
        follow=True,
    )
    assert "超过未发货数量" in r.content.decode() and not Delivery.objects.exists()
    r = client.post(
        f"/orders/{order.pk}/execute/delivery/",
        {f"qty-{l1.pk}": "4", f"qty-{l2.pk}": "", "delivered_on": today},
    )
    assert r.status_code == 302
    assert exposure_of(cust.pk).unbilled_deliveries == D("400.00")
    assert 'id="invoice-form"' not in client.get(f"/orders/{order.pk}/").content.decode()  # finance invoices
    client.force_login(fin)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="invoice-form"' in page and "400.00" in page
    r = client.post(
        f"/orders/{order.pk}/execute/invoice/", {"number": "FP-9", "invoiced_on": today}, follow=True
    )
    assert "已记入应收台账" in r.content.decode()
    assert exposure_of(cust.pk).open_receivables == D("400.00") and exposure_check([cust.pk]) == []
    client.force_login(org["rep1"])
    r = client.post(
        f"/orders/{order.pk}/execute/feedback/",
        {"kind": "quality", "rating": "4", "content": "包装良好"},
        follow=True,
    )
    assert "客户反馈已记录" in r.content.decode()
    page = client.get(f"/orders/{order.pk}/").content.decode()
    for part in ('id="deliveries"', 'id="invoices"', 'id="feedback"', "FP-9", "包装良好"):
        assert part in page, part
    client.force_login(org["rep2"])  # another rep's customer
    assert client.get(f"/orders/{order.pk}/").status_code == 404


def test_open_order_list_and_its_query_count(client, org, cust, catalogue, world):
    from kehu.orders import services
    from kehu.orders.tests.conftest import terms

    rush = submitted(org["rep1"], cust, [line(catalogue["p1"], "1")], requested_date=far_date(3))
    world.grades[cust.pk] = terms(
        "D"
    )  # no standard lead time: due sooner than the rush order, yet not a rush
    sooner = submitted(
        org["rep1"],
        cust,
        [line(catalogue["p1"], "1")],
        requested_date=far_date(1),
        payment_terms="prepayment",
    )
    for o in (rush, sooner):  # both went to review (lead time; strict review): approved here
        services.approve(o)
        o.save()
    world.grades[cust.pk] = terms("A")
    for _i in range(3):
        submitted(org["rep1"], cust, [line(catalogue["p1"], "1")])
    client.force_login(org["rep1"])
    with CaptureQueriesContext(connection) as small:
        page = client.get("/orders/open/")
    assert page.status_code == 200
    html = page.content.decode()
    first_other = min(
        html.index(o.number) for o in Order.objects.exclude(pk=rush.pk).filter(status="approved")
    )
    assert 'data-priority="1"' in html and html.index(rush.number) < first_other  # the rush order comes first
    assert html.count('data-priority="1"') == 1
    for _i in range(6):
        submitted(org["rep1"], cust, [line(catalogue["p1"], "1")])
    with CaptureQueriesContext(connection) as big:
        client.get("/orders/open/")
    assert len(big.captured_queries) == len(small.captured_queries)
    r = client.get("/orders/open/?export=xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")


def test_error_report_page(client, org, cust, catalogue):
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "1")])
    _amend(org["rep1"], o, "2", cause="error", department_id=org["east"].pk, person_id=org["rep1"].pk)
    client.force_login(org["rep1"])
    assert client.get("/orders/errors/").status_code == 403
    client.force_login(org["gm"])
    page = client.get("/orders/errors/").content.decode()
    assert org["east"].name in page and "差错次数" in page
    entries = client.get(f"/orders/errors/entries/?department={org['east'].pk}").content.decode()
    assert o.number in entries and "数量录入错误" in entries
    r = client.get("/orders/errors/?start=2030-01-02&end=2030-01-01", follow=True)
    assert "起始日期不能晚于截止日期" in r.content.decode()
    r = client.get("/orders/errors/?export=xlsx")
    assert r.status_code == 200


def test_amendment_form_asks_for_accountability_after_approval(client, org, order, catalogue):
    client.force_login(org["rep1"])
    page = client.get(f"/orders/{order.pk}/edit/").content.decode()
    assert 'name="cause"' in page and 'name="department"' in page


def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_execution_api(client, org, cust, order, fin):
    base = f"/api/v1/orders/{order.pk}"
    client.force_login(org["rep1"])
    r = _post(
        client,
        f"{base}/assign",
        {
            "responsible_id": org["rep1"].pk,
            "delivery_deadline": str(order.requested_date),
            "quality_requirements": "全检",
        },
    )
    assert r.status_code == 403
    client.force_login(org["mgr_east"])
    r = _post(
        client,
        f"{base}/assign",
        {
            "responsible_id": org["rep3"].pk,
            "delivery_deadline": str(order.requested_date),
            "quality_requirements": "全检",
        },
    )
    assert r.status_code == 200 and r.json()["status"] == "executing" and r.json()["responsible"] == "rep3"
    assert r.json()["notices"][0]["quality_requirements"] == "全检"
    l1 = order.lines.order_by("position").first()
    client.force_login(org["rep3"])
    r = _post(
        client,
        f"{base}/deliveries",
        {"delivered_on": str(timezone.localdate()), "lines": [{"line_id": l1.pk, "quantity": "99"}]},
    )
    assert r.status_code == 400 and r.json()["detail"]["field"] == "lines[1].quantity"
    r = _post(
        client,
        f"{base}/deliveries",
        {"delivered_on": str(timezone.localdate()), "lines": [{"line_id": l1.pk, "quantity": "2.5"}]},
    )
    assert r.status_code == 201 and r.json()["amount"] == "250.00" and r.json()["lines"][0]["position"] == 1
    assert client.get(f"{base}/deliveries").json()[0]["number"].startswith("FH-")
    assert client.get(base).json()["delivered_amount"] == "250.00"  # the responsible person reads the order
    client.force_login(org["rep2"])
    assert client.get(f"{base}/deliveries").status_code == 404
    client.force_login(fin)
    r = _post(
        client,
        f"{base}/invoices",
        {"number": "API-1", "invoiced_on": str(timezone.localdate()), "amount": "300"},
    )
    assert r.status_code == 400 and r.json()["detail"]["field"] == "amount"
    r = _post(client, f"{base}/invoices", {"number": "API-1", "invoiced_on": str(timezone.localdate())})
    assert r.status_code == 201 and r.json()["amount"] == "250.00" and r.json()["entry_id"]
    client.force_login(org["rep1"])
    r = _post(client, f"{base}/feedback", {"kind": "delivery", "content": "准时", "rating": 9})
    assert r.status_code == 400 and r.json()["detail"]["field"] == "rating"
    assert (
        _post(client, f"{base}/feedback", {"kind": "delivery", "content": "准时", "rating": 5}).status_code
        == 201
    )
    body = client.get(base).json()
    assert body["invoiced_amount"] == "250.00" and body["feedback"][0]["rating"] == 5
    assert client.get("/api/v1/orders/errors").status_code == 403
    client.force_login(org["gm"])
    assert client.get("/api/v1/orders/errors").json() == []
    assert client.get("/api/v1/orders/?status=open").status_code == 200
    r = client.get("/api/v1/orders/?status=bogus")
    assert r.status_code == 400 and r.json()["detail"]["field"] == "status"
    assert exposure_check([cust.pk]) == []
    assert execution.retain_until(order) is None


def test_order_list_owner_filter_is_applied(client, org, cust, catalogue):
    """A filter form whose choices are set after the form's own __init__ (the owner list) is validated with
    them: ?owner= filters instead of being dropped with every other filter."""
    from kehu.orders.tests.conftest import give_limit
    from kehu.receivables.tests.conftest import customer

    other = customer(org["rep3"])
    give_limit(other, "10000.00")
    mine = submitted(org["rep1"], cust, [line(catalogue["p1"], "1")])
    theirs = submitted(org["rep3"], other, [line(catalogue["p1"], "1")])
    client.force_login(org["mgr_east"])
    page = client.get(f"/orders/?owner={org['rep3'].pk}&status=approved").content.decode()
    assert theirs.number in page and mine.number not in page


def test_execution_forms_bad_input_names_the_field_and_changes_nothing(client, org, cust, order, fin):
    assign(org["mgr_east"], order)
    before = exposure_of(cust.pk)
    client.force_login(org["rep1"])
    today = timezone.localdate().isoformat()
    r = client.post(f"/orders/{order.pk}/execute/delivery/", {"delivered_on": today}, follow=True)
    assert "请至少填写一行发货数量" in r.content.decode()
    l1 = order.lines.order_by("position").first()
    r = client.post(
        f"/orders/{order.pk}/execute/delivery/", {f"qty-{l1.pk}": "1", "delivered_on": "x"}, follow=True
    )
    assert "发货日期" in r.content.decode()
    r = client.post(
        f"/orders/{order.pk}/execute/delivery/", {f"qty-{l1.pk}": "abc", "delivered_on": today}, follow=True
    )
    assert "订单行 1 发货数量" in r.content.decode() and "不是有效数字" in r.content.decode()
    r = client.post(f"/orders/{order.pk}/execute/feedback/", {"kind": "bogus", "content": "x"}, follow=True)
    assert "类别" in r.content.decode()
    client.force_login(fin)
    r = client.post(
        f"/orders/{order.pk}/execute/invoice/", {"number": "X", "invoiced_on": today}, follow=True
    )
    assert "没有已发货未开票的金额" in r.content.decode()
    r = client.post(
        f"/orders/{order.pk}/execute/invoice/",
        {"number": "X", "invoiced_on": today, "amount": "abc"},
        follow=True,
    )
    assert "开票金额" in r.content.decode()
    assert not Delivery.objects.exists() and not order.feedback.exists()
    assert exposure_of(cust.pk) == before
