"""API of the hand-over (R-CUS-10) and of dossier merges (R-CUS-11), mounted under /api/v1/customers:

- ``POST /handovers`` hand over everything a rep holds (``dry_run``: only the preview), ``GET /handovers``,
  ``GET /handovers/{id}``, ``POST /handovers/items/{id}/inform``;
- ``POST /{customer_id}/reassign`` one customer to a new owner;
- ``POST /{customer_id}/merge`` ask to merge this dossier into another, ``GET /merges/{id}``,
  ``POST /merges/{id}/{decision}`` approve or reject (the engine's case transition).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from kehu.core.errors import NotFound
from kehu.customers import handover, merge
from kehu.customers.models import CustomerMerge, HandOver, HandOverItem

router = Router()


class HandOverIn(Schema):
    from_user: int = Field(description="id of the departing person")
    to_user: int = Field(description="id of the successor (active sales rep or sales manager)")
    extra_staff: int | None = Field(
        None, description="id of a sales person to add where an important customer's team would fall short"
    )
    reason: str = ""
    dry_run: bool = Field(False, description="only answer what would move; nothing is written")


class ReassignIn(Schema):
    to_user: int = Field(description="id of the new owner")
    extra_staff: int | None = Field(
        None, description="id of a sales person to add if the team would fall short"
    )
    reason: str


class PreviewOut(Schema):
    dry_run: bool = True
    summary: dict[str, Any]
    staff_problems: list[str] = Field(description="important customers that would keep too few staff")


class HandOverItemOut(Schema):
    id: int
    customer_id: int
    customer: str
    contacts_informed_at: dt.datetime | None

    @staticmethod
    def resolve_customer(obj: HandOverItem) -> str:
        return obj.customer.name


class HandOverRow(Schema):
    id: int
    number: str
    from_user: str
    to_user: str
    performed_by: str
    performed_at: dt.datetime
    reason: str
    customers_moved: int
    staff_replaced: int
    tasks_moved: int
    contact_logs_moved: int

    @staticmethod
    def resolve_from_user(obj: HandOver) -> str:
        return obj.from_user.username

    @staticmethod
    def resolve_to_user(obj: HandOver) -> str:
        return obj.to_user.username

    @staticmethod
    def resolve_performed_by(obj: HandOver) -> str:
        return obj.performed_by.username


class HandOverOut(HandOverRow):
    summary: dict[str, Any]
    items: list[HandOverItemOut]

    @staticmethod
    def resolve_items(obj: HandOver) -> list[HandOverItem]:
        return list(handover.handover_items(obj))


class MergeIn(Schema):
    survivor: int = Field(description="id of the dossier that stays")
    reason: str


class DecisionIn(Schema):
    comment: str = ""


class MergeOut(Schema):
    id: int
    survivor_id: int
    merged_id: int
    reason: str
    state: str
    case_id: int | None
    requested_by: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    moved: dict[str, Any]

    @staticmethod
    def resolve_requested_by(obj: CustomerMerge) -> str:
        return obj.requested_by.username


@router.post(
    "/handovers",
    response={200: PreviewOut, 201: HandOverOut},
    summary="Hand over a rep's customers, staff places and open tasks (dry_run: the preview)",
)
def handover_create(request: HttpRequest, payload: HandOverIn) -> Any:
    actor: Any = request.user
    if payload.dry_run:
        plan = handover.handover_preview(
            actor=actor,
            from_user_id=payload.from_user,
            to_user_id=payload.to_user,
            extra_staff_id=payload.extra_staff,
        )
        return Status(
            200,
            {
                "dry_run": True,
                "summary": plan.summary(),
                "staff_problems": [c.number for c in plan.staff_problems],
            },
        )
    ho = handover.handover_perform(
        actor=actor,
        from_user_id=payload.from_user,
        to_user_id=payload.to_user,
        reason=payload.reason,
        extra_staff_id=payload.extra_staff,
    )
    return Status(201, handover.handover_get(actor=actor, pk=ho.pk))


@router.get("/handovers", response=list[HandOverRow], summary="Hand-overs within your scope, newest first")
@paginate(PageNumberPagination, page_size=50)
def handover_list(request: HttpRequest) -> Any:
    return handover.handover_list(actor=request.user)  # type: ignore[arg-type]


@router.get("/handovers/{handover_id}", response=HandOverOut, summary="One hand-over with its customers")
def handover_get(request: HttpRequest, handover_id: int) -> Any:
    return handover.handover_get(actor=request.user, pk=handover_id)  # type: ignore[arg-type]


@router.post(
    "/handovers/items/{item_id}/inform",
    response=HandOverItemOut,
    summary="The successor informed the customer's contacts",
)
def handover_item_inform(request: HttpRequest, item_id: int) -> Any:
    return handover.handover_item_inform(actor=request.user, item_id=item_id)  # type: ignore[arg-type]


@router.post("/{customer_id}/reassign", response={201: HandOverOut}, summary="Give one customer a new owner")
def customer_reassign(request: HttpRequest, customer_id: int, payload: ReassignIn) -> Any:
    actor: Any = request.user
    ho = handover.customer_reassign(
        actor=actor,
        customer_id=customer_id,
        to_user_id=payload.to_user,
        reason=payload.reason,
        extra_staff_id=payload.extra_staff,
    )
    return Status(201, handover.handover_get(actor=actor, pk=ho.pk))


@router.post(
    "/{customer_id}/merge", response={201: MergeOut}, summary="Ask to merge this dossier into another"
)
def merge_request(request: HttpRequest, customer_id: int, payload: MergeIn) -> Any:
    m = merge.merge_request(
        actor=request.user,  # type: ignore[arg-type]
        merged_id=customer_id,
        survivor_id=payload.survivor,
        reason=payload.reason,
    )
    return Status(201, m)


@router.get("/merges/{merge_id}", response=MergeOut, summary="One merge request")
def merge_get(request: HttpRequest, merge_id: int) -> Any:
    return merge.merge_get(actor=request.user, pk=merge_id)  # type: ignore[arg-type]


@router.post(
    "/merges/{merge_id}/{decision}", response=MergeOut, summary="approve | reject (the approval case)"
)
def merge_decide(request: HttpRequest, merge_id: int, decision: str, payload: DecisionIn) -> Any:
    if decision not in (merge.APPROVE, merge.REJECT):
        raise NotFound()
    return merge.merge_decide(
        actor=request.user,  # type: ignore[arg-type]
        merge_id=merge_id,
        decision=decision,
        comment=payload.comment,
    )
