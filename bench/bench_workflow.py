"""Workflow benchmarks: case transitions per second, and the inbox page time with many open tasks.

``run(scale)`` returns figure rows (dicts with name, n, seconds, rate, unit, baseline, ratio, extra); Django must be
set up on a migrated database. ``scale`` is a scale name (tiny/small/medium/large) or a number of cases.
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

SIZES: dict[str, dict[str, int]] = {
    "tiny": {"cases": 20, "tasks": 500, "pages": 5},
    "small": {"cases": 300, "tasks": 10_000, "pages": 20},
    "medium": {"cases": 1_000, "tasks": 10_000, "pages": 30},
    "large": {"cases": 3_000, "tasks": 50_000, "pages": 50},
}
KEY = "bench_flow"


def _definition() -> Any:
    from kehu.workflow.engine import Check, Definition, State, Transition

    return Definition(
        key=KEY,
        name="基准流程",
        level="L2",
        initial="draft",
        states=[
            State("draft", "草稿"),
            State("review", "审核", deadline_days=3, assignee_role="reviewer"),
            State("done", "完成", final=True),
        ],
        transitions=[
            Transition("submit", "提交", source="draft", target="review"),
            Transition(
                "approve",
                "批准",
                source="review",
                target="done",
                roles=["reviewer"],
                checklist=[Check("ok", "资料齐全", mandatory=True)],
            ),
        ],
    )


def _user(username: str, role: str) -> Any:
    from kehu.core.models import Role, User

    user = User.objects.create(username=username, display_name=username)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    user.roles.add(Role.objects.get_or_create(code=role)[0])
    return user


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))] if ordered else 0.0


def _row(
    name: str, n: int, seconds: float, unit: str, baseline: str = "", ratio: float | None = None, **extra: Any
) -> dict[str, Any]:
    rate = n / seconds if seconds else 0.0
    return {
        "name": name,
        "n": n,
        "seconds": round(seconds, 4),
        "rate": round(rate, 2),
        "unit": unit,
        "baseline": baseline,
        "ratio": ratio,
        "extra": extra,
    }


def run(scale: str | int = "small") -> list[dict[str, Any]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from kehu.workflow import engine
    from kehu.workflow.models import Task

    size = SIZES[scale] if isinstance(scale, str) else {"cases": int(scale), "tasks": 10_000, "pages": 20}
    tag = uuid.uuid4().hex[:6]
    engine.register_definition(_definition())
    try:
        opener = _user(f"bench_wf_rep_{tag}", "sales_rep")
        reviewer = _user(f"bench_wf_rev_{tag}", "reviewer")

        # (1) opening cases (baseline) and transitions
        n = size["cases"]
        t0 = time.perf_counter()
        cases = [engine.case_open(actor=opener, definition_key=KEY, title=f"基准{i}") for i in range(n)]
        open_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for c in cases:
            engine.case_transition(actor=opener, case_id=c.pk, transition="submit")
            engine.case_transition(
                actor=reviewer, case_id=c.pk, transition="approve", checklist={"ok": "yes"}
            )
        tr_s = time.perf_counter() - t0
        open_rate = n / open_s if open_s else 0.0
        tr_rate = 2 * n / tr_s if tr_s else 0.0
        rows = [
            _row("workflow.case_open", n, open_s, "cases/s"),
            _row(
                "workflow.transition",
                2 * n,
                tr_s,
                "transitions/s",
                baseline="workflow.case_open",
                ratio=round(tr_rate / open_rate, 3) if open_rate else None,
            ),
        ]

        # (2) the inbox page with many open tasks for the reviewer's role
        now = timezone.now()
        today = timezone.localdate()
        Task.objects.bulk_create(
            [
                Task(title=f"基准待办{i}", assignee_role="reviewer", due=today, created_at=now)
                for i in range(size["tasks"])
            ],
            batch_size=2000,
        )
        client = Client()
        client.force_login(reviewer)
        client.get("/healthz")
        client.get("/inbox/")
        base: list[float] = []
        times: list[float] = []
        queries = 0
        for _ in range(size["pages"]):
            t0 = time.perf_counter()
            client.get("/healthz")
            base.append(time.perf_counter() - t0)
            with CaptureQueriesContext(connection) as ctx:
                t0 = time.perf_counter()
                response = client.get("/inbox/")
                times.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.status_code
            queries = max(queries, len(ctx.captured_queries))
        p50, b50 = statistics.median(times), statistics.median(base)
        rows.append(
            _row(
                "workflow.inbox_page",
                len(times),
                sum(times),
                "pages/s",
                baseline="GET /healthz",
                ratio=round(p50 / b50, 2) if b50 else None,
                open_tasks=size["tasks"],
                p50_ms=round(p50 * 1000, 1),
                p95_ms=round(_pct(times, 95) * 1000, 1),
                queries=queries,
            )
        )
        t0 = time.perf_counter()
        from kehu.workflow.selectors import inbox_count

        count = inbox_count(reviewer)
        rows.append(_row("workflow.inbox_count", 1, time.perf_counter() - t0, "counts/s", open_tasks=count))
        return rows
    finally:
        engine.unregister_definition(KEY)


if __name__ == "__main__":  # pragma: no cover
    import json

    import django

    django.setup()
    print(json.dumps(run("tiny"), indent=2, ensure_ascii=False))
