"""Working days (R-PLT-07): bundled data, administrator data, weekends-only years, services, pages and API."""

from __future__ import annotations

import datetime as dt
import json

import chinese_calendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kehu.core import workdays
from kehu.core.errors import PermissionDenied, ValidationFailed
from kehu.core.models import AuditEntry, CalendarDay, CalendarYear
from kehu.core.tests.factories import user_with
from kehu.core.workdays import (
    calendar_source,
    calendar_year_import_bundled,
    calendar_year_save,
    deadline,
    is_workday,
    next_workday,
    workdays_add,
    workdays_between,
)

D = dt.date
WARNING = "本年度节假日数据未录入，仅按周末计算"

# 2027 as an administrator would enter it (an invented schedule for the tests).
DAYS_2027 = [
    (D(2027, 1, 1), "holiday", "元旦"),
    (D(2027, 1, 4), "holiday", "元旦"),
    (D(2027, 1, 9), "workday", "元旦调休"),
]


@pytest.fixture
def admin(db):
    return user_with("sysadmin")


# --- bundled data (2025/2026) -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_national_day_2025():
    for day in range(1, 9):
        assert not is_workday(D(2025, 10, day)), day
    assert is_workday(D(2025, 9, 28))  # Sunday, make-up working day
    assert is_workday(D(2025, 10, 11))  # Saturday, make-up working day
    assert D(2025, 9, 28).weekday() == 6 and D(2025, 10, 11).weekday() == 5
    assert is_workday(D(2025, 10, 9))
    assert not is_workday(D(2025, 10, 12))  # an ordinary Sunday
    assert workdays_add(D(2025, 9, 30), 1) == D(2025, 10, 9)
    assert workdays_add(D(2025, 10, 9), -1) == D(2025, 9, 30)
    assert workdays_between(D(2025, 9, 26), D(2025, 10, 11)) == 6  # 28, 29, 30 Sep and 9, 10, 11 Oct
    assert next_workday(D(2025, 9, 27)) == D(2025, 9, 28)


@pytest.mark.django_db
def test_spring_festival_2026():
    assert not is_workday(D(2026, 2, 16))  # Monday in the Spring Festival holiday
    assert not is_workday(D(2026, 2, 23))
    assert is_workday(D(2026, 2, 14))  # Saturday make-up day
    assert is_workday(D(2026, 2, 28))
    assert workdays_add(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert workdays_add(D(2026, 2, 14), 1) == D(2026, 2, 24)


@pytest.mark.django_db
def test_agrees_with_chinesecalendar_for_2025_and_2026():
    d = D(2025, 1, 1)
    while d <= D(2026, 12, 31):
        assert is_workday(d) == chinese_calendar.is_workday(d), d
        d += dt.timedelta(days=1)


@pytest.mark.django_db
def test_sources():
    assert calendar_source(2026) == "bundled"
    assert calendar_source(2025) == "bundled"
    assert calendar_source(2027) == "weekends_only"
    assert calendar_source(1990) == "weekends_only"


@pytest.mark.django_db
def test_n_zero_and_negative():
    assert workdays_add(D(2025, 10, 9), 0) == D(2025, 10, 9)
    assert workdays_add(D(2025, 10, 1), 0) == D(2025, 10, 9)
    assert workdays_add(D(2025, 10, 10), -2) == D(2025, 9, 30)
    assert workdays_between(D(2025, 10, 10), D(2025, 9, 30)) == -2
    assert workdays_between(D(2025, 10, 10), D(2025, 10, 10)) == 0


# --- the 2026 -> 2027 boundary ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_across_new_year_without_2027_data_is_an_estimate():
    result = deadline(D(2026, 12, 30), 3)
    # 2026-12-31 (Thu), then weekends only: 2027-01-01 (Fri), 2027-01-04 (Mon)
    assert result.date == D(2027, 1, 4)
    assert result.estimated is True
    assert result.unknown_years == [2027]
    assert result.warning == WARNING
    inside = deadline(D(2026, 3, 2), 10)
    assert inside.estimated is False and inside.unknown_years == []


@pytest.mark.django_db
def test_across_new_year_with_2027_admin_data(admin):
    calendar_year_save(actor=admin, year=2027, source="国办发明电〔2026〕X号", days=DAYS_2027)
    assert calendar_source(2027) == "admin"
    result = deadline(D(2026, 12, 30), 3)
    # 2026-12-31, then 1 Jan and 4 Jan are holidays: 5 Jan, 6 Jan
    assert result.date == D(2027, 1, 6)
    assert result.estimated is False
    assert is_workday(D(2027, 1, 9))  # Saturday make-up day
    assert workdays_between(D(2027, 1, 8), D(2027, 1, 11)) == 2


@pytest.mark.django_db
def test_admin_data_overrides_bundled_year_entirely(admin):
    assert not is_workday(D(2026, 10, 1))
    calendar_year_save(actor=admin, year=2026, source="corrected", days=[(D(2026, 3, 2), "holiday", "测试")])
    assert calendar_source(2026) == "admin"
    assert not is_workday(D(2026, 3, 2))
    assert is_workday(D(2026, 10, 1))  # the bundled National Day no longer applies
    assert not is_workday(D(2026, 2, 14))  # nor the bundled make-up Saturday
    assert is_workday(D(2025, 10, 11))  # other years untouched


@pytest.mark.django_db
def test_cache_follows_changes(admin):
    assert is_workday(D(2027, 3, 1))
    calendar_year_save(actor=admin, year=2027, source="", days=[(D(2027, 3, 1), "holiday", "x")])
    assert not is_workday(D(2027, 3, 1))
    # a change made behind the service's back (another process) is seen through the version stamp
    CalendarDay.objects.filter(date=D(2027, 3, 1)).delete()
    assert is_workday(D(2027, 3, 1))


@pytest.mark.django_db
def test_version_check_is_one_query(django_assert_num_queries):
    workdays_add(D(2026, 1, 1), 5)
    with django_assert_num_queries(1):
        workdays_add(D(2026, 1, 1), 200)


# --- property: between and add are inverse ------------------------------------------------------------------------


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.dates(min_value=D(2024, 1, 1), max_value=D(2028, 12, 31)),
    n=st.integers(min_value=1, max_value=60),
)
def test_between_inverts_add(start, n):
    end = workdays_add(start, n)
    assert end > start and is_workday(end)
    assert workdays_between(start, end) == n
    if is_workday(start):
        assert workdays_add(end, -n) == start
        assert workdays_between(end, start) == -n


# --- services -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_save_is_audited_with_counts(admin):
    result = calendar_year_save(actor=admin, year=2027, source="通知", days=DAYS_2027)
    assert result.created
    row = CalendarYear.objects.get(year=2027)
    assert row.entered_by == admin and row.days.count() == 3
    entry = AuditEntry.objects.filter(object_type="core.calendaryear").latest("seq")
    assert entry.action == "create"
    assert entry.changes["holidays"] == [0, 2] and entry.changes["workdays"] == [0, 1]
    result = calendar_year_save(actor=admin, year=2027, source="通知（修订）", days=DAYS_2027[:1])
    assert not result.created
    entry = AuditEntry.objects.filter(object_type="core.calendaryear").latest("seq")
    assert entry.action == "update"
    assert entry.changes["holidays"] == [2, 1] and entry.changes["workdays"] == [1, 0]
    assert row.days.count() == 1


@pytest.mark.django_db
def test_save_refuses_date_outside_year(admin):
    with pytest.raises(ValidationFailed) as exc:
        calendar_year_save(
            actor=admin, year=2027, source="", days=[*DAYS_2027, (D(2028, 1, 1), "holiday", "")]
        )
    assert exc.value.rule == "date_outside_year" and exc.value.detail["index"] == 3
    assert not CalendarYear.objects.filter(year=2027).exists()


@pytest.mark.django_db
def test_save_refuses_duplicate_date(admin):
    with pytest.raises(ValidationFailed) as exc:
        calendar_year_save(
            actor=admin, year=2027, source="", days=[*DAYS_2027, (D(2027, 1, 1), "workday", "")]
        )
    assert exc.value.rule == "duplicate_date" and exc.value.detail["index"] == 3


@pytest.mark.django_db
def test_save_refuses_unknown_kind(admin):
    with pytest.raises(ValidationFailed) as exc:
        calendar_year_save(actor=admin, year=2027, source="", days=[(D(2027, 1, 1), "vacation", "")])
    assert exc.value.rule == "kind_invalid"


@pytest.mark.django_db
def test_save_warns_on_unusual_days(admin):
    result = calendar_year_save(
        actor=admin,
        year=2027,
        source="",
        days=[(D(2027, 1, 2), "holiday", "周六"), (D(2027, 1, 5), "workday", "周二")],
    )
    assert len(result.warnings) == 2
    assert any("2027-01-05" in w for w in result.warnings)


@pytest.mark.django_db
def test_save_needs_calendar_manage():
    with pytest.raises(PermissionDenied):
        calendar_year_save(actor=user_with("sales_rep"), year=2027, source="", days=DAYS_2027)


@pytest.mark.django_db
def test_import_bundled(admin):
    result = calendar_year_import_bundled(actor=admin, year=2026)
    assert calendar_source(2026) == "admin"
    row = result.calendar_year
    assert row.days.filter(kind="workday").count() == len(
        [d for d in chinese_calendar.workdays if d.year == 2026]
    )
    assert row.days.get(date=D(2026, 10, 1)).name == "国庆节"
    d = D(2026, 1, 1)
    while d.year == 2026:
        assert is_workday(d) == chinese_calendar.is_workday(d), d
        d += dt.timedelta(days=1)
    with pytest.raises(ValidationFailed) as exc:
        calendar_year_import_bundled(actor=admin, year=2027)
    assert exc.value.rule == "not_bundled"


def test_parse_lines():
    parsed = workdays.parse_lines(
        "2027-01-01 holiday 元旦\n\n# comment\n2027-13-01 holiday x\n2027-01-09 班 调休\nfoo"
    )
    assert parsed.days == [(D(2027, 1, 1), "holiday", "元旦"), (D(2027, 1, 9), "workday", "调休")]
    assert parsed.line_numbers == [1, 5]
    assert [n for n, _m in parsed.errors] == [4, 6]


# --- pages --------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_page_grid_and_deadline_warning(client):
    client.force_login(user_with("sales_rep"))
    resp = client.get("/system/calendar/?year=2025")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'class="p-0 small kehu-day-holiday" data-date="2025-10-01"' in html
    assert 'class="p-0 small kehu-day-workday" data-date="2025-09-28"' in html
    assert 'class="p-0 small kehu-day-weekend" data-date="2025-10-12"' in html
    assert (
        "calendar_year_edit" not in html and "/system/calendar/2025/" not in html
    )  # no edit links for sales
    resp = client.get("/system/calendar/?year=2026&start=2026-12-30&n=3")
    html = resp.content.decode()
    assert 'id="deadline-result"' in html and "2027-01-04" in html
    assert WARNING in html
    resp = client.get("/system/calendar/?year=2026&start=2026-03-02&n=3")
    html = resp.content.decode()
    assert "2026-03-05" in html and "data-deadline-estimated" not in html


@pytest.mark.django_db
def test_list_page_query_count(client, admin, django_assert_max_num_queries):
    calendar_year_save(actor=admin, year=2027, source="x", days=DAYS_2027)
    client.force_login(admin)
    with django_assert_max_num_queries(12):
        assert client.get("/system/calendar/?year=2027&start=2026-12-30&n=3").status_code == 200


@pytest.mark.django_db
def test_edit_page_saves_and_shows_line_errors(client, admin):
    client.force_login(admin)
    resp = client.get("/system/calendar/2026/")
    assert resp.status_code == 200
    assert "2026-10-01 holiday 国庆节" in resp.content.decode()  # prefilled from the bundled data
    resp = client.post(
        "/system/calendar/2027/",
        {"action": "save", "source": "通知", "lines": "2027-01-01 holiday 元旦\n2027-01-01 workday 重复"},
    )
    assert resp.status_code == 200
    assert "第2行" in resp.content.decode()
    resp = client.post(
        "/system/calendar/2027/", {"action": "save", "source": "通知", "lines": "2027-01-01 holiday 元旦\nxx"}
    )
    assert "第2行" in resp.content.decode() and "2027-01-01 holiday 元旦" in resp.content.decode()
    resp = client.post(
        "/system/calendar/2027/", {"action": "save", "source": "通知", "lines": "2028-01-01 holiday 元旦"}
    )
    assert "第1行" in resp.content.decode()
    assert not CalendarYear.objects.filter(year=2027).exists()
    resp = client.post(
        "/system/calendar/2027/",
        {"action": "save", "source": "通知", "lines": "2027-01-01 holiday 元旦\n2027-01-09 workday 调休"},
    )
    assert resp.status_code == 302
    assert calendar_source(2027) == "admin" and is_workday(D(2027, 1, 9))


@pytest.mark.django_db
def test_edit_page_import_bundled(client, admin):
    client.force_login(admin)
    resp = client.post("/system/calendar/2025/", {"action": "import"})
    assert resp.status_code == 302
    assert CalendarYear.objects.get(year=2025).days.count() > 20


@pytest.mark.django_db
def test_edit_page_forbidden_for_sales_rep(client):
    client.force_login(user_with("sales_rep"))
    assert client.get("/system/calendar/2027/").status_code == 403
    assert client.post("/system/calendar/2027/", {"action": "save", "lines": ""}).status_code == 403
    assert not CalendarYear.objects.exists()


@pytest.mark.django_db
def test_deadline_partial_and_tag():
    from django.template import engines

    tpl = engines["django"].from_string("{% load kehu_calendar %}{% show_deadline a %}|{% show_deadline b %}")
    html = tpl.render({"a": deadline(D(2026, 12, 30), 3), "b": D(2026, 5, 6)})
    first, second = html.split("|")
    assert "2027-01-04" in first and WARNING in first
    assert "2026-05-06" in second and WARNING not in second


# --- API ----------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_add(client):
    client.force_login(user_with("sales_rep"))
    data = client.get("/api/v1/calendar/workdays/add", {"date": "2025-09-30", "n": 1}).json()
    assert data["date"] == "2025-10-09" and data["estimated"] is False
    data = client.get("/api/v1/calendar/workdays/add", {"date": "2026-12-30", "n": 3}).json()
    assert data["date"] == "2027-01-04" and data["estimated"] is True and data["unknown_years"] == [2027]
    assert data["warning"] == WARNING
    assert client.get("/api/v1/calendar/workdays/add", {"date": "x", "n": 1}).status_code in (400, 422)


@pytest.mark.django_db
def test_api_years_and_put(client, admin):
    client.force_login(admin)
    payload = {"source": "通知", "days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]}
    resp = client.put("/api/v1/calendar/years/2027", json.dumps(payload), content_type="application/json")
    assert resp.status_code == 200, resp.content
    assert resp.json()["source"] == "admin" and resp.json()["holidays"] == 1 and resp.json()["created"]
    years = {y["year"]: y for y in client.get("/api/v1/calendar/years").json()}
    assert years[2027]["source"] == "admin" and years[2026]["source"] == "bundled"
    bad = {"source": "", "days": [{"date": "2028-01-01", "kind": "holiday"}]}
    resp = client.put("/api/v1/calendar/years/2027", json.dumps(bad), content_type="application/json")
    assert resp.status_code == 400
    assert resp.json()["detail"]["rule"] == "date_outside_year"


@pytest.mark.django_db
def test_api_put_forbidden_for_sales_rep(client):
    client.force_login(user_with("sales_rep"))
    payload = {"source": "", "days": []}
    resp = client.put("/api/v1/calendar/years/2027", json.dumps(payload), content_type="application/json")
    assert resp.status_code == 403
    assert not CalendarYear.objects.exists()
