"""Helpers for tests that need committed rows: run work in a thread of its own, on its own connection.

Rows written this way outlive the test's transaction. A test that leaves any behind must retire them (close their
open tasks, deactivate their users) so that no later test on the same database sees them in an inbox or a list."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.db import connection

T = TypeVar("T")


def in_thread(fn: Callable[[], T], timeout: float = 120) -> T:
    """Run ``fn`` in a new thread with its own database connection (committed on return) and give back its
    result; an exception in the thread is raised here."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as exc:  # pragma: no cover - re-raised below
            out.append(exc)
        finally:
            connection.close()

    t = threading.Thread(target=run)
    t.start()
    t.join(timeout)
    if not out:  # pragma: no cover - a hung thread
        raise TimeoutError(f"thread did not finish in {timeout} s")
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


def retire_committed(case_ids: Iterable[int] = (), users: Iterable[Any] = ()) -> None:
    """Close the open tasks of committed cases and deactivate committed users (the audit trail is append-only, so
    the rows themselves stay until the test database is dropped)."""
    from kehu.core.models import User
    from kehu.workflow.models import Task, TaskState

    case_ids, user_ids = list(case_ids), [u.pk for u in users]

    def retire() -> None:
        Task.objects.filter(case_id__in=case_ids, state=TaskState.OPEN).update(state=TaskState.CANCELLED)
        User.objects.filter(pk__in=user_ids).update(is_active=False)

    in_thread(retire)
