"""Two writers at the same moment, on PostgreSQL: the first holds its transaction open until the second either
waits for a lock or has finished, then commits. Whether the second waited is read from the lock manager
(``pg_blocking_pids``), so the outcome does not depend on how fast either thread runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction


def _blocked(pid: int) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [pid])
        row = cur.fetchone()
    return bool(row and row[0])


def hold_and_race(
    first: Callable[[], Any], second: Callable[[], Any], timeout: float = 60
) -> tuple[Any, Any]:
    """Run ``first`` in a transaction of its own and keep it open; run ``second`` on another connection; commit
    ``first`` once ``second`` waits for a lock (or is done). Gives back both outcomes: a result or the exception
    raised."""
    out: dict[str, Any] = {}
    pid: dict[str, int] = {}
    held, release, started = threading.Event(), threading.Event(), threading.Event()

    def one() -> None:
        try:
            with transaction.atomic():
                out["first"] = first()
                held.set()
                release.wait(timeout)
        except BaseException as exc:
            out["first"] = exc
        finally:
            held.set()
            connection.close()

    def two() -> None:
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pid["second"] = cur.fetchone()[0]
            started.set()
            out["second"] = second()
        except BaseException as exc:
            out["second"] = exc
        finally:
            started.set()
            connection.close()

    t1 = threading.Thread(target=one)
    t1.start()
    held.wait(timeout)
    t2 = threading.Thread(target=two)
    t2.start()
    started.wait(timeout)
    deadline = time.monotonic() + timeout
    while t2.is_alive() and time.monotonic() < deadline and "second" in pid and not _blocked(pid["second"]):
        time.sleep(0.01)
    release.set()
    t1.join(timeout)
    t2.join(timeout)
    return out.get("first"), out.get("second")
