"""Background and periodic jobs: ``enqueue(func_path, **kwargs)`` records a run and queues it; the function may
accept ``progress(done, total, message)``; ``python -m kehu scheduler`` enqueues periodic jobs once per period."""

from __future__ import annotations

from typing import Any


def enqueue(func_path: str, **kwargs: Any) -> Any:
    from kehu.core.jobs.services import enqueue as _enqueue

    return _enqueue(func_path, **kwargs)
