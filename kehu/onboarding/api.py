"""Onboarding API (R-ONB-01..08): /api/v1/reviews — list with filters, the reviewer's queue, apply, read (logged),
the actions allowed now, take an action (pass a stage with its checklist, send back, submit the rectification,
decide), re-qualification schedule and early re-qualification, reports. The same services as the pages."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from kehu.onboarding import reviewers, selectors, services
from kehu.onboarding.models import Qualification, Review
from kehu.workflow import engine

router = Router()


class ReviewBase(Schema):
    id: int
    number: str
    kind: str
    trigger: str
    customer_id: int
    customer: str
    owner: str = Field(description="username of the customer's owner")
    state: str
    state_due: dt.date | None
    closed: bool
    decision: str
    created_at: dt.datetime


class ReviewRow(ReviewBase):
    @staticmethod
    def resolve_customer(obj: Review) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_owner(obj: Review) -> str:
        return obj.customer.owner.username

    @staticmethod
    def resolve_state(obj: Review) -> str:
        return obj.case.state if obj.case else ""

    @staticmethod
    def resolve_state_due(obj: Review) -> dt.date | None:
        return obj.case.state_due if obj.case else None

    @staticmethod
    def resolve_closed(obj: Review) -> bool:
        return bool(obj.case and obj.case.closed_at)


class RoundOut(Schema):
    round: int
    stage: str
    findings: str
    requested_by: str
    requested_at: dt.datetime
    due: dt.date | None
    response: str
    responded_at: dt.datetime | None
    rereviewed_at: dt.datetime | None


class StepOut(Schema):
    seq: int
    transition: str
    from_state: str
    to_state: str
    actor: str
    at: dt.datetime
    comment: str
    send_back: bool
    checklist: dict[str, str]
    evidence: dict[str, str]
    attachments: list[int]


class ReviewOut(ReviewBase):
    purpose: str
    expected_business: str
    products: str
    expected_annual_volume: Decimal | None
    currency: str
    requested_terms: str
    notes: str
    decision_reason: str
    decided_by: str | None
    decided_at: dt.datetime | None
    rereview_on: dt.date | None
    new_class: str
    documents_ok: bool
    documents_problems: list[str]
    allowed_actions: list[str]
    rounds: list[RoundOut]
    steps: list[StepOut]


class Application(Schema):
    customer_id: int
    purpose: str
    expected_business: str
    products: str
    expected_annual_volume: Decimal | None = None
    currency: str = "CNY"
    requested_terms: str = ""
    notes: str = ""


class ActionIn(Schema):
    comment: str = ""
    checklist: dict[str, str] = Field(default_factory=dict, description="item key → yes / no / na")
    evidence: dict[str, str] = Field(default_factory=dict, description="item key → evidence note")
    attachments: list[int] = Field(default_factory=list, description="ids of files attached to the case")
    rereview_on: dt.date | None = Field(None, description="defer: the re-review date")
    new_class: str = Field("", description="downgrade: the new customer class")
    expected_state: str | None = Field(None, description="the state the caller saw (409 when it changed)")


class ActionOut(Schema):
    key: str
    label: str
    checklist: list[dict[str, Any]]
    comment_required: bool
    send_back: bool


class ReviewFilters(Schema):
    q: str | None = None
    stage: str | None = Field(None, description="state of the case")
    status: str | None = Field(None, description="open / closed")
    kind: str | None = None
    decision: str | None = None
    owner: int | None = Field(None, description="owner user id")
    overdue: bool | None = None


class QualificationOut(Schema):
    customer_id: int
    customer: str
    customer_class: str
    last_review_on: dt.date
    interval_months: int
    next_review_on: dt.date
    last_meeting_on: dt.date | None
    policy_version_id: int | None

    @staticmethod
    def resolve_customer(obj: Qualification) -> str:
        return obj.customer.name


class RequalIn(Schema):
    customer_id: int
    reason: str


def _detail(review: Review, actor: Any) -> dict[str, Any]:
    from kehu.customers.documents import customer_documents_valid

    check = customer_documents_valid(review.customer)
    case = review.case
    data: dict[str, Any] = {
        "id": review.pk,
        "number": review.number,
        "kind": review.kind,
        "trigger": review.trigger,
        "customer_id": review.customer_id,
        "customer": review.customer.name,
        "owner": review.customer.owner.username,
        "state": case.state if case else "",
        "state_due": case.state_due if case else None,
        "closed": bool(case and case.closed_at),
        "decision": review.decision,
        "created_at": review.created_at,
    }
    data.update(
        {f: getattr(review, f) for f in services.APPLICATION_FIELDS},
        decision_reason=review.decision_reason,
        decided_by=review.decided_by.username if review.decided_by else None,
        decided_at=review.decided_at,
        rereview_on=review.rereview_on,
        new_class=review.new_class,
        documents_ok=check.ok,
        documents_problems=[p.message for p in check.problems],
        allowed_actions=[t.key for t in engine.allowed_transitions(review.case, actor)]
        if review.case
        else [],
        rounds=[
            {
                "round": r.round,
                "stage": r.stage,
                "findings": r.findings,
                "requested_by": r.requested_by.username,
                "requested_at": r.requested_at,
                "due": r.due,
                "response": r.response,
                "responded_at": r.responded_at,
                "rereviewed_at": r.rereviewed_at,
            }
            for r in selectors.rounds(review)
        ],
        steps=[
            {
                "seq": s.event.seq,
                "transition": s.event.transition,
                "from_state": s.event.from_state,
                "to_state": s.event.to_state,
                "actor": s.event.actor.username if s.event.actor else "",
                "at": s.event.at,
                "comment": s.event.comment,
                "send_back": s.event.send_back,
                "checklist": s.event.checklist,
                "evidence": (review.case.data or {}).get(f"evidence_{s.event.from_state}", {})
                if review.case and s.event.checklist
                else {},
                "attachments": s.event.attachment_ids,
            }
            for s in selectors.case_steps(review)
        ],
    )
    return data


@router.get(
    "/", response=list[ReviewRow], summary="List reviews (confidential: review team, owner, management)"
)
@paginate(PageNumberPagination, page_size=50)
def list_reviews(request: HttpRequest, filters: Query[ReviewFilters]) -> Any:
    return selectors.review_list(actor=request.user, filters=filters.dict(exclude_none=True)).order_by(  # type: ignore[arg-type]
        "-created_at", "-pk"
    )


@router.get("/queue", response=list[ReviewRow], summary="Reviews waiting for me")
@paginate(PageNumberPagination, page_size=50)
def queue(request: HttpRequest) -> Any:
    return selectors.review_queue(actor=request.user).order_by("case__state_due", "pk")  # type: ignore[arg-type]


@router.post("/", response={201: ReviewOut}, summary="Apply for a review of a prospect (客户审核申请表)")
def apply(request: HttpRequest, payload: Application) -> Any:
    data = payload.dict()
    review = services.review_apply(actor=request.user, customer_id=data.pop("customer_id"), **data)  # type: ignore[arg-type]
    review = services.review_get(actor=request.user, pk=review.pk, channel="api")  # type: ignore[arg-type]
    return Status(201, _detail(review, request.user))


@router.get("/schedule", response=list[QualificationOut], summary="Re-qualification schedule")
@paginate(PageNumberPagination, page_size=100)
def schedule(request: HttpRequest, due_within: int | None = None) -> Any:
    filters = {"due_within": due_within} if due_within is not None else {}
    return selectors.schedule_list(actor=request.user, filters=filters).order_by("next_review_on", "pk")  # type: ignore[arg-type]


@router.post("/requalifications", response={201: ReviewOut}, summary="Open an early re-qualification")
def requalify(request: HttpRequest, payload: RequalIn) -> Any:
    review = services.requal_open(actor=request.user, customer_id=payload.customer_id, reason=payload.reason)  # type: ignore[arg-type]
    review = services.review_get(actor=request.user, pk=review.pk, channel="api")  # type: ignore[arg-type]
    return Status(201, _detail(review, request.user))


@router.get("/reports", summary="Reviews by stage, cycle time per stage, decision rates, overdue reviews")
def reports(request: HttpRequest, start: dt.date | None = None, end: dt.date | None = None) -> Any:
    end = end or timezone.localdate()
    start = start or end - dt.timedelta(days=365)
    return selectors.report(actor=request.user, start=start, end=end).as_dict()  # type: ignore[arg-type]


# --- reviewer management (R-ONB-07) ------------------------------------------------------------------------------


class ReviewerQualificationOut(Schema):
    id: int
    user_id: int
    kind: str
    certificate_no: str
    issued_by: str
    valid_from: dt.date
    valid_to: dt.date
    notes: str
    state: str = ""


class ReviewerQualificationIn(Schema):
    kind: str
    certificate_no: str
    issued_by: str
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    notes: str = ""


class ReviewerQualificationPatch(Schema):
    kind: str | None = None
    certificate_no: str | None = None
    issued_by: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    notes: str | None = None


class TrainingOut(Schema):
    id: int
    user_id: int
    course: str
    trained_on: dt.date
    hours: Decimal
    result: str
    notes: str


class TrainingIn(Schema):
    course: str
    trained_on: dt.date | None = None
    hours: Decimal | None = None
    result: str
    notes: str = ""


class TrainingPatch(Schema):
    course: str | None = None
    trained_on: dt.date | None = None
    hours: Decimal | None = None
    result: str | None = None
    notes: str | None = None


class ReviewerOut(Schema):
    id: int
    username: str
    name: str
    qualifications: list[ReviewerQualificationOut]
    trainings: list[TrainingOut]


def _qual_out(q: Any, today: dt.date, warning: int) -> dict[str, Any]:
    return {
        **{f: getattr(q, f) for f in ("id", "user_id", *reviewers.QUAL_FIELDS)},
        "state": reviewers.qualification_state(q, today, warning),
    }


@router.get("/reviewers", response=list[ReviewerOut], summary="Reviewers with qualifications and training")
def reviewer_list(request: HttpRequest, q: str = "", expired: bool = False) -> Any:
    today = timezone.localdate()
    warning = reviewers.policy()[0].expiry_warning_days
    people = reviewers.reviewer_list(actor=request.user, filters={"q": q, "expired": expired})  # type: ignore[arg-type]
    return [
        {
            "id": p.pk,
            "username": p.username,
            "name": p.display_name or p.username,
            "qualifications": [_qual_out(x, today, warning) for x in p.reviewer_qualifications.all()],
            "trainings": list(p.reviewer_trainings.all()),
        }
        for p in people[:500]
    ]


@router.post(
    "/reviewers/{user_id}/qualifications",
    response={201: ReviewerQualificationOut},
    summary="Record a reviewer's qualification",
)
def qualification_create(request: HttpRequest, user_id: int, payload: ReviewerQualificationIn) -> Any:
    q = reviewers.qualification_create(actor=request.user, user_id=user_id, **payload.dict())  # type: ignore[arg-type]
    return Status(201, _qual_out(q, timezone.localdate(), reviewers.policy()[0].expiry_warning_days))


@router.patch(
    "/reviewer-qualifications/{pk}",
    response=ReviewerQualificationOut,
    summary="Change a reviewer's qualification",
)
def qualification_update(request: HttpRequest, pk: int, payload: ReviewerQualificationPatch) -> Any:
    q = reviewers.qualification_update(actor=request.user, pk=pk, **payload.dict(exclude_none=True))  # type: ignore[arg-type]
    return _qual_out(q, timezone.localdate(), reviewers.policy()[0].expiry_warning_days)


@router.delete(
    "/reviewer-qualifications/{pk}", response={204: None}, summary="Delete a reviewer's qualification"
)
def qualification_delete(request: HttpRequest, pk: int, reason: str = "") -> Any:
    reviewers.qualification_delete(actor=request.user, pk=pk, reason=reason)  # type: ignore[arg-type]
    return Status(204, None)


@router.post("/reviewers/{user_id}/trainings", response={201: TrainingOut}, summary="Record a training")
def training_create(request: HttpRequest, user_id: int, payload: TrainingIn) -> Any:
    return Status(201, reviewers.training_create(actor=request.user, user_id=user_id, **payload.dict()))  # type: ignore[arg-type]


@router.patch("/reviewer-trainings/{pk}", response=TrainingOut, summary="Change a training record")
def training_update(request: HttpRequest, pk: int, payload: TrainingPatch) -> Any:
    return reviewers.training_update(actor=request.user, pk=pk, **payload.dict(exclude_none=True))  # type: ignore[arg-type]


@router.delete("/reviewer-trainings/{pk}", response={204: None}, summary="Delete a training record")
def training_delete(request: HttpRequest, pk: int, reason: str = "") -> Any:
    reviewers.training_delete(actor=request.user, pk=pk, reason=reason)  # type: ignore[arg-type]
    return Status(204, None)


@router.get(
    "/reviewer-performance",
    summary="Reviewer performance: volume, cycle time in working days, decisions later overturned",
)
def reviewer_performance(
    request: HttpRequest,
    start: dt.date | None = None,
    end: dt.date | None = None,
    reviewer: int | None = None,
) -> Any:
    default_start, default_end, _label = reviewers.previous_quarter(timezone.localdate())
    s, e, rows = reviewers.reviewer_performance(
        actor=request.user,  # type: ignore[arg-type]
        start=start or default_start,
        end=end or default_end,
        reviewer_id=reviewer,
    )
    return {"start": s.isoformat(), "end": e.isoformat(), "rows": rows}


@router.get("/reviewer-reports", summary="Stored quarterly reviewer performance reports")
def reviewer_reports(request: HttpRequest) -> Any:
    return [
        {"id": r.pk, "label": r.label, "start": r.start.isoformat(), "end": r.end.isoformat()}
        for r in reviewers.report_list(actor=request.user)[:100]  # type: ignore[arg-type]
    ]


@router.get("/reviewer-reports/{pk}", summary="One stored quarterly report (the rows within your scope)")
def reviewer_report(request: HttpRequest, pk: int) -> Any:
    report, rows = reviewers.report_read(actor=request.user, pk=pk)  # type: ignore[arg-type]
    return {
        "id": report.pk,
        "label": report.label,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "rows": rows,
    }


@router.get("/{review_id}", response=ReviewOut, summary="One review (the read is logged)")
def get_review(request: HttpRequest, review_id: int) -> Any:
    review = services.review_get(actor=request.user, pk=review_id, channel="api")  # type: ignore[arg-type]
    return _detail(review, request.user)


@router.get("/{review_id}/actions", response=list[ActionOut], summary="Actions this user may take now")
def actions(request: HttpRequest, review_id: int) -> Any:
    review = services.review_get(actor=request.user, pk=review_id, channel="api")  # type: ignore[arg-type]
    out = []
    for t in engine.allowed_transitions(review.case, request.user) if review.case else []:
        out.append(
            {
                "key": t.key,
                "label": str(t.label),
                "checklist": [
                    {"key": c.key, "label": str(c.label), "mandatory": c.mandatory} for c in t.checklist
                ],
                "comment_required": t.comment_required,
                "send_back": t.send_back,
            }
        )
    return out


@router.post(
    "/{review_id}/actions/{action}", response=ReviewOut, summary="Take an action on the review's case"
)
def act(request: HttpRequest, review_id: int, action: str, payload: ActionIn) -> Any:
    services.review_act(actor=request.user, review_id=review_id, transition=action, **payload.dict())  # type: ignore[arg-type]
    review = services.review_get(actor=request.user, pk=review_id, channel="api")  # type: ignore[arg-type]
    return _detail(review, request.user)
