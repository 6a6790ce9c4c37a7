"""Importing customers and contacts from Excel (R-PLT-10): template, per-row report through the services' own
validation (R-CUS-02, R-CUS-03), duplicates against the database and within the file (R-CUS-11), all-or-nothing,
background import with progress, pages and API."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import pytest
import python_calamine
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.core.errors import PermissionDenied, ValidationFailed
from kehu.core.jobs.models import JobRun, JobState
from kehu.core.jobs.testing import run_pending_jobs
from kehu.core.models.audit import AuditEntry
from kehu.core.tests.factories import PASSWORD, user_with
from kehu.customers import imports
from kehu.customers.forms import ContactForm, CustomerForm
from kehu.customers.models import Contact, Customer
from kehu.customers.tests.conftest import code, make

pytestmark = pytest.mark.django_db

C_HEADERS = imports.CUSTOMER_SPEC.headers
P_HEADERS = imports.CONTACT_SPEC.headers


def book(
    customers: Sequence[dict[str, Any]],
    contacts: Sequence[dict[str, Any]] = (),
    c_headers: list[str] | None = None,
) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for title, headers, rows in (
        ("客户", c_headers or C_HEADERS, customers),
        ("联系人", P_HEADERS, contacts),
    ):
        ws = wb.add_worksheet(title)
        for c, h in enumerate(headers):
            ws.write(0, c, h)
        for r, row in enumerate(rows, start=1):
            for c, h in enumerate(headers):
                v = row.get(h, "")
                if isinstance(v, dt.date):
                    ws.write_datetime(r, c, dt.datetime.combine(v, dt.time()), date_fmt)
                elif v != "":
                    ws.write(r, c, v)
    wb.close()
    return buf.getvalue()


def upload(data: bytes, name: str = "customers.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=imports.XLSX_MIME)


def counts() -> tuple[int, int, int]:
    return Customer.objects.count(), Contact.objects.count(), AuditEntry.objects.count()


def row(name: str, **kw: Any) -> dict[str, Any]:
    out = {"客户名称": name, "统一社会信用代码": code(), "客户类型": "经销商", "客户类别": "一般"}
    out.update(kw)
    return out


def run(actor: Any, data: bytes, **kw: Any) -> imports.CustomerImportReport:
    return imports.customer_import(actor=actor, data=data, filename="customers.xlsx", **kw)


# ---------------------------------------------------------------------------------------------------------------
# Template


def test_template_has_every_field_with_the_form_labels_and_an_example(org):
    data = imports.template_xlsx()
    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert wb.sheet_names[:2] == ["客户", "联系人"]
    customers = wb.get_sheet_by_name("客户").to_python()
    assert customers[0] == C_HEADERS
    assert len(customers) == 2 and customers[1][C_HEADERS.index("客户类别")] == "重要"
    form = CustomerForm()
    for col in imports.CUSTOMER_SPEC.columns:
        if col.field in form.fields and col.field != "is_person":
            assert col.header == str(form.fields[col.field].label), col.field
    form_fields = {f for f in form.fields if f not in ("is_person",)}
    assert form_fields <= {c.field for c in imports.CUSTOMER_SPEC.columns}
    contact_form = ContactForm()
    for col in imports.CONTACT_SPEC.columns[1:]:
        assert col.header == str(contact_form.fields[col.field].label)
    contacts = wb.get_sheet_by_name("联系人").to_python()
    assert contacts[0] == P_HEADERS and contacts[1][0] == "C1"


def test_template_example_row_passes_the_format_checks(org):
    customers, contacts = imports.read_workbook(imports.template_xlsx())
    imports._parse(customers)
    imports._parse(contacts)
    assert not [r.errors for r in customers.rows if r.errors]
    assert not [r.errors for r in contacts.rows if r.errors]
    values = customers.values[2]
    assert values["customer_class"] == "important" and values["kind"] == "distributor"
    assert values["founded_on"] == dt.date(2015, 6, 18) and values["capital_currency"] == "CNY"


# ---------------------------------------------------------------------------------------------------------------
# Good file


def test_good_file_imports_customers_and_contacts_with_audit_entries(org):
    mgr = org["mgr_east"]
    c1 = code()
    data = book(
        [
            row(
                "苏州恒达电子科技有限公司",
                行键="A",
                统一社会信用代码=c1,
                客户类别="重要",
                负责人="rep1",
                跟进人员="rep1，rep3",
                注册资本=1234567.5,
                币种="USD",
                成立日期=dt.date(2012, 3, 4),
                营业期限自="2012/03/04",
                行业="电子电气",
                电话="0512-66881234",
                邮政编码="215000",
            ),
            row("杭州青禾包装材料有限公司", 客户类别="general", 客户类型="supplier", 负责人="rep3"),
            {"客户名称": "王小明", "自然人客户": "是"},
        ],
        [
            {"所属客户": c1, "姓名": "李明", "角色": "采购", "手机": "13812345678", "有效签单人员": "是"},
            {"所属客户": "a", "姓名": "赵静", "角色": "finance", "邮箱": "zj@example.com"},
        ],
    )
    before = counts()
    last_seq = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    report = run(mgr, data)
    assert report.ok, report.error_list()
    assert (report.created_customers, report.created_contacts) == (3, 2)
    a = Customer.objects.get(credit_code=c1)
    assert a.customer_class == "important" and a.kind == "distributor" and a.industry == "electronics"
    assert a.owner == org["rep1"] and set(a.staff.values_list("username", flat=True)) == {"rep1", "rep3"}
    assert str(a.registered_capital) == "1234567.50" and a.capital_currency == "USD"
    assert a.founded_on == dt.date(2012, 3, 4) and a.operating_from == dt.date(2012, 3, 4)
    assert a.number.startswith("KH") and a.status == "prospect"
    assert sorted(a.contacts.values_list("name", flat=True)) == ["李明", "赵静"]
    assert a.contacts.get(name="李明").is_signer is True
    person = Customer.objects.get(name="王小明")
    assert person.is_person and person.owner == mgr
    after = counts()
    assert after[0] - before[0] == 3 and after[1] - before[1] == 2
    # one create entry per customer and per contact, plus the import itself
    creates = AuditEntry.objects.filter(action="create", seq__gt=last_seq)
    assert creates.filter(object_type__endswith="customer").count() == 3
    assert creates.filter(object_type__endswith="contact").count() == 2
    entry = AuditEntry.objects.get(action="import")
    assert entry.actor == mgr
    assert entry.changes["sha256"] == report.sha256 and entry.changes["file"] == "customers.xlsx"
    assert entry.changes["rows"] == 5
    assert after[2] - before[2] >= 6


# ---------------------------------------------------------------------------------------------------------------
# Bad rows: nothing written, the row, column and message reported


def test_one_bad_row_writes_nothing_and_names_row_column_and_expected_check_character(org):
    good = code()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    data = book(
        [
            row("苏州恒达电子科技有限公司", 统一社会信用代码=good),
            row("宁波远航国际贸易有限公司", 统一社会信用代码=bad),
        ],
        [{"所属客户": good, "姓名": "李明", "手机": "13812345678"}],
    )
    before = counts()
    report = run(org["mgr_east"], data)
    assert not report.ok
    assert counts() == before
    errors = report.error_list()
    assert len(errors) == 1
    e = errors[0]
    assert (e["sheet"], e["row"], e["column"]) == ("客户", 3, "统一社会信用代码")
    assert f"第 18 位应为“{good[17]}”" in e["message"]  # the message names the expected check character
    xlsx = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(report.report_xlsx()))
    sheet = xlsx.get_sheet_by_name("客户").to_python()
    assert sheet[0][-1] == "错误" and sheet[1][-1] == "" and "统一社会信用代码：" in sheet[2][-1]


@pytest.mark.parametrize(
    ("fields", "column", "fragment"),
    [
        ({"电话": "12345"}, "电话", "格式不正确"),
        ({"邮政编码": "2150"}, "邮政编码", "6 位数字"),
        ({"客户类别": "特级"}, "客户类别", "核心、重要、一般"),
        ({"成立日期": "2020-13-45"}, "成立日期", "YYYY-MM-DD"),
        ({"注册资本": "很多"}, "注册资本", "金额"),
        ({"统一社会信用代码": ""}, "统一社会信用代码", "必须填写"),
        ({"客户类别": "重要", "负责人": "rep1"}, "跟进人员", "至少需要分配"),
        ({"负责人": "nobody"}, "负责人", "不存在"),
        ({"营业期限自": "2020-01-01", "营业期限至": "2019-01-01"}, "营业期限至", "不能早于"),
    ],
)
def test_service_rules_apply_per_row(org, fields, column, fragment):
    before = counts()
    report = run(org["mgr_east"], book([row("苏州恒达电子科技有限公司", **fields)]))
    assert not report.ok and counts() == before
    [e] = report.error_list()
    assert e["column"] == column and fragment in e["message"], e


def test_required_name_and_contact_rules(org):
    c1 = code()
    data = book(
        [row("", 统一社会信用代码=c1, 城市="苏州"), row("苏州恒达电子科技有限公司")],
        [
            {"所属客户": "X9", "姓名": "李明", "手机": "13812345678"},
            {"所属客户": c1, "姓名": "赵静", "手机": "1381234"},
        ],
    )
    report = run(org["mgr_east"], data)
    got = {(e["sheet"], e["row"], e["column"]) for e in report.error_list()}
    assert ("客户", 2, "客户名称") in got
    assert ("联系人", 2, "所属客户") in got
    assert ("联系人", 3, "手机") in got


def test_contact_without_any_channel_is_refused_by_the_service_and_rolls_back(org):
    c1 = code()
    before = counts()
    report = run(
        org["mgr_east"],
        book([row("苏州恒达电子科技有限公司", 统一社会信用代码=c1)], [{"所属客户": c1, "姓名": "李明"}]),
    )
    assert not report.ok and counts() == before
    [e] = report.error_list()
    assert e["sheet"] == "联系人" and e["column"] == "手机" and "至少填写" in e["message"]


# ---------------------------------------------------------------------------------------------------------------
# Duplicates (R-CUS-11)


def test_duplicates_against_the_database(org):
    existing = make(org["rep1"], "上海华信精密机械有限公司")
    before = counts()
    data = book(
        [
            row("华信精密机械（上海）有限公司"),  # near-identical name
            row("杭州青禾包装材料有限公司", 统一社会信用代码=existing.credit_code),  # same credit code
        ]
    )
    report = run(org["mgr_east"], data)
    assert not report.ok and counts() == before
    by_row = {e["row"]: e for e in report.error_list()}
    assert by_row[2]["column"] == "客户名称" and by_row[2]["candidates"][0]["id"] == existing.pk
    assert by_row[3]["column"] == "统一社会信用代码" and existing.number in by_row[3]["message"]
    assert by_row[3]["candidates"][0]["reason"] == "credit_code"
    assert not report.needs_confirmation  # the exact match cannot be confirmed
    # confirmed: the near-identical name may be imported, the credit code never
    report = run(org["mgr_east"], data, confirm_duplicates=True)
    assert not report.ok and [e["row"] for e in report.error_list()] == [3]
    report = run(org["mgr_east"], book([row("华信精密机械（上海）有限公司")]))
    assert report.needs_confirmation
    report = run(org["mgr_east"], book([row("华信精密机械（上海）有限公司")]), confirm_duplicates=True)
    assert report.ok
    created = Customer.objects.get(pk=report.customer_ids[0])
    entry = AuditEntry.objects.get(
        action="create", object_type="customers.customer", object_id=str(created.pk)
    )
    assert existing.name in entry.reason


def test_duplicates_within_the_file(org):
    same = code()
    data = book(
        [
            row("苏州恒达电子科技有限公司", 统一社会信用代码=same),
            row("杭州青禾包装材料有限公司", 统一社会信用代码=same),
            row("恒达电子科技（苏州）股份有限公司"),
        ]
    )
    report = run(org["mgr_east"], data)
    by_row = {e["row"]: e for e in report.error_list()}
    assert set(by_row) == {3, 4}
    assert "第 2 行" in by_row[3]["message"] and by_row[3]["column"] == "统一社会信用代码"
    assert by_row[4]["candidates"] == [
        {"row": 2, "name": "苏州恒达电子科技有限公司", "score": 100.0, "reason": "name_in_file"}
    ]
    report = run(org["mgr_east"], data, confirm_duplicates=True)
    assert [e["row"] for e in report.error_list()] == [3]
    names_only = book([row("苏州恒达电子科技有限公司"), row("恒达电子科技（苏州）股份有限公司")])
    ok = run(org["mgr_east"], names_only, confirm_duplicates=True)
    assert ok.ok and ok.created_customers == 2


# ---------------------------------------------------------------------------------------------------------------
# Access


def test_roles_without_import_are_refused(org):
    data = book([row("苏州恒达电子科技有限公司")])
    for who in ("rep1", "gm", "credit", "auditor"):
        with pytest.raises(PermissionDenied):
            run(org[who], data)
    admin = user_with("sysadmin", username="admin1")
    assert run(admin, book([row("苏州恒达电子科技有限公司", 负责人="rep2")])).ok


def test_owner_outside_the_importers_department_is_refused(org):
    before = counts()
    report = run(
        org["mgr_east"],
        book(
            [row("苏州恒达电子科技有限公司", 负责人="rep1"), row("杭州青禾包装材料有限公司", 负责人="rep2")]
        ),
    )
    assert not report.ok and counts() == before
    [e] = report.error_list()
    assert e["row"] == 3 and e["column"] == "负责人" and "本部门" in e["message"]


# ---------------------------------------------------------------------------------------------------------------
# Malformed files


def test_malformed_files_are_refused_naming_the_rule(org, settings):
    mgr = org["mgr_east"]

    def refused(data: bytes, name: str = "c.xlsx") -> str:
        with pytest.raises(ValidationFailed) as exc:
            imports.customer_import_start(actor=mgr, upload=upload(data, name))
        assert exc.value.field == "file"
        return str(exc.value.message)

    assert "xlsx" in refused(b"a,b\n1,2\n", "c.csv")
    assert "无法读取" in refused(b"not a zip file")
    wrong = book([{"名称": "x"}], c_headers=["名称", "客户名称"])
    assert "无法识别的列：名称" in refused(wrong)
    assert "缺少必填列：客户名称" in refused(book([{"城市": "苏州"}], c_headers=["城市"]))
    assert "没有数据行" in refused(book([]))
    settings.KEHU_CUSTOMER_IMPORT_MAX_ROWS = 2
    assert "行数过多" in refused(book([row("甲公司"), row("乙公司"), row("丙公司")]))
    settings.KEHU_IMPORT_MAX_BYTES = 100
    assert "文件过大" in refused(book([row("甲公司")]))
    assert Customer.objects.count() == 0


# ---------------------------------------------------------------------------------------------------------------
# Background import


def test_large_file_runs_in_the_background_with_progress(org, settings):
    settings.KEHU_CUSTOMER_IMPORT_SYNC_ROWS = 2
    c1 = code()
    data = book(
        [
            row("苏州恒达电子科技有限公司", 统一社会信用代码=c1),
            row("杭州青禾包装材料有限公司"),
            row("宁波远航国际贸易有限公司"),
        ],
        [{"所属客户": c1, "姓名": "李明", "手机": "13812345678"}],
    )
    start = imports.customer_import_start(actor=org["mgr_east"], upload=upload(data))
    assert start.report is None and start.run is not None
    assert Customer.objects.count() == 0
    assert run_pending_jobs() == 1
    job = JobRun.objects.get(pk=start.run.pk)
    assert job.state == JobState.SUCCEEDED
    assert job.progress_total == 8 and job.progress_done == 8 and job.percent == 100
    result = job.result
    assert isinstance(result, dict)
    assert result["ok"] and result["created"] == {"customers": 3, "contacts": 1}
    assert Customer.objects.count() == 3 and Contact.objects.count() == 1
    assert AuditEntry.objects.filter(action="import", changes__sha256=start.sha256).exists()


def test_background_import_with_a_bad_row_writes_nothing_and_keeps_the_report(org, settings):
    settings.KEHU_CUSTOMER_IMPORT_SYNC_ROWS = 1
    data = book([row("苏州恒达电子科技有限公司"), row("杭州青禾包装材料有限公司", 电话="12")])
    start = imports.customer_import_start(actor=org["mgr_east"], upload=upload(data))
    before = counts()
    run_pending_jobs()
    job = JobRun.objects.get(pk=start.run.pk)
    result = job.result
    assert isinstance(result, dict)
    assert job.state == JobState.SUCCEEDED and result["ok"] is False
    assert counts() == before
    assert job.progress_message == "校验未通过，未导入任何数据"
    assert result["errors"][0]["row"] == 3 and result["errors"][0]["column"] == "电话"
    report = imports.import_run_report_xlsx(actor=org["mgr_east"], run_id=job.pk)
    sheet = (
        python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(report))
        .get_sheet_by_name("客户")
        .to_python()
    )
    assert sheet[0][-1] == "错误" and "电话" in sheet[2][-1]
    # another importer does not see it
    other = user_with("sales_manager", username="mgr2", department=org["east"])
    from kehu.core.errors import NotFound

    with pytest.raises(NotFound):
        imports.import_run(actor=other, run_id=job.pk)


# ---------------------------------------------------------------------------------------------------------------
# Query count of the prefilter


def _prefilter_queries(actor: Any, n: int) -> int:
    rows = [row(f"测试{i:03d}号精密零件制造有限公司", 负责人="rep1" if i % 2 else "rep3") for i in range(n)]
    customers, contacts = imports.read_workbook(book(rows))
    with CaptureQueriesContext(connection) as ctx:
        imports.prefilter(actor=actor, customers=customers, contacts=contacts)
    assert not [r.errors for r in customers.rows if r.errors and "相近" not in r.errors[0][1]]
    return len(ctx.captured_queries)


def test_prefilter_queries_do_not_grow_with_rows(org):
    for i in range(5):
        make(org["rep1"], f"既有{i}号贸易有限公司")
    mgr = org["mgr_east"]
    _prefilter_queries(mgr, 2)  # warm caches (policies, roles)
    small = _prefilter_queries(mgr, 10)
    large = _prefilter_queries(mgr, 20)
    assert large == small, (small, large)


# ---------------------------------------------------------------------------------------------------------------
# Pages


def login(client: Any, user: Any) -> None:
    assert client.login(username=user.username, password=PASSWORD)


def test_pages_template_upload_report_and_confirm(client, org):
    existing = make(org["rep1"], "上海华信精密机械有限公司")
    login(client, org["mgr_east"])
    assert 'id="import-customers"' in client.get("/customers/").content.decode()
    page = client.get("/customers/import/")
    assert page.status_code == 200 and "下载导入模板" in page.content.decode()
    template = client.get("/customers/import/template/")
    assert template.status_code == 200 and template["Content-Type"] == imports.XLSX_MIME
    data = book([row("华信精密机械（上海）有限公司")])
    before = counts()
    response = client.post("/customers/import/", {"file": upload(data)})
    body = response.content.decode()
    assert response.status_code == 200 and 'id="import-failed"' in body and existing.number in body
    assert 'id="confirm-form"' in body and counts() == before
    report = client.get("/customers/import/report/")
    assert report.status_code == 200 and report["Content-Type"] == imports.XLSX_MIME
    sha = response.context["sha256"]
    response = client.post("/customers/import/", {"sha256": sha, "confirm_duplicates": "1"})
    assert response.status_code == 302 and response["Location"] == "/customers/"
    assert Customer.objects.filter(name="华信精密机械（上海）有限公司").exists()
    # a file this user did not upload cannot be confirmed
    assert (
        client.post("/customers/import/", {"sha256": "0" * 64, "confirm_duplicates": "1"}).status_code == 404
    )


def test_page_shows_file_errors_and_refuses_other_roles(client, org, settings):
    login(client, org["mgr_east"])
    response = client.post("/customers/import/", {"file": upload(b"x", "a.csv")})
    assert response.status_code == 200 and "xlsx" in response.content.decode()
    client.logout()
    login(client, org["rep1"])
    assert client.get("/customers/import/").status_code == 403
    assert client.get("/customers/import/template/").status_code == 403
    assert 'id="import-customers"' not in client.get("/customers/").content.decode()


def test_page_background_import_polls_and_ends_with_the_report(client, org, settings):
    settings.KEHU_CUSTOMER_IMPORT_SYNC_ROWS = 1
    login(client, org["mgr_east"])
    response = client.post(
        "/customers/import/", {"file": upload(book([row("甲乙精密有限公司"), row("丙丁贸易有限公司")]))}
    )
    assert response.status_code == 302
    url = response["Location"]
    page = client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in page
    run_pending_jobs()
    partial = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="import-ok"' in partial and "every 1s" not in partial
    client.logout()
    login(client, user_with("sales_manager", username="mgr9", department=org["east"]))
    assert client.get(url).status_code == 404


# ---------------------------------------------------------------------------------------------------------------
# API


def test_api_import_report_background_and_template(client, org, settings):
    login(client, org["mgr_east"])
    base = "/api/v1/customers/import"
    assert client.get(f"{base}/template").status_code == 200
    bad = book([row("苏州恒达电子科技有限公司", 邮政编码="1")])
    body = client.post(base, {"file": upload(bad)}).json()
    assert body["ok"] is False and body["errors"][0]["column"] == "邮政编码"
    assert Customer.objects.count() == 0
    good = client.post(base, {"file": upload(book([row("苏州恒达电子科技有限公司")]))})
    assert good.status_code == 200 and good.json()["created"]["customers"] == 1
    near = book([row("恒达电子科技（苏州）有限公司")])
    assert client.post(base, {"file": upload(near)}).json()["needs_confirmation"] is True
    confirmed = client.post(base, {"file": upload(near), "confirm_duplicates": "true"}).json()
    assert confirmed["ok"] is True
    malformed = client.post(base, {"file": upload(b"nope", "x.xlsx")})
    assert malformed.status_code == 400 and malformed.json()["message"].startswith("无法读取")
    settings.KEHU_CUSTOMER_IMPORT_SYNC_ROWS = 1
    response = client.post(base, {"file": upload(book([row("甲乙精密有限公司"), row("丙丁贸易有限公司")]))})
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    run_pending_jobs()
    job = client.get(f"{base}/jobs/{job_id}").json()
    assert (
        job["state"] == "succeeded"
        and job["report"]["ok"] is True
        and job["progress_done"] == job["progress_total"]
    )


def test_api_refuses_other_roles(client, org):
    login(client, org["rep1"])
    assert client.post("/api/v1/customers/import", {"file": upload(book([row("甲公司")]))}).status_code == 403
    assert client.get("/api/v1/customers/import/template").status_code == 403
