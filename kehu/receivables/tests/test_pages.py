"""Pages, API, export, import and the dossier sections of the receivables module: scope (a rep sees only the own
customers' ledger; 404 for others), roles (403), confidentiality of the reports, bounded query counts."""

from __future__ import annotations

import io
import json
from decimal import Decimal as D

import pytest
import python_calamine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kehu.core.excel import write_xlsx
from kehu.core.tests.factories import PASSWORD
from kehu.receivables import collections, imports, services
from kehu.receivables.models import Entry
from kehu.receivables.tests.conftest import customer, days_ago

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def booked(fin, org, cust):
    a = services.invoice_post(
        actor=fin,
        customer_id=cust.pk,
        number="FP-1",
        entry_date=days_ago(60),
        due_date=days_ago(40),
        amount="1000",
    )
    services.invoice_post(
        actor=fin, customer_id=cust.pk, number="FP-2", entry_date=days_ago(10), amount="500"
    )
    services.receipt_post(
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(5),
        lines=[
            {"method": "cash", "amount": "300"},
            {"method": "acceptance", "amount": "200", "bill_maturity": days_ago(-90)},
        ],
        allocations=[{"invoice_id": a.pk, "amount": "500"}],
    )
    return cust


def test_ledger_page_scope_and_queries(client, org, booked, django_assert_max_num_queries):
    other = customer(org["rep2"])
    login(client, org["rep1"])
    url = reverse("receivables_ledger", args=[booked.pk])
    client.get(url)
    with django_assert_max_num_queries(25):
        body = client.get(url).content.decode()
    assert "FP-1" in body and "1,000.00" in body and "承兑汇票" in body
    assert "40 天" in body  # FP-1 is 40 days past its due date
    assert "登记发票" not in body  # a rep may not post
    assert client.get(reverse("receivables_ledger", args=[other.pk])).status_code == 404
    assert client.get(reverse("receivables_post", args=[booked.pk, "invoice"])).status_code == 403


def test_posting_through_the_pages(client, fin, cust):
    login(client, fin)
    r = client.post(
        reverse("receivables_post", args=[cust.pk, "invoice"]),
        {"number": "W1", "entry_date": days_ago(3).isoformat(), "amount": "100.00", "terms_days": "30"},
    )
    assert r.status_code == 302
    r = client.post(
        reverse("receivables_post", args=[cust.pk, "receipt"]),
        {
            "entry_date": days_ago(1).isoformat(),
            "method_0": "cash",
            "amount_0": "60",
            "method_1": "on_credit",
            "amount_1": "50",
        },
    )
    assert r.status_code == 200 and "欠款金额" in r.content.decode()  # error shown, nothing posted
    assert Entry.objects.filter(kind="receipt").count() == 0
    r = client.post(
        reverse("receivables_post", args=[cust.pk, "receipt"]),
        {
            "entry_date": days_ago(1).isoformat(),
            "method_0": "cash",
            "amount_0": "60",
            "method_1": "on_credit",
            "amount_1": "40",
        },
    )
    assert r.status_code == 302
    receipt = Entry.objects.get(kind="receipt")
    r = client.post(
        reverse("receivables_reverse", args=[receipt.pk]),
        {"entry_date": days_ago(0).isoformat(), "reason": "错账"},
    )
    assert r.status_code == 302 and Entry.objects.filter(kind="reversal").count() == 1
    r = client.post(
        reverse("receivables_deposit_new", args=[cust.pk]),
        {
            "kind": "guarantee",
            "reference": "G-1",
            "amount": "100",
            "valid_from": days_ago(1).isoformat(),
            "valid_to": days_ago(2).isoformat(),
        },
    )
    assert r.status_code == 200 and "到期日不能早于生效日" in r.content.decode()


def test_ageing_page_export_and_queries(client, org, fin, booked, django_assert_max_num_queries):
    for _n in range(5):  # more customers do not mean more queries
        c = customer(org["rep2"])
        services.invoice_post(actor=fin, customer_id=c.pk, number="X", entry_date=days_ago(100), amount="1")
    login(client, org["gm"])
    client.get(reverse("receivables_ageing"))
    with django_assert_max_num_queries(20):
        r = client.get(reverse("receivables_ageing"))
    assert r.status_code == 200 and "1,005.00" in r.content.decode()
    r = client.get(reverse("receivables_ageing") + "?export=xlsx")
    rows = (
        python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(r.content))
        .get_sheet_by_index(0)
        .to_python()
    )
    assert rows[-1][1] == "合计" and float(rows[-1][-1]) == 1005.0
    assert sum(float(r[-1]) for r in rows[1:-1]) == 1005.0
    login(client, org["rep1"])
    body = client.get(reverse("receivables_ageing")).content.decode()
    assert "1,000.00" in body and "1,005.00" not in body


def test_exposure_and_collections_pages(client, org, booked, django_assert_max_num_queries):
    login(client, org["credit"])
    client.get(reverse("receivables_exposure"))
    with django_assert_max_num_queries(20):
        body = client.get(reverse("receivables_exposure") + "?problem=overdue").content.decode()
    assert booked.name in body
    r = client.post(
        reverse("receivables_collections", args=[booked.pk]),
        {
            "kind": "promise",
            "happened_on": days_ago(1).isoformat(),
            "promise_date": days_ago(-5).isoformat(),
            "promise_amount": "700",
        },
    )
    assert r.status_code == 302
    body = client.get(reverse("receivables_collections", args=[booked.pk])).content.decode()
    assert "待兑现" in body and "收款异样报告表" in body
    r = client.get(
        reverse("receivables_statement", args=[booked.pk]) + f"?start={days_ago(90)}&end={days_ago(0)}"
    )
    body = r.content.decode()
    assert "往来账款对账单" in body and 'id="closing">1,000.00' in body


def test_reports_hidden_from_rep_in_page_and_dossier(client, org, booked):
    report = collections.report_create(
        actor=org["credit"],
        customer_id=booked.pk,
        kind="abnormal",
        report_date=days_ago(0),
        amount="100",
        situation="逾期未付",
    )
    login(client, org["rep1"])
    assert client.get(reverse("receivables_report", args=[report.pk])).status_code == 403
    body = client.get(reverse("customer_detail", args=[booked.pk]) + "?tab=3").content.decode()
    assert "往来账款与信用占用" in body and report.number not in body
    login(client, org["gm"])
    assert client.get(reverse("receivables_report", args=[report.pk])).status_code == 200
    body = client.get(reverse("customer_detail", args=[booked.pk]) + "?tab=3").content.decode()
    assert report.number in body


def api(client, method, path, body=None):
    kw = {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    return getattr(client, method)(f"/api/v1/credit{path}", **kw)


def test_api(client, org, fin, booked):
    other = customer(org["rep2"])
    login(client, org["rep1"])
    got = api(client, "get", f"/ledger?customer_id={booked.pk}").json()
    assert got["count"] == 3
    assert api(client, "get", f"/ledger?customer_id={other.pk}").status_code == 404
    assert api(client, "get", f"/exposure/{other.pk}").status_code == 404
    ex = api(client, "get", f"/exposure/{booked.pk}").json()
    assert D(ex["total"]) == D("1000.00") and ex["overdue_items"] == 1
    assert (
        api(
            client,
            "post",
            "/ledger",
            {
                "kind": "invoice",
                "customer_id": booked.pk,
                "entry_date": str(days_ago(1)),
                "amount": "5",
                "number": "Z",
            },
        ).status_code
        == 403
    )
    login(client, fin)
    r = api(
        client,
        "post",
        "/ledger",
        {
            "kind": "receipt",
            "customer_id": booked.pk,
            "entry_date": str(days_ago(1)),
            "lines": [{"method": "wire", "amount": "100"}, {"method": "cheque", "amount": "50"}],
        },
    )
    assert r.status_code == 201 and len(r.json()["lines"]) == 2
    r = api(
        client,
        "post",
        "/ledger",
        {
            "kind": "invoice",
            "customer_id": booked.pk,
            "entry_date": str(days_ago(1)),
            "amount": "5.001",
            "number": "Z",
        },
    )
    assert r.status_code == 400 and r.json()["detail"]["field"] == "amount"
    rid = api(client, "get", f"/ledger?customer_id={booked.pk}&kind=receipt").json()["items"][0]["id"]
    assert (
        api(
            client, "post", f"/ledger/{rid}/reverse", {"entry_date": str(days_ago(0)), "reason": "重复"}
        ).status_code
        == 201
    )
    ag = api(client, "get", "/ageing").json()
    assert D(ag["total_balance"]) == D("1000.00") and len(ag["totals"]) == len(ag["buckets"]) == 7


def test_import_all_or_nothing(client, fin, cust):
    def upload(rows):
        data = write_xlsx(imports.SPEC.headers, rows)
        return SimpleUploadedFile(
            "l.xlsx", data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )

    bad = [
        ["发票", cust.number, "I-1", str(days_ago(50)), str(days_ago(20)), "1000.00", "", "", "", ""],
        ["收款", cust.number, "R-1", str(days_ago(5)), "", "300", "比特币", "", "I-1", ""],
    ]
    report = imports.ledger_import(actor=fin, file=upload(bad))
    assert not report.ok and Entry.objects.count() == 0
    assert report.rows[1].errors and report.rows[1].errors[0][0] == "结算方式"
    good = [
        bad[0],
        ["收款", cust.number, "R-1", str(days_ago(5)), "", "300", "承兑汇票", str(days_ago(-100)), "I-1", ""],
    ]
    report = imports.ledger_import(actor=fin, file=upload(good))
    assert report.ok and report.created == 2
    assert Entry.objects.get(number="I-1").open_amount == D("700.00")
    login(client, fin)
    assert client.get(reverse("receivables_import") + "?template=1").status_code == 200


def test_apply_prepayment_and_release_deposit(client, org, fin, cust):
    pre = services.receipt_post(
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(9),
        prepayment=True,
        lines=[{"method": "wire", "amount": "80"}],
    ).entry
    a = services.invoice_post(
        actor=fin, customer_id=cust.pk, number="A", entry_date=days_ago(5), amount="100"
    )
    login(client, org["rep1"])
    assert (
        api(
            client, "post", "/ledger/apply", {"customer_id": cust.pk, "entry_date": str(days_ago(0))}
        ).status_code
        == 403
    )
    login(client, fin)
    r = api(client, "post", "/ledger/apply", {"customer_id": cust.pk, "entry_date": str(days_ago(0))})
    assert r.status_code == 201 and r.json()[0]["debit_id"] == a.pk
    a.refresh_from_db()
    pre.refresh_from_db()
    assert (a.open_amount, pre.open_amount) == (D("20.00"), D("0"))
    r = api(client, "post", "/ledger/apply", {"customer_id": cust.pk, "entry_date": str(days_ago(0))})
    assert r.status_code == 400 and r.json()["detail"]["rule"] == "no_credit"
    dep = services.deposit_create(
        actor=fin,
        customer_id=cust.pk,
        kind="collateral",
        reference="DY-1",
        amount="15",
        valid_from=days_ago(3),
        valid_to=days_ago(-300),
    )
    from kehu.receivables import interface

    assert interface.credit_exposure(cust) == D("5.00")
    r = client.post(reverse("receivables_deposit_release", args=[dep.pk]), {"reason": ""})
    assert r.status_code == 302 and interface.credit_exposure(cust) == D(
        "5.00"
    )  # refused: a reason is required
    client.post(reverse("receivables_deposit_release", args=[dep.pk]), {"reason": "抵押解除"})
    assert interface.credit_exposure(cust) == D("20.00")
    login(client, org["rep1"])
    assert (
        client.post(reverse("receivables_deposit_release", args=[dep.pk]), {"reason": "x"}).status_code == 403
    )


def test_openapi_lists_the_receivables_endpoints(client, org):
    login(client, org["gm"])
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/credit/ledger", "/api/v1/credit/exposure/{customer_id}", "/api/v1/credit/ageing"} <= set(
        paths
    )
