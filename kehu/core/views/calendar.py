"""Working-day calendar pages (R-PLT-07): the years and their sources, a year's month grid, a deadline calculator,
and the administrator's editor for a year's holidays and make-up working days."""

from __future__ import annotations

import calendar as pycalendar
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import access, workdays
from kehu.core.errors import KehuError
from kehu.core.forms import KehuForm
from kehu.core.models import CalendarYear
from kehu.core.models.workdays import DayKind


class DeadlineForm(KehuForm):
    start = forms.DateField(label=gettext_lazy("起始日期"), widget=forms.DateInput())
    n = forms.IntegerField(label=gettext_lazy("工作日数"), min_value=-1000, max_value=1000, initial=15)


class YearEditForm(KehuForm):
    source = forms.CharField(
        label=gettext_lazy("依据"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("例如：国务院办公厅通知文号"),
    )
    lines = forms.CharField(
        label=gettext_lazy("节假日与调休上班日"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 18, "class": "font-monospace", "spellcheck": "false"}),
        help_text=gettext_lazy(
            "每行一天：日期 类型 名称，例如“2027-01-01 holiday 元旦”或“2027-02-07 workday 春节调休”。"
            "类型：holiday（休息）或 workday（调休上班）。"
        ),
    )


def month_grid(year: int, cal: workdays.Calendar) -> list[dict[str, Any]]:
    """Twelve months of weeks; every day with its kind for colouring (holiday, workday, weekend, normal)."""
    days = cal.year_days(year)
    months = []
    for month in range(1, 13):
        weeks = []
        for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            cells: list[dict[str, Any] | None] = []
            for d in week:
                if d.month != month:
                    cells.append(None)
                    continue
                if d in days.holidays:
                    kind, name = "holiday", days.holidays[d]
                elif d in days.workdays:
                    kind, name = "workday", days.workdays[d]
                elif d.weekday() >= 5:
                    kind, name = "weekend", ""
                else:
                    kind, name = "normal", ""
                cells.append({"date": d, "kind": kind, "name": name})
            weeks.append(cells)
        months.append({"month": month, "weeks": weeks})
    return months


def _int_param(request: HttpRequest, name: str, default: int) -> int:
    try:
        value = int(request.GET.get(name, default))
    except ValueError:
        return default
    return value if 1900 <= value <= 2999 else default


@login_required
def calendar_year_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "calendar.view")
    year = _int_param(request, "year", timezone.localdate().year)
    form = DeadlineForm(request.GET if "start" in request.GET else None)
    result = None
    if form.is_bound and form.is_valid():
        try:
            result = workdays.deadline(form.cleaned_data["start"], form.cleaned_data["n"])
        except ValueError:
            form.add_error("n", _("工作日数过大。"))
    cal = workdays.Calendar()
    context = {
        "years": workdays.calendar_years(actor=user, include=[year]),
        "year": year,
        "year_source": cal.source(year),
        "year_source_label": workdays.source_label(cal.source(year)),
        "months": month_grid(year, cal),
        "weekday_names": [_("一"), _("二"), _("三"), _("四"), _("五"), _("六"), _("日")],
        "form": form,
        "result": result,
        "can_manage": access.can(user, "calendar.manage"),
    }
    return render(request, "core/calendar/list.html", context)


@login_required
def calendar_year_edit(request: HttpRequest, year: int) -> HttpResponse:
    user: Any = request.user
    access.require(user, "calendar.manage")
    if not 1900 <= year <= 2999:
        messages.error(request, _("年份无效。"))
        return redirect("calendar_year_list")
    row = CalendarYear.objects.filter(year=year).first()
    source = workdays.calendar_source(year)
    line_errors: list[tuple[int, str]] = []
    if request.method == "POST" and request.POST.get("action") == "import":
        try:
            result = workdays.calendar_year_import_bundled(actor=user, year=year)
        except KehuError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("已从内置数据导入 %(year)d 年，可在此修改。") % {"year": year})
            for w in result.warnings:
                messages.warning(request, w)
        return redirect("calendar_year_edit", year=year)
    if request.method == "POST":
        form = YearEditForm(request.POST)
        if form.is_valid():
            parsed = workdays.parse_lines(form.cleaned_data["lines"])
            line_errors = list(parsed.errors)
            if not line_errors:
                try:
                    result = workdays.calendar_year_save(
                        actor=user, year=year, source=form.cleaned_data["source"], days=parsed.days
                    )
                except KehuError as exc:
                    detail = exc.detail if isinstance(exc.detail, dict) else {}
                    index = detail.get("index")
                    if isinstance(index, int) and 0 <= index < len(parsed.line_numbers):
                        line_errors.append((parsed.line_numbers[index], str(exc.message)))
                    else:
                        form.add_service_error(exc)
                else:
                    messages.success(request, _("%(year)d 年的节假日已保存。") % {"year": year})
                    for w in result.warnings:
                        messages.warning(request, w)
                    return redirect(f"{reverse('calendar_year_list')}?year={year}")
            if line_errors:
                form.add_error(
                    "lines",
                    [_("第%(line)d行：%(message)s") % {"line": n, "message": m} for n, m in line_errors],
                )
    else:
        days = workdays.year_days_list(actor=user, year=year)
        form = YearEditForm(
            initial={
                "source": row.source if row else "",
                "lines": workdays.format_lines(days),
            }
        )
    context = {
        "year": year,
        "row": row,
        "source": source,
        "source_label": workdays.source_label(source),
        "form": form,
        "line_errors": line_errors,
        "bundled": year in workdays.BUNDLED_YEARS,
        "kinds": DayKind.choices,
    }
    return render(request, "core/calendar/edit.html", context)


urlpatterns: list[URLPattern] = [
    path("system/calendar/", calendar_year_list, name="calendar_year_list"),
    path("system/calendar/<int:year>/", calendar_year_edit, name="calendar_year_edit"),
]
