"""Customer dossier benchmarks at volume (R-CUS-08): the customer list (filtered, searched, as a manager and as a
rep), the dossier page (overview and an archive tab), and the list API, each with its query count.

``run(scale)`` bulk-writes the customers (with contacts and assigned staff) and returns figure rows; Django must be
set up on a migrated database. Every page figure's ratio is its median time over the median of ``GET /healthz``
in the same run, so that machines compare by ratio.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from typing import Any

SIZES: dict[str, dict[str, int]] = {
    "tiny": {"customers": 2_000, "reps": 20, "pages": 5},
    "small": {"customers": 100_000, "reps": 200, "pages": 15},
    "medium": {"customers": 100_000, "reps": 400, "pages": 30},
    "large": {"customers": 300_000, "reps": 1_000, "pages": 30},
}
BATCH = 5_000


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))] if ordered else 0.0


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


def _org(reps: int) -> tuple[list[Any], list[Any], list[Any], Any]:
    """Ten sales departments with a manager each, ``reps`` reps spread over them, a general manager."""
    from django.contrib.auth.hashers import make_password

    from kehu.core.models import Department, Region, Role, User
    from kehu.core.org import department_path

    hashed = make_password("kehu-bench-2026")
    roles = {
        code: Role.objects.get_or_create(code=code)[0]
        for code in ("sales_rep", "sales_manager", "general_manager")
    }
    root = Department.objects.create(code="BS", name="基准营销中心", kind="sales")
    department_path(root)
    depts, regions = [], []
    for i in range(10):
        d = Department.objects.create(code=f"BS{i}", name=f"基准销售{i}部", kind="sales", parent=root)
        department_path(d)
        depts.append(d)
        regions.append(Region.objects.create(code=f"BR{i}", name=f"基准区域{i}"))

    def user(username: str, role: str, dept: Any = None, region: Any = None) -> Any:
        u = User.objects.create(
            username=username, display_name=username, password=hashed, department=dept, region=region
        )
        u.roles.add(roles[role])
        return u

    managers = [user(f"bench_mgr{i}", "sales_manager", depts[i], regions[i]) for i in range(10)]
    rep_users = [user(f"bench_rep{i:04d}", "sales_rep", depts[i % 10], regions[i % 10]) for i in range(reps)]
    gm = user("bench_gm", "general_manager")
    return rep_users, managers, depts, gm


def _bulk_customers(n: int, reps: list[Any], seed: int) -> int:
    """``n`` customers owned by ``reps`` (round robin), every tenth important with a second staff member, one
    contact each; name keys and pinyin initials computed as the services do. Returns the id of a sample."""
    from bench.data import DataGenerator
    from kehu.customers import names, search
    from kehu.customers.models import Contact, Customer, CustomerClass, CustomerStatus, Industry

    gen = DataGenerator(seed)
    today = dt.date.today()
    industries = list(Industry.values)
    statuses = [CustomerStatus.ACTIVE] * 7 + [
        CustomerStatus.PROSPECT,
        CustomerStatus.SUSPENDED,
        CustomerStatus.ENDED,
    ]
    seen: set[str] = set()
    Through = Customer.staff.through
    made = 0
    while made < n:
        rows: list[Any] = []
        contacts: list[tuple[str, str, str]] = []
        staff: list[Any] = []
        for _ in range(min(BATCH, n - made)):
            company = gen.company()
            if company["credit_code"] in seen:
                continue
            seen.add(company["credit_code"])
            i = made + len(rows)
            owner = reps[i % len(reps)]
            cls = (
                CustomerClass.IMPORTANT
                if i % 10 == 0
                else (CustomerClass.CORE if i % 50 == 1 else CustomerClass.GENERAL)
            )
            rows.append(
                Customer(
                    number=f"KHB{i:08d}",
                    name=company["name"],
                    name_key=names.name_key(company["name"])[:200],
                    name_initials=names.initials(company["name"]),
                    credit_code=company["credit_code"],
                    customer_class=cls,
                    status=statuses[i % len(statuses)],
                    owner=owner,
                    department_id=owner.department_id,
                    region_id=owner.region_id,
                    industry=industries[i % len(industries)],
                    legal_representative=company["legal_representative"],
                    registered_capital=company["registered_capital"],
                    founded_on=company["founded"],
                    province=company["province"],
                    city=company["city"],
                    registered_address=company["address"],
                    postcode=company["postcode"],
                    phone=company["phone"],
                    documents_expiry=today + dt.timedelta(days=(i * 37) % 900 - 100),
                    documents_missing=i % 23 == 0,
                )
            )
            contacts.append((company["contact_name"], company["contact_mobile"], company["contact_email"]))
        for r, c in zip(rows, contacts, strict=True):
            r.search_text = search.search_document(r, former=[], contacts=[(c[0], c[1], "", c[2])])
        Customer.objects.bulk_create(rows, batch_size=1000)
        numbers = [r.number for r in rows]
        ids = dict(Customer.objects.filter(number__in=numbers).values_list("number", "id"))
        Contact.objects.bulk_create(
            [
                Contact(customer_id=ids[r.number], name=c[0], mobile=c[1], email=c[2], role="purchaser")
                for r, c in zip(rows, contacts, strict=True)
            ],
            batch_size=1000,
        )
        for k, r in enumerate(rows):
            staff.append(Through(customer_id=ids[r.number], user_id=r.owner_id))
            if r.customer_class != CustomerClass.GENERAL:
                other = reps[(made + k + 1) % len(reps)]
                staff.append(Through(customer_id=ids[r.number], user_id=other.pk))
        Through.objects.bulk_create(staff, batch_size=2000)
        made += len(rows)
    return int(
        Customer.objects.filter(status=CustomerStatus.ACTIVE)
        .order_by("id")
        .values_list("id", flat=True)[n // 2]
    )


def _measure(client: Any, url: str, pages: int, base_median: float) -> tuple[dict[str, Any], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm
    times: list[float] = []
    queries = 0
    size = 0
    for _ in range(pages):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - t0)
        assert response.status_code == 200, (url, response.status_code)
        queries = max(queries, len(ctx.captured_queries))
        size = len(response.content)
    p50 = statistics.median(times)
    return {
        "times": times,
        "p50_ms": round(p50 * 1000, 1),
        "p95_ms": round(_pct(times, 95) * 1000, 1),
        "ratio": round(p50 / base_median, 2) if base_median else None,
        "bytes": size,
    }, queries


def run(scale: str | int = "small", seed: int = 2026) -> list[dict[str, Any]]:
    from django.test import Client

    size = SIZES[scale] if isinstance(scale, str) else {"customers": int(scale), "reps": 200, "pages": 15}
    reps, managers, _depts, gm = _org(size["reps"])
    t0 = time.perf_counter()
    sample_id = _bulk_customers(size["customers"], reps, seed)
    load_s = time.perf_counter() - t0
    rows = [_row("customers.bulk_load", size["customers"], load_s, "rows/s")]

    from kehu.customers.models import Customer

    sample = Customer.objects.select_related("owner").get(pk=sample_id)
    word = sample.name[2:4]
    initials = sample.name_initials[:4]

    client = Client()
    client.get("/healthz")
    base = []
    for _ in range(size["pages"]):
        t0 = time.perf_counter()
        client.get("/healthz")
        base.append(time.perf_counter() - t0)
    b50 = statistics.median(base)

    cases = [
        (gm, "list.gm", "/customers/"),
        (
            gm,
            "list.gm_filtered",
            "/customers/?status=active&customer_class=important&region=" + str(sample.region_id),
        ),
        (gm, "list.gm_search_name", f"/customers/?q={word}"),
        (gm, "list.gm_search_initials", f"/customers/?q={initials}"),
        (gm, "list.gm_documents_expired", "/customers/?documents=expired"),
        (gm, "list.gm_sorted_by_name_page_20", "/customers/?sort=name&page=20"),
        (managers[0], "list.manager_department", "/customers/"),
        (sample.owner, "list.rep_own", "/customers/"),
        (sample.owner, "list.rep_search", f"/customers/?q={word}"),
        (sample.owner, "dossier.overview", f"/customers/{sample_id}/"),
        (sample.owner, "dossier.tab_1", f"/customers/{sample_id}/?tab=1"),
        (sample.owner, "dossier.tab_6", f"/customers/{sample_id}/?tab=6"),
        (gm, "api.list_filtered", "/api/v1/customers?status=active&customer_class=important"),
    ]
    current = None
    for user, name, url in cases:
        if user is not current:
            client.force_login(user)
            current = user
        fig, queries = _measure(client, url, size["pages"], b50)
        rows.append(
            _row(
                f"customers.{name}",
                len(fig["times"]),
                sum(fig["times"]),
                "pages/s",
                baseline="GET /healthz",
                ratio=fig["ratio"],
                customers=size["customers"],
                p50_ms=fig["p50_ms"],
                p95_ms=fig["p95_ms"],
                queries=queries,
            )
        )
    return rows


if __name__ == "__main__":  # pragma: no cover
    import json

    import django

    django.setup()
    print(json.dumps(run("tiny"), indent=2, ensure_ascii=False))
