"""The one queue task: it runs a recorded :class:`~kehu.core.jobs.models.JobRun`. Every job goes through it, so the
run's state, progress and error are kept the same way whichever queue backend carries it."""

from __future__ import annotations

from django_tasks import task


@task()
def execute_run(run_id: int) -> None:
    from kehu.core.jobs.runner import run_job

    run_job(run_id)
