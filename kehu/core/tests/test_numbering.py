"""Numbering (R-PLT-06): format, yearly reset, per-department series, rollback, concurrency on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction

from kehu.core import numbering
from kehu.core.models import Department, NumberSeries
from kehu.core.numbering import number_next, number_preview, register_series
from kehu.core.tests.factories import DepartmentFactory, user_with
from kehu.core.tests.threads import in_thread as _in_thread

D2026 = dt.date(2026, 5, 1)


def dept(code: str, **kwargs) -> Department:
    return DepartmentFactory(code=code, **kwargs)  # type: ignore[return-value]


class Boom(Exception):
    pass


@pytest.mark.django_db
def test_company_wide_format_and_sequence():
    assert number_next("KH", date=D2026) == "KH-2026-000001"
    assert number_next("KH", date=D2026) == "KH-2026-000002"
    assert number_next("ORD", date=D2026) == "ORD-2026-000001"
    assert number_next("REV", date=D2026) == "REV-2026-00001"
    assert number_next("ACC", date=D2026) == "ACC-2026-00001"
    row = NumberSeries.objects.get(doc_type="KH", year=2026)
    assert (row.scope_key, row.department, row.last) == ("-", None, 2)


@pytest.mark.django_db
def test_department_is_ignored_for_company_wide_series():
    qa = dept("QA")
    assert number_next("KH", department=qa, date=D2026) == "KH-2026-000001"
    assert number_next("KH", date=D2026) == "KH-2026-000002"


@pytest.mark.django_db
def test_yearly_reset():
    assert number_next("KH", date=dt.date(2026, 12, 31)) == "KH-2026-000001"
    assert number_next("KH", date=dt.date(2026, 12, 31)) == "KH-2026-000002"
    assert number_next("KH", date=dt.date(2027, 1, 1)) == "KH-2027-000001"
    assert number_next("KH", date=dt.date(2026, 6, 1)) == "KH-2026-000003"


@pytest.mark.django_db
def test_year_is_taken_in_china_time():
    # 2026-12-31 17:30 UTC is already 2027-01-01 01:30 in Shanghai.
    late = dt.datetime(2026, 12, 31, 17, 30, tzinfo=ZoneInfo("UTC"))
    assert number_next("KH", date=late) == "KH-2027-000001"
    assert numbering.year_of(dt.datetime(2026, 12, 31, 15, 59, tzinfo=ZoneInfo("UTC"))) == 2026


@pytest.mark.django_db
def test_per_department_series_are_independent():
    qa, sales = dept("QA"), dept("SALES")
    assert number_next("CAR", department=qa, date=D2026) == "CAR-QA-2026-0001"
    assert number_next("CAR", department=qa, date=D2026) == "CAR-QA-2026-0002"
    assert number_next("CAR", department=sales, date=D2026) == "CAR-SALES-2026-0001"
    assert number_next("CAR", department=qa, date=D2026) == "CAR-QA-2026-0003"
    row = NumberSeries.objects.get(doc_type="CAR", scope_key="QA", year=2026)
    assert row.department == qa
    assert number_preview("CAR", department=sales, date=D2026) == "CAR-SALES-2026-0002"


@pytest.mark.django_db
def test_per_department_series_needs_a_department():
    with pytest.raises(ValueError, match="department"):
        number_next("CAR", date=D2026)


@pytest.mark.django_db
def test_unknown_doc_type():
    with pytest.raises(ValueError, match="unknown"):
        number_next("NOPE")


def test_register_series_refuses_a_different_redeclaration():
    register_series("KH", prefix="KH", width=6, label="客户编号")  # same shape: fine
    with pytest.raises(ValueError):
        register_series("KH", prefix="KH", width=7, label="客户编号")


@pytest.mark.django_db
def test_wide_numbers_overflow_the_width_without_truncation():
    register_series("TST1", prefix="T", width=2, label="t")
    for _i in range(100):
        last = number_next("TST1", date=D2026)
    assert last == "T-2026-100"


@pytest.mark.django_db
def test_rollback_gives_the_number_back():
    assert number_next("KH", date=D2026) == "KH-2026-000001"
    with pytest.raises(Boom), transaction.atomic():
        assert number_next("KH", date=D2026) == "KH-2026-000002"
        raise Boom
    assert number_next("KH", date=D2026) == "KH-2026-000002"


@pytest.mark.django_db
def test_rollback_of_the_first_number_of_a_year_leaves_no_row():
    with pytest.raises(Boom), transaction.atomic():
        number_next("ORD", date=D2026)
        raise Boom
    assert not NumberSeries.objects.filter(doc_type="ORD").exists()
    assert number_next("ORD", date=D2026) == "ORD-2026-000001"


@pytest.mark.django_db
def test_numbering_page(client):
    number_next("KH", date=D2026)
    number_next("KH", date=D2026)
    number_next("CAR", department=dept("QA", name="质量部"), date=D2026)
    admin = user_with("sysadmin")
    client.force_login(admin)
    resp = client.get("/system/numbering/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "KH-2026-000003" in html
    assert "CAR-QA-2026-0002" in html
    assert "质量部" in html
    resp = client.get("/system/numbering/?doc_type=CAR")
    assert "KH-2026-000003" not in resp.content.decode().split('id="declared-series"')[0]
    resp = client.get("/system/numbering/?export=xlsx")
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")


@pytest.mark.django_db
def test_numbering_page_query_count(client, django_assert_max_num_queries):
    for code in ("A1", "A2", "A3", "A4"):
        number_next("CAR", department=dept(code), date=D2026)
    client.force_login(user_with("auditor"))
    with django_assert_max_num_queries(12):
        assert client.get("/system/numbering/").status_code == 200


@pytest.mark.django_db
def test_numbering_page_forbidden_for_sales_rep(client):
    client.force_login(user_with("sales_rep"))
    assert client.get("/system/numbering/").status_code == 403


# --- concurrency on PostgreSQL ------------------------------------------------------------------------------------
#
# Every writer thread takes its numbers in its own transaction on its own connection and commits. The test itself
# stays in an ordinary test transaction: the trail's TRUNCATE guard forbids flushing the database after a
# transactional test, so the rows the threads committed are deleted afterwards on a separate connection.

THREADS, PER_THREAD = 8, 25
register_series("TSTPG", prefix="PG", width=6, label="concurrency test")
register_series("TSTPGR", prefix="PGR", width=6, label="concurrency test with rollbacks")


@pytest.fixture
def committed_series_cleanup():
    def clean() -> None:
        NumberSeries.objects.filter(doc_type__in=["TSTPG", "TSTPGR"]).delete()

    _in_thread(clean)
    yield
    _in_thread(clean)


def _run_threads(worker):
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            worker(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


def _serial(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


def _committed_last(doc_type: str) -> int:
    out: list[int] = []
    _in_thread(lambda: out.append(NumberSeries.objects.get(doc_type=doc_type, year=2026).last))
    return out[0]


@pytest.mark.postgres
@pytest.mark.django_db
def test_concurrent_writers_get_gap_free_unique_numbers(committed_series_cleanup):
    issued: list[str] = []
    lock = threading.Lock()

    def worker(_i: int) -> None:
        for _n in range(PER_THREAD):
            with transaction.atomic():
                number = number_next("TSTPG", date=D2026)
            with lock:
                issued.append(number)

    _run_threads(worker)
    serials = sorted(_serial(n) for n in issued)
    assert serials == list(range(1, THREADS * PER_THREAD + 1))
    assert _committed_last("TSTPG") == THREADS * PER_THREAD


@pytest.mark.postgres
@pytest.mark.django_db
def test_concurrent_writers_with_rollbacks_stay_gap_free(committed_series_cleanup):
    committed: list[str] = []
    rolled_back: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        for n in range(PER_THREAD):
            try:
                with transaction.atomic():
                    number = number_next("TSTPGR", date=D2026)
                    if (i + n) % 3 == 0:  # about a third of the documents fail after taking their number
                        raise Boom
            except Boom:
                with lock:
                    rolled_back.append(number)
                continue
            with lock:
                committed.append(number)

    _run_threads(worker)
    serials = sorted(_serial(n) for n in committed)
    assert serials == list(range(1, len(serials) + 1))  # no gap, no duplicate
    assert 0 < len(serials) < THREADS * PER_THREAD
    assert rolled_back and set(rolled_back) <= set(committed) | {f"PGR-2026-{len(serials) + 1:06d}"}
    assert _committed_last("TSTPGR") == len(serials)
