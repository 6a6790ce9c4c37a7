"""The orders API: statuses and bodies (R-ORD-01, R-ORD-02, R-CRD-05)."""

from __future__ import annotations

import json

import pytest

from kehu.orders.models import OrderStatus
from kehu.orders.tests.conftest import far_date

pytestmark = pytest.mark.django_db


def post(client, url, body):
    return client.post(url, data=json.dumps(body, default=str), content_type="application/json")


def body(cust, catalogue, qty="10", **kw):
    return {
        "customer_id": cust.pk,
        "channel": "email",
        "requested_date": str(far_date()),
        "payment_terms": "net_30",
        "lines": [{"product_id": catalogue["p1"].pk, "quantity": qty, "unit_price": "100", "tax_rate": "0"}],
        **kw,
    }


def test_api_create_submit_hold_release_cancel(client, org, cust, catalogue):
    client.force_login(org["rep1"])
    r = post(client, "/api/v1/orders/", body(cust, catalogue, "150"))
    assert r.status_code == 201, r.content
    oid = r.json()["id"]
    assert r.json()["status"] == "draft" and r.json()["total_amount"] == "15000.00"
    r = post(client, f"/api/v1/orders/{oid}/submit", {})
    assert r.status_code == 200 and r.json()["status"] == OrderStatus.CREDIT_HOLD
    checks = {c["key"]: c for c in r.json()["checks"]}
    assert not checks["credit"]["passed"] and r.json()["holds"][0]["required_role"] == "sales_manager"
    assert post(client, f"/api/v1/orders/{oid}/submit", {}).status_code == 409
    assert post(client, f"/api/v1/orders/{oid}/release", {"reason": "x"}).status_code == 403
    client.force_login(org["mgr_east"])
    assert [h["order_id"] for h in client.get("/api/v1/orders/holds").json()["items"]] == [oid]
    r = post(client, f"/api/v1/orders/{oid}/release", {"reason": ""})
    assert r.status_code == 400 and r.json()["detail"]["field"] == "reason"
    r = post(client, f"/api/v1/orders/{oid}/release", {"reason": "老客户"})
    assert (
        r.status_code == 200 and r.json()["status"] == "approved" and r.json()["counted_amount"] == "15000.00"
    )
    r = post(client, f"/api/v1/orders/{oid}/cancel", {"reason": "客户取消"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = post(client, f"/api/v1/orders/{oid}/reopen", {"reason": "恢复"})
    # runs: submit, release (every check again), reopen
    assert r.status_code == 200 and r.json()["status"] == "credit_hold" and r.json()["check_run"] == 3


def test_api_list_filters_and_scope(client, org, cust, catalogue):
    client.force_login(org["rep1"])
    a = post(client, "/api/v1/orders/", body(cust, catalogue, "1")).json()["id"]
    b = post(client, "/api/v1/orders/", body(cust, catalogue, "200")).json()["id"]
    post(client, f"/api/v1/orders/{b}/submit", {})
    items = client.get("/api/v1/orders/").json()["items"]
    assert {i["id"] for i in items} == {a, b}
    assert [i["id"] for i in client.get("/api/v1/orders/?hold=1").json()["items"]] == [b]
    assert [i["id"] for i in client.get("/api/v1/orders/?status=draft").json()["items"]] == [a]
    assert client.get(f"/api/v1/orders/?customer={cust.pk}").json()["count"] == 2
    assert client.get("/api/v1/orders/?overdue=1").json()["count"] == 0
    client.force_login(org["rep2"])
    assert client.get("/api/v1/orders/").json()["items"] == []
    assert client.get(f"/api/v1/orders/{a}").status_code == 404
    assert post(client, f"/api/v1/orders/{a}/submit", {}).status_code == 404
    assert post(client, "/api/v1/orders/", body(cust, catalogue)).status_code == 404
    client.force_login(org["auditor"])
    assert client.get(f"/api/v1/orders/{a}").status_code == 200
    assert post(client, f"/api/v1/orders/{a}/submit", {}).status_code == 403


def test_api_bad_input_names_the_field(client, org, cust, catalogue):
    client.force_login(org["rep1"])
    r = post(client, "/api/v1/orders/", body(cust, catalogue, channel="pigeon"))
    assert r.status_code == 400 and r.json()["detail"]["field"] == "channel"
    bad = body(cust, catalogue)
    bad["lines"][0]["discount"] = "120"
    r = post(client, "/api/v1/orders/", bad)
    assert r.status_code == 400 and r.json()["detail"]["field"] == "lines[1].discount"
    r = post(client, "/api/v1/orders/", {"customer_id": cust.pk})
    assert r.status_code == 400
    assert client.get("/api/v1/orders/").json()["count"] == 0


def test_api_amend_and_copy(client, org, cust, catalogue):
    client.force_login(org["rep1"])
    oid = post(client, "/api/v1/orders/", body(cust, catalogue, "10")).json()["id"]
    post(client, f"/api/v1/orders/{oid}/submit", {})
    amend = body(cust, catalogue, "200", reason="加量", cause="customer")
    amend.pop("customer_id")
    r = post(client, f"/api/v1/orders/{oid}/amend", amend)
    assert r.status_code == 200 and r.json()["status"] == "credit_hold"
    r = post(client, f"/api/v1/orders/{oid}/copy", {"submit": True})
    assert r.status_code == 201 and r.json()["status"] == "credit_hold" and r.json()["copied_from_id"] == oid


def test_api_products(client, org, catalogue):
    client.force_login(org["rep1"])
    items = client.get("/api/v1/orders/products").json()["items"]
    assert [p["code"] for p in items] == ["P1", "P2", "P3", "P4"] and items[0]["control_price"] == "100.00"
    client.force_login(org["auditor"])
    assert client.get("/api/v1/orders/products").status_code == 200


def test_api_list_and_holds_refuse_roles_without_permission(client, org, cust, catalogue):
    """As the pages: 403, not an empty list (R-PLT-02)."""
    from django.urls import reverse

    from kehu.core.tests.factories import user_with

    qe = user_with("quality_engineer", username="qe-o")
    client.force_login(qe)
    assert client.get("/api/v1/orders/").status_code == 403
    assert client.get(reverse("orders_list")).status_code == 403
    assert client.get("/api/v1/orders/holds").status_code == 403
    client.force_login(org["rep1"])
    assert client.get("/api/v1/orders/holds").status_code == 403
    assert client.get(reverse("orders_holds")).status_code == 403
    assert client.get("/api/v1/orders/").status_code == 200


def test_api_holds_say_which_ones_the_caller_may_release(client, org, cust, catalogue):
    from kehu.core.tests.factories import user_with
    from kehu.orders.tests.conftest import line as line_in
    from kehu.orders.tests.conftest import submitted

    small = submitted(org["rep1"], cust, [line_in(catalogue["p1"], "101")])  # excess 100: sales manager
    big = submitted(org["rep1"], cust, [line_in(catalogue["p1"], "700")])  # excess 60 000: credit manager
    client.force_login(org["mgr_east"])
    items = client.get("/api/v1/orders/holds").json()["items"]
    assert {i["order_id"]: i["can_release"] for i in items} == {small.pk: True, big.pk: False}
    client.force_login(user_with("credit_manager", username="cm-o"))
    items = client.get("/api/v1/orders/holds").json()["items"]
    assert {i["order_id"]: i["can_release"] for i in items} == {small.pk: True, big.pk: True}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": "1e20"}, "lines[1].quantity"),
        ({"unit_price": "1000000000000"}, "lines[1].unit_price"),
        ({"quantity": "99999999999", "unit_price": "999999999999"}, "lines[1].amount"),
    ],
)
def test_api_huge_numbers_answer_400_with_rule_max(client, org, cust, catalogue, change, field):
    client.force_login(org["rep1"])
    bad = body(cust, catalogue)
    bad["lines"][0].update(change)
    r = post(client, "/api/v1/orders/", bad)
    assert r.status_code == 400 and r.json()["detail"] == {"field": field, "rule": "max"}
    assert "lines[" not in r.json()["message"] and r.json()["message"].startswith("第1行 ")
    assert client.get("/api/v1/orders/").json()["count"] == 0


def test_api_error_message_names_the_field_in_words(client, org, cust, catalogue):
    client.force_login(org["rep1"])
    bad = body(cust, catalogue)
    bad["lines"].append({"product_id": catalogue["p1"].pk, "quantity": "0"})
    r = post(client, "/api/v1/orders/", bad)
    assert r.status_code == 400
    assert (
        r.json()["message"] == "第2行 数量：必须大于零。"
        and r.json()["detail"]["field"] == "lines[2].quantity"
    )
