"""Grading run benchmark (R-GRD-01, R-GRD-02) at 100k customers (1M at the large scale): the whole computation of a
run (``kehu.grading.services.run_compute``: ledger inputs through the receivables batch functions, scorecard,
ranking with the tie rule and quotas, results stored) against a plain SQL computation of the same ranking and
quotas with window functions (``RANK() OVER (ORDER BY score DESC)`` and the cumulative cut) on the scores the run
stored; both must give every customer the same rank and grade.

``run(scale)`` bulk-writes customers, a ledger for each (invoices over three years, paid on time, late, in part or
not at all, credit notes, reversed invoices; about 8% of customers without any invoice) and entered scorecard items,
then measures. The run grades every active customer in the database, so after other benchmarks in the same
database it grades theirs too (the figure's N is the number graded). Django must be set up on a migrated database.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

SIZES: dict[str, dict[str, int]] = {
    "tiny": {"customers": 2_000, "repeats": 3},
    "small": {"customers": 100_000, "repeats": 3},
    "medium": {"customers": 300_000, "repeats": 3},
    "large": {"customers": 1_000_000, "repeats": 3},
}
CUSTOMER_BATCH = 20_000
ROWS_BATCH = 50_000
CENT = Decimal("0.01")

ENTRY_COLUMNS = (
    "id",
    "customer_id",
    "kind",
    "number",
    "entry_date",
    "due_date",
    "amount",
    "currency",
    "open_amount",
    "reverses_id",
    "memo",
    "created_by_id",
    "created_at",
)
ALLOCATION_COLUMNS = ("id", "credit_id", "debit_id", "via_id", "amount", "applied_on", "created_at")
INPUT_COLUMNS = ("customer_id", "item", "value", "note", "entered_by_id", "entered_at")


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


# ---------------------------------------------------------------------------------------------------------------
# Data


def _users() -> tuple[Any, Any]:
    from django.contrib.auth.hashers import make_password

    from kehu.core.models import Department, Region, Role, User
    from kehu.core.org import department_path

    hashed = make_password("kehu-bench-2026")
    dept = Department.objects.create(code="BGR", name="基准分级部", kind="sales")
    department_path(dept)
    region = Region.objects.create(code="BGRR", name="基准分级区域")

    def user(username: str, role: str) -> Any:
        u = User.objects.create(
            username=username, display_name=username, password=hashed, department=dept, region=region
        )
        u.roles.add(Role.objects.get_or_create(code=role)[0])
        return u

    return user("bench_grd_rep", "sales_rep"), user("bench_grd_gm", "general_manager")


def _customers(n: int, owner: Any) -> list[int]:
    from kehu.customers.models import Customer, CustomerStatus

    made = 0
    while made < n:
        rows = [
            Customer(
                number=f"KHG{i:08d}",
                name=f"基准分级客户{i:08d}有限公司",
                owner=owner,
                department_id=owner.department_id,
                region_id=owner.region_id,
                status=CustomerStatus.ACTIVE,
            )
            for i in range(made, min(n, made + CUSTOMER_BATCH))
        ]
        Customer.objects.bulk_create(rows, batch_size=5_000)
        made += len(rows)
    return list(Customer.objects.filter(number__startswith="KHG").order_by("id").values_list("id", flat=True))


def _write(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert rows as fast as the database takes them: COPY on PostgreSQL, executemany on SQLite. The table and
    column names are the fixed ones of this module."""
    from django.db import connection

    if not rows:
        return
    names = ", ".join(columns)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def _next_id(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # fixed table names
        return int(cur.fetchone()[0]) + 1


def _bulk_ledger(customer_ids: list[int], seed: int) -> dict[str, int]:
    """Per customer 0 to 12 invoices dated up to three years back (about 8% of customers have none); of the
    invoices about 65% are paid in full (on time or up to 60 days late), 15% in part, 3% reversed before any
    payment, the rest open; 5% get a credit note of a tenth. The open amounts are those the postings would have
    left. Returns the counts written."""
    from django.db import connection, transaction
    from django.utils import timezone

    rng = random.Random(seed)
    today = dt.date.today()
    now = timezone.now()
    next_entry = _next_id("receivables_entry")
    next_alloc = _next_id("receivables_allocation")
    entries: list[tuple[Any, ...]] = []
    allocs: list[tuple[Any, ...]] = []
    written = {"entries": 0, "allocations": 0, "invoices": 0}

    def flush(force: bool = False) -> None:
        nonlocal entries, allocs
        if entries and (force or len(entries) >= ROWS_BATCH):
            with transaction.atomic():
                _write("receivables_entry", ENTRY_COLUMNS, entries)
                _write("receivables_allocation", ALLOCATION_COLUMNS, allocs)
            written["entries"] += len(entries)
            written["allocations"] += len(allocs)
            entries, allocs = [], []

    def entry(cid: int, kind: str, day: dt.date, amount: Decimal, **kw: Any) -> int:
        nonlocal next_entry
        pk = next_entry
        next_entry += 1
        prefix = {"invoice": "F", "receipt": "S", "credit_note": "H", "reversal": "C"}[kind]
        entries.append(
            (
                pk,
                cid,
                kind,
                f"{prefix}{pk}",
                day,
                kw.get("due"),
                amount,
                "CNY",
                kw.get("open", Decimal("0.00")),
                kw.get("reverses"),
                "",
                None,
                now,
            )
        )
        return pk

    def allocate(credit: int, debit: int, amount: Decimal, day: dt.date) -> None:
        nonlocal next_alloc
        allocs.append((next_alloc, credit, debit, credit, amount, day, now))
        next_alloc += 1

    for cid in customer_ids:
        n_inv = 0 if rng.random() < 0.08 else rng.randint(1, 12)
        span = rng.choice((200, 400, 800, 1_100))
        size = rng.choice((1, 3, 10, 30))
        for _k in range(n_inv):
            day = today - dt.timedelta(days=rng.randint(1, span))
            due = day + dt.timedelta(days=rng.choice((0, 30, 60, 90)))
            amount = (Decimal(rng.randint(5_000, 1_500_000)) * size / 100).quantize(CENT)
            fate = rng.random()
            open_ = amount
            inv = next_entry
            next_entry += 1
            if rng.random() < 0.05:  # a credit note of a tenth, some days after the invoice
                note = (amount / 10).quantize(CENT)
                note_day = min(today, day + dt.timedelta(days=rng.randint(0, 40)))
                allocate(entry(cid, "credit_note", note_day, note), inv, note, note_day)
                open_ -= note
            if fate < 0.03 and open_ == amount:  # reversed before anything was applied
                entry(
                    cid,
                    "reversal",
                    min(today, day + dt.timedelta(days=rng.randint(0, 10))),
                    amount,
                    reverses=inv,
                )
                open_ = Decimal("0.00")
            elif fate < 0.80:  # paid: in full, or (15%) half of it
                paid = open_ if fate < 0.65 else (open_ / 2).quantize(CENT)
                paid_day = max(day, min(today, due + dt.timedelta(days=rng.randint(-30, 60))))
                allocate(entry(cid, "receipt", paid_day, paid), inv, paid, paid_day)
                open_ -= paid
            entries.append(
                (inv, cid, "invoice", f"F{inv}", day, due, amount, "CNY", open_, None, "", None, now)
            )
            written["invoices"] += 1
        flush()
    flush(force=True)
    if connection.vendor == "postgresql":  # ids were given explicitly: move the sequences past them
        with connection.cursor() as cur:
            for table in ("receivables_entry", "receivables_allocation"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                )
    return written


def _bulk_inputs(customer_ids: list[int], rep: Any, seed: int) -> int:
    """Entered items for about 70% of the customers (margin, sales model, industry reputation, for some the share
    of their purchases); a tenth of those entered twice (the later value counts)."""
    from django.db import transaction
    from django.utils import timezone

    rng = random.Random(seed + 1)
    earlier = timezone.now() - dt.timedelta(days=30)
    later = timezone.now() - dt.timedelta(days=1)
    rows: list[tuple[Any, ...]] = []
    written = 0
    for cid in customer_ids:
        if rng.random() >= 0.7:
            continue
        values = {
            "margin": f"{rng.randint(0, 4_000) / 100:.2f}",
            "sales_model": rng.choice(("direct", "distributor", "agent", "trader")),
            "industry_reputation": str(rng.randint(1, 5)),
        }
        if rng.random() < 0.5:
            values["purchase_share"] = f"{rng.randint(0, 8_000) / 100:.2f}"
        for item, value in values.items():
            rows.append((cid, item, value, "", rep.pk, earlier))
        if rng.random() < 0.1:
            rows.append((cid, "margin", f"{rng.randint(0, 4_000) / 100:.2f}", "复核", rep.pk, later))
        if len(rows) >= ROWS_BATCH:
            with transaction.atomic():
                _write("grading_inputentry", INPUT_COLUMNS, rows)
            written += len(rows)
            rows = []
    with transaction.atomic():
        _write("grading_inputentry", INPUT_COLUMNS, rows)
    return written + len(rows)


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            for table in (
                "receivables_entry",
                "receivables_allocation",
                "grading_inputentry",
                "customers_customer",
            ):
                cur.execute(f"ANALYZE {table}")
        else:
            cur.execute("ANALYZE")


# ---------------------------------------------------------------------------------------------------------------
# Measuring


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


@contextmanager
def _timed(module: Any, name: str, spent: dict[str, float]) -> Iterator[None]:
    """Add the time spent in ``module.name`` (looked up at call time by its callers) to ``spent[name]``."""
    original: Callable[..., Any] = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - t

    setattr(module, name, wrapper)
    try:
        yield
    finally:
        setattr(module, name, original)


def rank_sql(run_id: int, grades: Sequence[str], quotas: Sequence[int]) -> dict[int, tuple[int, str]]:
    """The ranking and grades of a run's stored scores in one SQL statement: ``RANK()`` by score (equal scores
    share the rank of the first of them) and, per grade, the cumulative cut ``round_half_up(n × (q1 + … + qi) /
    100)`` as integer arithmetic; a group of equal scores takes the grade in which its rank falls (the tie rule of
    ``kehu.grading.scoring``), the last grade takes the rest."""
    from django.db import connection

    cases: list[str] = []
    params: list[Any] = []
    acc = 0
    for name, quota in zip(grades[:-1], quotas[:-1], strict=True):
        acc += quota
        cases.append("WHEN pos - 1 < (n * %s + 50) / 100 THEN %s")
        params += [acc, name]
    sql = (
        "WITH ranked AS (SELECT customer_id, RANK() OVER (ORDER BY score DESC) AS pos, COUNT(*) OVER () AS n "
        "FROM grading_gradingresult WHERE run_id = %s) "
        f"SELECT customer_id, pos, CASE {' '.join(cases)} ELSE %s END FROM ranked"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [run_id, *params, grades[-1]])
        return {cid: (int(pos), grade) for cid, pos, grade in cur.fetchall()}


def run(scale: str | int = "small", seed: int = 2026) -> list[dict[str, Any]]:
    from django.db import connection

    from kehu.grading import policies, scoring, services
    from kehu.grading.models import GradingResult, GradingRun, RunStatus

    size = SIZES[scale] if isinstance(scale, str) else {**SIZES["small"], "customers": int(scale)}
    rep, gm = _users()
    t0 = time.perf_counter()
    ids = _customers(size["customers"], rep)
    written = _bulk_ledger(ids, seed)
    inputs = _bulk_inputs(ids, rep, seed)
    _analyze()
    load_s = time.perf_counter() - t0
    rows = [
        _row(
            "grading.bulk_load",
            written["entries"],
            load_s,
            "entries/s",
            customers=len(ids),
            invoices=written["invoices"],
            allocations=written["allocations"],
            input_entries=inputs,
        )
    ]

    # (a) the run's computation, with the time of its parts and its queries
    started = services.run_start(actor=gm)
    spent: dict[str, float] = {}
    with (
        _timed(services, "collect_inputs", spent),
        _timed(services, "score", spent),
        _timed(scoring, "allocate", spent),
        _Counter() as ctx,
    ):
        t = time.perf_counter()
        outcome = services.run_compute(started.pk)
        run_s = time.perf_counter() - t
    run = GradingRun.objects.get(pk=started.pk)
    if run.status != RunStatus.COMPUTED:
        raise RuntimeError(f"grading run ended {run.status}: {run.error}")
    graded = int(outcome["customers"])
    batches = -(-graded // services.BATCH)

    # (b) the same ranking and quotas in SQL, on the scores the run stored
    policy = policies.scheme_of_version(run.policy_version_id)
    names, quotas = [g.name for g in policy.grades], [g.quota for g in policy.grades]
    sql_times, sql = [], {}
    for _ in range(size["repeats"]):
        t = time.perf_counter()
        sql = rank_sql(run.pk, names, quotas)
        sql_times.append(time.perf_counter() - t)
    results = GradingResult.objects.filter(run=run)
    stored = {cid: (rank, grade) for cid, rank, grade in results.values_list("customer_id", "rank", "grade")}
    same = stored == sql and len(stored) == graded

    # the Python ranking alone on the same scores, for comparison with (b)
    scores = list(results.values_list("customer_id", "score"))
    py_times = []
    for _ in range(size["repeats"]):
        t = time.perf_counter()
        placed = scoring.allocate(scores, names, quotas)
        py_times.append(time.perf_counter() - t)
    same = same and {p.key: (p.rank, p.grade) for p in placed} == sql

    sql_s, py_s = statistics.median(sql_times), statistics.median(py_times)
    inputs_s, score_s = spent.get("collect_inputs", 0.0), spent.get("score", 0.0)
    allocate_s = spent.get("allocate", 0.0)
    rows.append(
        _row(
            "grading.run_compute",
            graded,
            run_s,
            "customers/s",
            baseline="SQL RANK() window + quota cut",
            ratio=round(run_s / sql_s, 1) if sql_s else None,
            database=connection.vendor,
            inputs_s=round(inputs_s, 2),
            score_s=round(score_s, 2),
            allocate_s=round(allocate_s, 2),
            store_and_rest_s=round(run_s - inputs_s - score_s - allocate_s, 2),
            queries=ctx.captured,
            queries_per_batch=round(ctx.captured / batches, 1) if batches else None,
            sql_rank_ms=round(sql_s * 1000, 1),
            same_grades=same,
            distribution=run.distribution,
        )
    )
    rows.append(
        _row(
            "grading.rank_python",
            graded,
            py_s,
            "customers/s",
            baseline="SQL RANK() window + quota cut",
            ratio=round(py_s / sql_s, 2) if sql_s else None,
            allocate_ms=round(py_s * 1000, 1),
            sql_rank_ms=round(sql_s * 1000, 1),
            same_grades=same,
        )
    )
    return rows


if __name__ == "__main__":  # pragma: no cover
    import json

    import django

    django.setup()
    print(json.dumps(run("tiny"), indent=2, ensure_ascii=False, default=str))
