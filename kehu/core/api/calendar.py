"""Working-day calendar API (R-PLT-07): add working days, list the years, replace a year's holidays."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from kehu.core import access, workdays
from kehu.core.errors import ValidationFailed

router = Router()


class AddQuery(Schema):
    date: dt.date = Field(..., description="start date (YYYY-MM-DD)")
    n: int = Field(..., ge=-1000, le=1000, description="working days to add (negative: backwards)")


class DeadlineOut(Schema):
    start: dt.date
    n: int
    date: dt.date
    estimated: bool = Field(description="true when a year without holiday data was crossed (weekends only)")
    unknown_years: list[int]
    warning: str


class YearOut(Schema):
    year: int
    source: str = Field(description="admin | bundled | weekends_only")
    source_label: str
    basis: str
    holidays: int
    workdays: int
    entered_by: str
    entered_at: dt.datetime | None


class DayIn(Schema):
    date: dt.date
    kind: str = Field(..., description="holiday | workday")
    name: str = ""


class YearIn(Schema):
    source: str = Field("", max_length=300, description="the announcement this schedule comes from")
    days: list[DayIn]


class YearSaved(YearOut):
    created: bool
    warnings: list[str]


@router.get("/workdays/add", response=DeadlineOut, summary="Add working days to a date")
def workdays_add(request: HttpRequest, q: Query[AddQuery]) -> dict[str, Any]:
    access.require(request.user, "calendar.view")
    try:
        result = workdays.deadline(q.date, q.n)
    except ValueError:
        raise ValidationFailed(_("工作日数过大。"), field="n", rule="range") from None
    return {
        "start": q.date,
        "n": q.n,
        "date": result.date,
        "estimated": result.estimated,
        "unknown_years": result.unknown_years,
        "warning": result.warning,
    }


def _year_out(y: workdays.YearSummary) -> dict[str, Any]:
    return {
        "year": y.year,
        "source": y.source,
        "source_label": workdays.source_label(y.source),
        "basis": y.basis,
        "holidays": y.holidays,
        "workdays": y.workdays,
        "entered_by": y.entered_by,
        "entered_at": y.entered_at,
    }


@router.get("/years", response=list[YearOut], summary="Years and where their holiday data comes from")
def years(request: HttpRequest) -> list[dict[str, Any]]:
    return [_year_out(y) for y in workdays.calendar_years(actor=request.user)]


@router.put("/years/{year}", response=YearSaved, summary="Replace a year's holidays and make-up working days")
def year_put(request: HttpRequest, year: int, payload: YearIn) -> dict[str, Any]:
    result = workdays.calendar_year_save(
        actor=request.user,
        year=year,
        source=payload.source,
        days=[(d.date, d.kind, d.name) for d in payload.days],
    )
    summary = next(y for y in workdays.calendar_years(actor=request.user, include=[year]) if y.year == year)
    return {**_year_out(summary), "created": result.created, "warnings": result.warnings}
