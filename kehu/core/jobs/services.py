"""Enqueueing jobs, retrying failed ones, and the reads of the jobs pages."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errors import Conflict, NotFound, ValidationFailed
from kehu.core.jobs.models import JobRun, JobState
from kehu.core.models import User
from kehu.core.models.audit import AuditAction

log = logging.getLogger("kehu.jobs")


def _backend() -> Any:
    from django_tasks import task_backends

    return task_backends["default"]


def _is_database_backend(backend: Any) -> bool:
    try:
        from django_tasks_db.backend import DatabaseBackend
    except ImportError:  # pragma: no cover
        return False
    return isinstance(backend, DatabaseBackend)


def _dispatch(run_id: int) -> None:
    from kehu.core.jobs.tasks import execute_run

    result = execute_run.enqueue(run_id)
    JobRun.objects.filter(pk=run_id).update(task_result_id=str(result.id), backend=result.backend)


def enqueue(
    func_path: str,
    *,
    actor: User | None = None,
    periodic_key: str = "",
    retried_from: JobRun | None = None,
    **kwargs: Any,
) -> JobRun:
    """Record a run of ``func_path(**kwargs)`` and put it on the queue. Arguments must be JSON values.

    With the database backend the queue entry is written in the caller's transaction (both or neither); with an
    external queue (Redis) it is sent when the transaction commits, so a worker never sees an uncommitted run."""
    try:
        func = import_string(func_path)
    except ImportError:
        raise ValidationFailed(
            _("任务 %(name)s 不存在。") % {"name": func_path}, field="name", rule="unknown_job"
        ) from None
    if not callable(func):
        raise ValidationFailed(
            _("任务 %(name)s 不可调用。") % {"name": func_path}, field="name", rule="not_callable"
        )
    import json

    try:
        json.dumps(kwargs)
    except (TypeError, ValueError):
        raise ValidationFailed(_("任务参数必须是 JSON 值。"), field="kwargs", rule="json") from None
    backend = _backend()
    run = JobRun.objects.create(
        name=func_path,
        kwargs=kwargs,
        enqueued_by=actor,
        periodic_key=periodic_key,
        retried_from=retried_from,
        attempt=(retried_from.attempt + 1) if retried_from else 1,
        backend=getattr(backend, "alias", ""),
    )
    if _is_database_backend(backend):
        _dispatch(run.pk)
    else:
        run_id = run.pk
        transaction.on_commit(lambda: _dispatch(run_id))
    return run


@transaction.atomic
def job_retry(*, actor: User, run_id: int) -> JobRun:
    """Run a failed job (or one stuck running past ``KEHU_JOB_STALE_MINUTES``: its worker died) again with the
    same arguments; the new run points at the old one."""
    access.require(actor, "jobs.retry")
    failed = JobRun.objects.select_for_update().filter(pk=run_id).first()
    if failed is None:
        raise NotFound()
    stale = (
        failed.state == JobState.RUNNING
        and failed.started_at is not None
        and failed.started_at < timezone.now() - dt.timedelta(minutes=settings.KEHU_JOB_STALE_MINUTES)
    )
    if failed.state != JobState.FAILED and not stale:
        raise Conflict(_("只有失败的任务可以重试（当前状态：%(s)s）。") % {"s": failed.get_state_display()})
    if stale:
        # its worker died: the run can never finish, so it is closed as failed before it is run again
        failed.state = JobState.FAILED
        failed.error = _("运行超过 %(m)s 分钟未结束，视为中断。") % {"m": settings.KEHU_JOB_STALE_MINUTES}
        failed.finished_at = timezone.now()
        failed.save(update_fields=["state", "error", "finished_at"])
    if failed.retries.exists():
        raise Conflict(_("该任务已重试过，请重试最新的一次运行。"))
    run = enqueue(
        failed.name, actor=actor, retried_from=failed, periodic_key=failed.periodic_key, **failed.kwargs
    )
    audit.record(
        actor=actor,
        action=AuditAction.OTHER,
        obj=run,
        changes={"retried_from": [None, failed.pk], "name": [None, failed.name]},
        reason=_("重试失败的后台任务 #%(id)s") % {"id": failed.pk},
    )
    return run


def job_runs(*, actor: User) -> QuerySet[JobRun]:
    access.require(actor, "jobs.view")
    return JobRun.objects.select_related("enqueued_by", "retried_from")


def job_run(*, actor: User, run_id: int) -> JobRun:
    return access.get_scoped(actor, "jobs.view", job_runs(actor=actor), pk=run_id)


def worker_command() -> list[str]:
    return list(getattr(settings, "KEHU_WORKER_COMMAND", []) or [])
