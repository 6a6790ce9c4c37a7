"""Receivables benchmarks (R-CRD-05, R-CRD-06) at 100k customers and 2M ledger entries: the exposure read (per call,
one query), the ledger post rate through the services (invoice + receipt, audited, exposure row locked), and the
company ageing report against a plain SQL computation of the same ageing from entries and allocations (ratio).

``run(scale)`` bulk-writes customers, invoices, receipts, their allocations and the exposure rows (set-based, the
same figures the services would have maintained), then measures. Django must be set up on a migrated database.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from decimal import Decimal
from typing import Any

SIZES: dict[str, dict[str, int]] = {
    "tiny": {"customers": 2_000, "per_customer": 20, "reads": 300, "posts": 50, "reports": 3},
    "small": {"customers": 100_000, "per_customer": 20, "reads": 2_000, "posts": 300, "reports": 3},
    "medium": {"customers": 100_000, "per_customer": 20, "reads": 5_000, "posts": 1_000, "reports": 5},
    "large": {"customers": 300_000, "per_customer": 20, "reads": 10_000, "posts": 2_000, "reports": 5},
}
BATCH = 20_000
INVOICES_OF_20 = 12  # of every 20 entries of a customer: 12 invoices, 8 receipts


def _row(
    name: str, n: int, seconds: float, unit: str, baseline: str = "", ratio: float | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "n": n,
        "seconds": round(seconds, 4),
        "rate": round(n / seconds, 2) if seconds else 0.0,
        "unit": unit,
        "baseline": baseline,
        "ratio": ratio,
        "extra": extra,
    }


def _users() -> tuple[Any, Any, Any]:
    from django.contrib.auth.hashers import make_password

    from kehu.core.models import Department, Region, Role, User
    from kehu.core.org import department_path

    hashed = make_password("kehu-bench-2026")
    dept = Department.objects.create(code="BRV", name="基准应收部", kind="sales")
    department_path(dept)
    region = Region.objects.create(code="BRVR", name="基准应收区域")

    def user(username: str, role: str) -> Any:
        u = User.objects.create(
            username=username, display_name=username, password=hashed, department=dept, region=region
        )
        u.roles.add(Role.objects.get_or_create(code=role)[0])
        return u

    return (
        user("bench_rcv_rep", "sales_rep"),
        user("bench_rcv_fin", "finance"),
        user("bench_rcv_gm", "general_manager"),
    )


def _customers(n: int, owner: Any) -> list[int]:
    from kehu.customers.models import Customer, CustomerStatus

    made = 0
    while made < n:
        rows = [
            Customer(
                number=f"KHR{i:08d}",
                name=f"基准应收客户{i:08d}有限公司",
                owner=owner,
                department_id=owner.department_id,
                region_id=owner.region_id,
                status=CustomerStatus.ACTIVE,
            )
            for i in range(made, min(n, made + BATCH))
        ]
        Customer.objects.bulk_create(rows, batch_size=5_000)
        made += len(rows)
    return list(Customer.objects.filter(number__startswith="KHR").order_by("id").values_list("id", flat=True))


def _bulk_ledger(customer_ids: list[int], per_customer: int, seed: int) -> int:
    """Invoices and receipts for every customer (each receipt paid one invoice, fully or in part), allocations, and
    the exposure rows computed from them in SQL. Returns the number of entries written."""
    from django.db import connection, transaction
    from django.utils import timezone

    rng = random.Random(seed)
    today = dt.date.today()
    now = timezone.now()
    n_inv = per_customer * INVOICES_OF_20 // 20
    n_rec = per_customer - n_inv
    with connection.cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM receivables_entry")
        next_id = int(cur.fetchone()[0]) + 1
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM receivables_allocation")
        next_alloc = int(cur.fetchone()[0]) + 1
    entry_sql = (
        "INSERT INTO receivables_entry (id, customer_id, kind, number, entry_date, due_date, amount, currency, "
        "open_amount, reverses_id, memo, created_by_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, 'CNY', %s, "
        "NULL, '', NULL, %s)"
    )
    alloc_sql = (
        "INSERT INTO receivables_allocation (id, credit_id, debit_id, via_id, amount, applied_on, created_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)"
    )
    entries: list[tuple[Any, ...]] = []
    allocs: list[tuple[Any, ...]] = []
    written = 0

    def flush(force: bool = False) -> None:
        nonlocal entries, allocs, written
        if entries and (force or len(entries) >= BATCH):
            with transaction.atomic(), connection.cursor() as cur:
                cur.executemany(entry_sql, entries)
                cur.executemany(alloc_sql, allocs)
            written += len(entries)
            entries, allocs = [], []

    for cid in customer_ids:
        invoices = []
        for _k in range(n_inv):
            day = today - dt.timedelta(days=rng.randint(1, 720))
            due = day + dt.timedelta(days=rng.choice((30, 60, 90)))
            amount = Decimal(rng.randint(1_000, 500_000)) / 100
            invoices.append([next_id, day, due, amount, amount])
            next_id += 1
        for k in range(n_rec):
            inv = invoices[k]
            paid = inv[3] if k % 3 else (inv[3] / 2).quantize(Decimal("0.01"))
            inv[4] -= paid
            day = min(today, inv[2] + dt.timedelta(days=rng.randint(-20, 60)))
            entries.append((next_id, cid, "receipt", f"S{next_id}", day, None, paid, Decimal("0.00"), now))
            allocs.append((next_alloc, next_id, inv[0], next_id, paid, day, now))
            next_id += 1
            next_alloc += 1
        for inv_id, day, due, amount, open_ in invoices:
            entries.append((inv_id, cid, "invoice", f"F{inv_id}", day, due, amount, open_, now))
        flush()
    flush(force=True)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO receivables_customerexposure (customer_id, open_receivables, unbilled_deliveries, "
            "approved_orders, updated_at) SELECT customer_id, SUM(CASE WHEN kind = 'invoice' THEN amount ELSE -amount "
            "END), 0, 0, %s FROM receivables_entry WHERE customer_id BETWEEN %s AND %s GROUP BY customer_id",
            [now, min(customer_ids), max(customer_ids)],
        )
        if connection.vendor == "postgresql":  # ids were given explicitly: move the sequences past them
            for table in ("receivables_entry", "receivables_allocation"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                )
            cur.execute("ANALYZE receivables_entry")
            cur.execute("ANALYZE receivables_allocation")
            cur.execute("ANALYZE receivables_customerexposure")
    return written


class _Counter:
    """Counts the queries run inside ``with`` (no query log, so any number of queries)."""

    def __init__(self) -> None:
        self.captured = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.captured += 1
        return execute(sql, params, many, context)

    def __enter__(self) -> _Counter:
        from django.db import connection

        self._cm = connection.execute_wrapper(self)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)


def run(scale: str | int = "small", seed: int = 2026) -> list[dict[str, Any]]:
    from kehu.receivables import interface, selectors, services

    size = SIZES[scale] if isinstance(scale, str) else {**SIZES["small"], "customers": int(scale)}
    rep, fin, gm = _users()
    t0 = time.perf_counter()
    ids = _customers(size["customers"], rep)
    written = _bulk_ledger(ids, size["per_customer"], seed)
    load_s = time.perf_counter() - t0
    rows = [_row("receivables.bulk_load", written, load_s, "entries/s", customers=len(ids))]
    rng = random.Random(seed)

    # exposure read: one query on the maintained row (+ usable deposits)
    sample = [rng.choice(ids) for _ in range(size["reads"])]
    times = []
    with _Counter() as ctx:
        for cid in sample:
            t = time.perf_counter()
            interface.credit_exposure(cid)
            times.append(time.perf_counter() - t)
    rows.append(
        _row(
            "receivables.exposure_read",
            len(sample),
            sum(times),
            "calls/s",
            entries=written,
            p50_us=round(statistics.median(times) * 1e6, 1),
            queries_per_call=ctx.captured / len(sample),
        )
    )

    # ledger post rate: an invoice and a receipt (FIFO allocation) per customer, through the services
    today = dt.date.today()
    posters = [rng.choice(ids) for _ in range(size["posts"])]
    with _Counter() as ctx:
        t = time.perf_counter()
        for k, cid in enumerate(posters):
            services.invoice_post(
                actor=fin, customer_id=cid, number=f"BP{k}", entry_date=today, amount="1234.56"
            )
            services.receipt_post(
                actor=fin,
                customer_id=cid,
                entry_date=today,
                number=f"BR{k}",
                lines=[{"method": "wire", "amount": "1000.00"}],
            )
        post_s = time.perf_counter() - t
    rows.append(
        _row(
            "receivables.ledger_post",
            2 * len(posters),
            post_s,
            "entries/s",
            entries=written,
            queries_per_entry=round(ctx.captured / (2 * len(posters)), 1),
        )
    )

    # company ageing: the report (maintained open amounts) against plain SQL over entries and allocations
    edges = selectors.buckets()[0]
    edge_list = [b.high for b in edges if b.high is not None and b.high > 0]
    rep_times, raw_times = [], []
    report = raw = None
    queries = 0
    for _ in range(size["reports"]):
        with _Counter() as ctx:
            t = time.perf_counter()
            report = selectors.ageing_report(gm, at=today, limit=50)
            rep_times.append(time.perf_counter() - t)
        queries = ctx.captured
        t = time.perf_counter()
        raw = selectors.ageing_raw_sql(today, edge_list)
        raw_times.append(time.perf_counter() - t)
    assert report is not None and raw is not None
    same = [raw[b.key] for b in report.buckets] == report.totals and raw["credits"] == report.total_credits
    r50, s50 = statistics.median(rep_times), statistics.median(raw_times)
    rows.append(
        _row(
            "receivables.ageing_company",
            len(rep_times),
            sum(rep_times),
            "reports/s",
            baseline="raw SQL ageing from entries and allocations",
            ratio=round(r50 / s50, 3) if s50 else None,
            entries=written,
            customers=report.count,
            p50_ms=round(r50 * 1000, 1),
            raw_sql_p50_ms=round(s50 * 1000, 1),
            queries=queries,
            totals_equal=same,
        )
    )
    return rows


if __name__ == "__main__":  # pragma: no cover
    import json

    import django

    django.setup()
    print(json.dumps(run("tiny"), indent=2, ensure_ascii=False, default=str))
