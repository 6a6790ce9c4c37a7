"""Jobs: enqueue and run, progress, failure and retry, periodic scheduling exactly once, the Redis backend."""

from __future__ import annotations

import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import override_settings
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from kehu.core.errors import Conflict, PermissionDenied
from kehu.core.jobs import scheduler
from kehu.core.jobs.models import JobRun, JobState, PeriodicRun
from kehu.core.jobs.runner import ProgressReporter
from kehu.core.jobs.services import enqueue, job_retry
from kehu.core.jobs.testing import run_pending_jobs
from kehu.core.models import AuditEntry
from kehu.core.tests.factories import user_with

F = "kehu.core.jobs.tests.funcs"
UTC = dt.UTC
SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.django_db
def test_enqueue_and_run_on_database_backend():
    run = enqueue(f"{F}.ok", x=21)
    run.refresh_from_db()
    assert run.state == JobState.QUEUED and run.backend == "default" and run.task_result_id
    assert DBTaskResult.objects.filter(pk=run.task_result_id).exists()
    assert run_pending_jobs() == 1
    run.refresh_from_db()
    assert run.state == JobState.SUCCEEDED and run.result == 42 and run.started_at and run.finished_at
    assert DBTaskResult.objects.get(pk=run.task_result_id).status == "SUCCESSFUL"


@pytest.mark.django_db
def test_progress_is_recorded_and_completed():
    run = enqueue(f"{F}.counted", n=5)
    run_pending_jobs()
    run.refresh_from_db()
    assert (run.progress_done, run.progress_total, run.progress_message) == (5, 5, "第5项")
    assert run.percent == 100


@pytest.mark.django_db
def test_failure_recorded_with_error_and_retry_links_and_succeeds(tmp_path):
    admin = user_with("sysadmin")
    run = enqueue(f"{F}.flaky", marker=str(tmp_path / "marker"))
    run_pending_jobs()
    run.refresh_from_db()
    assert run.state == JobState.FAILED
    assert run.error == "ValueError: 第一次失败" and "Traceback" in run.traceback
    assert DBTaskResult.objects.get(pk=run.task_result_id).status == "FAILED"

    with pytest.raises(PermissionDenied):
        job_retry(actor=user_with("sales_rep"), run_id=run.pk)
    retry = job_retry(actor=admin, run_id=run.pk)
    assert retry.retried_from_id == run.pk and retry.kwargs == run.kwargs and retry.attempt == 2
    assert retry.state == JobState.QUEUED and retry.enqueued_by == admin
    assert AuditEntry.objects.filter(object_type="jobs.jobrun", object_id=str(retry.pk)).exists()
    with pytest.raises(Conflict):
        job_retry(actor=admin, run_id=run.pk)  # already retried
    run_pending_jobs()
    retry.refresh_from_db()
    assert retry.state == JobState.SUCCEEDED and retry.result == "ok"
    with pytest.raises(Conflict):
        job_retry(actor=admin, run_id=retry.pk)  # only failed runs


@pytest.mark.django_db
def test_unknown_function_refused():
    from kehu.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        enqueue("kehu.core.jobs.tests.funcs.nope")
    assert exc.value.field == "name"


# --- pages ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_show_progress_error_and_retry(client, django_assert_max_num_queries, tmp_path):
    admin = user_with("sysadmin")
    running = enqueue(f"{F}.ok")
    JobRun.objects.filter(pk=running.pk).update(state=JobState.RUNNING)
    ProgressReporter(running.pk)(3, 10, "正在处理")
    failed = enqueue(f"{F}.boom")
    JobRun.objects.filter(pk=failed.pk).update(state=JobState.FAILED, error="RuntimeError: 数据源不可用")
    client.force_login(admin)
    with django_assert_max_num_queries(12):
        resp = client.get(reverse("job_list"))
    body = resp.content.decode()
    assert resp.status_code == 200
    assert 'data-percent="30"' in body and "3/10" in body and "正在处理" in body
    assert 'hx-trigger="every 2s"' in body  # polls while something runs
    assert "数据源不可用" in body and f'data-retry="{failed.pk}"' in body
    resp = client.get(reverse("job_detail", args=[running.pk]), HTTP_HX_REQUEST="true")
    assert 'data-percent="30"' in resp.content.decode() and 'hx-trigger="every 2s"' in resp.content.decode()
    ProgressReporter(running.pk)(7, 10, "快完成了")
    resp = client.get(reverse("job_detail", args=[running.pk]), HTTP_HX_REQUEST="true")
    assert 'data-percent="70"' in resp.content.decode()
    resp = client.get(reverse("job_detail", args=[failed.pk]))
    assert 'id="run-error"' in resp.content.decode() and 'id="retry"' in resp.content.decode()
    resp = client.post(reverse("job_retry", args=[failed.pk]))
    new = JobRun.objects.get(retried_from=failed)
    assert resp.status_code == 302 and resp.url == reverse("job_detail", args=[new.pk])
    assert client.get(reverse("job_periodic")).status_code == 200


@pytest.mark.django_db
def test_pages_scope(client):
    mine_user = user_with("sales_rep")
    mine = enqueue(f"{F}.ok", actor=mine_user)
    other = enqueue(f"{F}.ok")
    client.force_login(mine_user)
    body = client.get(reverse("job_list")).content.decode()
    assert f"#{mine.pk}<" in body and f"#{other.pk}<" not in body
    assert client.get(reverse("job_detail", args=[other.pk])).status_code == 404
    assert client.post(reverse("job_retry", args=[mine.pk])).status_code == 403


# --- periodic ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("every", "utc", "expected"),
    [
        ("daily", dt.datetime(2026, 11, 24, 15, 59, 59, tzinfo=UTC), "2026-11-24"),  # 23:59:59 Shanghai
        ("daily", dt.datetime(2026, 11, 24, 16, 0, 0, tzinfo=UTC), "2026-11-25"),  # midnight Shanghai
        ("hourly", dt.datetime(2026, 11, 24, 15, 59, 59, tzinfo=UTC), "2026-11-24T23"),
        ("hourly", dt.datetime(2026, 11, 24, 16, 0, 0, tzinfo=UTC), "2026-11-25T00"),
        ("hourly", dt.datetime(2026, 11, 25, 5, 30, tzinfo=UTC), "2026-11-25T13"),
        ("minutely", dt.datetime(2026, 11, 24, 16, 0, 59, tzinfo=UTC), "2026-11-25T00:00"),
        ("daily@02:30", dt.datetime(2026, 11, 24, 18, 29, tzinfo=UTC), None),  # 02:29 Shanghai: not yet
        ("daily@02:30", dt.datetime(2026, 11, 24, 18, 30, tzinfo=UTC), "2026-11-25"),
        ("daily@00:00", dt.datetime(2026, 11, 24, 16, 0, tzinfo=UTC), "2026-11-25"),
    ],
)
def test_period_keys_at_boundaries(every, utc, expected):
    assert scheduler.period_key(every, utc) == expected


def test_bad_schedule_refused():
    with pytest.raises(ValueError):
        scheduler.period_key("weekly")
    with pytest.raises(ValueError):
        scheduler.period_key("daily@24:00")


def test_discover_reads_installed_apps():
    names = {j.name for j in scheduler.discover()}
    assert isinstance(names, set)  # every app's periodic.py parses


JOBS = [
    scheduler.PeriodicJob(name="test.hourly", func=f"{F}.ok", every="hourly", kwargs={"x": 1}),
    scheduler.PeriodicJob(name="test.daily", func=f"{F}.ok", every="daily", kwargs={}),
]


@pytest.mark.django_db
def test_tick_enqueues_once_per_period():
    now = dt.datetime(2026, 11, 25, 5, 0, tzinfo=UTC)
    assert sorted(scheduler.tick(now, JOBS)) == ["test.daily", "test.hourly"]
    assert scheduler.tick(now + dt.timedelta(minutes=30), JOBS) == []
    assert scheduler.tick(now + dt.timedelta(hours=1), JOBS) == ["test.hourly"]
    assert sorted(scheduler.tick(now + dt.timedelta(hours=11), JOBS)) == [
        "test.daily",
        "test.hourly",
    ]  # next day
    assert PeriodicRun.objects.count() == 5 and JobRun.objects.count() == 5
    run = PeriodicRun.objects.get(name="test.hourly", period_key="2026-11-25T13").run
    assert run is not None
    assert run.periodic_key == "2026-11-25T13" and run.kwargs == {"x": 1}


def claim_retrying(job, key):
    """Straight at the insert (no existence check first); waits out SQLite's table locks like tick does."""
    from django.db import OperationalError

    for _attempt in range(200):
        try:
            return scheduler.claim_and_enqueue(job, key)
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.01)
    raise AssertionError("database stayed locked")


# On SQLite the test database needs real transactions (the test's own transaction would hold the write lock).
# On PostgreSQL the trail's TRUNCATE guard forbids flushing, so the threads commit beside the test's transaction
# and the rows they wrote are removed afterwards.
_PG = "postgresql" in settings.DATABASES["default"]["ENGINE"]


@pytest.fixture
def committed_rows_cleanup():
    yield
    if not _PG:
        return

    def clean():
        try:
            PeriodicRun.objects.filter(name__startswith="test.").delete()
            ids = list(JobRun.objects.filter(name__startswith=F).values_list("task_result_id", flat=True))
            JobRun.objects.filter(name__startswith=F).delete()
            DBTaskResult.objects.filter(pk__in=[i for i in ids if i]).delete()
        finally:
            connections.close_all()

    t = threading.Thread(target=clean)
    t.start()
    t.join(30)


@pytest.mark.django_db(transaction=not _PG)
@pytest.mark.parametrize("use_tick", [True, False])
def test_two_concurrent_schedulers_enqueue_exactly_once(use_tick, committed_rows_cleanup):
    """Two schedulers race for the same periods (through tick, and straight at the insert); each period's job is
    enqueued exactly once. Runs on SQLite and, with DATABASE_URL set, on PostgreSQL."""
    rounds = 5
    start = dt.datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    barrier = threading.Barrier(2)
    wins: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def scheduler_thread(i: int) -> None:
        try:
            for r in range(rounds):
                now = start + dt.timedelta(hours=r)
                barrier.wait(timeout=20)
                if use_tick:
                    wins[i].extend(scheduler.tick(now, JOBS))
                else:
                    for job in JOBS:
                        key = scheduler.period_key(job.every, now) or ""
                        if claim_retrying(job, key):
                            wins[i].append(job.name)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler_thread, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    hourly = rounds  # one per hour
    daily = len({scheduler.period_key("daily", start + dt.timedelta(hours=r)) for r in range(rounds)})
    total = wins[0] + wins[1]
    assert total.count("test.hourly") == hourly and total.count("test.daily") == daily
    assert PeriodicRun.objects.filter(name__startswith="test.").count() == hourly + daily
    runs = JobRun.objects.filter(name__startswith=F)
    assert runs.count() == hourly + daily
    assert DBTaskResult.objects.filter(pk__in=[r.task_result_id for r in runs]).count() == hourly + daily
    assert connection.vendor in ("sqlite", "postgresql")


@pytest.mark.django_db
def test_scheduler_command_once(monkeypatch):
    from django.core.management import call_command

    monkeypatch.setattr(scheduler, "discover", lambda: JOBS)
    call_command("scheduler", "--once")
    assert PeriodicRun.objects.count() == 2
    call_command("scheduler", "--once")
    assert PeriodicRun.objects.count() == 2


# --- Redis backend ----------------------------------------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_conn():
    import redis

    conn = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        conn.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.mark.django_db
def test_rq_backend_enqueue_and_run(redis_conn, django_capture_on_commit_callbacks, tmp_path):
    import django_rq
    from django_tasks_rq import Job
    from rq import SimpleWorker

    rq_settings = {
        "TASKS": {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}},
        "RQ_QUEUES": {"default": {"URL": REDIS_URL}},
    }
    with override_settings(**rq_settings):
        with django_capture_on_commit_callbacks(execute=True):
            good = enqueue(f"{F}.ok", x=5)
            bad = enqueue(f"{F}.flaky", marker=str(tmp_path / "m"))
        good.refresh_from_db()
        assert good.backend == "default" and good.task_result_id
        queue = django_rq.get_queue("default", job_class=Job)
        assert queue.count == 2
        worker = SimpleWorker([queue], connection=queue.connection, job_class=Job)
        worker.work(burst=True)
        good.refresh_from_db()
        bad.refresh_from_db()
        assert good.state == JobState.SUCCEEDED and good.result == 10
        assert bad.state == JobState.FAILED and "第一次失败" in bad.error
        with django_capture_on_commit_callbacks(execute=True):
            retry = job_retry(actor=user_with("sysadmin"), run_id=bad.pk)
        worker.work(burst=True)
        retry.refresh_from_db()
        assert retry.state == JobState.SUCCEEDED


@pytest.mark.django_db
def test_a_run_stuck_running_after_its_worker_died_can_be_retried(settings):
    import datetime as dt

    from django.utils import timezone

    admin = user_with("sysadmin")
    run = enqueue(f"{F}.ok")
    JobRun.objects.filter(pk=run.pk).update(state=JobState.RUNNING, started_at=timezone.now())
    with pytest.raises(Conflict):  # still within its time: it may be working
        job_retry(actor=admin, run_id=run.pk)
    old = timezone.now() - dt.timedelta(minutes=settings.KEHU_JOB_STALE_MINUTES + 1)
    JobRun.objects.filter(pk=run.pk).update(started_at=old)
    retry = job_retry(actor=admin, run_id=run.pk)
    run.refresh_from_db()
    assert run.state == JobState.FAILED and run.error and retry.retried_from_id == run.pk
