"""Order pages (R-ORD-01, R-ORD-02, R-CRD-05): entry with live checks, list with filters and export, order page,
hold queue with release, import (all or nothing, errors by row and column), bounded queries."""

from __future__ import annotations

import io
from decimal import Decimal as D

import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kehu.orders.models import Order, OrderStatus
from kehu.orders.tests.conftest import far_date, line, submitted

pytestmark = pytest.mark.django_db


def form_data(cust, catalogue, qty="10", **kw):
    data = {
        "customer": cust.pk,
        "channel": "phone",
        "requested_date": str(far_date()),
        "payment_terms": "net_30",
        "line-1-product": catalogue["p1"].pk,
        "line-1-quantity": qty,
        "line-1-unit_price": "100",
        "line-1-tax_rate": "0",
    }
    data.update(kw)
    return data


def test_entry_page_saves_and_submits(client, org, cust, catalogue):
    client.force_login(org["rep1"])
    assert client.get(reverse("orders_new")).status_code == 200
    r = client.post(reverse("orders_new"), form_data(cust, catalogue, "150", submit="1"))
    assert r.status_code == 302
    o = Order.objects.get()
    assert o.status == OrderStatus.CREDIT_HOLD and o.total_amount == D("15000.00")
    page = client.get(reverse("orders_detail", args=[o.pk])).content.decode()
    assert "信用冻结" in page and 'id="check-credit" data-passed="0"' in page


def test_entry_keeps_input_and_names_the_problem(client, org, cust, catalogue):
    client.force_login(org["rep1"])
    r = client.post(reverse("orders_new"), form_data(cust, catalogue, "-3"))
    assert r.status_code == 200 and Order.objects.count() == 0
    body = r.content.decode()
    assert "第1行 数量：必须大于零。" in body and 'value="-3"' in body
    r = client.post(reverse("orders_new"), form_data(cust, catalogue, requested_date="2020-01-01"))
    assert "要求交货日期不能早于今天" in r.content.decode()


def test_live_check_previews_without_storing(client, org, cust, catalogue):
    client.force_login(org["rep1"])
    r = client.post(reverse("orders_live_check"), form_data(cust, catalogue, "150"))
    body = r.content.decode()
    assert r.status_code == 200 and "15,000.00" in body and 'data-passed="0"' in body
    assert "信用检查" in body and Order.objects.count() == 0
    r = client.post(
        reverse("orders_live_check"), form_data(cust, catalogue, "1", **{"line-1-unit_price": "80"})
    )
    assert "折扣在等级上限内" in r.content.decode()


def test_list_filters_export_and_queries(client, org, cust, catalogue, django_assert_max_num_queries):
    for q in ("1", "2", "200"):
        submitted(org["rep1"], cust, [line(catalogue["p1"], q)])
    client.force_login(org["mgr_east"])
    with django_assert_max_num_queries(25):
        r = client.get(reverse("orders_list"))
    assert r.status_code == 200 and r.content.decode().count("DD-") >= 3
    r = client.get(reverse("orders_list") + "?hold=1")
    assert r.content.decode().count("/orders/") >= 1
    x = client.get(reverse("orders_list") + "?export=xlsx")
    assert x.status_code == 200 and x["Content-Type"].startswith("application/vnd.openxml")
    o = Order.objects.filter(status=OrderStatus.CREDIT_HOLD).get()
    with django_assert_max_num_queries(40):
        assert client.get(reverse("orders_detail", args=[o.pk])).status_code == 200
    client.force_login(org["rep2"])
    assert client.get(reverse("orders_detail", args=[o.pk])).status_code == 404


def test_hold_queue_and_release_button(client, org, cust, catalogue):
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "150")])
    client.force_login(org["rep1"])
    assert client.get(reverse("orders_holds")).status_code == 403
    client.force_login(org["mgr_east"])
    assert o.number in client.get(reverse("orders_holds")).content.decode()
    r = client.post(reverse("orders_action", args=[o.pk, "release"]), {"reason": ""}, follow=True)
    assert "须填写理由" in r.content.decode()
    client.post(reverse("orders_action", args=[o.pk, "release"]), {"reason": "老客户"})
    o.refresh_from_db()
    assert o.status == OrderStatus.APPROVED


def test_pages_render_for_catalogue_and_import(client, org, cust, catalogue):
    client.force_login(org["mgr_east"])
    assert "P1" in client.get(reverse("orders_products")).content.decode()
    assert client.get(reverse("orders_import")).status_code == 200
    assert client.get(reverse("orders_import_template")).status_code == 200


def _xlsx(rows):
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    for r, values in enumerate(rows):
        for c, v in enumerate(values):
            ws.write_string(r, c, str(v))
    wb.close()
    return SimpleUploadedFile("orders.xlsx", buf.getvalue())


HEAD = ["订单组", "客户编号", "接单渠道", "要求交货日期", "付款条件", "产品编码", "数量", "折扣（%）"]


def test_import_all_or_nothing_with_row_and_column(client, org, cust, catalogue):
    client.force_login(org["rep1"])
    d = str(far_date())
    bad = _xlsx(
        [
            HEAD,
            ["1", cust.number, "电话", d, "net_30", "P1", "5", "0"],
            ["1", cust.number, "电话", d, "net_30", "P1", "abc", "0"],
            ["2", cust.number, "电话", d, "net_30", "NOPE", "1", "0"],
        ]
    )
    r = client.post(reverse("orders_import"), {"file": bad})
    body = r.content.decode()
    assert Order.objects.count() == 0 and 'id="import-errors"' in body
    assert "<td>3</td><td>数量</td>" in body and "<td>4</td><td>产品编码</td>" in body
    good = _xlsx(
        [
            HEAD,
            ["1", cust.number, "电话", d, "net_30", "P4", "5", "0"],
            ["1", cust.number, "电话", d, "net_30", "P4", "2", "1"],
            ["2", cust.number, "电子邮件", d, "net_30", "P1", "1", "0"],
        ]
    )
    r = client.post(reverse("orders_import"), {"file": good})
    assert r.status_code == 302
    orders = list(Order.objects.order_by("pk"))
    assert len(orders) == 2 and [o.lines.count() for o in orders] == [2, 1]
    assert orders[0].status == OrderStatus.DRAFT and orders[1].channel == "email"
    assert orders[0].total_amount == D("788.74")  # (5 x 100 + 2 x 99) x 1.13: tax rate from the catalogue


def test_order_page_in_english(client, org, cust, catalogue):
    """Bilingual: the user's saved language (R-PLT-09) gives the English page and the English check reasons."""
    from django.utils import translation

    with translation.override("en"):
        o = submitted(org["rep1"], cust, [line(catalogue["p1"], "150")])
    type(org["rep1"]).objects.filter(pk=org["rep1"].pk).update(language="en")
    client.force_login(org["rep1"])
    body = client.get(reverse("orders_detail", args=[o.pk])).content.decode()
    assert "Automatic checks" in body and "Credit check" in body and "exceeds the limit" in body


# --- more than eight lines (R-ORD-01) ---------------------------------------------------------------------------


def _header_data(cust, **kw):
    return {
        "customer": cust.pk,
        "channel": "phone",
        "requested_date": str(far_date()),
        "payment_terms": "net_30",
        **kw,
    }


def test_editing_an_order_with_twelve_lines_keeps_every_line(client, org, cust, catalogue):
    from kehu.orders.tests.conftest import draft

    o = draft(org["rep1"], cust, [line(catalogue["p1"], str(k)) for k in range(1, 13)])
    client.force_login(org["rep1"])
    page = client.get(reverse("orders_edit", args=[o.pk])).content.decode()
    assert (
        'name="line-12-quantity"' in page and 'id="line-count" value="14"' in page
    )  # 12 lines, 2 empty rows
    data = _header_data(cust, **{"line-count": "14"})
    for k in range(1, 13):
        data |= {f"line-{k}-product": catalogue["p1"].pk, f"line-{k}-quantity": str(k + 1)}
        data[f"line-{k}-unit_price"] = "100"
    r = client.post(reverse("orders_edit", args=[o.pk]), data)
    assert r.status_code == 302
    o.refresh_from_db()
    assert o.lines.count() == 12 and o.total_amount == D(sum((k + 1) * 100 for k in range(1, 13)))
    # a form that does not send its row count: every row posted is read
    data.pop("line-count")
    data |= {"line-13-product": catalogue["p1"].pk, "line-13-quantity": "1"}
    assert client.post(reverse("orders_edit", args=[o.pk]), data).status_code == 302
    assert o.lines.count() == 13


# --- huge numbers and the words of the messages -----------------------------------------------------------------


def test_entry_refuses_huge_numbers_naming_line_and_field(client, org, cust, catalogue):
    client.force_login(org["rep1"])
    r = client.post(reverse("orders_new"), form_data(cust, catalogue, "1e20"))
    body = r.content.decode()
    assert r.status_code == 200 and Order.objects.count() == 0
    assert "第1行 数量：不能超过 99,999,999,999.999。" in body and "lines[" not in body
    r = client.post(
        reverse("orders_new"), form_data(cust, catalogue, "99999999999", **{"line-1-unit_price": "1e11"})
    )
    assert "第1行 价税合计：" in r.content.decode() and Order.objects.count() == 0
    r = client.post(reverse("orders_live_check"), form_data(cust, catalogue, "1e20"))
    assert r.status_code == 200 and "第1行 数量" in r.content.decode()


# --- the customer search (R-ORD-01, R-PLT-02) -------------------------------------------------------------------


def test_customer_search_lists_customers_in_scope_past_any_cap(client, org, cust, catalogue):
    from kehu.customers.models import Customer, CustomerStatus
    from kehu.customers.search import refresh_search
    from kehu.receivables.tests.conftest import customer

    rep = org["rep1"]
    many = [
        Customer(
            number=f"KH-S-{k:06d}",
            name=f"安徽客户{k:03d}有限公司",
            search_text=f"安徽客户{k:03d}有限公司 | kh-s-{k:06d}",
            owner=rep,
            department=rep.department,
            region=rep.region,
            status=CustomerStatus.ACTIVE,
        )
        for k in range(520)
    ]
    Customer.objects.bulk_create(many)
    last = Customer.objects.get(number="KH-S-000519")
    other = customer(org["rep2"], name="华南精工机械有限公司")
    refresh_search(other, new=True)
    client.force_login(rep)
    url = reverse("orders_customer_search")
    body = client.get(url, {"customer_q": "安徽客户519"}).content.decode()
    assert f'data-customer="{last.pk}"' in body  # beyond the first 500 by name
    body = client.get(url, {"customer_q": "kh-s-0005"}).content.decode()
    assert body.count("data-customer=") == 20  # at most 20 results per search
    assert "没有找到" in client.get(url, {"customer_q": "华南精工"}).content.decode()  # not in scope
    r = client.get(reverse("orders_customer_pick"), {"id": last.pk})
    assert r.status_code == 200 and r["HX-Trigger"] == "customer-picked"
    assert f'name="customer" value="{last.pk}"' in r.content.decode()
    assert client.get(reverse("orders_customer_pick"), {"id": other.pk}).status_code == 404
    page = client.get(reverse("orders_new") + f"?customer={last.pk}").content.decode()
    assert f'name="customer" value="{last.pk}"' in page and '<select name="customer"' not in page
    r = client.post(reverse("orders_new"), form_data(last, catalogue, "1"))
    assert r.status_code == 302 and Order.objects.get().customer == last


def test_entry_refuses_a_customer_out_of_scope_on_the_field(client, org, cust, catalogue):
    from kehu.receivables.tests.conftest import customer

    other = customer(org["rep2"])
    client.force_login(org["rep1"])
    r = client.post(reverse("orders_new"), form_data(other, catalogue, "1"))
    body = r.content.decode()
    assert r.status_code == 200 and Order.objects.count() == 0
    assert "客户不存在或不在您的范围内" in body
    r = client.post(reverse("orders_live_check"), form_data(other, catalogue, "1"))
    assert "请先填写客户" in r.content.decode()
    client.force_login(org["auditor"])
    assert client.get(reverse("orders_customer_search"), {"customer_q": "测试"}).status_code == 403


def test_hold_queue_says_which_holds_the_user_may_release(client, org, cust, catalogue):
    small = submitted(org["rep1"], cust, [line(catalogue["p1"], "101")])  # excess 100: sales manager
    big = submitted(org["rep1"], cust, [line(catalogue["p1"], "700")])  # excess 60 000: credit manager
    client.force_login(org["mgr_east"])
    body = client.get(reverse("orders_holds")).content.decode()
    assert small.number in body and big.number in body
    assert "本人可解除" in body and "须更高权限" in body


def test_release_back_to_draft_says_so_on_the_page(client, org, cust, catalogue, world, monkeypatch):
    from kehu.orders import policies
    from kehu.orders.tests.conftest import Docs

    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "150")])
    world.docs[cust.pk] = Docs(ok=False, problems=[1], message="营业执照已过期")
    monkeypatch.setattr(
        policies, "checks", lambda: (policies.ChecksPolicy(failed_check_action="block"), None)
    )
    client.force_login(org["mgr_east"])
    r = client.post(reverse("orders_action", args=[o.pk, "release"]), {"reason": "老客户"}, follow=True)
    assert "已退回草稿" in r.content.decode()
    o.refresh_from_db()
    assert o.status == OrderStatus.DRAFT


# --- import (R-ORD-01) ------------------------------------------------------------------------------------------

FULL = [
    "订单组",
    "客户编号",
    "接单渠道",
    "要求交货日期",
    "付款条件",
    "客户订单号",
    "产品编码",
    "数量",
    "税率（%）",
]


def _import(actor, rows):
    from kehu.orders import imports

    return imports.orders_import(actor=actor, file=_xlsx([FULL, *rows]))


def _errors(report):
    return [(r.number, col, msg) for r in report.errors for col, msg in r.errors]


def test_import_refuses_a_row_whose_header_differs_from_its_group(org, cust, catalogue):
    d, later = str(far_date()), str(far_date(60))
    report, ids = _import(
        org["rep1"],
        [
            ["1", cust.number, "电话", d, "net_30", "PO-1", "P1", "5", ""],
            ["1", cust.number, "电子邮件", d, "net_30", "", "P1", "1", ""],
            ["1", cust.number, "电话", later, "net_30", "PO-1", "P1", "1", ""],
            ["1", cust.number, "电话", d, "cash_on_delivery", "PO-2", "P1", "1", ""],
            ["2", cust.number, "电话", d, "net_30", "", "P1", "1", ""],
        ],
    )
    assert not report.ok and ids == [] and Order.objects.count() == 0
    got = _errors(report)
    assert [(n, col) for n, col, _m in got] == [
        (3, "接单渠道"),
        (4, "要求交货日期"),
        (5, "付款条件"),
        (5, "客户订单号"),
    ]
    assert got[0][2] == "与本订单组第 2 行不同：同一订单组的接单渠道须相同。"


def test_import_reports_every_bad_row_by_its_spreadsheet_row_and_blames_only_it(org, cust, catalogue):
    d = str(far_date())
    report, _ids = _import(
        org["rep1"],
        [
            ["1", cust.number, "电话", d, "net_30", "", "P1", "5", ""],
            ["1", cust.number, "电话", d, "net_30", "", "P1", "abc", ""],
            ["1", cust.number, "电话", d, "net_30", "", "P1", "2", ""],
            ["2", cust.number, "电话", d, "net_30", "", "NOPE", "1", ""],
            ["2", cust.number, "电话", d, "net_30", "", "P4", "1", "0"],
            ["3", cust.number, "传真", "2020-01-01", "net_30", "", "P1", "1", ""],
            ["3", cust.number, "传真", "2020-01-01", "net_30", "", "P1", "1e20", ""],
        ],
    )
    assert _errors(report) == [
        (3, "数量", "不是有效数字。"),
        (5, "产品编码", "产品编码 NOPE 不存在。"),
        (6, "税率（%）", "须与产品目录一致（13%）。"),
        (7, "要求交货日期", "要求交货日期不能早于今天。"),
        (8, "数量", "不能超过 99,999,999,999.999。"),
    ]
    assert Order.objects.count() == 0


def test_import_customer_numbers_within_scope(org, cust, catalogue):
    from kehu.receivables.tests.conftest import customer

    other = customer(org["rep2"])
    d = str(far_date())
    report, _ids = _import(
        org["rep1"],
        [
            ["1", other.number, "电话", d, "net_30", "", "P1", "1", ""],
            ["2", "KH-NOPE", "电话", d, "net_30", "", "P1", "1", ""],
            ["3", cust.number, "电话", d, "net_30", "", "P1", "1", ""],
        ],
    )
    assert _errors(report) == [(2, "客户编号", "客户编号不存在。"), (3, "客户编号", "客户编号不存在。")]
    assert Order.objects.count() == 0
    report, ids = _import(org["rep2"], [["1", other.number, "电话", d, "net_30", "", "P1", "1", ""]])
    assert report.ok and len(ids) == 1


def test_import_queries_grow_with_orders_not_lines(org, cust, catalogue, django_assert_max_num_queries):
    """Rows are read and grouped first, then one order_create per group: 3 orders of 40 lines cost the same
    queries as 3 orders of 2 lines."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    d = str(far_date())

    def rows(n):
        return [
            [str(g), cust.number, "电话", d, "net_30", "", "P1", str(k + 1), ""]
            for g in (1, 2, 3)
            for k in range(n)
        ]

    with CaptureQueriesContext(connection) as small:
        assert _import(org["rep1"], rows(2))[0].ok
    with django_assert_max_num_queries(60), CaptureQueriesContext(connection) as big:
        report, ids = _import(org["rep1"], rows(40))
    assert report.ok and len(ids) == 3 and len(big) <= len(small)
    assert [o.lines.count() for o in Order.objects.filter(pk__in=ids).order_by("pk")] == [40, 40, 40]


def test_import_service_checks_its_own_permission(org, cust, catalogue):
    from kehu.core.errors import PermissionDenied

    for who in ("auditor", "gm"):  # the general manager enters orders but does not import them
        with pytest.raises(PermissionDenied):
            _import(org[who], [["1", cust.number, "电话", str(far_date()), "net_30", "", "P1", "1", ""]])
    assert Order.objects.count() == 0
