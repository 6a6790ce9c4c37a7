"""Credit API (/api/v1/credit): the credit file, financial statements (enter, correct, import, read with ratios) and
ratings (prepare, correct, submit, decide, override, read, list). The same services and selectors as the pages;
every read of confidential content is logged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from kehu.core import access
from kehu.credit import ratios, selectors, services
from kehu.credit.models import FinancialStatement, Rating

router = Router()

MAX_PAGE = 200


class FileIn(Schema):
    site_survey: str | None = None
    related_party_survey: str | None = None
    analysis_conclusion: str | None = None
    public_materials: str | None = None


class DocumentOut(Schema):
    id: int
    item: str
    filename: str
    title: str
    doc_type: str
    version: int
    uploaded_at: dt.datetime


class DocumentIn(Schema):
    item: str
    doc_type: str = ""
    title: str = ""
    note: str = ""


class EntryOut(Schema):
    item: str
    title: str
    on: dt.date | None
    status: str
    url: str
    note: str


class StatementOut(Schema):
    id: int
    customer_id: int
    period_end: dt.date
    period_type: str
    source: str
    lines: dict[str, Decimal | None]
    ratios: dict[str, Decimal | None]
    note: str


class RatingRow(Schema):
    id: int
    customer_id: int
    customer: str
    status: str
    category: str
    score: Decimal
    computed_grade: str
    grade: str
    credit_class: str
    overridden: bool
    rated_on: dt.date | None
    review_due: dt.date | None
    prepared_by: str


class RatingOut(RatingRow):
    statement_id: int | None
    payment_history: int
    years_of_trade: Decimal
    industry_outlook: int
    management: int
    litigation: int
    details: list[dict[str, Any]]
    override_reason: str
    override_by: str | None
    decided_by: str | None
    decision_comment: str
    policy_version_id: int | None
    note: str


class CreditFileOut(Schema):
    customer_id: int
    customer: str
    site_survey: str
    related_party_survey: str
    analysis_conclusion: str
    public_materials: str
    documents: list[DocumentOut]
    statements: list[StatementOut]
    rating_in_force: RatingRow | None
    entries: list[EntryOut]


class StatementIn(Schema):
    period_end: dt.date
    period_type: str
    lines: dict[str, Decimal | None]
    note: str = ""


class RatingIn(Schema):
    statement_id: int | None = None
    payment_history: int
    years_of_trade: Decimal | None = None
    industry_outlook: int
    management: int
    litigation: int
    note: str = ""


class DecideIn(Schema):
    decision: str
    comment: str = ""


class OverrideIn(Schema):
    grade: str
    reason: str


class RatingFilters(Schema):
    status: str | None = None
    credit_class: str | None = None
    grade: str | None = None
    category: str | None = None
    overdue: bool | None = None
    q: str | None = None
    page: int = 1
    size: int = 50


class RatingPage(Schema):
    count: int
    page: int
    items: list[RatingRow]


class ImportRowOut(Schema):
    row: int
    errors: list[list[str]]


class ImportOut(Schema):
    ok: bool
    created: int
    updated: int
    file_error: str
    errors: list[ImportRowOut]


def _actor(request: HttpRequest) -> Any:
    return request.user


def statement_out(s: FinancialStatement) -> dict[str, Any]:
    return {
        "id": s.pk,
        "customer_id": s.customer_id,
        "period_end": s.period_end,
        "period_type": s.period_type,
        "source": s.source,
        "lines": {k: getattr(s, k) for k in services.LINES},
        "ratios": ratios.compute(s),
        "note": s.note,
    }


def rating_row(r: Rating) -> dict[str, Any]:
    return {
        "id": r.pk,
        "customer_id": r.customer_id,
        "customer": r.customer.name,
        "status": r.status,
        "category": r.category,
        "score": r.score,
        "computed_grade": r.computed_grade,
        "grade": r.grade,
        "credit_class": r.credit_class,
        "overridden": r.overridden,
        "rated_on": r.rated_on,
        "review_due": r.review_due,
        "prepared_by": r.prepared_by.username,
    }


def rating_out(r: Rating) -> dict[str, Any]:
    return {
        **rating_row(r),
        "statement_id": r.statement_id,
        **{k: getattr(r, k) for k in services.RATING_INPUTS},
        "details": r.details,
        "override_reason": r.override_reason,
        "override_by": r.override_by.username if r.override_by else None,
        "decided_by": r.decided_by.username if r.decided_by else None,
        "decision_comment": r.decision_comment,
        "policy_version_id": r.policy_version_id,
        "note": r.note,
    }


# --------------------------------------------------------------------------------------------------------------
# Credit file


@router.get(
    "/files/{customer_id}", response=CreditFileOut, summary="A customer's credit file (confidential, logged)"
)
def file_get(request: HttpRequest, customer_id: int) -> Any:
    view = selectors.credit_file_read(actor=_actor(request), customer_id=customer_id, channel="api")
    cf = view.file
    docs = [
        {
            "id": a.pk,
            "item": item,
            "filename": a.filename,
            "title": a.title,
            "doc_type": a.doc_type,
            "version": a.version,
            "uploaded_at": a.uploaded_at,
        }
        for item, atts in view.documents.items()
        for a in atts
    ]
    entries = [
        {
            "item": item,
            "title": e.title,
            "on": e.on.date() if isinstance(e.on, dt.datetime) else e.on,
            "status": e.status,
            "url": e.url,
            "note": e.note,
        }
        for item, es in view.entries.items()
        for e in es
    ]
    return {
        "customer_id": view.customer.pk,
        "customer": view.customer.name,
        **{k: getattr(cf, k) if cf else "" for k in services.FILE_FIELDS},
        "documents": docs,
        "statements": [statement_out(s) for s in view.statements],
        "rating_in_force": rating_row(view.rating) if view.rating else None,
        "entries": entries,
    }


@router.post(
    "/files/{customer_id}/documents",
    response={201: DocumentOut},
    summary="File a document under an item of the credit file (always confidential)",
)
def file_document(
    request: HttpRequest, customer_id: int, data: Form[DocumentIn], file: File[UploadedFile]
) -> Any:
    doc = services.credit_document_add(
        actor=_actor(request), customer_id=customer_id, upload=file, **data.dict()
    )
    a = doc.attachment
    return Status(
        201,
        {
            "id": a.pk,
            "item": doc.item,
            "filename": a.filename,
            "title": a.title,
            "doc_type": a.doc_type,
            "version": a.version,
            "uploaded_at": a.uploaded_at,
        },
    )


@router.put("/files/{customer_id}", summary="Save the written parts of the credit file")
def file_put(request: HttpRequest, customer_id: int, payload: FileIn) -> Any:
    texts = {k: v for k, v in payload.dict().items() if v is not None}
    cf = services.credit_file_update(actor=_actor(request), customer_id=customer_id, **texts)
    return {k: getattr(cf, k) for k in services.FILE_FIELDS}


# --------------------------------------------------------------------------------------------------------------
# Statements


@router.get(
    "/customers/{customer_id}/statements",
    response=list[StatementOut],
    summary="A customer's statements by period, with ratios (confidential, logged)",
)
def statements(request: HttpRequest, customer_id: int) -> Any:
    customer, qs = selectors.statement_list(actor=_actor(request), customer_id=customer_id)
    rows = list(qs[:MAX_PAGE])
    selectors.log_list(_actor(request), "credit.statement", "api", len(rows), {"customer": customer.pk})
    return [statement_out(s) for s in rows]


@router.post("/customers/{customer_id}/statements", response={201: StatementOut}, summary="Enter one period")
def statement_create(request: HttpRequest, customer_id: int, payload: StatementIn) -> Any:
    s = services.statement_save(actor=_actor(request), customer_id=customer_id, **payload.dict())
    return Status(201, statement_out(s))


@router.post(
    "/customers/{customer_id}/statements/import",
    response=ImportOut,
    summary="Import periods from xlsx (all or nothing, per-row report)",
)
def statement_import(request: HttpRequest, customer_id: int, file: File[UploadedFile]) -> Any:
    report = services.statement_import(actor=_actor(request), customer_id=customer_id, file=file)
    return {
        "ok": report.ok,
        "created": report.created,
        "updated": report.updated,
        "file_error": str(report.file_error),
        "errors": [{"row": r.number, "errors": [[c, str(m)] for c, m in r.errors]} for r in report.errors],
    }


@router.get("/statements/{statement_id}", response=StatementOut, summary="One period (confidential, logged)")
def statement_get(request: HttpRequest, statement_id: int) -> Any:
    actor: Any = request.user
    return statement_out(selectors.statement_get(actor=actor, statement_id=statement_id, channel="api"))


@router.put("/statements/{statement_id}", response=StatementOut, summary="Correct one period")
def statement_put(request: HttpRequest, statement_id: int, payload: StatementIn) -> Any:
    actor: Any = request.user
    s = access.get_scoped(actor, "credit.statement.edit", FinancialStatement.objects.all(), pk=statement_id)
    s = services.statement_save(actor=actor, customer_id=s.customer_id, statement_id=s.pk, **payload.dict())
    return statement_out(s)


# --------------------------------------------------------------------------------------------------------------
# Ratings


@router.get(
    "/ratings", response=RatingPage, summary="Ratings (default: in force) with filters (confidential, logged)"
)
def ratings(request: HttpRequest, filters: Query[RatingFilters]) -> Any:
    actor: Any = request.user
    access.require(actor, "credit.rating.view")
    f = filters.dict()
    page, size = max(1, f.pop("page")), min(max(1, f.pop("size")), MAX_PAGE)
    active = {k: v for k, v in f.items() if v not in (None, "", False)}
    qs = selectors.apply_rating_filters(selectors.rating_queryset(actor=actor), active).order_by(
        "customer__number", "pk"
    )
    count = qs.count()
    rows = list(qs[(page - 1) * size : page * size])
    selectors.log_list(actor, "credit.rating", "api", len(rows), {k: str(v) for k, v in active.items()})
    return {"count": count, "page": page, "items": [rating_row(r) for r in rows]}


@router.post(
    "/customers/{customer_id}/ratings", response={201: RatingOut}, summary="Prepare a rating (draft)"
)
def rating_create(request: HttpRequest, customer_id: int, payload: RatingIn) -> Any:
    actor: Any = request.user
    data = payload.dict()
    if data.get("years_of_trade") is None:
        customer = services.customer_for(actor, "credit.rating.prepare", customer_id)
        data["years_of_trade"] = selectors.default_years_of_trade(customer)
    r = services.rating_prepare(actor=actor, customer_id=customer_id, **data)
    return Status(201, rating_out(selectors.rating_get(actor=actor, rating_id=r.pk, channel="api")))


@router.get(
    "/ratings/{rating_id}",
    response=RatingOut,
    summary="One rating with each indicator (confidential, logged)",
)
def rating_get(request: HttpRequest, rating_id: int) -> Any:
    return rating_out(selectors.rating_get(actor=_actor(request), rating_id=rating_id, channel="api"))


@router.put("/ratings/{rating_id}", response=RatingOut, summary="Correct a draft and compute it again")
def rating_put(request: HttpRequest, rating_id: int, payload: RatingIn) -> Any:
    actor: Any = request.user
    data = payload.dict()
    if data.get("years_of_trade") is None:
        r = access.get_scoped(
            actor, "credit.rating.view", Rating.objects.select_related("customer"), pk=rating_id
        )
        data["years_of_trade"] = selectors.default_years_of_trade(r.customer)
    services.rating_update(actor=actor, rating_id=rating_id, **data)
    return rating_out(selectors.rating_get(actor=actor, rating_id=rating_id, channel="api"))


@router.post("/ratings/{rating_id}/submit", response=RatingRow, summary="Submit a draft for approval")
def rating_submit(request: HttpRequest, rating_id: int) -> Any:
    return rating_row(services.rating_submit(actor=_actor(request), rating_id=rating_id))


@router.post("/ratings/{rating_id}/decide", response=RatingRow, summary="Approve, send back or reject")
def rating_decide(request: HttpRequest, rating_id: int, payload: DecideIn) -> Any:
    return rating_row(services.rating_decide(actor=_actor(request), rating_id=rating_id, **payload.dict()))


@router.post(
    "/ratings/{rating_id}/override", response=RatingRow, summary="Override the grade (reason, higher role)"
)
def rating_override(request: HttpRequest, rating_id: int, payload: OverrideIn) -> Any:
    return rating_row(services.rating_override(actor=_actor(request), rating_id=rating_id, **payload.dict()))
