from __future__ import annotations

import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from kehu.core.jobs import scheduler


class Command(BaseCommand):
    help = "Enqueue due periodic jobs (each exactly once per period, however many schedulers run)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=None, help="seconds between passes")
        parser.add_argument("--list", action="store_true", help="list the periodic jobs and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            jobs = scheduler.discover()
        except (ValueError, KeyError, ImportError) as exc:
            raise CommandError(f"periodic jobs: {exc}") from exc
        if options["list"]:
            for job in jobs:
                self.stdout.write(f"{job.name}\t{job.every}\t{job.func}")
            return
        if options["once"]:
            for name in scheduler.tick(jobs=jobs):
                self.stdout.write(f"enqueued {name}")
            return
        running = True

        def stop(signum: int, frame: Any) -> None:
            nonlocal running
            running = False

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        interval = options["interval"] or settings.KEHU_SCHEDULER_INTERVAL
        self.stdout.write(f"scheduler: {len(jobs)} periodic job(s), checking every {interval}s")
        run_forever(
            jobs,
            (options["interval"] or settings.KEHU_SCHEDULER_INTERVAL),
            lambda: running,
            self.stdout.write,
        )


def run_forever(jobs: list[Any], interval: float, keep_going: Any, write: Any) -> None:
    while keep_going():
        close_old_connections()
        try:
            for name in scheduler.tick(jobs=jobs):
                write(f"enqueued {name}")
        except Exception:
            import logging

            logging.getLogger("kehu.jobs.scheduler").exception("scheduler pass failed")
        slept = 0.0
        while keep_going() and slept < interval:
            time.sleep(min(1.0, interval - slept))
            slept += 1.0
