"""Excel helpers (R-PLT-10): export any list to xlsx; import rows with a per-row validation report.

Export: ``xlsx_response(filename, headers, rows)`` streams a workbook (XlsxWriter, constant memory).
Import: see :class:`ImportSpec` and :func:`run_import` below.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import python_calamine
import xlsxwriter
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from kehu.core.errors import KehuError

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, decimal.Decimal):
        return float(value) if abs(value) < 10**15 else str(value)
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None)
    if isinstance(value, int | float | dt.date | str):
        return value
    return str(value)


def write_xlsx(headers: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str = "Sheet1") -> bytes:
    """A workbook with one sheet: bold header row, frozen, auto-filter, dates formatted."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"constant_memory": True, "in_memory": True})
    ws = wb.add_worksheet(sheet[:31])
    bold = wb.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    dt_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    money_fmt = wb.add_format({"num_format": "#,##0.00"})
    widths = [max(8, min(40, len(str(h)) * 2 + 2)) for h in headers]
    for c, h in enumerate(headers):
        ws.write(0, c, str(h), bold)
    n = 0
    for n, row in enumerate(rows, start=1):
        for c, raw in enumerate(row):
            value = _cell(raw)
            if isinstance(value, dt.datetime):
                ws.write_datetime(n, c, value, dt_fmt)
            elif isinstance(value, dt.date):
                ws.write_datetime(n, c, dt.datetime.combine(value, dt.time()), date_fmt)
            elif isinstance(raw, decimal.Decimal):
                ws.write_number(n, c, value, money_fmt) if isinstance(value, float) else ws.write(n, c, value)
            else:
                ws.write(n, c, value)
            if c < len(widths) and isinstance(value, str):
                widths[c] = max(widths[c], min(60, len(value) + 2))
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    ws.freeze_panes(1, 0)
    if headers:
        ws.autofilter(0, 0, max(n, 1), len(headers) - 1)
    wb.close()
    return buf.getvalue()


def xlsx_response(
    filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str = "Sheet1"
) -> HttpResponse:
    if not filename.endswith(".xlsx"):
        filename += ".xlsx"
    response = HttpResponse(write_xlsx(headers, rows, sheet), content_type=XLSX_MIME)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


# --------------------------------------------------------------------------------------------------------------
# Import: read the first sheet, validate and write every row in one transaction, report per-row errors.
# --------------------------------------------------------------------------------------------------------------

ERROR_HEADER = "错误"


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong type, too large, missing columns)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RowError(Exception):
    """Raised by an import handler for one row; ``column`` is the header text the problem belongs to."""

    def __init__(self, message: str, column: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.column = column


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass(frozen=True)
class ImportColumn:
    header: str
    field: str
    required: bool = False
    parse: Callable[[str], Any] | None = None  # raises ValueError/RowError with a message for bad values


@dataclass(frozen=True)
class ImportSpec:
    columns: Sequence[ImportColumn]
    key: str = ""  # the field that identifies a row (duplicates within one file are refused)

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]


@dataclass
class RowResult:
    number: int  # spreadsheet row number (header is row 1)
    raw: dict[str, str]
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column header, message)
    outcome: str = ""  # "created" / "updated" / ""
    note: str = ""


@dataclass
class ImportReport:
    ok: bool
    headers: list[str]
    rows: list[RowResult]
    file_error: str = ""
    created: int = 0
    updated: int = 0

    @property
    def errors(self) -> list[RowResult]:
        return [r for r in self.rows if r.errors]

    def error_count(self) -> int:
        return sum(len(r.errors) for r in self.rows)

    def report_xlsx(self) -> bytes:
        """The original columns plus an error column; failed rows highlighted."""
        buf = io.BytesIO()
        wb = xlsxwriter.Workbook(buf, {"in_memory": True})
        ws = wb.add_worksheet("Report")
        bold = wb.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
        bad = wb.add_format({"bg_color": "#F8D7DA"})
        bad_err = wb.add_format({"bg_color": "#F8D7DA", "font_color": "#842029", "text_wrap": True})
        headers = [*self.headers, ERROR_HEADER]
        for c, h in enumerate(headers):
            ws.write(0, c, h, bold)
        for n, row in enumerate(self.rows, start=1):
            fmt = bad if row.errors else None
            for c, h in enumerate(self.headers):
                ws.write(n, c, row.raw.get(h, ""), fmt)
            message = "；".join(f"{col}：{msg}" if col else msg for col, msg in row.errors)
            ws.write(n, len(self.headers), message, bad_err if row.errors else None)
        for c, h in enumerate(headers):
            ws.set_column(c, c, 40 if h == ERROR_HEADER else max(10, len(h) * 2 + 4))
        ws.freeze_panes(1, 0)
        wb.close()
        return buf.getvalue()


def check_upload(upload: Any) -> None:
    name = str(getattr(upload, "name", "") or "")
    if not name.lower().endswith(".xlsx"):
        raise ImportFileError(_("请上传 Excel 文件（.xlsx）。"))
    limit = int(getattr(settings, "KEHU_IMPORT_MAX_BYTES", 5 * 1024 * 1024))
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ImportFileError(_("文件过大（上限 %(mb)s MB）。") % {"mb": f"{limit / 1024 / 1024:.0f}"})


def read_rows(file: Any, spec: ImportSpec | None = None) -> tuple[list[str], list[RowResult]]:
    """Rows of the first sheet as ``{header: text}``; with ``spec``, headers are checked (unknown and missing
    required headers are a file-level :class:`ImportFileError`). Fully blank rows are skipped."""
    data = file.read() if hasattr(file, "read") else file
    if isinstance(data, str):
        data = data.encode()
    if not data or not bytes(data[:2]) == b"PK":
        raise ImportFileError(_("无法读取文件：请上传 Excel 文件（.xlsx）。"))
    try:
        wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not wb.sheet_names:
            raise ImportFileError(_("文件中没有工作表。"))
        table = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except ImportFileError:
        raise
    except Exception:
        raise ImportFileError(_("无法读取文件：请上传 Excel 文件（.xlsx）。")) from None
    if not table or not any(_text(v) for v in table[0]):
        raise ImportFileError(_("文件为空：第一行应为列标题。"))
    headers = [_text(v) for v in table[0]]
    while headers and not headers[-1]:
        headers.pop()
    if spec is not None:
        known = set(spec.headers)
        unknown = [h for h in headers if h and h not in known and h != ERROR_HEADER]
        missing = [c.header for c in spec.columns if c.required and c.header not in headers]
        problems = []
        if missing:
            problems.append(_("缺少必填列：%(cols)s") % {"cols": "、".join(missing)})
        if unknown:
            problems.append(_("无法识别的列：%(cols)s") % {"cols": "、".join(unknown)})
        if problems:
            raise ImportFileError("；".join(problems) + "。" + _("请使用导入模板。"))
        if len({h for h in headers if h}) != len([h for h in headers if h]):
            raise ImportFileError(_("列标题重复。"))
    rows: list[RowResult] = []
    for i, values in enumerate(table[1:], start=2):
        raw = {h: _text(values[c]) if c < len(values) else "" for c, h in enumerate(headers) if h}
        if not any(raw.values()):
            continue
        raw.pop(ERROR_HEADER, None)
        rows.append(RowResult(number=i, raw=raw))
    return [h for h in headers if h and h != ERROR_HEADER], rows


class _Rollback(Exception):
    pass


def run_import(
    *,
    spec: ImportSpec,
    file: Any,
    handler: Callable[[dict[str, Any], RowResult], str],
    actor: Any = None,
    max_rows: int | None = None,
    after: Callable[[], None] | None = None,
) -> ImportReport:
    """Parse, validate and write every row in ONE transaction; any failing row rolls everything back.

    ``handler(values, row)`` gets the parsed values keyed by ``ImportColumn.field``; it writes the row and
    returns "created" or "updated", or raises :class:`RowError` / :class:`KehuError` / ``ValueError``.
    ``after()`` runs once all rows are written (still inside the transaction), e.g. to link rows to each other;
    it may add errors to rows.
    """
    try:
        check_upload(file) if hasattr(file, "name") else None
        headers, rows = read_rows(file, spec)
    except ImportFileError as exc:
        return ImportReport(ok=False, headers=spec.headers, rows=[], file_error=exc.message)
    limit = max_rows or int(getattr(settings, "KEHU_IMPORT_MAX_ROWS", 5000))
    if len(rows) > limit:
        return ImportReport(
            ok=False, headers=headers, rows=[], file_error=_("行数过多（上限 %(n)s 行）。") % {"n": limit}
        )
    if not rows:
        return ImportReport(ok=False, headers=headers, rows=[], file_error=_("文件中没有数据行。"))
    report = ImportReport(ok=False, headers=headers, rows=rows)
    seen: dict[str, int] = {}
    key_col = next((c for c in spec.columns if c.field == spec.key), None)
    try:
        with transaction.atomic():
            for row in rows:
                values: dict[str, Any] = {}
                for col in spec.columns:
                    text = row.raw.get(col.header, "")
                    if not text:
                        if col.required:
                            row.errors.append((col.header, str(_("必填"))))
                        values[col.field] = None if col.parse else ""
                        continue
                    try:
                        values[col.field] = col.parse(text) if col.parse else text
                    except (ValueError, RowError, KehuError) as exc:
                        row.errors.append((col.header, _message(exc)))
                if key_col is not None:
                    key = row.raw.get(key_col.header, "").lower()
                    if key and key in seen:
                        row.errors.append((key_col.header, _("与第 %(n)s 行重复") % {"n": seen[key]}))
                    elif key:
                        seen[key] = row.number
                if row.errors:
                    continue
                try:
                    with transaction.atomic():
                        row.outcome = handler(values, row) or "created"
                except RowError as exc:
                    row.errors.append((exc.column, exc.message))
                except KehuError as exc:
                    row.errors.append((_column_of(spec, exc.field), str(exc.message)))
                except ValueError as exc:
                    row.errors.append(("", str(exc)))
                except IntegrityError:
                    row.errors.append(("", str(_("与已有数据冲突"))))
            if after is not None and not any(r.errors for r in rows):
                after()
            if any(r.errors for r in rows):
                raise _Rollback()
    except _Rollback:
        for r in rows:
            r.outcome = ""
        return report
    report.ok = True
    report.created = sum(1 for r in rows if r.outcome == "created")
    report.updated = sum(1 for r in rows if r.outcome == "updated")
    return report


def _message(exc: Exception) -> str:
    if isinstance(exc, KehuError):
        return str(exc.message)
    if isinstance(exc, RowError):
        return exc.message
    return str(exc)


def _column_of(spec: ImportSpec, field_name: str | None) -> str:
    for c in spec.columns:
        if c.field == field_name:
            return c.header
    return ""


def template_response(filename: str, spec: ImportSpec, example: Sequence[Sequence[Any]] = ()) -> HttpResponse:
    """An empty import template (headers and optional example rows)."""
    return xlsx_response(filename, spec.headers, example, sheet="Import")
