"""Numbering (R-PLT-06): human-readable, gap-free yearly serial numbers per document type.

A document type is declared once with :func:`register_series`; :func:`number_next` then takes the next number
inside the caller's transaction::

    with transaction.atomic():
        customer.number = number_next("KH")               # "KH-2026-000123"
        car.number = number_next("CAR", department=dept)   # "CAR-QA-2026-0042"

The series row is locked until the caller's transaction ends, so numbers are issued one after another; a number
is consumed only when the caller commits (a rollback gives it back, so the committed numbers have no gap).
The year comes from the document date in China Standard Time and every year starts again at 1.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kehu.core import access
from kehu.core.models import Department, NumberSeries

CHINA_TZ = ZoneInfo("Asia/Shanghai")
COMPANY_WIDE = "-"


@dataclass(frozen=True)
class SeriesSpec:
    doc_type: str
    prefix: str
    width: int
    per_department: bool
    label: str | Promise

    def format(self, number: int, year: int, scope_key: str = COMPANY_WIDE) -> str:
        serial = str(number).zfill(self.width)
        if self.per_department:
            return f"{self.prefix}-{scope_key}-{year}-{serial}"
        return f"{self.prefix}-{year}-{serial}"


_REGISTRY: dict[str, SeriesSpec] = {}


def register_series(
    doc_type: str, *, prefix: str, width: int, per_department: bool = False, label: str | Promise
) -> SeriesSpec:
    """Declare a document type's series. Declaring the same type again with the same shape is harmless."""
    if not doc_type or len(doc_type) > 30:
        raise ValueError(f"invalid doc_type {doc_type!r}")
    if width < 1:
        raise ValueError("width must be at least 1")
    spec = SeriesSpec(
        doc_type=doc_type, prefix=prefix, width=width, per_department=per_department, label=label
    )
    existing = _REGISTRY.get(doc_type)
    if existing is not None and (existing.prefix, existing.width, existing.per_department) != (
        prefix,
        width,
        per_department,
    ):
        raise ValueError(f"series {doc_type!r} is already declared differently")
    _REGISTRY[doc_type] = spec
    return spec


def get_series(doc_type: str) -> SeriesSpec:
    try:
        return _REGISTRY[doc_type]
    except KeyError:
        raise ValueError(f"unknown document type {doc_type!r}") from None


def registered_series() -> list[SeriesSpec]:
    return sorted(_REGISTRY.values(), key=lambda s: s.doc_type)


def year_of(date: dt.date | dt.datetime | None) -> int:
    """The numbering year of a document date (China Standard Time; today when None)."""
    if date is None:
        return timezone.localtime(timezone.now(), CHINA_TZ).year
    if isinstance(date, dt.datetime):
        if timezone.is_aware(date):
            return timezone.localtime(date, CHINA_TZ).year
        return date.year
    return date.year


def _scope(spec: SeriesSpec, department: Department | None) -> tuple[str, Department | None]:
    if not spec.per_department:
        return COMPANY_WIDE, None
    if department is None:
        raise ValueError(f"series {spec.doc_type!r} is numbered per department: a department is required")
    return department.code, department


def _locked_row(doc_type: str, scope_key: str, year: int, department: Department | None) -> NumberSeries:
    """The series row, locked for the rest of the caller's transaction; created when missing (race-safe)."""
    qs = NumberSeries.objects.select_for_update()
    for _attempt in range(3):
        row = qs.filter(doc_type=doc_type, scope_key=scope_key, year=year).first()
        if row is not None:
            return row
        try:
            with (
                transaction.atomic()
            ):  # savepoint: a lost insert race must not break the caller's transaction
                NumberSeries.objects.create(
                    doc_type=doc_type, scope_key=scope_key, year=year, department=department, last=0
                )
        except IntegrityError:
            continue  # another transaction created it first: lock theirs
        # Created by us: lock it (our own insert already holds the row; this keeps one code path).
    row = qs.filter(doc_type=doc_type, scope_key=scope_key, year=year).first()
    if row is None:  # pragma: no cover - the insert above either succeeded or met an existing row
        raise RuntimeError("number series row could not be created")
    return row


def number_next(
    doc_type: str, department: Department | None = None, date: dt.date | dt.datetime | None = None
) -> str:
    """Take the next number of ``doc_type`` for the year of ``date`` (and ``department`` when per department).

    Call it inside the transaction that saves the document: the number is consumed only if that transaction
    commits. Unknown ``doc_type`` raises ``ValueError``.
    """
    spec = get_series(doc_type)
    scope_key, dept = _scope(spec, department)
    year = year_of(date)
    with transaction.atomic():
        row = _locked_row(doc_type, scope_key, year, dept)
        row.last += 1
        row.save(update_fields=["last"])
        return spec.format(row.last, year, scope_key)


def number_preview(doc_type: str, department: Department | None = None, date: dt.date | None = None) -> str:
    """The number :func:`number_next` would give now, without taking it (for display only)."""
    spec = get_series(doc_type)
    scope_key, _dept = _scope(spec, department)
    year = year_of(date)
    row = NumberSeries.objects.filter(doc_type=doc_type, scope_key=scope_key, year=year).first()
    return spec.format((row.last if row else 0) + 1, year, scope_key)


def series_label(doc_type: str) -> Any:
    spec = _REGISTRY.get(doc_type)
    return spec.label if spec else doc_type


def series_next_preview(row: NumberSeries) -> str:
    """The next number of an existing series row (for the list page)."""
    spec = _REGISTRY.get(row.doc_type)
    if spec is None:
        return str(row.last + 1)
    return spec.format(row.last + 1, row.year, row.scope_key)


def series_list(*, actor: Any) -> QuerySet[NumberSeries]:
    """Every series row (selector for the numbering page; platform-wide data)."""
    access.require(actor, "numbering.view")
    return NumberSeries.objects.select_related("department")


# The platform's document types. Modules declare their own with ``register_series`` at import time.
register_series("KH", prefix="KH", width=6, label=_("客户编号"))
register_series("CAR", prefix="CAR", width=4, per_department=True, label=_("纠正措施单"))
register_series("ORD", prefix="ORD", width=6, label=_("订单"))
register_series("REV", prefix="REV", width=5, label=_("评审"))
register_series("ACC", prefix="ACC", width=5, label=_("访问申请"))
