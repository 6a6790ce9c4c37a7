"""Working days (R-PLT-07): deadlines on the mainland-China calendar of public holidays and make-up working days.

Where a year's exceptions come from, in this order:

1. ``admin``: the year has a :class:`CalendarYear` row (entered by an administrator as the State Council
   announces it, or imported from the bundled data and corrected); its days replace the bundled data entirely;
2. ``bundled``: the chinesecalendar package knows the year;
3. ``weekends_only``: neither knows it; Saturdays and Sundays are the only days off and any deadline that
   crosses such a year is an estimate (:class:`Deadline` says so, and pages show a warning).

Reads cache the administrator's data in-process and re-check a cheap version stamp on every call, so a change
saved in another process is seen at once.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import chinese_calendar
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errors import ValidationFailed
from kehu.core.models import CalendarDay, CalendarYear
from kehu.core.models.audit import AuditAction
from kehu.core.models.workdays import DayKind

Source = Literal["admin", "bundled", "weekends_only"]
ESTIMATE_WARNING = "本年度节假日数据未录入，仅按周末计算"
MAX_STEPS = 20_000  # a safety net for absurd n; ~55 years of days

# Chinese names of the bundled data's holidays (the package names them in English).
BUNDLED_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


@dataclass(frozen=True)
class YearDays:
    """A year's exceptions to the Monday-to-Friday week."""

    holidays: dict[dt.date, str]
    workdays: dict[dt.date, str]


def _bundled() -> dict[int, YearDays]:
    out: dict[int, YearDays] = {}
    for d, name in chinese_calendar.holidays.items():
        out.setdefault(d.year, YearDays({}, {})).holidays[d] = BUNDLED_NAMES.get(name, name)
    for d, name in chinese_calendar.workdays.items():
        out.setdefault(d.year, YearDays({}, {})).workdays[d] = BUNDLED_NAMES.get(name, name)
    return out


BUNDLED: dict[int, YearDays] = _bundled()
BUNDLED_YEARS: frozenset[int] = frozenset(BUNDLED)

_lock = threading.Lock()
_cache: dict[str, Any] = {"version": None, "admin": {}}


def _version() -> tuple[Any, ...]:
    agg = CalendarYear.objects.aggregate(
        v_years=Count("id", distinct=True),
        v_last_year=Max("id"),
        v_entered=Max("entered_at"),
        v_days=Count("days"),
        v_last_day=Max("days__id"),
    )
    return (agg["v_years"], agg["v_last_year"], agg["v_entered"], agg["v_days"], agg["v_last_day"])


def _load_admin() -> dict[int, YearDays]:
    admin: dict[int, YearDays] = {
        y: YearDays({}, {}) for y in CalendarYear.objects.values_list("year", flat=True)
    }
    for year, d, kind, name in CalendarDay.objects.values_list("year__year", "date", "kind", "name"):
        target = admin[year].holidays if kind == DayKind.HOLIDAY else admin[year].workdays
        target[d] = name
    return admin


def invalidate_cache() -> None:
    with _lock:
        _cache["version"] = None
        _cache["admin"] = {}


def _admin_years() -> dict[int, YearDays]:
    """The administrator's data, reloaded when the version stamp in the database changed."""
    version = _version()
    with _lock:
        if _cache["version"] == version:
            return _cache["admin"]  # type: ignore[no-any-return,unused-ignore]
    admin = _load_admin()
    with _lock:
        _cache["version"] = version
        _cache["admin"] = admin
    return admin


class Calendar:
    """One consistent view of the calendar for the duration of a computation (one version check)."""

    def __init__(self) -> None:
        self.admin = _admin_years()

    def source(self, year: int) -> Source:
        if year in self.admin:
            return "admin"
        if year in BUNDLED_YEARS:
            return "bundled"
        return "weekends_only"

    def year_days(self, year: int) -> YearDays:
        if year in self.admin:
            return self.admin[year]
        return BUNDLED.get(year) or YearDays({}, {})

    def is_workday(self, d: dt.date) -> bool:
        days = self.year_days(d.year)
        if d in days.holidays:
            return False
        if d in days.workdays:
            return True
        return d.weekday() < 5

    def day_name(self, d: dt.date) -> str:
        days = self.year_days(d.year)
        return days.holidays.get(d) or days.workdays.get(d) or ""

    def add(self, d: dt.date, n: int) -> dt.date:
        if n == 0:
            return d if self.is_workday(d) else self.add(d, 1)
        step = dt.timedelta(days=1 if n > 0 else -1)
        remaining = abs(n)
        current = d
        for _i in range(MAX_STEPS):
            current += step
            if self.is_workday(current):
                remaining -= 1
                if remaining == 0:
                    return current
        raise ValueError("too many working days")

    def between(self, a: dt.date, b: dt.date) -> int:
        if b < a:
            return -self.between(b, a)
        count = 0
        current = a
        while current < b:
            current += dt.timedelta(days=1)
            if self.is_workday(current):
                count += 1
        return count


def _as_date(d: dt.date | dt.datetime) -> dt.date:
    if isinstance(d, dt.datetime):
        return timezone.localtime(d).date() if timezone.is_aware(d) else d.date()
    return d


def is_workday(d: dt.date | dt.datetime) -> bool:
    return Calendar().is_workday(_as_date(d))


def workdays_add(d: dt.date | dt.datetime, n: int) -> dt.date:
    """The n-th working day after ``d`` (before it when n < 0); for n == 0, ``d`` or the next working day."""
    return Calendar().add(_as_date(d), n)


def workdays_between(a: dt.date | dt.datetime, b: dt.date | dt.datetime) -> int:
    """How many working days lie in (a, b]; negative when b is before a."""
    return Calendar().between(_as_date(a), _as_date(b))


def next_workday(d: dt.date | dt.datetime) -> dt.date:
    """The first working day strictly after ``d``."""
    return Calendar().add(_as_date(d), 1)


def calendar_source(year: int) -> Source:
    return Calendar().source(year)


@dataclass(frozen=True)
class Deadline:
    date: dt.date
    estimated: bool = False
    unknown_years: list[int] = field(default_factory=list)

    @property
    def warning(self) -> str:
        return _(ESTIMATE_WARNING) if self.estimated else ""


def deadline(start: dt.date | dt.datetime, n: int) -> Deadline:
    """``workdays_add(start, n)`` plus whether a year without holiday data was crossed (an estimate)."""
    cal = Calendar()
    begin = _as_date(start)
    end = cal.add(begin, n)
    lo, hi = min(begin, end), max(begin, end)
    unknown = [y for y in range(lo.year, hi.year + 1) if cal.source(y) == "weekends_only"]
    return Deadline(date=end, estimated=bool(unknown), unknown_years=unknown)


def date_is_estimated(d: dt.date | dt.datetime) -> bool:
    """Whether a date lies in a year without holiday data (for showing a stored deadline)."""
    return calendar_source(_as_date(d).year) == "weekends_only"


# ---------------------------------------------------------------------------------------------------------------
# Selectors


@dataclass(frozen=True)
class YearSummary:
    year: int
    source: Source
    basis: str
    holidays: int
    workdays: int
    entered_by: str
    entered_at: dt.datetime | None

    @property
    def source_label(self) -> str:
        return str(SOURCE_LABELS[self.source])


SOURCE_LABELS = {
    "admin": "管理员录入",
    "bundled": "内置数据",
    "weekends_only": "未录入（仅周末）",
}


def source_label(source: str) -> str:
    return _(SOURCE_LABELS.get(source, source))


def calendar_years(*, actor: Any, include: Iterable[int] = ()) -> list[YearSummary]:
    """Every year the administrator entered, the recent bundled years and the years asked for, newest first."""
    access.require(actor, "calendar.view")
    rows = {
        y.year: y
        for y in CalendarYear.objects.select_related("entered_by").annotate(
            n_holidays=Count("days", filter=models_q("holiday")),
            n_workdays=Count("days", filter=models_q("workday")),
        )
    }
    this_year = timezone.localdate().year
    years = (
        set(rows)
        | {y for y in BUNDLED_YEARS if y >= this_year - 3}
        | {this_year, this_year + 1}
        | set(include)
    )
    out: list[YearSummary] = []
    for year in sorted(years, reverse=True):
        row = rows.get(year)
        if row is not None:
            out.append(
                YearSummary(
                    year=year,
                    source="admin",
                    basis=row.source,
                    holidays=row.n_holidays,
                    workdays=row.n_workdays,
                    entered_by=str(row.entered_by) if row.entered_by else "",
                    entered_at=row.entered_at,
                )
            )
        elif year in BUNDLED_YEARS:
            data = BUNDLED[year]
            out.append(
                YearSummary(
                    year, "bundled", "chinesecalendar", len(data.holidays), len(data.workdays), "", None
                )
            )
        else:
            out.append(YearSummary(year, "weekends_only", "", 0, 0, "", None))
    return out


def models_q(kind: str) -> Q:
    return Q(days__kind=kind)


def year_days_list(*, actor: Any, year: int) -> list[tuple[dt.date, str, str]]:
    """The year's exceptions as (date, kind, name), from wherever they come."""
    access.require(actor, "calendar.view")
    days = Calendar().year_days(year)
    out = [(d, DayKind.HOLIDAY.value, n) for d, n in days.holidays.items()]
    out += [(d, DayKind.WORKDAY.value, n) for d, n in days.workdays.items()]
    return sorted(out)


# ---------------------------------------------------------------------------------------------------------------
# Services


@dataclass
class SaveResult:
    calendar_year: CalendarYear
    created: bool
    warnings: list[str]


def _invalid(message: str, rule: str, index: int | None = None, **extra: Any) -> ValidationFailed:
    detail: dict[str, Any] = {"field": "days", "rule": rule, **extra}
    if index is not None:
        detail["index"] = index
    return ValidationFailed(message, field="days", rule=rule, detail=detail)


def validate_days(year: int, days: Sequence[tuple[dt.date, str, str]]) -> list[str]:
    """Refuse what cannot be right; return warnings for what is unusual. ``index`` in errors is 0-based."""
    warnings: list[str] = []
    weekend_holidays = 0
    seen: dict[dt.date, int] = {}
    for i, (d, kind, name) in enumerate(days):
        if not isinstance(d, dt.date) or isinstance(d, dt.datetime):
            raise _invalid(_("第%(n)d项的日期无效。") % {"n": i + 1}, "date_invalid", i)
        if d.year != year:
            raise _invalid(
                _("%(date)s 不在 %(year)d 年内。") % {"date": d.isoformat(), "year": year},
                "date_outside_year",
                i,
            )
        if d in seen:
            raise _invalid(
                _("%(date)s 重复出现。") % {"date": d.isoformat()}, "duplicate_date", i, first_index=seen[d]
            )
        seen[d] = i
        if kind not in DayKind.values:
            raise _invalid(
                _("%(date)s 的类型“%(kind)s”无效，应为 holiday 或 workday。")
                % {"date": d.isoformat(), "kind": kind},
                "kind_invalid",
                i,
            )
        if len(name or "") > 60:
            raise _invalid(
                _("%(date)s 的名称过长（最多60个字符）。") % {"date": d.isoformat()}, "name_too_long", i
            )
        weekend = d.weekday() >= 5
        if kind == DayKind.WORKDAY and not weekend:
            warnings.append(
                _("%(date)s 是工作日（周一至周五），标为调休上班日没有效果。") % {"date": d.isoformat()}
            )
        if kind == DayKind.HOLIDAY and weekend:
            weekend_holidays += 1
    if weekend_holidays:
        warnings.append(_("%(n)d 个节假日落在周末，本来就休息（计算不受影响）。") % {"n": weekend_holidays})
    return warnings


def _save(
    *, actor: Any, year: int, source: str, days: Sequence[tuple[dt.date, str, str]], reason: str = ""
) -> SaveResult:
    access.require(actor, "calendar.manage")
    if not 1900 <= year <= 2999:
        raise ValidationFailed(_("年份无效。"), field="year", rule="year_range")
    source = (source or "").strip()
    if len(source) > 300:
        raise ValidationFailed(_("依据过长（最多300个字符）。"), field="source", rule="max_length")
    days = [(d, str(kind), (name or "").strip()) for d, kind, name in days]
    warnings = validate_days(year, days)
    created = False
    row = CalendarYear.objects.select_for_update().filter(year=year).first()
    if row is None:
        try:
            with transaction.atomic():
                row = CalendarYear.objects.create(year=year, source=source, entered_by=actor)
                created = True
        except IntegrityError:
            row = CalendarYear.objects.select_for_update().get(year=year)
    before = {
        "source": "" if created else row.source,
        "holidays": 0 if created else row.days.filter(kind=DayKind.HOLIDAY).count(),
        "workdays": 0 if created else row.days.filter(kind=DayKind.WORKDAY).count(),
    }
    row.days.all().delete()
    CalendarDay.objects.bulk_create(
        [CalendarDay(year=row, date=d, kind=kind, name=name) for d, kind, name in sorted(days)]
    )
    now = timezone.now()
    CalendarYear.objects.filter(pk=row.pk).update(source=source, entered_by=actor, entered_at=now)
    row.source, row.entered_by, row.entered_at = source, actor, now
    after = {
        "source": source,
        "holidays": sum(1 for _d, k, _n in days if k == DayKind.HOLIDAY),
        "workdays": sum(1 for _d, k, _n in days if k == DayKind.WORKDAY),
    }
    invalidate_cache()
    transaction.on_commit(invalidate_cache)
    audit.record(
        actor=actor,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        obj=row,
        changes={k: [before[k], after[k]] for k in before},
        reason=reason,
    )
    return SaveResult(calendar_year=row, created=created, warnings=warnings)


@transaction.atomic
def calendar_year_save(
    *, actor: Any, year: int, source: str, days: Sequence[tuple[dt.date, str, str]]
) -> SaveResult:
    """Replace a year's holidays and make-up working days (the administrator's data wins over bundled data)."""
    return _save(actor=actor, year=year, source=source, days=days)


@transaction.atomic
def calendar_year_import_bundled(*, actor: Any, year: int) -> SaveResult:
    """Copy the bundled data of a year it knows into the table, so the administrator can correct it."""
    access.require(actor, "calendar.manage")
    data = BUNDLED.get(year)
    if data is None:
        raise ValidationFailed(
            _("内置数据不包含 %(year)d 年，请手工录入。") % {"year": year}, field="year", rule="not_bundled"
        )
    days = [(d, DayKind.HOLIDAY.value, n) for d, n in data.holidays.items()]
    days += [(d, DayKind.WORKDAY.value, n) for d, n in data.workdays.items()]
    existing = CalendarYear.objects.filter(year=year).values_list("source", flat=True).first()
    source = existing or _("内置数据（chinesecalendar %(version)s）") % {
        "version": chinese_calendar.__version__
    }
    return _save(actor=actor, year=year, source=source, days=days, reason=_("从内置数据导入"))


@dataclass
class ParsedLines:
    days: list[tuple[dt.date, str, str]]
    line_numbers: list[int]  # the text line of each entry of ``days``
    errors: list[tuple[int, str]]  # (line number, message)


def parse_lines(text: str) -> ParsedLines:
    """Parse "2027-01-01 holiday 元旦" lines, one per line (the kind may also be 休/假 or 班)."""
    aliases = {
        "holiday": DayKind.HOLIDAY.value,
        "休": DayKind.HOLIDAY.value,
        "假": DayKind.HOLIDAY.value,
        "workday": DayKind.WORKDAY.value,
        "班": DayKind.WORKDAY.value,
    }
    out = ParsedLines([], [], [])
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.replace("\t", " ").replace(",", " ").replace("，", " ").split(None, 2)
        try:
            d = dt.date.fromisoformat(parts[0])
        except ValueError:
            out.errors.append((no, _("日期“%(value)s”无效，应为YYYY-MM-DD。") % {"value": parts[0]}))
            continue
        if len(parts) < 2 or parts[1].lower() not in aliases:
            out.errors.append((no, _("类型应为 holiday 或 workday。")))
            continue
        out.days.append((d, aliases[parts[1].lower()], parts[2].strip() if len(parts) > 2 else ""))
        out.line_numbers.append(no)
    return out


def format_lines(days: Iterable[tuple[dt.date, str, str]]) -> str:
    return "\n".join(f"{d.isoformat()} {kind} {name}".rstrip() for d, kind, name in sorted(days))
