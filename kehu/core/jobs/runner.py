"""Running a recorded job: resolve the function, pass ``progress`` when it accepts it, record the outcome."""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from django.utils.module_loading import import_string

from kehu.core.jobs.models import JobRun, JobState

log = logging.getLogger("kehu.jobs")

MESSAGE_MAX = 300


class ProgressReporter:
    """``progress(done, total, message)``: written straight away so the page shows it while the job runs.

    Updates are written on the job's own connection in autocommit mode; a job that wraps its work in one long
    transaction should report progress outside that transaction."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id

    def __call__(self, done: int, total: int | None = None, message: str = "") -> None:
        fields: dict[str, Any] = {
            "progress_done": max(0, int(done)),
            "progress_message": str(message)[:MESSAGE_MAX],
        }
        if total is not None:
            fields["progress_total"] = max(0, int(total))
        JobRun.objects.filter(pk=self.run_id).update(**fields)


def _accepts_progress(func: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return "progress" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _jsonable(value: Any) -> Any:
    import json

    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def run_job(run_id: int) -> Any:
    """Run one job. A failure is recorded on the run (error and traceback) and raised again so the queue
    backend marks its task failed as well."""
    from kehu.core.access import forget_grant
    from kehu.core.policies.services import clear_cache

    clear_cache()
    forget_grant()  # R-ARC-02: a grant noted by whatever ran before on this thread is not this job's
    claimed = JobRun.objects.filter(pk=run_id, state=JobState.QUEUED).update(
        state=JobState.RUNNING, started_at=timezone.now(), error="", traceback=""
    )
    if not claimed:
        log.warning("job run %s is not queued; skipped", run_id)
        return None
    run = JobRun.objects.get(pk=run_id)
    try:
        func = import_string(run.name)
        kwargs = dict(run.kwargs or {})
        if _accepts_progress(func):
            kwargs["progress"] = ProgressReporter(run_id)
        result = func(**kwargs)
    except BaseException as exc:
        JobRun.objects.filter(pk=run_id).update(
            state=JobState.FAILED,
            finished_at=timezone.now(),
            error=(f"{type(exc).__name__}: {exc}")[:2000],
            traceback="".join(traceback.format_exception(exc))[-20000:],
        )
        raise
    finally:
        clear_cache()
        forget_grant()
    update: dict[str, Any] = {
        "state": JobState.SUCCEEDED,
        "finished_at": timezone.now(),
        "result": _jsonable(result),
    }
    run.refresh_from_db(fields=["progress_total", "progress_done"])
    if run.progress_total:
        update["progress_done"] = run.progress_total
    JobRun.objects.filter(pk=run_id).update(**update)
    return _jsonable(result)
