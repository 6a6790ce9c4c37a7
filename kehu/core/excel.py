"""Excel helpers (R-PLT-10): export any list to xlsx; import rows with a per-row validation report.

Export: ``xlsx_response(filename, headers, rows)`` streams a workbook (XlsxWriter, constant memory).
Import: see :class:`ImportSpec` and :func:`run_import` below.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
from collections.abc import Iterable, Sequence
from typing import Any

import xlsxwriter
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

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


def xlsx_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str = "Sheet1") -> HttpResponse:
    if not filename.endswith(".xlsx"):
        filename += ".xlsx"
    response = HttpResponse(write_xlsx(headers, rows, sheet), content_type=XLSX_MIME)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
