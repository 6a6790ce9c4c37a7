"""Job functions used by the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CALLS: list[Any] = []


def ok(x: int = 1) -> int:
    CALLS.append(("ok", x))
    return x * 2


def boom() -> None:
    raise RuntimeError("数据源不可用")


def counted(progress: Any, n: int = 4) -> str:
    for i in range(n):
        progress(i + 1, n, f"第{i + 1}项")
    return "done"


def flaky(marker: str) -> str:
    path = Path(marker)
    if not path.exists():
        path.write_text("1")
        raise ValueError("第一次失败")
    return "ok"
