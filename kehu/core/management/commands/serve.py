from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run Kehu with gunicorn (production server) and, unless --no-worker, the background job worker."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=os.environ.get("KEHU_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("KEHU_WEB_WORKERS", "3")))
        parser.add_argument("--no-worker", action="store_true", help="do not start the job worker")

    def handle(self, *args: Any, **options: Any) -> None:
        procs: list[subprocess.Popen[bytes]] = []
        env = os.environ.copy()
        web = [
            sys.executable,
            "-m",
            "gunicorn",
            "kehu.wsgi:application",
            "--bind",
            options["bind"],
            "--workers",
            str(options["workers"]),
            "--threads",
            "4",
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "20",
            "--timeout",
            "120",
        ]
        procs.append(subprocess.Popen(web, env=env))  # noqa: S603  (fixed argv, no shell)
        worker_cmd = getattr(settings, "KEHU_WORKER_COMMAND", None)
        if worker_cmd and not options["no_worker"]:
            procs.append(subprocess.Popen([sys.executable, "-m", "kehu", *worker_cmd], env=env))  # noqa: S603

        def stop(signum: int, frame: Any) -> None:
            for p in procs:
                p.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Kehu is serving at http://{options['bind']}/ (Ctrl+C to stop)")
        code = 0
        for p in procs:
            code = p.wait() or code
        raise SystemExit(code)
