"""Import of orders from xlsx (R-ORD-01): one row per order line; rows with the same 订单组 make one order.

The order's header (customer, channel, requested date, payment terms, customer order number) is the group's first
row's; a later row of the group giving a different value is refused, naming the column. Every row is read and
grouped first and every problem is reported with its spreadsheet row number and column, blaming only the bad row
(a line problem its own row, a header problem the group's first row). Customer numbers are looked up within the
user's scope: a number out of scope reads as one that does not exist. All or nothing: only a file without problems
is written, one ``order_create`` per group, in one transaction, so the queries grow with the orders, not the lines.
The orders are drafts: they go through the checks when submitted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kehu.core import access
from kehu.core.errors import KehuError
from kehu.core.excel import (
    ImportColumn,
    ImportFileError,
    ImportReport,
    ImportSpec,
    RowResult,
    check_upload,
    read_rows,
)
from kehu.core.excel import template_response as _template
from kehu.customers.models import Customer
from kehu.orders import services
from kehu.orders.models import Channel

MAX_ROWS = 2000

COLUMNS = [
    ImportColumn(str(_("订单组")), "group", required=True),
    ImportColumn(str(_("客户编号")), "customer", required=True),
    ImportColumn(str(_("接单渠道")), "channel", required=True),
    ImportColumn(str(_("要求交货日期")), "requested_date", required=True),
    ImportColumn(str(_("付款条件")), "payment_terms", required=True),
    ImportColumn(str(_("客户订单号")), "customer_ref"),
    ImportColumn(str(_("产品编码")), "product_code", required=True),
    ImportColumn(str(_("规格型号")), "spec"),
    ImportColumn(str(_("数量")), "quantity", required=True),
    ImportColumn(str(_("单位")), "unit"),
    ImportColumn(str(_("单价（不含税）")), "unit_price"),
    ImportColumn(str(_("折扣（%）")), "discount"),
    ImportColumn(str(_("税率（%）")), "tax_rate"),
]
SPEC = ImportSpec(columns=COLUMNS)
LINE_FIELDS = ("product_code", "spec", "quantity", "unit", "unit_price", "discount", "tax_rate")
HEADER_FIELDS = ("customer", "channel", "requested_date", "payment_terms", "customer_ref")


class _Rollback(Exception):
    pass


@dataclass
class _Group:
    head: dict[str, Any]
    rows: list[RowResult] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)


def _column(name: str | None) -> str:
    """The column header of a field key (``lines[2].quantity``, ``quantity``, ``channel``); "" when none."""
    key = (name or "").split(".")[-1]
    key = {"product_id": "product_code"}.get(key, key)
    return next((c.header for c in COLUMNS if c.field == key), "")


def _channel(text: str) -> str:
    by_label = {str(label): code for code, label in Channel.choices}
    return by_label.get(text, text)


def _date(text: str) -> dt.date:
    """YYYY-MM-DD (also with a time of day, as a date cell reads, or with slashes)."""
    value = text.strip().split(" ")[0].split("T")[0].replace("/", "-")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(gettext("不是有效日期（YYYY-MM-DD）。")) from None


def _read(row: RowResult) -> dict[str, Any]:
    """The row's values by field; missing required cells and bad dates are added to the row's errors."""
    values: dict[str, Any] = {}
    for col in COLUMNS:
        text = row.raw.get(col.header, "").strip()
        values[col.field] = None
        if not text:
            if col.required:
                row.errors.append((col.header, gettext("必填")))
            continue
        if col.field == "requested_date":
            try:
                values[col.field] = _date(text)
            except ValueError as exc:
                row.errors.append((col.header, str(exc)))
        elif col.field == "channel":
            values[col.field] = _channel(text)
        else:
            values[col.field] = text
    return values


def _group(rows: list[RowResult]) -> dict[str, _Group]:
    """Rows by 订单组, in file order; a row whose header differs from its group's first row gets the error, on the
    column that differs."""
    groups: dict[str, _Group] = {}
    for row in rows:
        values = _read(row)
        key = str(values["group"] or "").strip()
        head = {f: values[f] for f in HEADER_FIELDS}
        line = {f: values[f] for f in LINE_FIELDS}
        if not key:
            continue
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(head=head)
        else:
            first = group.rows[0]
            for f in HEADER_FIELDS:
                mine, theirs = head[f], group.head[f]
                if mine is None or theirs is None or mine == theirs:
                    continue
                col = _column(f)
                row.errors.append(
                    (
                        col,
                        gettext("与本订单组第 %(n)s 行不同：同一订单组的%(col)s须相同。")
                        % {"n": first.number, "col": col},
                    )
                )
        group.rows.append(row)
        group.lines.append(line)
    return groups


def _blame(group: _Group, exc: KehuError) -> None:
    """Put a service's error on the row it concerns: a line's own row (its column), else the group's first row."""
    line = getattr(exc, "line", None)
    row = group.rows[line - 1] if line and line <= len(group.rows) else group.rows[0]
    col = _column(getattr(exc, "key", None) or exc.field)
    problem = getattr(exc, "problem", None)
    if col and problem:
        message = str(problem)
    elif problem:
        message = gettext("%(label)s：%(problem)s") % {
            "label": getattr(exc, "label", ""),
            "problem": problem,
        }
    else:
        message = str(exc.message)
    row.errors.append((col, message))


def _check(actor: Any, groups: dict[str, _Group]) -> dict[str, int]:
    """Every problem of the grouped rows, without writing: customers within scope (one query), each group's
    header and lines (one product query per group). Returns the customer ids by number."""
    numbers = {g.head["customer"] for g in groups.values() if g.head["customer"]}
    customers = dict(
        access.restrict(
            actor, "orders.order.import", Customer.objects.filter(number__in=numbers)
        ).values_list("number", "pk")
    )
    for group in groups.values():
        first = group.rows[0]
        number = group.head["customer"]
        if number and number not in customers:
            first.errors.append((_column("customer"), gettext("客户编号不存在。")))
        if all(group.head[f] is not None for f in ("channel", "requested_date", "payment_terms")):
            exc = services.header_problem(
                channel=group.head["channel"],
                requested_date=group.head["requested_date"],
                payment_terms=group.head["payment_terms"],
                customer_ref=group.head["customer_ref"] or "",
            )
            if exc is not None:
                _blame(group, exc)
        for problem in services.line_problems(group.lines):
            _blame(group, problem)
    return customers


def orders_import(*, actor: Any, file: Any) -> tuple[ImportReport, list[int]]:
    """Import the file; returns the report and the ids of the orders created (none when any row is bad).
    PermissionDenied without ``orders.order.import``."""
    access.require(actor, "orders.order.import")
    try:
        if hasattr(file, "name"):
            check_upload(file)
        headers, rows = read_rows(file, SPEC)
    except ImportFileError as exc:
        return ImportReport(ok=False, headers=SPEC.headers, rows=[], file_error=exc.message), []
    if len(rows) > MAX_ROWS:
        error = gettext("行数过多（上限 %(n)s 行）。") % {"n": MAX_ROWS}
        return ImportReport(ok=False, headers=headers, rows=[], file_error=error), []
    if not rows:
        error = gettext("文件中没有数据行。")
        return ImportReport(ok=False, headers=headers, rows=[], file_error=error), []
    report = ImportReport(ok=False, headers=headers, rows=rows)
    groups = _group(rows)
    customers = _check(actor, groups)
    if any(r.errors for r in rows):
        return report, []
    created: list[int] = []
    try:
        with transaction.atomic():
            for group in groups.values():
                head = group.head
                try:
                    order = services.order_create(
                        actor=actor,
                        customer_id=customers[head["customer"]],
                        channel=head["channel"],
                        requested_date=head["requested_date"],
                        payment_terms=head["payment_terms"],
                        customer_ref=head["customer_ref"] or "",
                        lines=group.lines,
                    )
                except KehuError as exc:
                    _blame(group, exc)
                    continue
                created.append(order.pk)
            if any(r.errors for r in rows):
                raise _Rollback()
    except _Rollback:
        return report, []
    for r in rows:
        r.outcome = "created"
    report.ok = True
    report.created = len(created)
    return report, created


def template_response() -> HttpResponse:
    return _template(
        "orders-import.xlsx",
        SPEC,
        [
            [
                "1",
                "KH-2026-000001",
                "电话",
                "2026-12-31",
                "net_30",
                "PO-001",
                "P-1002",
                "",
                "10",
                "",
                "",
                "0",
                "",
            ]
        ],
    )
