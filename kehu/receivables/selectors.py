"""Reads of the receivables module: the ledger of a customer, ageing (R-CRD-06), the exposure list (R-CRD-05) and
collections (R-CRD-07). Every selector takes the acting user and returns only what that user may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, Count, Exists, Min, OuterRef, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access
from kehu.customers.models import Customer
from kehu.receivables import policies
from kehu.receivables.exposure import MONEY, view_of, with_deposits
from kehu.receivables.models import (
    CREDIT_KINDS,
    ZERO,
    CollectionAlert,
    CollectionRecord,
    CollectionReport,
    CustomerExposure,
    Deposit,
    Entry,
    EntryKind,
    WriteOff,
)


def _cents(value: Any) -> Decimal:
    """SQLite sums decimals as floats; amounts have two decimals, so rounding to cents gives the exact sum."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def customer_get(actor: Any, action: str, customer_id: Any) -> Customer:
    return access.get_scoped(
        actor, action, Customer.objects.select_related("owner", "department", "region"), pk=customer_id
    )


# ---------------------------------------------------------------------------------------------------------------
# Ageing buckets


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    low: int | None  # days overdue, inclusive; None: not yet due (current)
    high: int | None  # inclusive; None: open-ended


def buckets(edges: list[int] | None = None) -> tuple[list[Bucket], int | None]:
    """Buckets from the policy's edges: current, 1–e1, e1+1–e2, ..., > last (R-CRD-06)."""
    version = None
    if edges is None:
        policy, version = policies.ageing()
        edges = policy.bucket_edges
    out = [Bucket("current", _("未到期"), None, 0)]
    low = 1
    for edge in edges:
        out.append(Bucket(f"d{low}_{edge}", f"{low}–{edge}" + _("天"), low, edge))
        low = edge + 1
    out.append(Bucket(f"d{low}_", _("%(n)s天以上") % {"n": low - 1}, low, None))
    return out, version


def bucket_of(days_overdue: int, bks: list[Bucket]) -> Bucket:
    for b in bks:
        if (b.high is None or days_overdue <= b.high) and (b.low is None or days_overdue >= b.low):
            return b
    return bks[-1]


def _bucket_sums(at: dt.date, bks: list[Bucket]) -> dict[str, Any]:
    """Sum(open_amount) per bucket over open invoices: days overdue = at − due date."""
    sums: dict[str, Any] = {}
    for b in bks:
        cond = Q()
        if b.high is not None:  # overdue ≤ high  ⇔  due ≥ at − high
            cond &= Q(due_date__gte=at - dt.timedelta(days=b.high))
        if b.low is not None:  # overdue ≥ low  ⇔  due ≤ at − low
            cond &= Q(due_date__lte=at - dt.timedelta(days=b.low))
        sums[b.key] = Coalesce(
            Sum(Case(When(cond & Q(kind=EntryKind.INVOICE), then="open_amount"), output_field=MONEY)),
            Value(ZERO),
            output_field=MONEY,
        )
    sums["credits"] = Coalesce(
        Sum(Case(When(kind__in=CREDIT_KINDS, then="open_amount"), output_field=MONEY)),
        Value(ZERO),
        output_field=MONEY,
    )
    return sums


@dataclass
class AgeingRow:
    customer_id: int
    number: str
    name: str
    owner: str
    amounts: list[Decimal]
    credits: Decimal
    balance: Decimal


@dataclass
class AgeingReport:
    at: dt.date
    buckets: list[Bucket]
    rows: list[AgeingRow]
    totals: list[Decimal]
    total_credits: Decimal
    total_balance: Decimal
    count: int
    policy_version: int | None = None
    filters: dict[str, Any] = field(default_factory=dict)


def ageing_customers(actor: Any, filters: dict[str, Any] | None = None) -> QuerySet[Customer]:
    """Customers in the user's scope for the ageing report, filtered by owner, department (subtree) or region."""
    qs = access.restrict(actor, "receivables.ageing", Customer.objects.all())
    f = filters or {}
    if f.get("owner"):
        qs = qs.filter(owner_id=f["owner"])
    if f.get("department"):
        from kehu.core.models import Department

        dept = Department.objects.filter(pk=f["department"]).first()
        qs = qs.filter(department__path__startswith=dept.path) if dept is not None else qs.none()
    if f.get("region"):
        qs = qs.filter(region_id=f["region"])
    if f.get("customer"):
        qs = qs.filter(pk=f["customer"])
    return qs


def ageing_report(
    actor: Any,
    *,
    at: dt.date | None = None,
    filters: dict[str, Any] | None = None,
    offset: int = 0,
    limit: int | None = 50,
) -> AgeingReport:
    """Open balance per customer split into ageing buckets as of ``at`` (by due date), and the totals. Unapplied
    credits (prepayments, over-receipts) are their own column, so each row's buckets − credits = its balance. Three
    queries whatever the size: totals, count, one page of rows."""
    access.require(actor, "receivables.ageing")
    at = at or timezone.localdate()
    bks, version = buckets()
    customers = ageing_customers(actor, filters)
    open_entries = Entry.objects.filter(open_amount__gt=0)
    if (filters and any(filters.values())) or access.scope_for(
        actor, "receivables.ageing"
    ) != access.Scope.ALL:
        open_entries = open_entries.filter(customer_id__in=customers.values("pk"))
    sums = _bucket_sums(at, bks)
    # One scan for the totals and the number of customers; the page groups by customer id in index order, so
    # the database stops after the page's customers.
    tot = open_entries.aggregate(**sums, customers=Count("customer_id", distinct=True))
    count = int(tot.pop("customers") or 0)
    per = (
        open_entries.values("customer_id")
        .annotate(**sums)
        .order_by("customer_id")
        .values_list("customer_id", *sums.keys())
    )
    page = list(per[offset : offset + limit] if limit is not None else per)
    names = {
        pk: (number, name, owner or "")
        for pk, number, name, owner in Customer.objects.filter(pk__in=[r[0] for r in page]).values_list(
            "pk", "number", "name", "owner__display_name"
        )
    }
    rows = []
    for r in page:
        amounts = [_cents(v) for v in r[1 : 1 + len(bks)]]
        credits = _cents(r[1 + len(bks)])
        number, name, owner = names.get(r[0], ("", "", ""))
        rows.append(AgeingRow(r[0], number, name, owner, amounts, credits, sum(amounts, ZERO) - credits))
    totals = [_cents(tot[b.key]) for b in bks]
    tot["credits"] = _cents(tot["credits"])
    return AgeingReport(
        at=at,
        buckets=bks,
        rows=rows,
        totals=totals,
        total_credits=tot["credits"],
        total_balance=sum(totals, ZERO) - tot["credits"],
        count=count,
        policy_version=version,
        filters=dict(filters or {}),
    )


def ageing_raw_sql(at: dt.date, edges: list[int]) -> dict[str, Decimal]:
    """The company's ageing by plain SQL over entries and allocations (not the maintained open amounts): the
    reference the benchmark and the tests compare :func:`ageing_report` with."""
    bks, _v = buckets(edges)
    cols = []
    params: list[Any] = []
    for b in bks:
        conds = ["e.kind = 'invoice'"]
        if b.high is not None:
            conds.append("e.due_date >= %s")
            params.append(at - dt.timedelta(days=b.high))
        if b.low is not None:
            conds.append("e.due_date <= %s")
            params.append(at - dt.timedelta(days=b.low))
        cols.append(f"COALESCE(SUM(CASE WHEN {' AND '.join(conds)} THEN x.amt ELSE 0 END), 0)")
    cols.append("COALESCE(SUM(CASE WHEN e.kind <> 'invoice' THEN x.amt ELSE 0 END), 0)")
    # Only generated placeholders and fixed column expressions go into the text; the values are parameters.
    sql = f"""
        SELECT {", ".join(cols)} FROM (
            SELECT e.id, CASE WHEN r.id IS NOT NULL THEN 0
                              WHEN e.kind = 'invoice' THEN e.amount - COALESCE(ai.s, 0)
                              ELSE e.amount - COALESCE(ao.s, 0) END AS amt
            FROM receivables_entry e
            LEFT JOIN receivables_entry r ON r.reverses_id = e.id
            LEFT JOIN (SELECT debit_id, SUM(amount) AS s FROM receivables_allocation GROUP BY debit_id) ai
                   ON ai.debit_id = e.id
            LEFT JOIN (SELECT credit_id, SUM(amount) AS s FROM receivables_allocation GROUP BY credit_id) ao
                   ON ao.credit_id = e.id
            WHERE e.kind <> 'reversal'
        ) x JOIN receivables_entry e ON e.id = x.id
        WHERE x.amt <> 0
    """  # noqa: S608
    with connection.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    keys = [b.key for b in bks] + ["credits"]
    return {k: Decimal(str(v)).quantize(Decimal("0.01")) for k, v in zip(keys, row, strict=True)}


# ---------------------------------------------------------------------------------------------------------------
# Ledger of one customer


@dataclass
class Ledger:
    customer: Customer
    entries: Sequence[Entry]
    open_items: list[Entry]
    credits: list[Entry]
    balance: Decimal
    exposure: Any
    deposits: list[Deposit]
    today: dt.date


def ledger(actor: Any, customer_id: Any, *, limit: int = 500) -> Ledger:
    """Entries (newest first, with their settlement lines), open items, unapplied credits and the balance."""
    customer = customer_get(actor, "receivables.view", customer_id)
    entries = list(
        Entry.objects.filter(customer=customer)
        .select_related("reverses")
        .prefetch_related("lines")
        .annotate(is_reversed=Exists(Entry.objects.filter(reverses_id=OuterRef("pk"))))
        .order_by("-entry_date", "-id")[:limit]
    )
    open_rows = list(
        Entry.objects.filter(customer=customer, open_amount__gt=0).order_by("due_date", "entry_date", "id")
    )
    open_items = [e for e in open_rows if e.kind == EntryKind.INVOICE]
    credits = [e for e in open_rows if e.kind != EntryKind.INVOICE]
    balance = sum((e.open_amount for e in open_items), ZERO) - sum((e.open_amount for e in credits), ZERO)
    row = with_deposits(CustomerExposure.objects.filter(pk=customer.pk)).first()
    deposits = list(Deposit.objects.filter(customer=customer).order_by("-valid_to", "-id"))
    today = timezone.localdate()
    for d in deposits:
        d.usable_now = d.valid_from <= today <= d.valid_to and (  # type: ignore[attr-defined]
            d.released_on is None or d.released_on > today
        )
    return Ledger(customer, entries, open_items, credits, balance, view_of(row), deposits, today)


def entry_list(actor: Any, *, customer_id: Any | None = None, kind: str = "") -> QuerySet[Entry]:
    qs = access.restrict(actor, "receivables.view", Entry.objects.all()).select_related("customer")
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.prefetch_related("lines").order_by("-entry_date", "-id")


# ---------------------------------------------------------------------------------------------------------------
# Exposure list


def exposure_list(actor: Any, *, problem: str = "", at: dt.date | None = None) -> Any:
    """Exposure rows in scope, with usable deposits and the oldest overdue due date, biggest first. ``problem``:
    ``overdue`` keeps customers with an invoice overdue past the tolerance of the policy."""
    at = at or timezone.localdate()
    qs: Any = access.restrict(actor, "receivables.exposure", CustomerExposure.objects.all())
    qs = with_deposits(qs.select_related("customer", "customer__owner"), at)
    oldest = (
        Entry.objects.filter(customer_id=OuterRef("pk"), kind=EntryKind.INVOICE, open_amount__gt=0)
        .order_by()
        .values("customer_id")
        .annotate(m=Min("due_date"))
        .values("m")[:1]
    )
    from django.db.models import Subquery

    qs = with_limit(qs.annotate(oldest_due=Subquery(oldest)))
    if problem == "overdue":
        policy, _v = policies.collection()
        qs = qs.filter(oldest_due__lt=at - dt.timedelta(days=policy.overdue_tolerance_days))
    return qs.order_by("-open_receivables", "-approved_orders", "pk")


def over_limit(actor: Any) -> list[dict[str, Any]]:
    """Customers in the user's scope whose exposure exceeds their approved limit (R-CRD-05), largest excess
    first, in one query (the limit comes from the limits module's subquery; none when it is not installed)."""
    from django.apps import apps
    from django.db.models import DecimalField, ExpressionWrapper, F

    if not apps.is_installed("kehu.limits"):
        return []
    from django.db.models.functions import Greatest

    total = ExpressionWrapper(
        Greatest(
            F("open_receivables") + F("unbilled_deliveries") + F("approved_orders") - F("deposits"), ZERO
        ),
        output_field=DecimalField(max_digits=18, decimal_places=2),
    )
    qs: Any = (
        exposure_list(actor)
        .filter(limit_amount__isnull=False)
        .annotate(exposure_total=total)
        .filter(exposure_total__gt=F("limit_amount"))
        .order_by(F("limit_amount") - F("exposure_total"), "pk")
    )
    return [{"row": row, "view": view_of(row), "limit": row.limit_amount, "over": True} for row in qs[:500]]


def with_limit(qs: QuerySet[Any]) -> QuerySet[Any]:
    """Exposure rows with ``limit_amount``, the limit in force (None without one, or without the limits module)."""
    try:
        from kehu.limits.interface import limit_amount_subquery  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return qs.annotate(limit_amount=Value(None, output_field=MONEY))
    return qs.annotate(limit_amount=limit_amount_subquery("pk"))


def limit_of(customer: Customer) -> Decimal | None:
    """The approved credit limit, when the limits module is installed and the customer has one."""
    try:
        from kehu.limits.interface import credit_limit  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    got = credit_limit(customer)
    return None if got is None else got.amount


# ---------------------------------------------------------------------------------------------------------------
# Collections


def collection_list(actor: Any, customer_id: Any) -> tuple[Customer, QuerySet[CollectionRecord]]:
    customer = customer_get(actor, "receivables.collect", customer_id)
    return customer, CollectionRecord.objects.filter(customer=customer).select_related("created_by")


def collections_all(actor: Any) -> QuerySet[CollectionRecord]:
    return (
        access.restrict(actor, "receivables.collect", CollectionRecord.objects.all())
        .select_related("customer", "created_by")
        .order_by("-happened_on", "-id")
    )


def alerts(actor: Any) -> QuerySet[CollectionAlert]:
    return access.restrict(actor, "receivables.collect", CollectionAlert.objects.all()).select_related(
        "customer"
    )


def reports(actor: Any, customer_id: Any | None = None) -> QuerySet[CollectionReport]:
    qs = access.restrict(actor, "receivables.report.view", CollectionReport.objects.all()).select_related(
        "customer", "created_by"
    )
    return qs.filter(customer_id=customer_id) if customer_id else qs


def write_offs(actor: Any, customer_id: Any | None = None) -> QuerySet[WriteOff]:
    qs = access.restrict(actor, "receivables.writeoff.view", WriteOff.objects.all()).select_related(
        "customer", "prepared_by", "case"
    )
    return qs.filter(customer_id=customer_id) if customer_id else qs


def statement(actor: Any, customer_id: Any, start: dt.date, end: dt.date) -> dict[str, Any]:
    """对账单: opening balance at ``start``, the entries in [start, end] with a running balance, the closing balance
    and the open items at ``end``."""
    customer = customer_get(actor, "receivables.view", customer_id)
    signed = Case(
        When(kind=EntryKind.INVOICE, then="amount"),
        When(
            kind=EntryKind.REVERSAL,
            reverses__kind=EntryKind.INVOICE,
            then=-1 * Coalesce("amount", Value(ZERO)),
        ),
        When(kind=EntryKind.REVERSAL, then="amount"),
        default=-1 * Coalesce("amount", Value(ZERO)),
        output_field=MONEY,
    )
    base = Entry.objects.filter(customer=customer)
    opening = base.filter(entry_date__lt=start).aggregate(
        s=Coalesce(Sum(signed), Value(ZERO), output_field=MONEY)
    )["s"]
    rows = []
    running = opening
    for e in (
        base.filter(entry_date__gte=start, entry_date__lte=end)
        .select_related("reverses")
        .annotate(signed=signed)
        .order_by("entry_date", "id")
    ):
        running += e.signed
        rows.append(
            {
                "entry": e,
                "debit": e.signed if e.signed > 0 else None,
                "credit": -e.signed if e.signed < 0 else None,
                "balance": running,
            }
        )
    open_items = list(
        base.filter(kind=EntryKind.INVOICE, open_amount__gt=0, entry_date__lte=end).order_by("due_date")
    )
    return {
        "customer": customer,
        "start": start,
        "end": end,
        "opening": opening,
        "rows": rows,
        "closing": running,
        "open_items": open_items,
    }
