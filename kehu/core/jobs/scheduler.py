"""Periodic jobs: every installed app may declare ``PERIODIC`` in its ``periodic.py``::

    PERIODIC = [{"name": "workflow.remind_and_escalate", "func": "kehu.workflow.jobs.remind_and_escalate",
                 "every": "hourly"}]

``every`` is ``minutely``, ``hourly``, ``daily`` or ``daily@HH:MM`` (Asia/Shanghai). Each tick computes every job's
current period key and inserts a :class:`PeriodicRun` row; the unique (name, period) constraint lets exactly one
insert win, and only the winner enqueues — however many schedulers run.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from kehu.core.jobs.models import PeriodicRun

log = logging.getLogger("kehu.jobs.scheduler")

_DAILY_AT = re.compile(r"^daily@([01]\d|2[0-3]):([0-5]\d)$")
EVERY = ("minutely", "hourly", "daily")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: str
    every: str
    kwargs: dict[str, Any]


def validate_every(every: str) -> None:
    if every not in EVERY and not _DAILY_AT.match(every):
        raise ValueError(f"unknown schedule {every!r}: use minutely, hourly, daily or daily@HH:MM")


def period_key(every: str, now: dt.datetime | None = None) -> str | None:
    """The key of the period ``now`` falls in (local time), or None when the job is not due yet in this period.

    minutely "2026-11-25T13:05", hourly "2026-11-25T13", daily "2026-11-25"; daily@HH:MM is due from HH:MM local
    time on, keyed by the date."""
    validate_every(every)
    local = timezone.localtime(now or timezone.now())
    if every == "minutely":
        return local.strftime("%Y-%m-%dT%H:%M")
    if every == "hourly":
        return local.strftime("%Y-%m-%dT%H")
    if every == "daily":
        return local.strftime("%Y-%m-%d")
    m = _DAILY_AT.match(every)
    assert m is not None
    if (local.hour, local.minute) < (int(m.group(1)), int(m.group(2))):
        return None
    return local.strftime("%Y-%m-%d")


def discover() -> list[PeriodicJob]:
    """Every ``PERIODIC`` entry of every installed app's ``periodic.py`` (names must be unique)."""
    jobs: dict[str, PeriodicJob] = {}
    for config in apps.get_app_configs():
        module_name = f"{config.name}.periodic"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        for entry in getattr(module, "PERIODIC", []):
            job = PeriodicJob(
                name=str(entry["name"]),
                func=str(entry["func"]),
                every=str(entry.get("every", "hourly")),
                kwargs=dict(entry.get("kwargs", {})),
            )
            validate_every(job.every)
            if job.name in jobs:
                raise ValueError(f"periodic job {job.name!r} declared twice")
            jobs[job.name] = job
    return sorted(jobs.values(), key=lambda j: j.name)


def claim_and_enqueue(job: PeriodicJob, key: str) -> bool:
    """Insert the (job, period) row and enqueue the job — both or neither. False when another scheduler won."""
    from kehu.core.jobs.services import enqueue

    try:
        with transaction.atomic():
            row = PeriodicRun.objects.create(name=job.name, period_key=key)
            run = enqueue(job.func, periodic_key=key, **job.kwargs)
            row.run = run
            row.save(update_fields=["run"])
    except IntegrityError:
        return False
    log.info("periodic job %s enqueued for period %s (run #%s)", job.name, key, run.pk)
    return True


def _locked(exc: OperationalError) -> bool:
    return "locked" in str(exc).lower()


def _due(job: PeriodicJob, key: str) -> bool:
    """Enqueue ``job`` for ``key`` unless already done. A locked SQLite database (another scheduler is writing)
    is waited for; the unique constraint keeps the result exactly-once whatever the retries."""
    for attempt in range(100):
        try:
            if PeriodicRun.objects.filter(name=job.name, period_key=key).exists():
                return False
            return claim_and_enqueue(job, key)
        except OperationalError as exc:
            if not _locked(exc) or attempt == 99 or transaction.get_connection().in_atomic_block:
                raise
            time.sleep(0.02 * (1 + attempt % 5))
    return False  # pragma: no cover


def tick(now: dt.datetime | None = None, jobs: list[PeriodicJob] | None = None) -> list[str]:
    """One pass: enqueue every due job whose current period has no run yet. Returns the names enqueued."""
    enqueued = []
    for job in discover() if jobs is None else jobs:
        key = period_key(job.every, now)
        if key is not None and _due(job, key):
            enqueued.append(job.name)
    return enqueued
