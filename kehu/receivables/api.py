"""Receivables API (R-CRD-05, R-CRD-06): /api/v1/credit/ledger (list and post entries, reverse),
/api/v1/credit/exposure/{customer_id}, /api/v1/credit/ageing. The same selectors and services as the pages."""

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from kehu.core import access
from kehu.core.errors import ValidationFailed
from kehu.receivables import interface, selectors, services
from kehu.receivables.models import Entry

ledger_router = Router()
exposure_router = Router()
ageing_router = Router()


class LineOut(Schema):
    method: str
    amount: Decimal
    bill_number: str
    bill_maturity: dt.date | None


class EntryOut(Schema):
    id: int
    customer_id: int
    kind: str
    number: str
    entry_date: dt.date
    due_date: dt.date | None
    amount: Decimal
    currency: str
    open_amount: Decimal
    reverses_id: int | None
    memo: str
    lines: list[LineOut]

    @staticmethod
    def resolve_lines(obj: Entry) -> list[Any]:
        return list(obj.lines.all())


class LedgerFilters(Schema):
    customer_id: int | None = None
    kind: str = ""


class LineIn(Schema):
    method: str
    amount: Decimal
    bill_number: str = ""
    bill_maturity: dt.date | None = None


class AllocationIn(Schema):
    invoice_id: int
    amount: Decimal


class EntryIn(Schema):
    kind: Literal["invoice", "receipt", "prepayment", "credit_note"]
    customer_id: int
    entry_date: dt.date
    number: str = ""
    amount: Decimal | None = None
    due_date: dt.date | None = None
    terms_days: int | None = None
    lines: list[LineIn] = []
    allocations: list[AllocationIn] | None = None
    invoice_id: int | None = None
    memo: str = ""


class ReverseIn(Schema):
    entry_date: dt.date
    reason: str


@ledger_router.get("", response=list[EntryOut], summary="List ledger entries (newest first)")
@paginate(PageNumberPagination, page_size=50)
def entry_list(request: HttpRequest, filters: Query[LedgerFilters]) -> Any:
    access.require(request.user, "receivables.view")
    if filters.customer_id:
        selectors.customer_get(request.user, "receivables.view", filters.customer_id)
    return selectors.entry_list(request.user, customer_id=filters.customer_id, kind=filters.kind)


@ledger_router.post(
    "", response={201: EntryOut}, summary="Post an invoice, receipt, prepayment or credit note"
)
def entry_post(request: HttpRequest, data: EntryIn) -> Any:
    actor: Any = request.user
    if data.kind == "invoice":
        if data.amount is None:
            raise ValidationFailed("金额必须填写。", field="amount", rule="required")
        entry = services.invoice_post(
            actor=actor,
            customer_id=data.customer_id,
            number=data.number,
            entry_date=data.entry_date,
            amount=data.amount,
            due_date=data.due_date,
            terms_days=data.terms_days,
            memo=data.memo,
        )
    elif data.kind in ("receipt", "prepayment"):
        entry = services.receipt_post(
            actor=actor,
            customer_id=data.customer_id,
            entry_date=data.entry_date,
            lines=[ln.dict() for ln in data.lines],
            allocations=None if data.allocations is None else [a.dict() for a in data.allocations],
            number=data.number,
            memo=data.memo,
            prepayment=data.kind == "prepayment",
        ).entry
    else:
        if data.amount is None:
            raise ValidationFailed("金额必须填写。", field="amount", rule="required")
        entry = services.credit_note_post(
            actor=actor,
            customer_id=data.customer_id,
            entry_date=data.entry_date,
            amount=data.amount,
            invoice_id=data.invoice_id,
            number=data.number,
            memo=data.memo,
        )
    return Status(201, Entry.objects.prefetch_related("lines").get(pk=entry.pk))


@ledger_router.post("/{entry_id}/reverse", response={201: EntryOut}, summary="Reverse an entry")
def entry_reverse(request: HttpRequest, entry_id: int, data: ReverseIn) -> Any:
    got = services.entry_reverse(
        actor=request.user, entry_id=entry_id, entry_date=data.entry_date, reason=data.reason
    )
    return Status(201, Entry.objects.prefetch_related("lines").get(pk=got.pk))


class ApplyIn(Schema):
    customer_id: int
    entry_date: dt.date
    allocations: list[AllocationIn] | None = None


class AllocationOut(Schema):
    credit_id: int
    debit_id: int
    amount: Decimal
    applied_on: dt.date


@ledger_router.post(
    "/apply",
    response={201: list[AllocationOut]},
    summary="Apply unapplied prepayments and credits to invoices",
)
def credit_apply(request: HttpRequest, data: ApplyIn) -> Any:
    made = services.credit_apply(
        actor=request.user,
        customer_id=data.customer_id,
        entry_date=data.entry_date,
        allocations=None if data.allocations is None else [a.dict() for a in data.allocations],
    )
    return Status(201, made)


class ExposureOut(Schema):
    customer_id: int
    open_receivables: Decimal
    unbilled_deliveries: Decimal
    approved_orders: Decimal
    deposits: Decimal
    total: Decimal
    overdue_amount: Decimal
    overdue_items: int
    oldest_overdue_days: int
    credit_limit: Decimal | None


@exposure_router.get("/{customer_id}", response=ExposureOut, summary="A customer's exposure")
def exposure_get(request: HttpRequest, customer_id: int) -> Any:
    customer = selectors.customer_get(request.user, "receivables.exposure", customer_id)
    view = interface.exposure_parts(customer)
    overdue = interface.overdue_summary(customer)
    return {
        "customer_id": customer.pk,
        **view.__dict__,
        "overdue_amount": overdue.amount,
        "overdue_items": overdue.items,
        "oldest_overdue_days": overdue.oldest_days,
        "credit_limit": selectors.limit_of(customer),
    }


class AgeingFilters(Schema):
    at: dt.date | None = None
    owner: int | None = None
    department: int | None = None
    region: int | None = None
    customer: int | None = None
    offset: int = 0
    limit: int = 100


class BucketOut(Schema):
    key: str
    label: str
    low: int | None
    high: int | None


class AgeingRowOut(Schema):
    customer_id: int
    number: str
    name: str
    amounts: list[Decimal]
    credits: Decimal
    balance: Decimal


class AgeingOut(Schema):
    at: dt.date
    buckets: list[BucketOut]
    totals: list[Decimal]
    total_credits: Decimal
    total_balance: Decimal
    count: int
    rows: list[AgeingRowOut]
    policy_version: int | None


@ageing_router.get("", response=AgeingOut, summary="Ageing by due date (company or filtered)")
def ageing_get(request: HttpRequest, filters: Query[AgeingFilters]) -> Any:
    f = filters.dict(exclude_none=True)
    limit = max(1, min(int(f.pop("limit", 100)), 1000))
    offset = max(0, int(f.pop("offset", 0)))
    at = f.pop("at", None)
    rep = selectors.ageing_report(request.user, at=at, filters=f, offset=offset, limit=limit)
    return {
        "at": rep.at,
        "buckets": [{"key": b.key, "label": str(b.label), "low": b.low, "high": b.high} for b in rep.buckets],
        "totals": rep.totals,
        "total_credits": rep.total_credits,
        "total_balance": rep.total_balance,
        "count": rep.count,
        "rows": [r.__dict__ for r in rep.rows],
        "policy_version": rep.policy_version,
    }
