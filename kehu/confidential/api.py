"""API of the confidential archive: ``/api/v1/access-requests`` (list, file, read, approve, forward to the general
manager, reject; grants: list, revoke) and ``/api/v1/read-log`` (R-ARC-01, R-ARC-02). The same services and
selectors as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from kehu.confidential import selectors, services
from kehu.confidential.models import AccessRequest, Grant
from kehu.core.errors import ValidationFailed

requests_router = Router()
readlog_router = Router()

MAX_PAGE = 200


class RequestIn(Schema):
    customer_id: int
    items: list[str]
    purpose: str
    period_days: int | None = None
    form: str = "copy"


class ActIn(Schema):
    comment: str = ""
    days: int | None = None


class RejectIn(Schema):
    comment: str


class RevokeIn(Schema):
    reason: str


class GrantOut(Schema):
    id: int
    request_id: int
    user: str
    customer_id: int
    customer: str
    items: list[str]
    valid_from: dt.datetime
    valid_until: dt.datetime
    state: str
    granted_by: str
    revoked_at: dt.datetime | None
    revoke_reason: str


class RequestOut(Schema):
    id: int
    number: str
    customer_id: int
    customer: str
    requester: str
    items: list[str]
    item_labels: dict[str, str]
    purpose: str
    period_days: int
    form: str
    office: str
    level: str
    status: str
    state: str
    approved_days: int | None
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_comment: str
    created_at: dt.datetime
    grant: GrantOut | None


class RequestPage(Schema):
    count: int
    page: int
    items: list[RequestOut]


class RequestFilters(Schema):
    box: str = "mine"  # mine | todo | all
    status: str | None = None
    office: str | None = None
    q: str | None = None
    page: int = 1
    size: int = 50


class GrantFilters(Schema):
    state: str = "active"  # active | expired | revoked | all
    q: str | None = None
    user: str | None = None
    page: int = 1
    size: int = 50


class GrantPage(Schema):
    count: int
    page: int
    items: list[GrantOut]


class LogFilters(Schema):
    customer: str | None = None
    user: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    grant: int | None = None
    action: str | None = None
    page: int = 1
    size: int = 50


class LogOut(Schema):
    seq: int
    timestamp: dt.datetime
    user: str
    action: str
    channel: str
    object_type: str
    object_id: str
    object: str
    detail: str
    customer_id: int | None
    customer: str
    grant_id: int | None


class LogPage(Schema):
    count: int
    page: int
    items: list[LogOut]


def grant_out(g: Grant) -> dict[str, Any]:
    return {
        "id": g.pk,
        "request_id": g.request_id,
        "user": g.user.username,
        "customer_id": g.customer_id,
        "customer": g.customer.name,
        "items": list(g.items),
        "valid_from": g.valid_from,
        "valid_until": g.valid_until,
        "state": selectors.grant_state(g),
        "granted_by": g.granted_by.username,
        "revoked_at": g.revoked_at,
        "revoke_reason": g.revoke_reason,
    }


def request_out(r: AccessRequest, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """One request with its grant; ``labels``: the item labels of the whole page, read once."""
    grant: Grant | None = getattr(r, "grant", None)  # None when there is none (selected with the request)
    return {
        "id": r.pk,
        "number": r.number,
        "customer_id": r.customer_id,
        "customer": r.customer.name,
        "requester": r.requester.username,
        "items": list(r.items),
        "item_labels": (
            {k: labels.get(k, k) for k in r.items}
            if labels is not None
            else services.item_labels(list(r.items))
        ),
        "purpose": r.purpose,
        "period_days": r.period_days,
        "form": r.form,
        "office": r.office,
        "level": r.level,
        "status": r.status,
        "state": r.case.state if r.case else "",
        "approved_days": r.approved_days,
        "decided_by": r.decided_by.username if r.decided_by else None,
        "decided_at": r.decided_at,
        "decision_comment": r.decision_comment,
        "created_at": r.created_at,
        "grant": grant_out(grant) if grant else None,
    }


GRANT_RELATED = ("grant", "grant__user", "grant__customer", "grant__granted_by")


def _page(page: int, size: int) -> tuple[int, int]:
    return max(1, page), min(max(1, size), MAX_PAGE)


@requests_router.get("", response=RequestPage, summary="Access requests: mine, to approve (todo) or all")
def list_requests(request: HttpRequest, filters: Query[RequestFilters]) -> Any:
    actor: Any = request.user
    f = filters.dict()
    box = f.pop("box")
    page, size = _page(f.pop("page"), f.pop("size"))
    if box == "todo":
        qs = selectors.requests_to_approve(actor=actor)
    elif box == "all":
        qs = selectors.all_requests(actor=actor)
    elif box == "mine":
        qs = selectors.my_requests(actor=actor)
    else:
        raise ValidationFailed("box: mine | todo | all", field="box", rule="choice")
    qs = selectors.apply_request_filters(qs, {k: v for k, v in f.items() if v}).order_by("-pk")
    count = qs.count()
    rows = list(qs.select_related(*GRANT_RELATED)[(page - 1) * size : page * size])
    labels = services.item_labels(sorted({k for r in rows for k in r.items}))
    return {"count": count, "page": page, "items": [request_out(r, labels) for r in rows]}


@requests_router.post("", response={201: RequestOut}, summary="File an access request (查阅申请单)")
def create_request(request: HttpRequest, payload: RequestIn) -> Any:
    actor: Any = request.user
    r = services.request_create(actor=actor, **payload.dict())
    return Status(201, request_out(services.request_get(actor=actor, request_id=r.pk)))


@requests_router.get("/grants", response=GrantPage, summary="Grants (default: in force)")
def list_grants(request: HttpRequest, filters: Query[GrantFilters]) -> Any:
    actor: Any = request.user
    f = filters.dict()
    page, size = _page(f.pop("page"), f.pop("size"))
    qs = selectors.apply_grant_filters(selectors.grants(actor=actor), {k: v for k, v in f.items() if v})
    qs = qs.order_by("valid_until", "pk")
    count = qs.count()
    return {
        "count": count,
        "page": page,
        "items": [grant_out(g) for g in qs[(page - 1) * size : page * size]],
    }


@requests_router.post("/grants/{grant_id}/revoke", response=GrantOut, summary="End a grant early (reason)")
def revoke_grant(request: HttpRequest, grant_id: int, payload: RevokeIn) -> Any:
    actor: Any = request.user
    selectors.grant_get(actor=actor, grant_id=grant_id)
    services.grant_revoke(actor=actor, grant_id=grant_id, reason=payload.reason)
    return grant_out(selectors.grant_get(actor=actor, grant_id=grant_id))


@requests_router.get("/{request_id}", response=RequestOut, summary="One access request with its grant")
def get_request(request: HttpRequest, request_id: int) -> Any:
    return request_out(services.request_get(actor=request.user, request_id=request_id))  # type: ignore[arg-type]


def _act(request: HttpRequest, request_id: int, transition: str, comment: str, days: int | None) -> Any:
    actor: Any = request.user
    r = services.request_act(
        actor=actor, request_id=request_id, transition=transition, comment=comment, days=days
    )
    return request_out(r)


@requests_router.post(
    "/{request_id}/approve",
    response=RequestOut,
    summary="Approve (period in days; the general manager's step too)",
)
def approve(request: HttpRequest, request_id: int, payload: ActIn) -> Any:
    return _act(request, request_id, "approve", payload.comment, payload.days)


@requests_router.post(
    "/{request_id}/forward",
    response=RequestOut,
    summary="Agree and forward to the general manager (originals)",
)
def forward(request: HttpRequest, request_id: int, payload: ActIn) -> Any:
    return _act(request, request_id, "forward_gm", payload.comment, payload.days)


@requests_router.post("/{request_id}/reject", response=RequestOut, summary="Reject (reason required)")
def reject(request: HttpRequest, request_id: int, payload: RejectIn) -> Any:
    return _act(request, request_id, "reject", payload.comment, None)


@readlog_router.get("", response=LogPage, summary="Reads of confidential content, with the grant each used")
def read_log(request: HttpRequest, filters: Query[LogFilters]) -> Any:
    actor: Any = request.user
    f = filters.dict()
    page, size = _page(f.pop("page"), f.pop("size"))
    qs = selectors.apply_log_filters(selectors.read_log(actor=actor), {k: v for k, v in f.items() if v})
    qs = qs.order_by("-seq")
    count = qs.count()
    rows = selectors.resolve(list(qs[(page - 1) * size : page * size]))
    return {
        "count": count,
        "page": page,
        "items": [
            {
                "seq": row.entry.seq,
                "timestamp": row.entry.timestamp,
                "user": row.entry.actor.username if row.entry.actor else row.entry.actor_label,
                "action": row.entry.action,
                "channel": row.channel,
                "object_type": row.entry.object_type,
                "object_id": row.entry.object_id,
                "object": row.entry.object_repr,
                "detail": str((row.entry.changes or {}).get("detail", ""))
                if isinstance(row.entry.changes, dict)
                else "",
                "customer_id": row.customer_id,
                "customer": row.customer_name,
                "grant_id": row.grant_id,
            }
            for row in rows
        ],
    }
