"""Customer import rate (R-PLT-10): a generated workbook of customers with contacts, imported all-or-nothing
through the services, against the raw read rate of the same file.

``run(scale)`` writes the workbook, reads it raw (openpyxl when installed, and python-calamine, the reader the
import uses), runs the validation prefilter alone, then the whole import, and returns figure rows; Django must be
set up on a migrated database. The import figure's ratio is its rate over the raw read rate (openpyxl when
available, otherwise calamine).
"""

from __future__ import annotations

import io
import time
from typing import Any

SIZES: dict[str, dict[str, int]] = {
    "tiny": {"customers": 500},
    "small": {"customers": 10_000},
    "medium": {"customers": 10_000},
    "large": {"customers": 20_000},
}


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


def _org() -> tuple[Any, list[Any]]:
    """A sales department with a manager (the importer) and five reps (the owners)."""
    from django.contrib.auth.hashers import make_password

    from kehu.core.models import Department, Region, Role, User
    from kehu.core.org import department_path

    hashed = make_password("kehu-bench-2026")
    roles = {code: Role.objects.get_or_create(code=code)[0] for code in ("sales_rep", "sales_manager")}
    dept = Department.objects.create(code="BIMP", name="基准导入销售部", kind="sales")
    department_path(dept)
    region = Region.objects.create(code="BIMP", name="基准导入区域")

    def user(username: str, role: str) -> Any:
        u = User.objects.create(
            username=username, display_name=username, password=hashed, department=dept, region=region
        )
        u.roles.add(roles[role])
        return u

    return user("bench_imp_mgr", "sales_manager"), [user(f"bench_imp_rep{i}", "sales_rep") for i in range(5)]


IMPORT_SEED_OFFSET = 7919


def workbook(n: int, owners: list[str], seed: int = 2026) -> bytes:
    """``n`` customers (every fifth important with two staff) and one contact for every second customer."""
    import xlsxwriter

    from bench.data import DataGenerator
    from kehu.customers.imports import CONTACT_SPEC, CUSTOMER_SPEC

    gen = DataGenerator(seed)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "constant_memory": True})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    cs = wb.add_worksheet("客户")
    ps = wb.add_worksheet("联系人")
    c_headers, p_headers = CUSTOMER_SPEC.headers, CONTACT_SPEC.headers
    for c, h in enumerate(c_headers):
        cs.write(0, c, h)
    for c, h in enumerate(p_headers):
        ps.write(0, c, h)
    pr = 1
    contacts: list[dict[str, Any]] = []
    for i in range(n):
        co = gen.company()
        owner = owners[i % len(owners)]
        important = i % 5 == 0
        values: dict[str, Any] = {
            "行键": f"R{i}",
            "客户名称": co["name"],
            "统一社会信用代码": co["credit_code"],
            "客户类别": "重要" if important else "一般",
            "客户类型": "经销商" if i % 3 else "终端客户",
            "行业": "机械制造",
            "负责人": owner,
            "跟进人员": f"{owner},{owners[(i + 1) % len(owners)]}" if important else "",
            "法定代表人": co["legal_representative"],
            "注册资本": float(co["registered_capital"]),
            "省份": co["province"].removesuffix("省").removesuffix("市")[:20],
            "城市": co["city"][:30],
            "注册地址": co["address"][:200],
            "邮政编码": co["postcode"],
            "电话": co["phone"],
        }
        for c, h in enumerate(c_headers):
            v = values.get(h, "")
            if v != "":
                cs.write(i + 1, c, v)
        cs.write_datetime(i + 1, c_headers.index("成立日期"), _dt(co["founded"]), date_fmt)
        if i % 2 == 0:
            contacts.append(
                {
                    "所属客户": f"R{i}",
                    "姓名": co["contact_name"],
                    "角色": "采购",
                    "手机": co["contact_mobile"],
                }
            )
    for values in contacts:
        for c, h in enumerate(p_headers):
            if values.get(h):
                ps.write(pr, c, values[h])
        pr += 1
    wb.close()
    return buf.getvalue()


def _dt(d: Any) -> Any:
    import datetime as dt

    return dt.datetime.combine(d, dt.time())


def _read_openpyxl(data: bytes) -> int | None:
    try:
        import openpyxl  # not a dependency of the project; measured when installed
    except ImportError:
        return None
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    rows = 0
    for ws in wb.worksheets:
        for _values in ws.iter_rows(values_only=True):
            rows += 1
    wb.close()
    return rows


def _read_calamine(data: bytes) -> int:
    import python_calamine

    wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    return sum(len(wb.get_sheet_by_index(i).to_python()) for i in range(len(wb.sheet_names)))


def run(scale: str, seed: int = 2026) -> list[dict[str, Any]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kehu.customers import imports
    from kehu.customers.models import Contact, Customer

    n = SIZES[scale]["customers"]
    manager, reps = _org()
    # a stream of companies of its own: the customer benchmark may have filed the seed's companies already
    data = workbook(n, [r.username for r in reps], seed + IMPORT_SEED_OFFSET)
    rows = n + (n + 1) // 2
    out: list[dict[str, Any]] = []

    t = time.perf_counter()
    read = _read_openpyxl(data)
    openpyxl_s = time.perf_counter() - t if read is not None else None
    t = time.perf_counter()
    _read_calamine(data)
    calamine_s = time.perf_counter() - t
    baseline_s, baseline = (openpyxl_s, "openpyxl read") if openpyxl_s else (calamine_s, "calamine read")
    if openpyxl_s:
        out.append(_row("import.read_openpyxl", rows, openpyxl_s, "rows/s"))
    out.append(_row("import.read_calamine", rows, calamine_s, "rows/s"))

    customers, contacts = imports.read_workbook(data)
    t = time.perf_counter()
    with CaptureQueriesContext(connection) as ctx:
        imports.prefilter(actor=manager, customers=customers, contacts=contacts, confirm_duplicates=True)
    prefilter_s = time.perf_counter() - t
    out.append(
        _row(
            "import.prefilter",
            rows,
            prefilter_s,
            "rows/s",
            baseline,
            round((rows / prefilter_s) / (rows / baseline_s), 3),
            queries=len(ctx.captured_queries),
            near_candidates=len(customers.candidates),
        )
    )

    before = Customer.objects.count(), Contact.objects.count()
    t = time.perf_counter()
    report = imports.customer_import(actor=manager, data=data, filename="bench.xlsx", confirm_duplicates=True)
    import_s = time.perf_counter() - t
    if not report.ok:
        raise RuntimeError(f"bench import failed: {report.file_error or report.error_list()[:3]}")
    created = Customer.objects.count() - before[0], Contact.objects.count() - before[1]
    out.append(
        _row(
            "import.customers_xlsx",
            rows,
            import_s,
            "rows/s",
            baseline,
            round((rows / import_s) / (rows / baseline_s), 4),
            customers=created[0],
            contacts=created[1],
            file_bytes=len(data),
        )
    )
    return out
