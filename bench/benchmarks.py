"""The benchmarks. Each takes a size and returns :class:`Figure` rows; Django must be set up on a migrated database.

Every figure carries a ratio against a baseline measured in the same run on the same database, so that results
from different machines can be compared by their ratios.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.data import DataGenerator, audit_payload, bulk_audit_entries, bulk_users


@dataclass
class Figure:
    name: str
    n: int
    seconds: float
    rate: float
    unit: str
    baseline: str = ""
    ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


# ---------------------------------------------------------------------------------------------------------------
# (1) login + home page


def bench_login(n: int, *, seed: int = 2026, users: int = 100) -> list[Figure]:
    """N times: POST /login/ then GET / as a demo user (fresh client each time); baseline GET /healthz."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from kehu.core import demo

    if not demo.is_loaded():
        demo.load_org()
    gen = DataGenerator(seed)
    bulk_users(users, gen)  # a realistic user table, not just the demo users

    login_ms: list[float] = []
    home_ms: list[float] = []
    home_queries: list[int] = []
    # One warm-up round (URL resolver, template loading) is not counted.
    for i in range(n + 1):
        client = Client()
        t0 = time.perf_counter()
        response = client.post("/login/", {"username": "sales1", "password": demo.DEMO_PASSWORD})
        t1 = time.perf_counter()
        if response.status_code != 302:
            raise RuntimeError(f"login failed with status {response.status_code}")
        with CaptureQueriesContext(connection) as ctx:
            t2 = time.perf_counter()
            page = client.get("/")
            t3 = time.perf_counter()
        if page.status_code != 200:
            raise RuntimeError(f"home page answered {page.status_code}")
        if i:
            login_ms.append((t1 - t0) * 1000)
            home_ms.append((t3 - t2) * 1000)
            home_queries.append(len(ctx.captured_queries))

    client = Client()
    health_ms: list[float] = []
    for i in range(n + 1):
        t0 = time.perf_counter()
        r = client.get("/healthz")
        t1 = time.perf_counter()
        if r.status_code != 200:
            raise RuntimeError(f"/healthz answered {r.status_code}")
        if i:
            health_ms.append((t1 - t0) * 1000)

    health_p50 = statistics.median(health_ms)
    home_p50 = statistics.median(home_ms)
    login_total = sum(login_ms) / 1000
    home_total = sum(home_ms) / 1000
    return [
        Figure(
            "login (POST /login/)",
            n,
            login_total,
            n / login_total,
            "logins/s",
            "GET /healthz p50",
            statistics.median(login_ms) / health_p50,
            {"p50_ms": statistics.median(login_ms), "p95_ms": _percentile(login_ms, 95)},
        ),
        Figure(
            "home page (GET /)",
            n,
            home_total,
            n / home_total,
            "pages/s",
            "GET /healthz p50",
            home_p50 / health_p50,
            {
                "p50_ms": home_p50,
                "p95_ms": _percentile(home_ms, 95),
                "queries": max(home_queries),
                "healthz_p50_ms": health_p50,
                "healthz_p95_ms": _percentile(health_ms, 95),
            },
        ),
    ]


# ---------------------------------------------------------------------------------------------------------------
# (2) audit write rate


def _raw_rows(payloads: list[dict[str, Any]], actors: list[Any], start_seq: int) -> list[Any]:
    from django.utils import timezone

    from kehu.core.audit import jsonable
    from kehu.core.models.audit import AuditEntry

    rows = []
    for k, p in enumerate(payloads):
        actor = actors[k % len(actors)]
        rows.append(
            AuditEntry(
                seq=start_seq + k,
                timestamp=timezone.now(),
                actor=actor,
                actor_label=actor.username,
                action=p["action"],
                object_type=p["object_type"],
                object_id=p["object_id"],
                object_repr=p["object_repr"],
                changes=jsonable(p["changes"]),
                prev_hash="0" * 64,
                hash="0" * 64,
            )
        )
    return rows


class _Rollback(Exception):
    pass


def bench_audit_write(
    n: int, *, single: int | None = None, batch: int = 1000, seed: int = 2026
) -> list[Figure]:
    """``audit.record`` for ``n`` entries in batches of ``batch`` per transaction and for ``single`` entries one
    per transaction; baseline: a raw bulk_create of the same rows without hashing (rolled back afterwards, so the
    chain stays valid)."""
    from django.db import transaction

    from kehu.core import audit

    single = n // 10 if single is None else single
    gen = DataGenerator(seed + 1)
    actors = bulk_users(20, gen, prefix="auditbench")
    payloads = [audit_payload(gen, i) for i in range(max(n, single))]

    # Baseline first: the same rows, no chain, in batches of the same size; undone by rolling back.
    from kehu.core.models.audit import AuditEntry, AuditHead

    head_seq = AuditHead.objects.get(pk=1).seq
    raw_seconds = 0.0
    try:
        with transaction.atomic():
            for start in range(0, n, batch):
                rows = _raw_rows(payloads[start : start + batch], actors, head_seq + 1_000_000_000 + start)
                t0 = time.perf_counter()
                with transaction.atomic():
                    AuditEntry.objects.bulk_create(rows)
                raw_seconds += time.perf_counter() - t0
            raise _Rollback
    except _Rollback:
        pass

    def record(i: int) -> None:
        p = payloads[i]
        audit.record(actor=actors[i % len(actors)], **p)

    t0 = time.perf_counter()
    for start in range(0, n, batch):
        with transaction.atomic():
            for i in range(start, min(n, start + batch)):
                record(i)
    batched_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    for i in range(single):
        with transaction.atomic():
            record(i)
    single_seconds = time.perf_counter() - t0

    raw_rate = n / raw_seconds if raw_seconds else 0.0
    batched_rate = n / batched_seconds
    single_rate = single / single_seconds if single else 0.0
    return [
        Figure(
            f"audit.record, {batch} per transaction",
            n,
            batched_seconds,
            batched_rate,
            "entries/s",
            "raw bulk_create, no hash",
            raw_rate / batched_rate if batched_rate else None,
            {"raw_seconds": raw_seconds, "raw_rate": raw_rate},
        ),
        Figure(
            "audit.record, 1 per transaction",
            single,
            single_seconds,
            single_rate,
            "entries/s",
            "raw bulk_create, no hash",
            raw_rate / single_rate if single_rate else None,
            {},
        ),
    ]


# ---------------------------------------------------------------------------------------------------------------
# (3) audit verify rate


def _scan_sql() -> str:
    from kehu.core.models.audit import AuditEntry

    table = AuditEntry._meta.db_table
    return f"SELECT count(*), sum(length(hash)) FROM {table}"  # fixed table name


def bench_audit_verify(entries: int, *, seed: int = 2026) -> list[Figure]:
    """``audit.verify()`` over a trail of at least ``entries`` entries (filled up with a valid chain first);
    baseline: a plain ``SELECT count(*), sum(length(hash))`` scan of the same table."""
    from django.db import connection

    from kehu.core import audit
    from kehu.core.models.audit import AuditHead

    have = AuditHead.objects.get(pk=1).seq
    if have < entries:
        gen = DataGenerator(seed + 2)
        actors = bulk_users(20, gen, prefix="verifybench")
        bulk_audit_entries(entries - have, gen, actors)

    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(_scan_sql())
        count, _length = cursor.fetchone()
    scan_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = audit.verify()
    verify_seconds = time.perf_counter() - t0
    if not result.ok:
        raise RuntimeError(f"audit chain broken at #{result.bad_seq}: {result.problem}")
    per_100k = verify_seconds * 100_000 / result.checked
    return [
        Figure(
            "audit verify (s per 100k entries)",
            result.checked,
            verify_seconds,
            result.checked / verify_seconds,
            "entries/s",
            "SELECT count(*), sum(length(hash))",
            verify_seconds / scan_seconds if scan_seconds else None,
            {"seconds_per_100k": per_100k, "scan_seconds": scan_seconds, "scan_rows": count},
        )
    ]


def bench_workflow(*, scale: str, seed: int = 0) -> list[Figure]:
    """Case transitions per second and the inbox page with 10k open tasks (bench/bench_workflow.py)."""
    from bench import bench_workflow as wf

    return [Figure(**row) for row in wf.run(scale)]


def bench_customers(*, scale: str, seed: int = 2026) -> list[Figure]:
    """The customer list and dossier at 100k customers (bench/bench_customers.py)."""
    from bench import bench_customers as cu

    return [Figure(**row) for row in cu.run(scale, seed=seed)]


def bench_customer_import(*, scale: str, seed: int = 2026) -> list[Figure]:
    """The customer import rate against the raw read rate of the same file (bench/customer_import.py)."""
    from bench import customer_import as ci

    return [Figure(**row) for row in ci.run(scale, seed=seed)]


def bench_receivables(*, scale: str, seed: int = 2026) -> list[Figure]:
    """Exposure read, ledger post rate, company ageing at 100k customers / 2M entries (bench/bench_receivables.py)."""
    from bench import bench_receivables as rv

    return [Figure(**row) for row in rv.run(scale, seed=seed)]


def bench_grading(*, scale: str, seed: int = 2026) -> list[Figure]:
    """The grading run at 100k customers against SQL window-function ranking (bench/bench_grading.py)."""
    from bench import bench_grading as gr

    return [Figure(**row) for row in gr.run(scale, seed=seed)]


def bench_orders(*, scale: str, seed: int = 2026) -> list[Figure]:
    """Order submit over HTTP against raw SQL, and the order list at 1M orders (bench/bench_orders.py)."""
    from bench import bench_orders as od

    return [Figure(**row) for row in od.run(scale, seed=seed)]


BENCHMARKS: dict[str, Callable[..., list[Figure]]] = {
    "login": bench_login,
    "audit_write": bench_audit_write,
    "audit_verify": bench_audit_verify,
    "workflow": bench_workflow,
    "customers": bench_customers,
    "customer_import": bench_customer_import,
    "receivables": bench_receivables,
    "grading": bench_grading,
    "orders": bench_orders,
}
