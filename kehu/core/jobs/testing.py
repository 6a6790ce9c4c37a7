"""Running queued jobs in-process (for tests): what ``db_worker`` does for one task, without a separate process."""

from __future__ import annotations

from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def run_pending_jobs(max_tasks: int = 100) -> int:
    """Run the ready tasks of the database backend one by one, as the worker would. Returns how many ran."""
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="in-process",
        excluded_queue_names=[],
    )
    ran = 0
    while ran < max_tasks:
        task_result = DBTaskResult.objects.ready().filter(backend_name="default").first()
        if task_result is None:
            break
        task_result.claim(worker.worker_id)
        worker.run_task(task_result)
        ran += 1
    return ran
