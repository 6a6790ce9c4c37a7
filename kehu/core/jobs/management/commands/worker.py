from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from kehu.core.jobs import scheduler


class Command(BaseCommand):
    help = (
        "Run the background job worker of the configured queue backend (database or Redis) and, unless "
        "--no-scheduler, the periodic scheduler beside it."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-scheduler", action="store_true", help="do not run the periodic scheduler")
        parser.add_argument("--interval", type=float, default=None, help="scheduler interval in seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_scheduler"]:
            from kehu.core.jobs.management.commands.scheduler import run_forever

            jobs = scheduler.discover()
            thread = threading.Thread(
                target=run_forever,
                args=(
                    jobs,
                    (options["interval"] or settings.KEHU_SCHEDULER_INTERVAL),
                    lambda: True,
                    lambda _msg: None,
                ),
                name="kehu-scheduler",
                daemon=True,
            )
            thread.start()
        if getattr(settings, "KEHU_TASKS_BACKEND", "db") == "rq":
            call_command("rqworker", "default", job_class="django_tasks_rq.Job", with_scheduler=True)
        else:
            call_command("db_worker", queue_name="default", reload=False, interval=1.0)
