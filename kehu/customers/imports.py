"""Importing customers and their contacts from Excel (R-PLT-10, R-CUS-02, R-CUS-03, R-CUS-11).

The workbook has two sheets: 客户 (one customer per row) and 联系人 (one contact per row, tied to a customer of
the same file by its credit code or its 行键). An import is all-or-nothing:

1. The file is read and every row is checked in bulk (:func:`prefilter`): the service's own validation
   (``services._clean``, ``_check_consistency``, ``_check_staff``, the owner scope of ``customer_create``,
   ``services._clean_contact``) row by row, and the duplicate check of R-CUS-11 against the database and within
   the file with a fixed number of queries however many rows there are. Any error: nothing is written.
2. Otherwise, in ONE transaction, every customer is created by ``services.customer_create`` and every contact by
   ``services.contact_add`` (the same services as the forms, with their audit entries); any error they raise
   rolls the whole import back and is reported on its row. The import itself is one more audit entry.

Small files import at once; larger ones (``KEHU_CUSTOMER_IMPORT_SYNC_ROWS``) are stored and run as a background
job (:func:`customer_import_job`) that reports its progress.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import python_calamine
import xlsxwriter
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from rapidfuzz import fuzz

from kehu.core import access, audit
from kehu.core.attachments import _store, blob_path
from kehu.core.errors import KehuError, NotFound, ValidationFailed
from kehu.core.excel import (
    ERROR_HEADER,
    XLSX_MIME,
    ImportColumn,
    ImportFileError,
    ImportSpec,
    RowError,
    RowResult,
    _text,
    check_upload,
    read_rows,
)
from kehu.core.jobs.models import JobRun
from kehu.core.models import User
from kehu.core.models.audit import AuditAction
from kehu.core.uscc import normalise as uscc_normalise
from kehu.customers import names, services
from kehu.customers.models import (
    ContactRole,
    Currency,
    Customer,
    CustomerClass,
    CustomerKind,
    Industry,
)
from kehu.customers.policies import duplicates

CUSTOMER_SHEET = "客户"
CONTACT_SHEET = "联系人"
JOB_PATH = "kehu.customers.imports.customer_import_job"
CHUNK = 500  # values per IN (...) query
PIECE_CHUNK = 200  # LIKE pieces per query
RESULT_ERRORS_MAX = 1000  # errors kept in a job's JSON result (all of them are in the report workbook)


def sync_rows_limit() -> int:
    """Up to this many rows (customers and contacts) import at once; larger files run in the background."""
    return int(getattr(settings, "KEHU_CUSTOMER_IMPORT_SYNC_ROWS", 500))


def max_rows_limit() -> int:
    return int(getattr(settings, "KEHU_CUSTOMER_IMPORT_MAX_ROWS", 20000))


# --------------------------------------------------------------------------------------------------------------
# Cell parsing: formats only (labels or codes, Excel dates, numbers); the rules are the services'.
# --------------------------------------------------------------------------------------------------------------


def _choice(choices: Iterable[tuple[str, Any]], label: str) -> Callable[[str], str]:
    pairs = list(choices)

    def parse(text: str) -> str:
        for code, name in pairs:
            if text == code or text.lower() == str(code).lower() or text == str(name):
                return str(code)
        raise ValueError(
            _("%(label)s应为：%(names)s（或代码 %(codes)s）")
            % {
                "label": label,
                "names": "、".join(str(n) for _c, n in pairs),
                "codes": "/".join(str(c) for c, _n in pairs),
            }
        )

    return parse


_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]00:00(?::00(?:\.0+)?)?)?$")


def parse_date(text: str) -> dt.date:
    """YYYY-MM-DD (also with / or . or 年月日), a date cell, or an Excel serial day number."""
    text = text.strip()
    m = _DATE_RE.match(text)
    try:
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if re.fullmatch(r"\d{5}(\.0+)?", text):
            return _EXCEL_EPOCH + dt.timedelta(days=int(float(text)))
    except (ValueError, OverflowError):
        pass
    raise ValueError(_("日期格式应为 YYYY-MM-DD。"))


def parse_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("是", "y", "yes", "true", "1", "√", "✓"):
        return True
    if t in ("否", "n", "no", "false", "0", ""):
        return False
    raise ValueError(_("应填“是”或“否”。"))


def parse_money(text: str) -> str:
    """A number (thousands separators allowed); the amount rules are ``services._clean``'s."""
    return text.replace(",", "").replace("，", "").replace(" ", "")


def _usernames(text: str) -> list[str]:
    return [p for p in re.split(r"[,，、;；/\s]+", text) if p]


CUSTOMER_SPEC = ImportSpec(
    columns=[
        ImportColumn("行键", "row_key"),
        ImportColumn("客户名称", "name", required=True),
        ImportColumn("自然人客户", "is_person", parse=parse_bool),
        ImportColumn("统一社会信用代码", "credit_code"),
        ImportColumn("客户类别", "customer_class", parse=_choice(CustomerClass.choices, "客户类别")),
        ImportColumn("客户类型", "kind", parse=_choice(CustomerKind.choices, "客户类型")),
        ImportColumn("行业", "industry", parse=_choice(Industry.choices, "行业")),
        ImportColumn("负责人", "owner"),
        ImportColumn("跟进人员", "staff", parse=_usernames),
        ImportColumn("企业类型", "enterprise_type"),
        ImportColumn("法定代表人", "legal_representative"),
        ImportColumn("董事长", "chairman"),
        ImportColumn("总经理", "general_manager"),
        ImportColumn("注册资本", "registered_capital", parse=parse_money),
        ImportColumn("币种", "capital_currency", parse=_choice(Currency.choices, "币种")),
        ImportColumn("成立日期", "founded_on", parse=parse_date),
        ImportColumn("营业期限自", "operating_from", parse=parse_date),
        ImportColumn("营业期限至", "operating_to", parse=parse_date),
        ImportColumn("营业执照有效期至", "licence_valid_until", parse=parse_date),
        ImportColumn("登记机关", "issuing_authority"),
        ImportColumn("经营范围", "business_scope"),
        ImportColumn("省份", "province"),
        ImportColumn("城市", "city"),
        ImportColumn("注册地址", "registered_address"),
        ImportColumn("办公地址", "office_address"),
        ImportColumn("邮政编码", "postcode"),
        ImportColumn("电话", "phone"),
        ImportColumn("传真", "fax"),
        ImportColumn("网址", "website"),
        ImportColumn("资质认证", "certifications"),
        ImportColumn("开户行", "bank_name"),
        ImportColumn("银行账号", "bank_account"),
        ImportColumn("开票抬头", "invoice_title"),
        ImportColumn("纳税人识别号", "tax_number"),
        ImportColumn("备注", "notes"),
    ],
    key="row_key",
)

CONTACT_SPEC = ImportSpec(
    columns=[
        ImportColumn("所属客户", "customer", required=True),
        ImportColumn("姓名", "name", required=True),
        ImportColumn("角色", "role", parse=_choice(ContactRole.choices, "角色")),
        ImportColumn("职务", "title"),
        ImportColumn("手机", "mobile"),
        ImportColumn("电话", "phone"),
        ImportColumn("邮箱", "email"),
        ImportColumn("有效签单人员", "is_signer", parse=parse_bool),
        ImportColumn("签单授权有效期至", "signer_valid_until", parse=parse_date),
        ImportColumn("备注", "notes"),
    ]
)

EXAMPLE_CUSTOMER = {
    "行键": "C1",
    "客户名称": "上海华信精密机械有限公司",
    "自然人客户": "否",
    "统一社会信用代码": "91310115MA1K3YJ12X",
    "客户类别": "重要",
    "客户类型": "经销商",
    "行业": "机械制造",
    "负责人": "zhangsan",
    "跟进人员": "zhangsan,lisi",
    "企业类型": "有限责任公司",
    "法定代表人": "王建国",
    "注册资本": 5000000,
    "币种": "人民币",
    "成立日期": dt.date(2015, 6, 18),
    "营业期限自": dt.date(2015, 6, 18),
    "营业期限至": "",
    "营业执照有效期至": "",
    "登记机关": "上海市浦东新区市场监督管理局",
    "经营范围": "精密机械零部件的生产与销售",
    "省份": "上海",
    "城市": "上海",
    "注册地址": "上海市浦东新区张江路 100 号",
    "邮政编码": "201203",
    "电话": "021-58881234",
    "网址": "www.example.com",
}
EXAMPLE_CONTACT = {
    "所属客户": "C1",
    "姓名": "李明",
    "角色": "采购",
    "职务": "采购经理",
    "手机": "13812345678",
    "邮箱": "liming@example.com",
    "有效签单人员": "是",
    "签单授权有效期至": dt.date(2027, 12, 31),
}


def _example_code() -> str:
    import random

    from kehu.core.uscc import uscc_generate

    return uscc_generate(random.Random(2015))


def template_xlsx() -> bytes:
    """The import template: sheet 客户 and sheet 联系人, headers and one example row each, plus a notes sheet."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    bold = wb.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
    req = wb.add_format({"bold": True, "bg_color": "#FCE8E6", "border": 1})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    example_customer = {**EXAMPLE_CUSTOMER, "统一社会信用代码": _example_code()}
    for title, spec, example in (
        (CUSTOMER_SHEET, CUSTOMER_SPEC, example_customer),
        (CONTACT_SHEET, CONTACT_SPEC, EXAMPLE_CONTACT),
    ):
        ws = wb.add_worksheet(title)
        for c, col in enumerate(spec.columns):
            ws.write(0, c, col.header, req if col.required else bold)
            ws.set_column(c, c, max(10, len(col.header) * 2 + 4))
            value = example.get(col.header, "")
            if isinstance(value, dt.date):
                ws.write_datetime(1, c, dt.datetime.combine(value, dt.time()), date_fmt)
            else:
                ws.write(1, c, value)
        ws.freeze_panes(1, 0)
    notes = wb.add_worksheet(_("填写说明"))
    lines = [
        _(
            "第一个工作表“客户”每行一个客户，第二个工作表“联系人”每行一个联系人；列标题请勿修改，红色为必填列。"
        ),
        _("示例行仅供参考，导入前请删除或改为真实数据。"),
        _("客户类别：核心、重要、一般；客户类型：%(kinds)s；行业：%(ind)s；币种：%(cur)s（也可填代码）。")
        % {
            "kinds": "、".join(str(n) for _c, n in CustomerKind.choices),
            "ind": "、".join(str(n) for _c, n in Industry.choices),
            "cur": "、".join(str(n) for _c, n in Currency.choices),
        },
        _(
            "负责人、跟进人员填用户名，多个跟进人员用逗号分隔；负责人留空为导入人本人。核心及重要客户至少两名跟进人员（含负责人）。"
        ),
        _("日期填 Excel 日期或 YYYY-MM-DD；注册资本填数字。"),
        _("联系人的“所属客户”填本文件中该客户的统一社会信用代码或行键；角色：%(roles)s。")
        % {"roles": "、".join(str(n) for _c, n in ContactRole.choices)},
        _("任一行有误时整个文件都不导入，并给出逐行校验报告。"),
    ]
    for i, line in enumerate(lines):
        notes.write(i, 0, line)
    notes.set_column(0, 0, 120)
    wb.close()
    return buf.getvalue()


# --------------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Sheet:
    title: str
    spec: ImportSpec
    headers: list[str]
    rows: list[RowResult]
    values: dict[int, dict[str, Any]] = field(default_factory=dict)  # row number -> parsed values
    candidates: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # row number -> duplicates


def _read_second_sheet(data: bytes) -> tuple[list[str], list[RowResult]]:
    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    if len(wb.sheet_names) < 2:
        return CONTACT_SPEC.headers, []
    table = wb.get_sheet_by_index(1).to_python(skip_empty_area=False)
    if not table or not any(_text(v) for v in table[0]):
        return CONTACT_SPEC.headers, []
    # the platform reader checks headers and skips blank rows: feed it the sheet as its own workbook
    buf = io.BytesIO()
    out = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = out.add_worksheet()
    for r, values in enumerate(table):
        for c, v in enumerate(values):
            if isinstance(v, dt.datetime | dt.date):
                ws.write_string(r, c, (v.date() if isinstance(v, dt.datetime) else v).isoformat())
            elif v not in (None, ""):
                ws.write(r, c, v)
    out.close()
    try:
        return read_rows(buf.getvalue(), CONTACT_SPEC)
    except ImportFileError as exc:
        raise ImportFileError(_("工作表“%(s)s”：%(m)s") % {"s": CONTACT_SHEET, "m": exc.message}) from None


def read_workbook(data: bytes) -> tuple[Sheet, Sheet]:
    """Both sheets, headers checked; raises :class:`ImportFileError` naming the rule the file breaks."""
    if not data:
        raise ImportFileError(_("文件为空，请使用导入模板。"))
    try:
        headers, rows = read_rows(data, CUSTOMER_SPEC)
    except ImportFileError as exc:
        unreadable = (_("无法读取文件：请上传 Excel 文件（.xlsx）。"), _("文件中没有工作表。"))
        if data[:2] != b"PK" or exc.message in unreadable:
            raise  # not a workbook at all
        raise ImportFileError(_("工作表“%(s)s”：%(m)s") % {"s": CUSTOMER_SHEET, "m": exc.message}) from None
    c_headers, c_rows = _read_second_sheet(data)
    customers = Sheet(CUSTOMER_SHEET, CUSTOMER_SPEC, headers, rows)
    contacts = Sheet(CONTACT_SHEET, CONTACT_SPEC, c_headers, c_rows)
    if not rows:
        raise ImportFileError(_("工作表“%(s)s”中没有数据行。") % {"s": CUSTOMER_SHEET})
    limit = max_rows_limit()
    if len(rows) + len(c_rows) > limit:
        raise ImportFileError(
            _("行数过多：共 %(n)s 行，上限 %(max)s 行（客户与联系人合计）。请拆分后分批导入。")
            % {"n": len(rows) + len(c_rows), "max": limit}
        )
    return customers, contacts


def count_rows(data: bytes) -> int:
    customers, contacts = read_workbook(data)
    return len(customers.rows) + len(contacts.rows)


# --------------------------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------------------------


@dataclass
class CustomerImportReport:
    ok: bool
    filename: str = ""
    sha256: str = ""
    file_error: str = ""
    customers: Sheet | None = None
    contacts: Sheet | None = None
    created_customers: int = 0
    created_contacts: int = 0
    confirm_duplicates: bool = False
    customer_ids: list[int] = field(default_factory=list)

    @property
    def sheets(self) -> list[Sheet]:
        return [s for s in (self.customers, self.contacts) if s is not None]

    @property
    def rows(self) -> int:
        return sum(len(s.rows) for s in self.sheets)

    def error_rows(self) -> list[tuple[Sheet, RowResult]]:
        return [(s, r) for s in self.sheets for r in s.rows if r.errors]

    def error_list(self) -> list[dict[str, Any]]:
        out = []
        for s, r in self.error_rows():
            for col, msg in r.errors:
                out.append(
                    {
                        "sheet": s.title,
                        "row": r.number,
                        "column": col,
                        "message": msg,
                        "candidates": s.candidates.get(r.number, []),
                    }
                )
        return out

    @property
    def needs_confirmation(self) -> bool:
        """Every error is a near-identical name (R-CUS-11): the user may confirm and import again."""
        errors = self.error_rows()
        return bool(errors) and all(
            all(msg.startswith(NEAR_PREFIX) for _c, msg in r.errors) for _s, r in errors
        )

    def as_dict(self, max_errors: int | None = None) -> dict[str, Any]:
        errors = self.error_list()
        return {
            "ok": self.ok,
            "file": self.filename,
            "sha256": self.sha256,
            "file_error": self.file_error,
            "rows": {s.title: len(s.rows) for s in self.sheets},
            "created": {"customers": self.created_customers, "contacts": self.created_contacts},
            "customer_ids": self.customer_ids,
            "confirm_duplicates": self.confirm_duplicates,
            "needs_confirmation": self.needs_confirmation,
            "error_count": len(errors),
            "errors": errors[:max_errors] if max_errors else errors,
        }

    def report_xlsx(self) -> bytes:
        """Every sheet's rows as uploaded plus an 错误 column; failed rows highlighted."""
        buf = io.BytesIO()
        wb = xlsxwriter.Workbook(buf, {"in_memory": True, "constant_memory": True})
        bold = wb.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
        bad = wb.add_format({"bg_color": "#F8D7DA"})
        bad_err = wb.add_format({"bg_color": "#F8D7DA", "font_color": "#842029"})
        for s in self.sheets:
            ws = wb.add_worksheet(s.title)
            headers = [*s.headers, ERROR_HEADER]
            for c, h in enumerate(headers):
                ws.set_column(c, c, 60 if h == ERROR_HEADER else max(10, len(h) * 2 + 4))
            for c, h in enumerate(headers):
                ws.write(0, c, h, bold)
            for n, row in enumerate(s.rows, start=1):
                fmt = bad if row.errors else None
                for c, h in enumerate(s.headers):
                    ws.write_string(n, c, row.raw.get(h, ""), fmt)
                message = "；".join(f"{col}：{msg}" if col else msg for col, msg in row.errors)
                ws.write_string(n, len(s.headers), message, bad_err if row.errors else None)
            ws.freeze_panes(1, 0)
        wb.close()
        return buf.getvalue()


NEAR_PREFIX = "【名称相近】"


# --------------------------------------------------------------------------------------------------------------
# Prefilter: every row checked with the services' rules, duplicates in bulk, no writes
# --------------------------------------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _header(spec: ImportSpec, field_name: str | None) -> str:
    for c in spec.columns:
        if c.field == field_name:
            return c.header
    return {"staff": "跟进人员", "owner": "负责人"}.get(field_name or "", "")


def _parse(sheet: Sheet) -> None:
    """Cell formats: the parsed values of each row, or per-column format errors."""
    seen: dict[str, int] = {}
    key_col = next((c for c in sheet.spec.columns if c.field == sheet.spec.key), None)
    for row in sheet.rows:
        values: dict[str, Any] = {}
        for col in sheet.spec.columns:
            text = row.raw.get(col.header, "")
            if not text:
                if col.required:
                    row.errors.append((col.header, _("必填")))
                continue
            try:
                values[col.field] = col.parse(text) if col.parse else text
            except (ValueError, RowError, KehuError) as exc:
                message = exc.message if isinstance(exc, KehuError | RowError) else str(exc)
                row.errors.append((col.header, str(message)))
        if key_col is not None and values.get(key_col.field):
            key = str(values[key_col.field]).lower()
            if key in seen:
                row.errors.append((key_col.header, _("与第 %(n)s 行重复") % {"n": seen[key]}))
            else:
                seen[key] = row.number
        sheet.values[row.number] = values


def _load_users(sheet: Sheet) -> dict[str, User]:
    wanted: set[str] = set()
    for values in sheet.values.values():
        if values.get("owner"):
            wanted.add(values["owner"])
        wanted.update(values.get("staff") or [])
    users: dict[str, User] = {}
    names_list = sorted(wanted)
    for chunk in _chunks(names_list, CHUNK):
        for u in User.objects.filter(username__in=list(chunk)).select_related("department", "region"):
            users[u.username] = u
    return users


def _customer_fields(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in services.EDITABLE and k not in ("name", "credit_code")}


@dataclass
class _Existing:
    pk: int
    number: str
    name: str
    credit_code: str
    status: str
    key: str


def _bigrams(key: str) -> set[str]:
    return {key[i : i + 2] for i in range(len(key) - 1)}


class _NameIndex:
    """Keys indexed by their two-character pieces: what ``name_key__contains=piece`` finds in the database."""

    def __init__(self) -> None:
        self.by_piece: dict[str, list[Any]] = defaultdict(list)
        self.by_key: dict[str, list[Any]] = defaultdict(list)
        self.all: list[Any] = []

    def add(self, key: str, item: Any) -> None:
        self.all.append(item)
        self.by_key[key].append(item)
        for piece in _bigrams(key):
            self.by_piece[piece].append(item)

    def near(self, key: str, threshold: float, key_of: Callable[[Any], str]) -> list[tuple[Any, float]]:
        """The same candidates as ``services.duplicate_candidates``'s name part: the prefilter by pieces, then
        the rapidfuzz ratio against the policy threshold."""
        if not key:
            return []
        if len(key) < 4:
            pool: Iterable[Any] = self.by_key.get(key, [])
        else:
            pieces = names.key_windows(key, threshold)
            if pieces is None:
                pool = self.all
            else:
                found: dict[int, Any] = {}
                for piece in pieces:
                    for item in self.by_piece.get(piece, ()):
                        found[id(item)] = item
                pool = found.values()
        out = []
        for item in pool:
            other = key_of(item)
            score = 100.0 if other == key else fuzz.ratio(key, other or "", score_cutoff=threshold)
            if score >= threshold:
                out.append((item, float(score)))
        return out


def _existing_for(
    keys: Iterable[str], codes: Iterable[str], threshold: float
) -> tuple[dict[str, list[_Existing]], _NameIndex]:
    """Existing customers whose credit code is in ``codes``, and those the name prefilter of any key finds.
    Queries: one per CHUNK codes, one per PIECE_CHUNK distinct pieces, one per CHUNK short keys."""
    cols = ("pk", "number", "name", "credit_code", "status", "name_key")
    by_code: dict[str, list[_Existing]] = defaultdict(list)
    code_list = sorted(set(codes))
    for chunk in _chunks(code_list, CHUNK):
        for row in Customer.objects.filter(credit_code__in=list(chunk)).values_list(*cols):
            by_code[row[3]].append(_Existing(*row))
    pieces: set[str] = set()
    short: set[str] = set()
    full = False
    for key in set(keys):
        if not key:
            continue
        if len(key) < 4:
            short.add(key)
            continue
        windows = names.key_windows(key, threshold)
        if windows is None:
            full = True
        else:
            pieces.update(windows)
    index = _NameIndex()
    seen: set[int] = set()

    def take(qs: Any) -> None:
        for row in qs.values_list(*cols):
            if row[0] not in seen:
                seen.add(row[0])
                item = _Existing(*row)
                index.add(item.key or "", item)

    if full:
        take(Customer.objects.all())
    else:
        for chunk in _chunks(sorted(pieces), PIECE_CHUNK):
            near = Q()
            for piece in chunk:
                near |= Q(name_key__contains=piece)
            take(Customer.objects.filter(near))
        for chunk in _chunks(sorted(short), CHUNK):
            take(Customer.objects.filter(name_key__in=list(chunk)))
    return by_code, index


def prefilter(*, actor: User, customers: Sheet, contacts: Sheet, confirm_duplicates: bool = False) -> None:
    """Check every row without writing, adding errors to the rows. The number of queries does not grow with the
    number of rows (only with the number of distinct owners and name pieces, in chunks)."""
    _parse(customers)
    _parse(contacts)
    users = _load_users(customers)
    owner_ok: dict[int, str] = {}  # owner pk -> "" or the refusal message
    threshold = float(duplicates()[0].name_similarity)
    spec = customers.spec
    keys: dict[int, str] = {}
    codes: dict[int, str] = {}
    for row in customers.rows:
        values = customers.values[row.number]
        owner = actor
        if values.get("owner"):
            named = users.get(values["owner"])
            if named is None:
                row.errors.append(("负责人", _("用户 %(u)s 不存在。") % {"u": values["owner"]}))
            else:
                owner = named
        if owner.pk not in owner_ok:
            try:
                services._may_create_for(actor, owner)
                owner_ok[owner.pk] = ""
            except KehuError as exc:
                owner_ok[owner.pk] = str(exc.message)
        if owner_ok[owner.pk]:
            row.errors.append(("负责人", owner_ok[owner.pk]))
        staff = []
        for name in values.get("staff") or []:
            u = users.get(name)
            if u is None:
                row.errors.append(("跟进人员", _("用户 %(u)s 不存在。") % {"u": name}))
            else:
                staff.append(u)
        if "name" not in values:
            continue
        try:
            data = services._clean(
                {
                    "name": values["name"],
                    "credit_code": values.get("credit_code", ""),
                    **_customer_fields(values),
                }
            )
            c = Customer(**data)
            services._check_consistency(c)
            team = {owner.pk: owner, **{u.pk: u for u in staff}}
            services._check_staff(c.customer_class, team.values())
        except KehuError as exc:
            row.errors.append((_header(spec, exc.field), str(exc.message)))
            continue
        keys[row.number] = names.name_key(data["name"])
        if data["credit_code"]:
            codes[row.number] = data["credit_code"]
    by_code, index = _existing_for(keys.values(), codes.values(), threshold)
    # duplicates, in file order: against the database, then against the rows above (R-CUS-11)
    in_file = _NameIndex()
    code_rows: dict[str, int] = {}
    for row in customers.rows:
        if row.number not in keys:
            continue
        key, code = keys[row.number], codes.get(row.number, "")
        values = customers.values[row.number]
        found: list[dict[str, Any]] = []
        if code and by_code.get(code):
            exact = [
                services.Candidate(e.pk, e.number, e.name, e.credit_code, e.status, 100.0, "credit_code")
                for e in by_code[code]
            ]
            row.errors.append(
                ("统一社会信用代码", str(services.DuplicateCandidates(exact, exact=True).message))
            )
            customers.candidates[row.number] = [c.as_dict() for c in exact]
            continue
        if code and code in code_rows:
            row.errors.append(
                (
                    "统一社会信用代码",
                    _("与本文件第 %(n)s 行的统一社会信用代码相同，不能重复建档。") % {"n": code_rows[code]},
                )
            )
            continue
        if code:
            code_rows[code] = row.number
        near_db = sorted(
            (
                (e, s)
                for e, s in index.near(key, threshold, lambda e: e.key)
                if not (code and e.credit_code == code)
            ),
            key=lambda p: (-p[1], p[0].pk),
        )
        for e, s in near_db[:10]:
            found.append(
                services.Candidate(e.pk, e.number, e.name, e.credit_code, e.status, s, "name").as_dict()
            )
        for other, s in sorted(in_file.near(key, threshold, lambda r: keys[r.number]), key=lambda p: -p[1])[
            :10
        ]:
            found.append(
                {
                    "row": other.number,
                    "name": customers.values[other.number]["name"],
                    "score": round(s, 1),
                    "reason": "name_in_file",
                }
            )
        in_file.add(key, row)
        if found:
            customers.candidates[row.number] = found
            listed = "、".join(
                f"{c['name']}（{c['number']}）"
                if "number" in c
                else _("第 %(n)s 行 %(name)s") % {"n": c["row"], "name": c["name"]}
                for c in found
            )
            if confirm_duplicates:
                row.note = _("已确认与相近客户不是同一主体：%(names)s") % {"names": listed}
            else:
                row.errors.append(
                    (
                        "客户名称",
                        NEAR_PREFIX
                        + _(
                            "发现 %(n)s 个名称相近的客户：%(names)s。"
                            "请核对；确认不是同一主体时，勾选“确认相近名称”后重新导入。"
                        )
                        % {"n": len(found), "names": listed},
                    )
                )
    _prefilter_contacts(customers, contacts)


def _prechecked(customers: Sheet, number: int) -> list[services.Candidate]:
    """The existing customers the bulk prefilter found near this row (those of the file itself are not in the
    database yet): handed to ``customer_create`` so that it does not search the names again."""
    return [
        services.Candidate(
            c["id"], c["number"], c["name"], c["credit_code"], c["status"], c["score"], c["reason"]
        )
        for c in customers.candidates.get(number, [])
        if "number" in c
    ]


def _customer_ref(customers: Sheet) -> dict[str, int]:
    """Row key or credit code (normalised) -> customer row number."""
    refs: dict[str, int] = {}
    for row in customers.rows:
        values = customers.values.get(row.number, {})
        if values.get("credit_code"):
            refs.setdefault(uscc_normalise(values["credit_code"]).lower(), row.number)
        if values.get("row_key"):
            refs.setdefault(str(values["row_key"]).lower(), row.number)
    return refs


def _prefilter_contacts(customers: Sheet, contacts: Sheet) -> None:
    refs = _customer_ref(customers)
    for row in contacts.rows:
        values = contacts.values[row.number]
        ref = values.get("customer")
        if ref:
            number = refs.get(ref.lower()) or refs.get(uscc_normalise(ref).lower())
            if number is None:
                row.errors.append(
                    (
                        "所属客户",
                        _("在“客户”工作表中找不到 %(ref)s：应为本文件中客户的统一社会信用代码或行键。")
                        % {"ref": ref},
                    )
                )
            else:
                values["customer_row"] = number
        fields = {k: v for k, v in values.items() if k in services.CONTACT_FIELDS}
        if "name" not in fields:
            continue
        try:
            services._clean_contact(fields)
        except KehuError as exc:
            row.errors.append((_header(contacts.spec, exc.field), str(exc.message)))


# --------------------------------------------------------------------------------------------------------------
# The import
# --------------------------------------------------------------------------------------------------------------

Progress = Callable[..., None]


class _Rollback(Exception):
    pass


def _report_progress(
    progress: Progress | None, done: int, total: int, message: str, *, side: bool = False
) -> None:
    """Progress written where other sessions see it. ``side`` (inside the import's own transaction): on
    PostgreSQL the update goes through a separate connection (a short thread) so the page shows it while the
    import runs; SQLite allows one writer, so there it is written in the transaction and shows when it ends."""
    if progress is None:
        return
    if side and connection.vendor == "postgresql":

        def write() -> None:
            from django.db import connection as own

            try:
                progress(done, total, message)
            finally:
                own.close()

        t = threading.Thread(target=write)
        t.start()
        t.join()
        return
    progress(done, total, message)


def customer_import(
    *,
    actor: User,
    data: bytes,
    filename: str = "",
    confirm_duplicates: bool = False,
    progress: Progress | None = None,
) -> CustomerImportReport:
    """Import customers and contacts from an xlsx workbook: all rows or none (R-PLT-10)."""
    access.require(actor, "customer.import")
    sha = hashlib.sha256(data).hexdigest()
    report = CustomerImportReport(
        ok=False, filename=filename, sha256=sha, confirm_duplicates=confirm_duplicates
    )
    try:
        customers, contacts = read_workbook(data)
    except ImportFileError as exc:
        report.file_error = exc.message
        return report
    report.customers, report.contacts = customers, contacts
    n_cust, n_cont = len(customers.rows), len(contacts.rows)
    total = 2 * (n_cust + n_cont)
    _report_progress(progress, 0, total, _("校验中"))
    prefilter(actor=actor, customers=customers, contacts=contacts, confirm_duplicates=confirm_duplicates)
    if report.error_rows():
        _report_progress(progress, total, total, _("校验未通过，未导入任何数据"))
        return report
    half = n_cust + n_cont
    _report_progress(progress, half, total, _("校验通过，写入中"))
    step = max(1, half // 100)
    created: dict[int, Customer] = {}
    users = _load_users(customers)
    try:
        with transaction.atomic():
            done = 0
            for row in customers.rows:
                values = customers.values[row.number]
                owner = users.get(values.get("owner") or "") or actor
                staff = [users[u] for u in values.get("staff") or [] if u in users]
                try:
                    c = services.customer_create(
                        actor=actor,
                        name=values["name"],
                        credit_code=values.get("credit_code", ""),
                        owner=owner,
                        staff=staff,
                        confirm_duplicates=confirm_duplicates,
                        prechecked=_prechecked(customers, row.number),
                        **_customer_fields(values),
                    )
                except services.DuplicateCandidates as exc:
                    customers.candidates[row.number] = [c.as_dict() for c in exc.candidates]
                    prefix = "" if exc.exact else NEAR_PREFIX
                    row.errors.append((_header(customers.spec, exc.field), prefix + str(exc.message)))
                except KehuError as exc:
                    row.errors.append((_header(customers.spec, exc.field), str(exc.message)))
                else:
                    created[row.number] = c
                    row.outcome = "created"
                done += 1
                if done % step == 0:
                    _report_progress(
                        progress,
                        half + done,
                        total,
                        _("写入客户 %(n)s/%(t)s") % {"n": done, "t": n_cust},
                        side=True,
                    )
            for row in contacts.rows:
                values = contacts.values[row.number]
                customer = created.get(values.get("customer_row", 0))
                if customer is None:
                    row.errors.append(("所属客户", _("所属客户未能导入。")))
                    continue
                fields = {k: v for k, v in values.items() if k in services.CONTACT_FIELDS and k != "name"}
                try:
                    services.contact_add(actor=actor, customer_id=customer.pk, name=values["name"], **fields)
                except KehuError as exc:
                    row.errors.append((_header(contacts.spec, exc.field), str(exc.message)))
                else:
                    row.outcome = "created"
                done += 1
                if done % step == 0:
                    _report_progress(progress, half + done, total, _("写入联系人"), side=True)
            if report.error_rows():
                raise _Rollback()
            audit.record(
                actor=actor,
                action=AuditAction.IMPORT,
                object_type="customers.import",
                object_id=sha[:16],
                object_repr=filename or sha[:16],
                changes={
                    "file": filename,
                    "sha256": sha,
                    "rows": n_cust + n_cont,
                    "customers": n_cust,
                    "contacts": n_cont,
                    "confirm_duplicates": confirm_duplicates,
                },
                reason=_("从 Excel 导入客户及联系人"),
            )
    except _Rollback:
        for s in report.sheets:
            for r in s.rows:
                r.outcome = ""
        report.created_customers = report.created_contacts = 0
        return report
    report.ok = True
    report.created_customers = len(created)
    report.created_contacts = sum(1 for r in contacts.rows if r.outcome == "created")
    report.customer_ids = [c.pk for c in created.values()]
    return report


# --------------------------------------------------------------------------------------------------------------
# Entry points: at once or in the background
# --------------------------------------------------------------------------------------------------------------


@dataclass
class ImportStart:
    report: CustomerImportReport | None = None
    run: JobRun | None = None
    sha256: str = ""


def _upload_bytes(upload: Any) -> bytes:
    try:
        check_upload(upload)
    except ImportFileError as exc:
        raise ValidationFailed(exc.message, field="file", rule="import_file") from None
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    return bytes(data)


def store_upload(upload: Any) -> str:
    """Keep the uploaded workbook in the content-addressed file store; returns its sha256."""
    stored = _store(upload)
    return stored.blob.sha256


def stored_bytes(sha256: str) -> bytes:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        raise NotFound()
    path = blob_path(sha256)
    if not path.exists():
        raise NotFound()
    return path.read_bytes()


def customer_import_start(
    *,
    actor: User,
    upload: Any = None,
    sha256: str = "",
    filename: str = "",
    confirm_duplicates: bool = False,
    keep: bool = False,
) -> ImportStart:
    """Import an uploaded workbook (or one stored before, by ``sha256``): small files at once, large ones as a
    background job. ``keep`` stores the upload so the user can confirm duplicates without uploading again.
    A file that cannot be read raises ValidationFailed (field ``file``) naming the rule."""
    access.require(actor, "customer.import")
    if upload is not None:
        data = _upload_bytes(upload)
        filename = str(getattr(upload, "name", "") or "")
    else:
        data = stored_bytes(sha256)
    try:
        rows = count_rows(data)
    except ImportFileError as exc:
        raise ValidationFailed(exc.message, field="file", rule="import_file") from None
    sha = hashlib.sha256(data).hexdigest()
    large = rows > sync_rows_limit()
    if upload is not None and (keep or large):
        sha = store_upload(upload)
    if large:
        run = _enqueue(actor, sha, filename, confirm_duplicates)
        return ImportStart(run=run, sha256=sha)
    report = customer_import(actor=actor, data=data, filename=filename, confirm_duplicates=confirm_duplicates)
    return ImportStart(report=report, sha256=sha)


def _enqueue(actor: User, sha: str, filename: str, confirm_duplicates: bool) -> JobRun:
    from kehu.core.jobs import enqueue

    run: JobRun = enqueue(
        JOB_PATH,
        actor=actor,
        actor_id=actor.pk,
        sha256=sha,
        filename=filename,
        confirm_duplicates=confirm_duplicates,
    )
    return run


def customer_import_job(
    *,
    actor_id: int,
    sha256: str,
    filename: str = "",
    confirm_duplicates: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The background import. Its result is the report (errors capped; the report workbook, when rows failed,
    is kept in the file store under ``report_sha256``)."""
    actor = User.objects.get(pk=actor_id)
    report = customer_import(
        actor=actor,
        data=stored_bytes(sha256),
        filename=filename,
        confirm_duplicates=confirm_duplicates,
        progress=progress,
    )
    result = report.as_dict(max_errors=RESULT_ERRORS_MAX)
    if not report.ok and not report.file_error:
        result["report_sha256"] = _keep_bytes(report.report_xlsx())
    return result


def _keep_bytes(data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    path = blob_path(sha)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return sha


def import_run(*, actor: User, run_id: int) -> JobRun:
    """A background import of ``actor`` (an administrator with the ALL scope sees everyone's)."""
    scope = access.require(actor, "customer.import")
    qs = JobRun.objects.filter(name=JOB_PATH)
    if scope != access.Scope.ALL:
        qs = qs.filter(enqueued_by=actor)
    run = qs.filter(pk=run_id).first()
    if run is None:
        raise NotFound()
    return run


def import_run_report_xlsx(*, actor: User, run_id: int) -> bytes:
    run = import_run(actor=actor, run_id=run_id)
    sha = (run.result or {}).get("report_sha256") if isinstance(run.result, dict) else None
    if not sha:
        raise NotFound()
    return stored_bytes(sha)


__all__ = [
    "CONTACT_SPEC",
    "CUSTOMER_SPEC",
    "XLSX_MIME",
    "CustomerImportReport",
    "customer_import",
    "customer_import_job",
    "customer_import_start",
    "import_run",
    "prefilter",
    "template_xlsx",
]
