"""Financial statements (R-CRD-01 item 6, issue 6 item 2): the checks (required lines, non-negative lines, balance
within the policy tolerance, period ends), the ratios by hand (zero denominators as "—"), the xlsx import (all or
nothing, per-row report) and the API."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any

import pytest
import xlsxwriter

from kehu.core.errors import PermissionDenied, ValidationFailed
from kehu.core.models.audit import AuditEntry
from kehu.credit import ratios, services
from kehu.credit.models import FinancialStatement

from .conftest import GOOD_LINES

pytestmark = pytest.mark.django_db

Y2024 = dt.date(2024, 12, 31)


def save(actor, customer, period=Y2024, **changes):
    lines = {**GOOD_LINES, **changes}
    return services.statement_save(
        actor=actor, customer_id=customer.pk, period_end=period, period_type="year", lines=lines
    )


def test_ratios_by_hand(people, customer):
    s = save(people["officer"], customer)
    r = ratios.compute(s)
    assert r["current_ratio"] == Decimal("1.6")  # 8,000,000 / 5,000,000
    assert r["quick_ratio"] == Decimal("1.1")  # (8,000,000 − 2,500,000) / 5,000,000
    assert r["debt_to_asset"] == Decimal("45")  # 9,000,000 / 20,000,000
    assert r["interest_cover"] == Decimal("9")  # (2,400,000 + 300,000) / 300,000
    assert r["gross_margin"] == Decimal("20")  # (30,000,000 − 24,000,000) / 30,000,000
    assert r["net_margin"] == Decimal("6")  # 1,800,000 / 30,000,000
    assert r["roe"] == Decimal("16.3636")  # 1,800,000 / 11,000,000
    assert r["receivable_turnover"] == Decimal("10")
    assert r["inventory_turnover"] == Decimal("9.6")
    assert r["ocf_to_debt"] == Decimal("30")
    texts = {row["key"]: row["text"] for row in ratios.rows(s)}
    assert texts["roe"] == "16.36%" and texts["current_ratio"] == "1.60"


def test_zero_denominators_show_dash(people, customer):
    s = save(
        people["officer"],
        customer,
        current_liabilities=Decimal(0),
        interest_expense=Decimal(0),
        receivables=Decimal(0),
        inventory=Decimal(0),
    )
    r = ratios.compute(s)
    for key in (
        "current_ratio",
        "quick_ratio",
        "interest_cover",
        "receivable_turnover",
        "inventory_turnover",
    ):
        assert r[key] is None, key
    texts = {row["key"]: row["text"] for row in ratios.rows(s)}
    assert texts["interest_cover"] == "—" and texts["debt_to_asset"] == "45.00%"
    # a negative equity gives no ROE (not a negative one); zero revenue no margins
    neg = services.statement_save(
        actor=people["officer"],
        customer_id=customer.pk,
        period_end=dt.date(2023, 12, 31),
        period_type="year",
        lines={
            **GOOD_LINES,
            "total_liabilities": Decimal("21000000"),
            "equity": Decimal("-1000000"),
            "revenue": Decimal(0),
            "cost_of_sales": Decimal(0),
        },
    )
    r = ratios.compute(neg)
    assert r["roe"] is None and r["net_margin"] is None and r["gross_margin"] is None
    assert ratios.compute(object())["current_ratio"] is None  # nothing at all: still no error


def test_balance_at_the_tolerance_edge(people, customer):
    # policy default: 1.00 yuan
    ok = save(people["officer"], customer, total_assets=Decimal("20000001.00"))
    assert ok.pk
    with pytest.raises(ValidationFailed) as exc:
        save(people["officer"], customer, period=dt.date(2023, 12, 31), total_assets=Decimal("20000001.01"))
    assert exc.value.field == "total_assets" and exc.value.rule == "balance"
    assert "资产总计" in str(exc.value.message) and "1.00" in str(exc.value.message)
    assert FinancialStatement.objects.count() == 1


@pytest.mark.parametrize(
    "changes,field,rule,label",
    [
        ({"equity": None}, "equity", "required", "所有者权益合计"),
        ({"operating_cash_flow": None}, "operating_cash_flow", "required", "经营活动现金流量净额"),
        ({"inventory": Decimal("-1")}, "inventory", "non_negative", "存货"),
        ({"interest_expense": Decimal("-5")}, "interest_expense", "non_negative", "利息费用"),
        ({"current_assets": Decimal("21000000")}, "current_assets", "part_of_total", "流动资产合计"),
        ({"current_liabilities": Decimal("9500000")}, "current_liabilities", "part_of_total", "流动负债合计"),
        ({"cash": "abc"}, "cash", "number", "货币资金"),
    ],
)
def test_refusals_name_the_line(people, customer, changes, field, rule, label):
    with pytest.raises(ValidationFailed) as exc:
        save(people["officer"], customer, **changes)
    assert (exc.value.field, exc.value.rule) == (field, rule)
    assert label in str(exc.value.message)
    assert not FinancialStatement.objects.exists()


def test_period_checks_and_duplicates(people, customer):
    officer = people["officer"]
    with pytest.raises(ValidationFailed) as exc:
        services.statement_save(
            actor=officer,
            customer_id=customer.pk,
            period_end=dt.date(2024, 11, 30),
            period_type="year",
            lines=GOOD_LINES,
        )
    assert exc.value.rule == "year_end"
    with pytest.raises(ValidationFailed) as exc:
        services.statement_save(
            actor=officer,
            customer_id=customer.pk,
            period_end=dt.date(2024, 5, 31),
            period_type="quarter",
            lines=GOOD_LINES,
        )
    assert exc.value.rule == "quarter_end"
    q = services.statement_save(
        actor=officer,
        customer_id=customer.pk,
        period_end=dt.date(2024, 6, 30),
        period_type="quarter",
        lines=GOOD_LINES,
    )
    with pytest.raises(ValidationFailed) as exc:
        services.statement_save(
            actor=officer,
            customer_id=customer.pk,
            period_end=dt.date(2099, 12, 31),
            period_type="year",
            lines=GOOD_LINES,
        )
    assert exc.value.rule == "not_future"
    with pytest.raises(ValidationFailed) as exc:
        services.statement_save(
            actor=officer,
            customer_id=customer.pk,
            period_end=dt.date(2024, 6, 30),
            period_type="quarter",
            lines=GOOD_LINES,
        )
    assert exc.value.rule == "unique"
    # correcting the period itself is an update with one audit entry carrying the change
    services.statement_save(
        actor=officer,
        customer_id=customer.pk,
        statement_id=q.pk,
        period_end=q.period_end,
        period_type="quarter",
        lines={**GOOD_LINES, "cash": Decimal("1999999")},
    )
    entry = AuditEntry.objects.filter(object_id=str(q.pk), action="update").get()
    assert entry.changes["cash"] == ["2000000.00", "1999999.00"] and entry.confidential


def test_wrong_roles(people, customer):
    for who in ("rep1", "mgr", "gm"):
        with pytest.raises(PermissionDenied):
            save(people[who], customer)
    assert save(people["finance"], customer).pk


# --------------------------------------------------------------------------------------------------------------
# Import


def book(rows, headers=None) -> io.BytesIO:
    spec = services.import_spec()
    headers = headers or spec.headers
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    for c, h in enumerate(headers):
        ws.write(0, c, h)
    for r, row in enumerate(rows, start=1):
        for c, h in enumerate(headers):
            if h in row:
                ws.write(r, c, row[h])
    wb.close()
    buf.seek(0)
    buf.name = "statements.xlsx"
    return buf


def row(period: str, **changes) -> dict[str, object]:
    values = {services.line_label(k): str(v) for k, v in GOOD_LINES.items()}
    values.update({services.line_label(k): ("" if v is None else str(v)) for k, v in changes.items()})
    return {"报告期末": period, "报表类型": "年报", **values}


def test_import_good_file(people, customer):
    save(people["officer"], customer, period=dt.date(2023, 12, 31), cash=Decimal("1"))
    report = services.statement_import(
        actor=people["officer"], customer_id=customer.pk, file=book([row("2023-12-31"), row("2024-12-31")])
    )
    assert report.ok, report.errors
    assert (report.created, report.updated) == (1, 1)
    stmts = list(FinancialStatement.objects.filter(customer=customer).order_by("period_end"))
    assert [s.period_end.year for s in stmts] == [2023, 2024]
    assert stmts[0].cash == Decimal("2000000.00") and stmts[1].source == "import"


def test_import_bad_file_writes_nothing(people, customer):
    before = AuditEntry.objects.count()
    report = services.statement_import(
        actor=people["officer"],
        customer_id=customer.pk,
        file=book(
            [
                row("2023-12-31"),
                row("2024-12-31", total_assets="30000000"),  # unbalanced
                row("2022-12-31", inventory="-5"),
                row("2021-13-40"),
            ]
        ),
    )
    assert not report.ok
    errors = {r.number: r.errors for r in report.errors}
    assert set(errors) == {3, 4, 5}
    assert errors[3][0][0] == "资产总计" and "容差" in errors[3][0][1]
    assert errors[4][0][0] == "存货"
    assert errors[5][0][0] == "报告期末"
    assert not FinancialStatement.objects.exists()
    assert AuditEntry.objects.count() == before  # the good row's entry rolled back too
    wrong = services.statement_import(
        actor=people["officer"], customer_id=customer.pk, file=book([{"x": 1}], headers=["x"])
    )
    assert not wrong.ok and wrong.file_error


def test_import_page_template_and_report(client, people, customer):
    client.force_login(people["officer"])
    t = client.get("/credit/statements/template/")
    assert t.status_code == 200 and t["Content-Type"].startswith("application/vnd.openxmlformats")
    bad = client.post(
        f"/credit/customers/{customer.pk}/statements/import/", {"file": book([row("2024-12-31", equity="")])}
    )
    assert bad.status_code == 200 and "所有者权益合计" in bad.content.decode()
    good = client.post(
        f"/credit/customers/{customer.pk}/statements/import/", {"file": book([row("2024-12-31")])}
    )
    assert good.status_code == 302 and FinancialStatement.objects.count() == 1
    client.force_login(people["rep1"])
    assert client.get("/credit/statements/template/").status_code == 403
    assert (
        client.post(
            f"/credit/customers/{customer.pk}/statements/import/", {"file": book([row("2023-12-31")])}
        ).status_code
        == 403
    )


def test_form_page_and_api(client, people, customer):
    client.force_login(people["officer"])
    url = f"/credit/customers/{customer.pk}/statements/new/"
    assert client.get(url).status_code == 200
    data = {"period_end": "2024-12-31", "period_type": "year", **{k: str(v) for k, v in GOOD_LINES.items()}}
    bad = client.post(url, {**data, "equity": "10000000"})
    assert bad.status_code == 200 and "超过容差" in bad.content.decode()
    assert not FinancialStatement.objects.exists()
    ok = client.post(url, data)
    s = FinancialStatement.objects.get()
    assert ok.status_code == 302 and ok["Location"] == f"/credit/statements/{s.pk}/"
    detail = client.get(f"/credit/statements/{s.pk}/").content.decode()
    assert 'data-ratio="roe">16.36%' in detail
    # API: create, refusal naming the line, read
    body: dict[str, Any] = {
        "period_end": "2023-12-31",
        "period_type": "year",
        "lines": {k: str(v) for k, v in GOOD_LINES.items()},
    }
    r = client.post(
        f"/api/v1/credit/customers/{customer.pk}/statements",
        json.dumps(body),
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["ratios"]["current_ratio"] == "1.6000"
    body["period_end"], body["lines"]["receivables"] = "2022-12-31", "-1"
    r = client.post(
        f"/api/v1/credit/customers/{customer.pk}/statements",
        json.dumps(body),
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["detail"] == {"field": "receivables", "rule": "non_negative"}
    r = client.get(f"/api/v1/credit/customers/{customer.pk}/statements")
    assert r.status_code == 200 and [x["period_end"] for x in r.json()] == ["2024-12-31", "2023-12-31"]
