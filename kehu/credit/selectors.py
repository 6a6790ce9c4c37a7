"""Reads of the credit app. Every read of confidential content (the credit file, a statement, a rating, a list of
them, an export) leaves exactly one READ/EXPORT audit entry (R-CRD-01)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from kehu.core import access, audit
from kehu.core.models import User
from kehu.core.models.audit import AuditAction, AuditEntry
from kehu.credit import file_items, policies
from kehu.credit.models import CreditDocument, CreditFile, FileItem, FinancialStatement, Rating, RatingStatus
from kehu.credit.services import customer_for
from kehu.customers.models import Customer


def log_read(actor: User, obj: Any, channel: str, detail: str = "") -> None:
    with transaction.atomic():
        audit.record_read(actor, obj, channel=channel, detail=detail)


def log_list(actor: User, what: str, channel: str, rows: int, filters: dict[str, Any] | None = None) -> None:
    """One entry for a list page, a list API call or an export of confidential rows; a list of one customer's rows
    read under an access grant names the grant (R-ARC-02)."""
    customer = (filters or {}).get("customer")
    grant = access.take_grant(actor, customer) if customer not in (None, "") else None
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.EXPORT if channel == "export" else AuditAction.READ,
            object_type=what,
            object_repr=what,
            changes={
                "channel": channel,
                "rows": rows,
                **({"filters": filters} if filters else {}),
                **({"grant": grant} if grant is not None else {}),
            },
            confidential=True,
        )


@dataclass
class CreditFileView:
    customer: Customer
    file: CreditFile | None
    documents: dict[str, list[Any]] = field(default_factory=dict)  # item -> attachments
    licences: list[Any] = field(default_factory=list)
    statements: list[FinancialStatement] = field(default_factory=list)
    rating: Rating | None = None
    ratings: list[Rating] = field(default_factory=list)
    entries: dict[str, list[file_items.FileEntry]] = field(default_factory=dict)


def credit_file_read(*, actor: User, customer_id: int | str, channel: str = "page") -> CreditFileView:
    """The whole credit file of a customer (R-CRD-01); the read is logged once on the customer's trail."""
    from kehu.core.attachments import attachment_list
    from kehu.customers.documents import LICENCE_TYPES

    customer = customer_for(actor, "credit.file.view", customer_id)
    cf = CreditFile.objects.filter(customer=customer).first()
    view = CreditFileView(customer=customer, file=cf)
    view.documents = {item: [] for item in FileItem.values}
    if cf is not None:
        items = dict(CreditDocument.objects.filter(credit_file=cf).values_list("attachment_id", "item"))
        for att in attachment_list(actor=actor, target=cf):
            root = att.pk
            item = items.get(root)
            if (
                item is None and att.supersedes_id is not None
            ):  # a later version: file it where the chain began
                item = items.get(att.supersedes_id)
            view.documents[item or FileItem.PUBLIC].append(att)
    if access.can(actor, "customer.view"):
        view.licences = [
            a for a in attachment_list(actor=actor, target=customer) if a.doc_type in LICENCE_TYPES
        ]
    view.statements = list(FinancialStatement.objects.filter(customer=customer).order_by("-period_end"))
    view.ratings = list(
        Rating.objects.filter(customer=customer)
        .select_related("prepared_by", "decided_by")
        .order_by("-pk")[:20]
    )
    view.rating = next((r for r in view.ratings if r.status == RatingStatus.APPROVED), None)
    view.entries = file_items.entries(customer)
    log_read(actor, customer, channel, detail="credit.file")
    return view


def credit_file_visible(actor: User) -> bool:
    return access.can(actor, "credit.file.view")


# --------------------------------------------------------------------------------------------------------------
# Statements


def statement_get(*, actor: User, statement_id: int | str, channel: str = "page") -> FinancialStatement:
    stmt = access.get_scoped(
        actor,
        "credit.statement.view",
        FinancialStatement.objects.select_related("customer", "created_by"),
        pk=statement_id,
    )
    log_read(actor, stmt, channel)
    return stmt


def statement_list(*, actor: User, customer_id: int | str) -> tuple[Customer, QuerySet[FinancialStatement]]:
    customer = customer_for(actor, "credit.statement.view", customer_id)
    qs = access.restrict(actor, "credit.statement.view", FinancialStatement.objects.filter(customer=customer))
    return customer, qs.select_related("customer", "created_by").order_by("-period_end")


# --------------------------------------------------------------------------------------------------------------
# Ratings


def rating_get(*, actor: User, rating_id: int | str, channel: str = "page") -> Rating:
    rating = access.get_scoped(
        actor,
        "credit.rating.view",
        Rating.objects.select_related(
            "customer", "customer__owner", "statement", "prepared_by", "decided_by", "override_by"
        ),
        pk=rating_id,
    )
    log_read(actor, rating, channel)
    return rating


def rating_queryset(*, actor: User) -> QuerySet[Rating]:
    return access.restrict(actor, "credit.rating.view", Rating.objects.all()).select_related(
        "customer", "prepared_by", "decided_by"
    )


def category_industries(category: str) -> list[str]:
    policy, _v = policies.rating()
    codes = [k for k, v in policy.industry_map.items() if v == category]
    return codes


def apply_rating_filters(qs: QuerySet[Rating], f: dict[str, Any]) -> QuerySet[Rating]:
    """Filters of the ratings list: status (default: in force), class, grade, industry category, overdue for
    review, customer name or number."""
    status = f.get("status") or RatingStatus.APPROVED
    if status != "all":
        qs = qs.filter(status=status)
    if f.get("credit_class"):
        qs = qs.filter(credit_class=f["credit_class"])
    if f.get("grade"):
        qs = qs.filter(grade=f["grade"])
    if f.get("category"):
        qs = qs.filter(category=f["category"])
    if f.get("overdue"):
        qs = qs.filter(status=RatingStatus.APPROVED, review_due__lt=timezone.localdate())
    if f.get("q"):
        text = str(f["q"]).strip()
        qs = qs.filter(Q(customer__name__icontains=text) | Q(customer__number__icontains=text))
    return qs


def default_years_of_trade(customer: Customer, at: dt.date | None = None) -> Decimal:
    """Years since the customer was first activated (the first trade), else since it was founded; 0 when neither
    is known (R-CRD-03 years of trade)."""
    day = at or timezone.localdate()
    start: dt.date | None = None
    entries = AuditEntry.objects.filter(
        object_type=audit.object_type_of(Customer), object_id=str(customer.pk), action=AuditAction.TRANSITION
    ).order_by("seq")
    for e in entries.only("changes", "timestamp")[:50]:
        status = (e.changes or {}).get("status")
        if isinstance(status, list) and len(status) == 2 and status[1] == "active":
            start = timezone.localtime(e.timestamp).date()
            break
    if start is None:
        start = customer.founded_on
    if start is None or start > day:
        return Decimal(0)
    return (Decimal((day - start).days) / Decimal("365.25")).quantize(Decimal("0.1"))


def rating_in_preparation(customer: Customer) -> Rating | None:
    return (
        Rating.objects.filter(customer=customer, status__in=[RatingStatus.DRAFT, RatingStatus.PENDING])
        .order_by("-pk")
        .first()
    )
