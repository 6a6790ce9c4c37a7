"""Order benchmarks (R-ORD-01, R-ORD-02, R-CRD-05): submit throughput and latency over HTTP with 16 concurrent
clients against the real server, the same lock-read-insert-update in raw SQL as the ceiling, and the order list at
volume (1M orders at the large scale).

1. **Submit over HTTP** (PostgreSQL only): ``python -m kehu serve --no-worker`` in a subprocess on the bench
   database; 16 client threads each sign in (session cookie and CSRF token, as a browser) and repeatedly create
   an order (``POST /api/v1/orders/``) and submit it (``POST /api/v1/orders/{id}/submit``). Scenario *hot*: every
   client orders for one customer (all serialise on its exposure row lock); scenario *many*: each order for a
   random one of the customers. Every customer is active, graded A in an approved grading run, holds a valid
   business licence and a credit limit in force; the limits are deliberately too small for every order (the hot
   customer's takes about half of the orders, each of the many customers' about three), so both outcomes of the
   credit check occur. Afterwards every created order must have a final status (approved or on credit hold), the
   exposure row must equal the sum the orders count and no customer may be above its limit through approved
   orders (R-CRD-05: concurrent orders never jointly exceed a limit).
2. **Raw SQL ceiling**: the same 16 threads with psycopg on the same database: ``BEGIN; SELECT … FROM
   receivables_customerexposure WHERE customer_id = … FOR UPDATE``; the limit; ``INSERT`` an order and a line;
   ``UPDATE`` the exposure row; ``COMMIT`` (no checks, no number series, no audit trail). The ratio is HTTP over
   raw.
3. **Order list** (``GET /orders/`` in-process through the test client): first page, and filtered by status, on
   hold, customer, owner and customers with overdue receivables, as the general manager (all orders) and as a
   sales rep (own customers), with the query count per page, measured at a tenth of the orders and at all of them
   (the count must not grow). Baseline: the same first page (count and rows) in raw SQL; the page must show
   the rows the raw query finds (``same_rows_as_raw``), so a filter that is dropped shows.

``run(scale)`` writes its own users, customers and catalogue; Django must be set up on a migrated database.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

SIZES: dict[str, dict[str, Any]] = {
    "tiny": {
        "clients": 16,
        "per_client": 6,
        "many_customers": 50,
        "workers": [4],
        "list_customers": 2_000,
        "reps": 20,
        "orders": 20_000,
        "pages": 3,
    },
    "small": {
        "clients": 16,
        "per_client": 40,
        "many_customers": 200,
        "workers": [2, 4, 6],
        "list_customers": 20_000,
        "reps": 200,
        "orders": 200_000,
        "pages": 7,
    },
    "medium": {
        "clients": 16,
        "per_client": 60,
        "many_customers": 500,
        "workers": [2, 4, 6],
        "list_customers": 50_000,
        "reps": 400,
        "orders": 500_000,
        "pages": 7,
    },
    "large": {
        "clients": 16,
        "per_client": 100,
        "many_customers": 1_000,
        "workers": [2, 4, 6, 8],
        "list_customers": 100_000,
        "reps": 1_000,
        "orders": 1_000_000,
        "pages": 7,
    },
}
PASSWORD = "kehu-bench-2026"  # noqa: S105 (the benchmark users' password)
ROWS_BATCH = 50_000
PROBE_PER_CLIENT = 8  # orders per client when choosing the number of server workers
KEEP_ALIVE_S = 1.0  # reconnect after this long idle (gunicorn's keep-alive is 2 s)
SLOW_PAGE_MS = 250.0  # pages slower than this get their slowest query explained


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


def _pct(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))] if ordered else 0.0


def _ms(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(_pct(values, 50) * 1000, 1),
        "p95_ms": round(_pct(values, 95) * 1000, 1),
        "p99_ms": round(_pct(values, 99) * 1000, 1),
    }


# ---------------------------------------------------------------------------------------------------------------
# Data


class World:
    """The users, catalogue and customers of the benchmark."""

    def __init__(self) -> None:
        self.gm: Any = None
        self.rep: Any = None  # the rep whose customers the HTTP clients order for
        self.reps: list[Any] = []
        self.products: list[Any] = []
        self.order_total = Decimal("0")
        self.lines: list[dict[str, Any]] = []
        self.hot: int = 0
        self.many: list[int] = []
        self.raw_hot: int = 0
        self.raw_many: list[int] = []
        self.limits: dict[int, Decimal] = {}


def _users(world: World, reps: int) -> None:
    from django.contrib.auth.hashers import make_password

    from kehu.core.models import Department, Region, Role, User
    from kehu.core.org import department_path

    hashed = make_password(PASSWORD)
    dept = Department.objects.create(code="BOD", name="基准订单部", kind="sales")
    department_path(dept)
    region = Region.objects.create(code="BODR", name="基准订单区域")
    roles = {c: Role.objects.get_or_create(code=c)[0] for c in ("sales_rep", "general_manager")}

    def user(username: str, role: str) -> Any:
        u = User.objects.create(
            username=username, display_name=username, password=hashed, department=dept, region=region
        )
        u.roles.add(roles[role])
        return u

    world.gm = user("bench_ord_gm", "general_manager")
    world.rep = user("bench_ord_rep", "sales_rep")
    world.reps = [user(f"bench_ord_rep{i:04d}", "sales_rep") for i in range(reps)]


def _catalogue(world: World) -> None:
    from kehu.orders.models import Product

    world.products = [
        Product.objects.create(
            code="BOD-P1", name="基准滚珠丝杠", spec="SFU2005", unit="根", control_price=Decimal("100")
        ),
        Product.objects.create(
            code="BOD-P2", name="基准直线导轨", spec="HGR20", unit="根", control_price=Decimal("250")
        ),
    ]
    # 10 x 100 + 2 x 250, 13 % tax: 1 130.00 + 565.00
    world.lines = [
        {"product_id": world.products[0].pk, "quantity": "10"},
        {"product_id": world.products[1].pk, "quantity": "2"},
    ]
    world.order_total = Decimal("1695.00")


def _customers(prefix: str, n: int, owners: Sequence[Any], start: int = 0) -> list[int]:
    from kehu.customers.models import Customer, CustomerStatus

    made = 0
    while made < n:
        rows = []
        for i in range(made, min(n, made + 5_000)):
            owner = owners[i % len(owners)]
            rows.append(
                Customer(
                    number=f"{prefix}{start + i:08d}",
                    name=f"基准订单客户{prefix}{start + i:08d}有限公司",
                    owner=owner,
                    department_id=owner.department_id,
                    region_id=owner.region_id,
                    status=CustomerStatus.ACTIVE,
                )
            )
        Customer.objects.bulk_create(rows, batch_size=5_000)
        made += len(rows)
    return list(
        Customer.objects.filter(number__startswith=prefix).order_by("id").values_list("id", flat=True)
    )


def _orderable(world: World, ids: list[int], limit_orders: dict[int, int]) -> None:
    """Make the customers pass every check but the credit check: graded A in an approved run in force, a valid
    business licence, a limit in force of ``limit_orders[id]`` orders' worth, an exposure row."""
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from kehu.core.models.attachments import Attachment, FileBlob
    from kehu.customers.models import Customer
    from kehu.grading.models import GradingResult, GradingRun, RunStatus
    from kehu.limits.models import CreditLimit
    from kehu.receivables.models import CustomerExposure

    today = timezone.localdate()
    run = GradingRun.objects.create(
        period_start=today - dt.timedelta(days=365),
        period_end=today - dt.timedelta(days=1),
        status=RunStatus.APPROVED,
        started_by=world.gm,
        approved_by=world.gm,
        approved_at=timezone.now(),
        computed_at=timezone.now(),
        effective_on=today,
        customer_count=len(ids),
        distribution={"A": len(ids)},
    )
    GradingResult.objects.bulk_create(
        [
            GradingResult(run=run, customer_id=cid, score=Decimal("90"), rank=k + 1, grade="A")
            for k, cid in enumerate(ids)
        ]
    )
    blob, _ = FileBlob.objects.get_or_create(sha256="b" * 64, defaults={"size": 1024})
    ct = ContentType.objects.get_for_model(Customer)
    Attachment.objects.bulk_create(
        [
            Attachment(
                content_type=ct,
                object_id=str(cid),
                blob=blob,
                filename="营业执照.pdf",
                mime_type="application/pdf",
                size=1024,
                doc_type="business_licence",
                valid_from=today - dt.timedelta(days=365),
                valid_to=today + dt.timedelta(days=365),
                uploaded_by=world.gm,
            )
            for cid in ids
        ]
    )
    for cid in ids:
        world.limits[cid] = world.order_total * limit_orders[cid]
    CreditLimit.objects.bulk_create(
        [
            CreditLimit(
                customer_id=cid,
                amount=world.limits[cid],
                term_days=30,
                credit_class="A",
                terms_level="A",
                valid_from=today - dt.timedelta(days=30),
            )
            for cid in ids
        ]
    )
    CustomerExposure.objects.bulk_create([CustomerExposure(customer_id=cid) for cid in ids])


def _write(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL, executemany on SQLite; the table and column names are this module's fixed ones."""
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


class Rows:
    """Rows of a model's table with every column (the model's defaults for those not given), so that bulk writes
    keep working when columns are added."""

    def __init__(self, model: Any, *, with_id: bool = True) -> None:
        from django.utils import timezone

        self.table = model._meta.db_table
        now = timezone.now()
        self.columns: list[str] = []
        self.defaults: dict[str, Any] = {}
        for f in model._meta.concrete_fields:
            if f.primary_key and not with_id:
                continue
            self.columns.append(f.column)
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                self.defaults[f.column] = now
            else:  # the default, or "" for a text column without one, or None
                value = f.get_default()
                self.defaults[f.column] = json.dumps(value) if f.get_internal_type() == "JSONField" else value

    def row(self, values: dict[str, Any]) -> tuple[Any, ...]:
        unknown = set(values) - set(self.columns)
        if unknown:
            raise KeyError(f"no such columns in {self.table}: {sorted(unknown)}")
        return tuple(values[c] if c in values else self.defaults[c] for c in self.columns)

    def insert_sql(self) -> str:
        return (
            f"INSERT INTO {self.table} ({', '.join(self.columns)}) "  # names from the model
            f"VALUES ({', '.join(['%s'] * len(self.columns))}) RETURNING id"
        )


# ---------------------------------------------------------------------------------------------------------------
# HTTP clients against the real server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``python -m kehu serve --no-worker`` on a free port (its own process group, ended on ``stop``)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.port = _free_port()
        env = os.environ.copy()
        env["KEHU_BIND"] = f"127.0.0.1:{self.port}"
        env["KEHU_WEB_WORKERS"] = str(workers)
        env["KEHU_LOG_LEVEL"] = "WARNING"
        self.proc = subprocess.Popen(  # noqa: S603 (fixed argv)
            [sys.executable, "-m", "kehu", "serve", "--no-worker", "--workers", str(workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server ended at start with code {self.proc.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not answer /healthz within 60 s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Client:
    """One browser-like client: keep-alive connection, cookies, the CSRF token as header on unsafe calls."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}
        self.last = time.monotonic()

    def call(self, method: str, path: str, body: bytes | None = None, ctype: str = "") -> tuple[int, bytes]:
        headers = {"Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method != "GET" and "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        if ctype:
            headers["Content-Type"] = ctype
        if time.monotonic() - self.last > KEEP_ALIVE_S:  # gunicorn closes idle connections after 2 s
            self.conn.close()
        try:
            self.conn.request(method, path, body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError):  # closed while idle: the request was not read
            self.conn.close()
            self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        self.last = time.monotonic()
        data = resp.read()
        for cookie in resp.msg.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return resp.status, data

    def login(self, username: str) -> None:
        self.call("GET", "/login/")
        form = urllib.parse.urlencode(
            {
                "username": username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.cookies.get("csrftoken", ""),
            }
        ).encode()
        status, _ = self.call("POST", "/login/", form, "application/x-www-form-urlencoded")
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"sign-in of {username} answered {status}")

    def post_json(self, path: str, payload: dict[str, Any]) -> tuple[int, Any]:
        status, data = self.call("POST", path, json.dumps(payload).encode(), "application/json")
        try:
            return status, json.loads(data)
        except ValueError:
            return status, {"raw": data[:200].decode(errors="replace")}


class Outcome:
    def __init__(self) -> None:
        self.latencies: list[float] = []  # create + submit
        self.submit: list[float] = []
        self.created: list[int] = []
        self.statuses: dict[str, int] = {}
        self.errors: list[str] = []
        self.lock = threading.Lock()


def _order_loop(
    client: Client, pick: Callable[[random.Random], int], count: int, body: dict[str, Any], seed: int
) -> Outcome:
    out = Outcome()
    rng = random.Random(seed)
    for _ in range(count):
        cid = pick(rng)
        t0 = time.perf_counter()
        status, data = client.post_json("/api/v1/orders/", {**body, "customer_id": cid})
        if status != 201:
            out.errors.append(f"create {status}: {str(data)[:160]}")
            continue
        oid = int(data["id"])
        out.created.append(oid)
        t1 = time.perf_counter()
        status, data = client.post_json(f"/api/v1/orders/{oid}/submit", {})
        t2 = time.perf_counter()
        if status != 200:
            out.errors.append(f"submit {status}: {str(data)[:160]}")
            continue
        out.latencies.append(t2 - t0)
        out.submit.append(t2 - t1)
        out.statuses[data["status"]] = out.statuses.get(data["status"], 0) + 1
    return out


def _concurrently(clients: int, work: Callable[[int], Outcome]) -> tuple[float, Outcome]:
    """Run ``work(i)`` in ``clients`` threads started together; the wall time and the merged outcome."""
    results: list[Outcome | None] = [None] * clients
    failures: list[BaseException] = []
    barrier = threading.Barrier(clients + 1)

    def body(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"a client failed: {failures[0]!r}") from failures[0]
    merged = Outcome()
    for r in results:
        assert r is not None
        merged.latencies += r.latencies
        merged.submit += r.submit
        merged.created += r.created
        merged.errors += r.errors
        for k, v in r.statuses.items():
            merged.statuses[k] = merged.statuses.get(k, 0) + v
    return wall, merged


def _order_body() -> dict[str, Any]:
    from django.utils import timezone

    from kehu.core.workdays import workdays_add

    return {
        "channel": "phone",
        "requested_date": workdays_add(timezone.localdate(), 45).isoformat(),
        "payment_terms": "net_30",
    }


def _http_round(
    world: World, server: Server, clients: list[Client], customers: list[int], per_client: int, seed: int
) -> tuple[float, Outcome]:
    body = {**_order_body(), "lines": world.lines}

    def pick(rng: random.Random) -> int:
        return customers[0] if len(customers) == 1 else rng.choice(customers)

    return _concurrently(
        len(clients), lambda i: _order_loop(clients[i], pick, per_client, body, seed * 1000 + i)
    )


def _verify(
    world: World, customers: list[int], created: list[int], table_check: bool = True
) -> dict[str, Any]:
    """Every created order has a final status; the exposure rows equal what the orders count; nobody is above
    the limit through approved orders."""
    from django.db.models import Count, Sum

    from kehu.orders.models import Order
    from kehu.receivables.models import CustomerExposure

    statuses = dict(
        Order.objects.filter(pk__in=created).values_list("status").annotate(n=Count("pk")).order_by()
    )
    final = sum(v for k, v in statuses.items() if k in ("approved", "credit_hold", "review_pending"))
    counted = dict(
        Order.objects.filter(customer_id__in=customers)
        .values_list("customer_id")
        .annotate(s=Sum("counted_amount"))
        .order_by()
    )
    rows = dict(
        CustomerExposure.objects.filter(customer_id__in=customers).values_list(
            "customer_id", "approved_orders"
        )
    )
    consistent = all(rows.get(cid, Decimal("0")) == (counted.get(cid) or Decimal("0")) for cid in customers)
    within = all((counted.get(cid) or Decimal("0")) <= world.limits[cid] for cid in customers)
    return {
        "approved": statuses.get("approved", 0),
        "on_hold": statuses.get("credit_hold", 0),
        "review": statuses.get("review_pending", 0),
        "none_lost": final == len(created) and len(created) > 0,
        "exposure_consistent": consistent,
        "within_limits": within,
    }


def _bench_http(world: World, size: dict[str, Any], seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    n_clients, per_client = size["clients"], size["per_client"]
    rows: list[dict[str, Any]] = []
    figures: dict[str, Any] = {}

    def start(workers: int) -> tuple[Server, list[Client]]:
        server = Server(workers)
        try:
            clients = [Client(server.port) for _ in range(n_clients)]
            for c in clients:
                c.login(world.rep.username)
            # warm every worker thread's connection and imports: one order each (not counted)
            _http_round(world, server, clients, world.many, 1, seed + 7)
        except BaseException:
            server.stop()
            raise
        return server, clients

    # how many gunicorn workers (4 threads each) serve 16 clients best on this machine: a probe of scenario (b)
    workers = size["workers"]
    best = workers[0]
    if len(workers) > 1:
        best_rate = -1.0
        for w in workers:
            server, clients = start(w)
            try:
                wall, out = _http_round(world, server, clients, world.many, PROBE_PER_CLIENT, seed + w)
            finally:
                server.stop()
            rate = len(out.latencies) / wall
            rows.append(
                _row(
                    f"orders.http_probe_workers_{w}",
                    len(out.latencies),
                    wall,
                    "orders/s",
                    workers=w,
                    threads=4 * w,
                    clients=n_clients,
                    errors=len(out.errors),
                    **_ms(out.latencies),
                )
            )
            if rate > best_rate:
                best, best_rate = w, rate
    print(f"  server: {best} gunicorn workers x 4 threads for {n_clients} clients", flush=True)

    server, clients = start(best)
    try:
        for name, customers in (("hot", [world.hot]), ("many", world.many)):
            wall, out = _http_round(world, server, clients, customers, per_client, seed)
            check = _verify(world, customers, out.created)
            if out.errors or not (
                check["none_lost"] and check["exposure_consistent"] and check["within_limits"]
            ):
                print(f"  WARNING orders.http_{name}: {check}; errors {out.errors[:3]}", flush=True)
            figures[name] = (len(out.latencies) / wall if wall else 0.0, _ms(out.latencies))
            rows.append(
                _row(
                    f"orders.http_submit_{name}",
                    len(out.latencies),
                    wall,
                    "orders/s",
                    clients=n_clients,
                    workers=best,
                    customers=len(customers),
                    **_ms(out.latencies),
                    submit_p50_ms=round(_pct(out.submit, 50) * 1000, 1),
                    submit_p95_ms=round(_pct(out.submit, 95) * 1000, 1),
                    errors=len(out.errors),
                    **check,
                )
            )
    finally:
        server.stop()
    return rows, figures


# ---------------------------------------------------------------------------------------------------------------
# Raw SQL ceiling


def _raw_loop(
    dsn: dict[str, Any],
    world: World,
    tables: tuple[Rows, Rows],
    pick: Callable[[random.Random], int],
    count: int,
    tag: str,
    seed: int,
) -> Outcome:
    import psycopg

    out = Outcome()
    rng = random.Random(seed)
    orders, lines = tables
    total = world.order_total
    net = Decimal("1500.00")
    tax = total - net
    with psycopg.connect(**dsn) as conn:
        for k in range(count):
            cid = pick(rng)
            t0 = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(
                    "SELECT open_receivables + unbilled_deliveries + approved_orders FROM "
                    "receivables_customerexposure WHERE customer_id = %s FOR UPDATE",
                    [cid],
                )
                exposure = cur.fetchone()[0]  # type: ignore[index]
                cur.execute(
                    "SELECT amount FROM limits_creditlimit WHERE customer_id = %s AND status = 'in_force' "
                    "ORDER BY id DESC LIMIT 1",
                    [cid],
                )
                limit = cur.fetchone()[0]  # type: ignore[index]
                ok = exposure + total <= limit
                now = dt.datetime.now(dt.UTC)
                cur.execute(
                    orders.insert_sql(),
                    orders.row(
                        {
                            "number": f"{tag}{k:06d}",
                            "customer_id": cid,
                            "owner_id": world.rep.pk,
                            "created_by_id": world.rep.pk,
                            "channel": "phone",
                            "requested_date": dt.date.today() + dt.timedelta(days=60),
                            "payment_terms": "net_30",
                            "status": "approved" if ok else "credit_hold",
                            "net_amount": net,
                            "tax_amount": tax,
                            "total_amount": total,
                            "counted_amount": total if ok else Decimal("0"),
                            "check_run": 1,
                            "checks_passed": ok,
                            "on_hold": not ok,
                            "created_at": now,
                            "submitted_at": now,
                            "approved_at": now if ok else None,
                            "updated_at": now,
                        }
                    ),
                )
                oid = cur.fetchone()[0]  # type: ignore[index]
                cur.execute(
                    lines.insert_sql(),
                    lines.row(
                        {
                            "order_id": oid,
                            "position": 1,
                            "product_id": world.products[0].pk,
                            "quantity": Decimal("10"),
                            "unit": "根",
                            "unit_price": Decimal("100"),
                            "tax_rate": Decimal("13"),
                            "net_amount": net,
                            "tax_amount": tax,
                            "amount": total,
                        }
                    ),
                )
                if ok:
                    cur.execute(
                        "UPDATE receivables_customerexposure SET approved_orders = approved_orders + %s, "
                        "updated_at = now() WHERE customer_id = %s",
                        [total, cid],
                    )
            out.latencies.append(time.perf_counter() - t0)
            out.created.append(int(oid))
            key = "approved" if ok else "credit_hold"
            out.statuses[key] = out.statuses.get(key, 0) + 1
    return out


def _bench_raw(world: World, size: dict[str, Any], seed: int, http: dict[str, Any]) -> list[dict[str, Any]]:
    from django.db import connection

    s = connection.settings_dict
    dsn = {
        "host": s["HOST"] or "127.0.0.1",
        "port": int(s["PORT"] or 5432),
        "user": s["USER"] or "postgres",
        "password": s["PASSWORD"] or None,
        "dbname": s["NAME"],
    }
    from kehu.orders.models import Order, OrderLine

    tables = (Rows(Order, with_id=False), Rows(OrderLine, with_id=False))
    rows = []
    n_clients, per_client = size["clients"], size["per_client"]
    for name, customers in (("hot", [world.raw_hot]), ("many", world.raw_many)):

        def pick(rng: random.Random, customers: list[int] = customers) -> int:
            return customers[0] if len(customers) == 1 else rng.choice(customers)

        wall, out = _concurrently(
            n_clients,
            lambda i, name=name, pick=pick: _raw_loop(
                dsn, world, tables, pick, per_client, f"RAW{name[0].upper()}{i:02d}-", seed + i
            ),
        )
        check = _verify(world, customers, out.created)
        rate = len(out.latencies) / wall if wall else 0.0
        http_rate, http_ms = http.get(name, (None, {}))
        rows.append(
            _row(
                f"orders.raw_sql_submit_{name}",
                len(out.latencies),
                wall,
                "orders/s",
                http_over_raw_throughput=round(http_rate / rate, 3) if http_rate and rate else None,
                clients=n_clients,
                customers=len(customers),
                **_ms(out.latencies),
                http_p50_ms=http_ms.get("p50_ms"),
                p50_ratio_http_over_raw=(
                    round(http_ms["p50_ms"] / (_pct(out.latencies, 50) * 1000), 1) if http_ms else None
                ),
                **check,
            )
        )
    return rows


# ---------------------------------------------------------------------------------------------------------------
# The order list at volume

STATUS_MIX = (
    ["approved"] * 55 + ["draft"] * 15 + ["cancelled"] * 10 + ["review_pending"] * 10 + ["credit_hold"] * 10
)


def _bulk_orders(
    start: int, n: int, customers: list[int], owners: dict[int, int], world: World, seed: int
) -> None:
    """``n`` orders (ids from ``start``) over the customers, statuses mixed, created over two years."""
    from django.db import transaction
    from django.utils import timezone

    from kehu.orders.models import Order

    table = Rows(Order)
    rng = random.Random(seed + start)
    now = timezone.now()
    today = timezone.localdate()
    rows: list[tuple[Any, ...]] = []
    for k in range(start, start + n):
        cid = customers[rng.randrange(len(customers))]
        status = STATUS_MIX[rng.randrange(len(STATUS_MIX))]
        created = now - dt.timedelta(seconds=rng.randint(0, 730 * 86_400))
        net = Decimal(rng.randint(10_000, 5_000_000)) / 100
        tax = (net * Decimal("0.13")).quantize(Decimal("0.01"))
        submitted = None if status == "draft" else created + dt.timedelta(minutes=5)
        rows.append(
            table.row(
                {
                    "id": k,
                    "number": f"BDD{k:09d}",
                    "customer_id": cid,
                    "owner_id": owners[cid],
                    "created_by_id": owners[cid],
                    "channel": ("phone", "fax", "email", "on_site", "portal")[k % 5],
                    "requested_date": today + dt.timedelta(days=rng.randint(-300, 90)),
                    "payment_terms": "net_30",
                    "status": status,
                    "net_amount": net,
                    "tax_amount": tax,
                    "total_amount": net + tax,
                    "counted_amount": net + tax if status in ("approved", "review_pending") else Decimal("0"),
                    "check_run": 0 if status == "draft" else 1,
                    "checks_passed": None if status == "draft" else status == "approved",
                    "on_hold": status == "credit_hold",
                    "created_at": created,
                    "submitted_at": submitted,
                    "approved_at": submitted if status == "approved" else None,
                    "cancelled_at": created + dt.timedelta(days=1) if status == "cancelled" else None,
                    "updated_at": created,
                }
            )
        )
        if len(rows) >= ROWS_BATCH:
            with transaction.atomic():
                _write(table.table, table.columns, rows)
            rows = []
    with transaction.atomic():
        _write(table.table, table.columns, rows)


def _overdue_invoices(customers: list[int], seed: int) -> int:
    """An open invoice overdue by 10 to 200 days for one customer in twenty."""
    from django.db import transaction
    from django.utils import timezone

    from kehu.receivables.models import Entry

    table = Rows(Entry, with_id=False)
    rng = random.Random(seed)
    today = timezone.localdate()
    rows = []
    for cid in customers:
        if rng.random() < 0.05:
            day = today - dt.timedelta(days=rng.randint(40, 230))
            amount = Decimal(rng.randint(10_000, 900_000)) / 100
            values = {
                "customer_id": cid,
                "kind": "invoice",
                "number": f"BDF{cid}",
                "entry_date": day,
                "due_date": day + dt.timedelta(days=30),
                "amount": amount,
                "currency": "CNY",
                "open_amount": amount,
                "memo": "",
                "created_at": timezone.now(),
            }
            rows.append(table.row(values))
    with transaction.atomic():
        _write(table.table, table.columns, rows)
    return len(rows)


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            for table in ("orders_order", "customers_customer", "receivables_entry"):
                cur.execute(f"ANALYZE {table}")
        else:
            cur.execute("ANALYZE")


def _raw_where(case: dict[str, Any]) -> tuple[str, list[Any]]:
    where, params = ["TRUE"], []
    if case.get("rep") is not None:
        where.append("c.owner_id = %s")
        params.append(case["rep"])
    f = case["filters"]
    if "status" in f:
        where.append("o.status = %s")
        params.append(f["status"])
    if f.get("hold") == "1":
        where.append("o.on_hold")
    if "customer" in f:
        where.append("o.customer_id = %s")
        params.append(int(f["customer"]))
    if "owner" in f:
        where.append("o.owner_id = %s")
        params.append(int(f["owner"]))
    if f.get("overdue") == "1":
        where.append(
            "EXISTS (SELECT 1 FROM receivables_entry e WHERE e.customer_id = o.customer_id AND e.kind = 'invoice' "
            "AND e.open_amount > 0 AND e.due_date < %s)"
        )
        params.append(dt.date.today())
    return " AND ".join(where), params


def _raw_page(case: dict[str, Any]) -> tuple[float, int, list[str]]:
    """The same first page in raw SQL: the count and the twenty newest rows with customer and owner names."""
    from django.db import connection

    where, params = _raw_where(case)
    join = "FROM orders_order o JOIN customers_customer c ON c.id = o.customer_id JOIN core_user u ON u.id = o.owner_id"
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) {join} WHERE {where}", params)  # fixed SQL pieces
        count = int(cur.fetchone()[0])
        cur.execute(
            "SELECT o.id, o.number, c.name, u.username, o.channel, o.requested_date, o.total_amount, o.status, "
            f"o.on_hold, o.created_at {join} WHERE {where} ORDER BY o.created_at DESC, o.id DESC LIMIT 20",
            params,
        )
        numbers = [str(r[1]) for r in cur.fetchall()]
    return time.perf_counter() - t0, count, numbers


def _explain(sql: str) -> list[str]:
    """The plan lines of a slow query (PostgreSQL) that read whole tables or sort: where an index is missing."""
    from django.db import connection

    if connection.vendor != "postgresql" or not sql.lstrip().upper().startswith("SELECT"):
        return []
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS OFF) " + sql)
        plan = [r[0] for r in cur.fetchall()]
    keys = ("Seq Scan", "Sort Method", "Bitmap Heap Scan", "Index Scan", "Index Only Scan", "Execution Time")
    return [line.strip() for line in plan if any(k in line for k in keys)][:8]


def _page(client: Any, url: str, repeats: int) -> tuple[list[float], int, float, str, bytes]:
    """``repeats`` timed GETs after a warm one; the times, the queries, the slowest query's time and SQL."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)
    times: list[float] = []
    queries, slowest, slow_sql, content = 0, 0.0, "", b""
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - t0)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        queries = max(queries, len(ctx.captured_queries))
        for q in ctx.captured_queries:
            if float(q["time"]) > slowest:
                slowest, slow_sql = float(q["time"]), q["sql"]
        content = response.content
    return times, queries, slowest, slow_sql, content


def _list_cases(world: World, customers: list[int], owners: dict[int, int]) -> list[dict[str, Any]]:
    from kehu.orders.models import Order

    sample_cid = customers[len(customers) // 2]
    rep = next(r for r in world.reps if r.pk == owners[sample_cid])
    overdue_q = {"overdue": "1"}
    gm, me = world.gm, rep
    cases = [
        {"name": "gm_first_page", "user": gm, "rep": None, "filters": {}},
        {"name": "gm_status_approved", "user": gm, "rep": None, "filters": {"status": "approved"}},
        {"name": "gm_on_hold", "user": gm, "rep": None, "filters": {"hold": "1"}},
        {"name": "gm_customer", "user": gm, "rep": None, "filters": {"customer": str(sample_cid)}},
        {"name": "gm_owner", "user": gm, "rep": None, "filters": {"owner": str(rep.pk)}},
        {"name": "gm_overdue", "user": gm, "rep": None, "filters": overdue_q},
        {"name": "rep_first_page", "user": me, "rep": me.pk, "filters": {}},
        {"name": "rep_status_approved", "user": me, "rep": me.pk, "filters": {"status": "approved"}},
        {"name": "rep_on_hold", "user": me, "rep": me.pk, "filters": {"hold": "1"}},
        {"name": "rep_customer", "user": me, "rep": me.pk, "filters": {"customer": str(sample_cid)}},
        {"name": "rep_overdue", "user": me, "rep": me.pk, "filters": overdue_q},
    ]
    assert Order.objects.exists()
    for c in cases:
        c["url"] = "/orders/" + ("?" + urllib.parse.urlencode(c["filters"]) if c["filters"] else "")
    return cases


def _bench_list(world: World, size: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    from django.db import connection
    from django.test import Client as TestClient

    n_orders = size["orders"]
    t0 = time.perf_counter()
    customers = _customers("BDL", size["list_customers"], world.reps)
    rep_of = {r.pk: r for r in world.reps}
    owners = {cid: world.reps[k % len(world.reps)].pk for k, cid in enumerate(customers)}
    assert all(o in rep_of for o in owners.values())
    overdue = _overdue_invoices(customers, seed)
    with connection.cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM orders_order")
        first = int(cur.fetchone()[0]) + 1
    tenth = max(1, n_orders // 10)
    _bulk_orders(first, tenth, customers, owners, world, seed)
    _analyze()
    cases = _list_cases(world, customers, owners)
    client = TestClient()
    current = None
    small_queries: dict[str, int] = {}
    for case in cases:
        if case["user"] is not current:
            client.force_login(case["user"])
            current = case["user"]
        small_queries[case["name"]] = _page(client, case["url"], 1)[1]
    _bulk_orders(first + tenth, n_orders - tenth, customers, owners, world, seed)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('orders_order', 'id'), (SELECT MAX(id) FROM orders_order))"
            )
    _analyze()
    load_s = time.perf_counter() - t0
    rows = [
        _row(
            "orders.list_bulk_load",
            n_orders,
            load_s,
            "orders/s",
            customers=len(customers),
            owners=len(world.reps),
            overdue_customers=overdue,
        )
    ]
    current = None
    for case in cases:
        if case["user"] is not current:
            client.force_login(case["user"])
            current = case["user"]
        times, queries, slowest, slow_sql, content = _page(client, case["url"], size["pages"])
        raw_times: list[float] = []
        count, numbers = 0, list[str]()
        for _ in range(size["pages"]):
            t, count, numbers = _raw_page(case)
            raw_times.append(t)
        # the page must show the rows the raw query finds (the filter was applied)
        same_rows = all(n.encode() in content for n in numbers)
        if not same_rows:
            print(f"  WARNING {case['name']}: the page does not show the raw query's first page", flush=True)
        p50, r50 = statistics.median(times), statistics.median(raw_times)
        plan = _explain(slow_sql) if p50 * 1000 > SLOW_PAGE_MS else []
        if plan:
            print(
                f"  slow page {case['name']} ({p50 * 1000:.0f} ms), slowest query {slowest * 1000:.0f} ms:",
                flush=True,
            )
            for line in plan:
                print(f"    {line}", flush=True)
        rows.append(
            _row(
                f"orders.list_{case['name']}",
                len(times),
                sum(times),
                "pages/s",
                baseline="raw SQL count + first page",
                ratio=round(p50 / r50, 2) if r50 else None,
                orders=n_orders,
                matching=count,
                p50_ms=round(p50 * 1000, 1),
                p95_ms=round(_pct(times, 95) * 1000, 1),
                raw_p50_ms=round(r50 * 1000, 1),
                slowest_query_ms=round(slowest * 1000, 1),
                queries=queries,
                queries_at_tenth=small_queries[case["name"]],
                queries_equal=queries == small_queries[case["name"]],
                same_rows_as_raw=same_rows,
                **({"plan": " | ".join(plan)} if plan else {}),
            )
        )
    return rows


# ---------------------------------------------------------------------------------------------------------------


def run(scale: str | int = "small", seed: int = 2026) -> list[dict[str, Any]]:
    from django.db import connection

    size = dict(SIZES[scale]) if isinstance(scale, str) else {**SIZES["small"], "orders": int(scale)}
    world = World()
    _users(world, size["reps"])
    _catalogue(world)
    rows: list[dict[str, Any]] = []
    # the server and the raw SQL threads use connections of their own: they see only committed data (not a data
    # set written inside a transaction, as the test of the benchmarks does)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        t0 = time.perf_counter()
        n_orders = size["clients"] * size["per_client"]
        hot, raw_hot = _customers("BDH", 1, [world.rep]), _customers("BDR", 1, [world.rep])
        many = _customers("BDM", size["many_customers"], [world.rep])
        raw_many = _customers("BDN", size["many_customers"], [world.rep])
        world.hot, world.raw_hot, world.many, world.raw_many = hot[0], raw_hot[0], many, raw_many
        # every limit takes about half of the orders its customer gets: the hot customer's half of the run's,
        # each of the many customers' half of its share of all orders sent to them (warm-up, probes and the run)
        m = size["many_customers"]
        rounds = len(size["workers"]) + 1 if len(size["workers"]) > 1 else 1
        probes = (
            size["clients"] * PROBE_PER_CLIENT * (len(size["workers"]) if len(size["workers"]) > 1 else 0)
        )
        to_many = size["clients"] * rounds + probes + n_orders
        limits = {world.hot: n_orders // 2, world.raw_hot: n_orders // 2}
        limits |= dict.fromkeys(many, max(1, to_many // (2 * m)))
        limits |= dict.fromkeys(raw_many, max(1, n_orders // (2 * m)))
        _orderable(world, [world.hot, world.raw_hot, *many, *raw_many], limits)
        print(f"  orderable customers ready ({time.perf_counter() - t0:.1f} s)", flush=True)
        http_rows, http = _bench_http(world, size, seed)
        raw_rows = _bench_raw(world, size, seed, http)
        for r in http_rows:  # ratio: how many times the raw SQL ceiling's throughput the HTTP path is below
            name = r["name"].removeprefix("orders.http_submit_")
            raw = next((x for x in raw_rows if x["name"] == f"orders.raw_sql_submit_{name}"), None)
            if raw is not None and r["rate"]:
                r["baseline"] = "raw SQL lock-read-insert-update, 16 threads (raw orders/s / HTTP orders/s)"
                r["ratio"] = round(raw["rate"] / r["rate"], 1)
        rows += http_rows + raw_rows
    elif connection.vendor == "postgresql":
        print("  note: inside a transaction: the HTTP submit and raw SQL lock benchmarks skipped", flush=True)
    else:
        print(
            "  note: the HTTP submit and raw SQL lock benchmarks need PostgreSQL (--database-url); skipped on SQLite",
            flush=True,
        )
    rows += _bench_list(world, size, seed)
    return rows


if __name__ == "__main__":  # pragma: no cover
    import django

    django.setup()
    print(json.dumps(run("tiny"), indent=2, ensure_ascii=False, default=str))
