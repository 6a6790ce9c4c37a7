"""Grade overrides API (/api/v1/grading/overrides, R-GRD-04): list, request, detail, approve, reject, withdraw. The
same services and selectors as the pages (kehu.grading.overrides); errors answer 400/403/404/409."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from kehu.grading import overrides
from kehu.grading.models import GradeOverride, GradingRun

router = Router()

MAX_PAGE = 200
RUN_LIST_MAX = 200


class OverrideOut(Schema):
    id: int
    customer_id: int
    customer_number: str
    customer_name: str
    run_id: int
    from_grade: str
    to_grade: str
    reason: str
    status: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_comment: str
    effective_on: dt.date | None
    policy_version_id: int | None = None  # the grading scheme in force when it was requested


class OverridePage(Schema):
    count: int
    page: int
    items: list[OverrideOut]


class OverrideFilters(Schema):
    status: str | None = None
    grade: str | None = None
    run: int | None = None
    q: str | None = None
    page: int = 1
    size: int = 50


class OverrideIn(Schema):
    customer_id: int
    to_grade: str
    reason: str


class CommentIn(Schema):
    comment: str = ""


class SupersededOut(Schema):
    override_id: int
    customer_id: int
    customer_number: str
    override_grade: str
    new_grade: str | None


def override_out(o: GradeOverride) -> dict[str, Any]:
    return {
        "id": o.pk,
        "customer_id": o.customer_id,
        "customer_number": o.customer.number,
        "customer_name": o.customer.name,
        "run_id": o.run_id,
        "from_grade": o.from_grade,
        "to_grade": o.to_grade,
        "reason": o.reason,
        "status": o.status,
        "requested_by": o.requested_by.username,
        "requested_at": o.requested_at,
        "decided_by": o.decided_by.username if o.decided_by else None,
        "decided_at": o.decided_at,
        "decision_comment": o.decision_comment,
        "effective_on": o.effective_on,
        "policy_version_id": o.policy_version_id,
    }


def run_report(run: GradingRun, previous: GradingRun | None, actor: Any) -> dict[str, Any]:
    """For the run detail endpoint: the overrides approved against the run — the company-wide count, and those of
    customers within the user's scope (``overrides_visible`` of them, the latest listed with reason and comment)
    — and the overrides the run supersedes."""
    visible = overrides.run_overrides(run, actor)
    return {
        "overrides_count": overrides.run_overrides(run).count(),
        "overrides_visible": visible.count(),
        "overrides": [override_out(o) for o in visible[:RUN_LIST_MAX]],
        "superseded_overrides": [
            {
                "override_id": s["override"].pk,
                "customer_id": s["override"].customer_id,
                "customer_number": s["override"].customer.number,
                "override_grade": s["override_grade"],
                "new_grade": s["new_grade"],
            }
            for s in overrides.superseded_by(run, previous, actor)
        ],
    }


def _one(request: HttpRequest, override_id: int) -> dict[str, Any]:
    return override_out(overrides.override_get(actor=request.user, override_id=override_id))


@router.get("", response=OverridePage, summary="Grade overrides within the user's scope, latest first")
def override_list(request: HttpRequest, q: Query[OverrideFilters]) -> Any:
    page, size = max(1, q.page), min(max(1, q.size), MAX_PAGE)
    filters = {k: v for k, v in q.dict().items() if k not in ("page", "size") and v not in (None, "")}
    qs = overrides.apply_override_filters(overrides.override_list(actor=request.user), filters).order_by(
        "-requested_at", "-id"
    )
    return {
        "count": qs.count(),
        "page": page,
        "items": [override_out(o) for o in qs[(page - 1) * size : page * size]],
    }


@router.post(
    "", response={201: OverrideOut}, summary="Request a grade override (sales manager, general manager)"
)
def override_request(request: HttpRequest, payload: OverrideIn) -> Any:
    ov = overrides.override_request(
        actor=request.user, customer_id=payload.customer_id, to_grade=payload.to_grade, reason=payload.reason
    )
    return Status(201, _one(request, ov.pk))


@router.get("/{override_id}", response=OverrideOut, summary="One grade override")
def override_get(request: HttpRequest, override_id: int) -> Any:
    return _one(request, override_id)


@router.post(
    "/{override_id}/approve", response=OverrideOut, summary="Approve (general manager, not the requester)"
)
def override_approve(request: HttpRequest, override_id: int, payload: CommentIn) -> Any:
    overrides.override_decide(
        actor=request.user, override_id=override_id, approve=True, comment=payload.comment
    )
    return _one(request, override_id)


@router.post("/{override_id}/reject", response=OverrideOut, summary="Reject with a comment")
def override_reject(request: HttpRequest, override_id: int, payload: CommentIn) -> Any:
    overrides.override_decide(
        actor=request.user, override_id=override_id, approve=False, comment=payload.comment
    )
    return _one(request, override_id)


@router.post(
    "/{override_id}/withdraw", response=OverrideOut, summary="Withdraw a pending request (requester)"
)
def override_withdraw(request: HttpRequest, override_id: int, payload: CommentIn) -> Any:
    overrides.override_withdraw(actor=request.user, override_id=override_id, comment=payload.comment)
    return _one(request, override_id)
