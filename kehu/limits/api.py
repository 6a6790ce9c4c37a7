"""Credit limits API (R-CRD-02, R-CRD-04, R-CRD-05, R-CRD-08): /api/v1/credit/applications (list, create, read,
actions through the workflow engine, investigation), /api/v1/credit/limits (limits in force, one customer's limit
and available credit), /api/v1/credit/reviews (list, read, open, decide). The same services as the pages."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from kehu.core import access, audit
from kehu.core.models.audit import AuditAction
from kehu.customers.models import Customer
from kehu.limits import interface, selectors, services
from kehu.limits.models import CreditApplication, CreditReview
from kehu.workflow import engine

applications_router = Router()
limits_router = Router()
reviews_router = Router()


class ApplicationRow(Schema):
    id: int
    number: str
    customer_id: int
    customer: str
    owner: str
    source: str
    status: str
    stage: str
    stage_due: dt.date | None
    requested_amount: Decimal | None
    requested_term_days: int | None
    expected_sales: Decimal | None
    credit_class: str
    override: bool
    approver_role: str
    approved_amount: Decimal | None
    approved_term_days: int | None
    created_at: dt.datetime

    @staticmethod
    def resolve_customer(obj: CreditApplication) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_owner(obj: CreditApplication) -> str:
        return obj.customer.owner.username

    @staticmethod
    def resolve_stage(obj: CreditApplication) -> str:
        return obj.case.state if obj.case else ""

    @staticmethod
    def resolve_stage_due(obj: CreditApplication) -> dt.date | None:
        return obj.case.state_due if obj.case else None


class FindingOut(Schema):
    channel: str
    findings: str
    recorded_by: str
    recorded_at: dt.datetime


class ApplicationOut(ApplicationRow):
    reason: str
    override_reason: str
    decision_comment: str
    limit_id: int | None = None
    letter_number: str = ""
    investigation: dict[str, Any] | None = None


def _detail(app: CreditApplication, actor: Any) -> CreditApplication:
    """The application with its limit, letter and (for those who may see it) the investigation attached."""
    limit = app.limits.first()
    app.limit_id = limit.pk if limit else None  # type: ignore[attr-defined]
    app.letter_number = limit.letter_number if limit else ""  # type: ignore[attr-defined]
    app.investigation = None  # type: ignore[attr-defined]
    if access.can(actor, "limits.investigation.view"):
        audit.record_read(actor, app, channel="api", detail="investigation")
        app.investigation = {  # type: ignore[attr-defined]
            "conclusion": app.conclusion,
            "findings": [
                {
                    "channel": f.channel,
                    "findings": f.findings,
                    "recorded_by": f.recorded_by.username,
                    "recorded_at": f.recorded_at,
                }
                for f in app.findings.select_related("recorded_by").order_by("channel")
            ],
        }
    return app


class ApplicationFilters(Schema):
    status: str | None = None
    stage: str | None = None
    band: str | None = None
    owner: int | None = None
    q: str | None = None


class ApplicationIn(Schema):
    customer_id: int
    requested_amount: Decimal
    requested_term_days: int
    expected_sales: Decimal | None = None
    reason: str
    override: bool = False
    override_reason: str = ""


class ActionIn(Schema):
    comment: str = ""
    approved_amount: Decimal | None = None
    approved_term_days: int | None = None
    override: bool = False
    override_reason: str = ""
    expected_state: str | None = None


class ActionOut(Schema):
    key: str
    label: str
    comment_required: bool


class FindingIn(Schema):
    channel: str
    findings: str


class ConclusionIn(Schema):
    conclusion: str


class AllowanceOut(Schema):
    credit_class: str
    rated: bool
    grade: str
    max_amount: Decimal | None
    max_term_days: int
    current_amount: Decimal | None
    text: str
    policy_version_id: int | None


@applications_router.get("/", response=list[ApplicationRow], summary="List credit applications")
@paginate(PageNumberPagination, page_size=50)
def list_applications(request: HttpRequest, filters: Query[ApplicationFilters]) -> Any:
    return selectors.applications(actor=request.user, filters=filters.dict(exclude_none=True)).order_by("-pk")  # type: ignore[arg-type]


@applications_router.post("/", response={201: ApplicationOut}, summary="Apply for a credit limit (draft)")
def create_application(request: HttpRequest, payload: ApplicationIn) -> Any:
    data = payload.dict()
    app = services.application_create(actor=request.user, customer_id=data.pop("customer_id"), **data)  # type: ignore[arg-type]
    app = services.application_get(actor=request.user, application_id=app.pk)  # type: ignore[arg-type]
    return Status(201, _detail(app, request.user))


@applications_router.get(
    "/allowance/{customer_id}", response=AllowanceOut, summary="What the class policy allows"
)
def allowance(request: HttpRequest, customer_id: int) -> Any:
    customer = access.get_scoped(
        request.user, "limits.application.view", Customer.objects.all(), pk=customer_id
    )
    return services.allowance(customer).__dict__


@applications_router.get("/{application_id}", response=ApplicationOut, summary="One application")
def get_application(request: HttpRequest, application_id: int) -> Any:
    app = services.application_get(actor=request.user, application_id=application_id)  # type: ignore[arg-type]
    return _detail(app, request.user)


@applications_router.get(
    "/{application_id}/actions", response=list[ActionOut], summary="Actions I may take now"
)
def actions(request: HttpRequest, application_id: int) -> Any:
    app = services.application_get(actor=request.user, application_id=application_id)  # type: ignore[arg-type]
    if app.case is None:
        return []
    return [
        {"key": t.key, "label": str(t.label), "comment_required": t.comment_required}
        for t in engine.allowed_transitions(app.case, request.user)
    ]


@applications_router.post(
    "/{application_id}/actions/{action}",
    response=ApplicationOut,
    summary="Take an action (through the engine)",
)
def act(request: HttpRequest, application_id: int, action: str, payload: ActionIn) -> Any:
    app = services.application_act(
        actor=request.user,  # type: ignore[arg-type]
        application_id=application_id,
        transition=action,
        **payload.dict(),
    )
    return _detail(app, request.user)


@applications_router.post(
    "/{application_id}/findings", response=FindingOut, summary="Record a channel's findings"
)
def add_finding(request: HttpRequest, application_id: int, payload: FindingIn) -> Any:
    row = services.finding_save(actor=request.user, application_id=application_id, **payload.dict())  # type: ignore[arg-type]
    return {
        "channel": row.channel,
        "findings": row.findings,
        "recorded_by": row.recorded_by.username,
        "recorded_at": row.recorded_at,
    }


@applications_router.put(
    "/{application_id}/conclusion", response=ApplicationOut, summary="Analysis conclusion"
)
def conclusion(request: HttpRequest, application_id: int, payload: ConclusionIn) -> Any:
    services.conclusion_save(actor=request.user, application_id=application_id, **payload.dict())  # type: ignore[arg-type]
    app = services.application_get(actor=request.user, application_id=application_id)  # type: ignore[arg-type]
    return _detail(app, request.user)


class LimitOut(Schema):
    id: int
    customer_id: int
    customer: str
    amount: Decimal
    currency: str
    term_days: int
    credit_class: str
    terms_level: str
    valid_from: dt.date
    valid_to: dt.date | None
    next_review_on: dt.date | None
    letter_number: str

    @staticmethod
    def resolve_customer(obj: Any) -> str:
        return obj.customer.name


class CustomerLimitOut(Schema):
    customer_id: int
    limit: dict[str, Any] | None
    exposure: Decimal
    available: Decimal | None
    payment_terms_level: str


class LimitFilters(Schema):
    q: str | None = None
    credit_class: str | None = None
    review_within: int | None = None
    min_utilisation: Decimal | None = None


@limits_router.get("/", response=list[LimitOut], summary="Limits in force")
@paginate(PageNumberPagination, page_size=100)
def list_limits(request: HttpRequest, filters: Query[LimitFilters]) -> Any:
    actor: Any = request.user
    return selectors.limits_in_force(actor=actor, filters=filters.dict(exclude_none=True)).order_by("pk")


@limits_router.get(
    "/customer/{customer_id}", response=CustomerLimitOut, summary="A customer's limit and available"
)
def customer_limit(request: HttpRequest, customer_id: int) -> Any:
    access.require(request.user, "limits.limit.view")
    customer = access.get_scoped(request.user, "customer.view", Customer.objects.all(), pk=customer_id)
    view = interface.credit_limit(customer)
    from kehu.limits import adapters

    return {
        "customer_id": customer.pk,
        "limit": view.__dict__ if view else None,
        "exposure": adapters.credit_exposure(customer),
        "available": interface.credit_available(customer),
        "payment_terms_level": interface.payment_terms_level(customer),
    }


class ReviewOut(Schema):
    id: int
    customer_id: int
    trigger: str
    trigger_key: str
    reason: str
    context: dict[str, Any]
    due: dt.date
    decision: str
    decision_reason: str
    opened_at: dt.datetime


class ReviewFilters(Schema):
    state: str | None = None
    trigger: str | None = None
    q: str | None = None


class ReviewOpenIn(Schema):
    customer_id: int
    reason: str
    trigger: str = "manual"


class DecideIn(Schema):
    decision: str
    reason: str
    requested_amount: Decimal | None = None
    requested_term_days: int | None = None
    expected_sales: Decimal | None = None


class ReviewPages(PageNumberPagination):
    """Review rows carry the statements' ratios and the overdue data: each page read leaves one list-read entry
    (channel, rows, filters), as the review page logs its read."""

    def paginate_queryset(self, queryset: Any, pagination: Any, request: HttpRequest, **params: Any) -> Any:
        out = super().paginate_queryset(queryset, pagination, request, **params)
        rows = list(out[self.items_attribute])
        out[self.items_attribute] = rows
        actor: Any = request.user
        filters = {k: v for k, v in request.GET.items() if k not in ("page", "page_size")}
        with transaction.atomic():
            audit.record(
                actor=actor,
                action=AuditAction.READ,
                object_type=audit.object_type_of(CreditReview),
                object_repr=str(CreditReview._meta.verbose_name_plural),
                changes={"channel": "api", "rows": len(rows), **({"filters": filters} if filters else {})},
                confidential=True,
            )
        return out


@reviews_router.get(
    "/", response=list[ReviewOut], summary="Credit reviews (due, overdue, decided; read logged)"
)
@paginate(ReviewPages, page_size=100)
def list_reviews(request: HttpRequest, filters: Query[ReviewFilters]) -> Any:
    actor: Any = request.user
    return selectors.reviews(actor=actor, filters=filters.dict(exclude_none=True)).order_by("due", "pk")


@reviews_router.post(
    "/", response={201: ReviewOut}, summary="Open a review (manual, litigation, ownership...)"
)
def open_review(request: HttpRequest, payload: ReviewOpenIn) -> Any:
    customer = access.get_scoped(
        request.user, "limits.review.open", Customer.objects.all(), pk=payload.customer_id
    )
    from django.utils import timezone

    review, _created = services.review_open(
        customer=customer,
        reason=payload.reason,
        trigger=payload.trigger,
        key=timezone.now().isoformat(),
        actor=request.user,  # type: ignore[arg-type]
    )
    return Status(201, review)


@reviews_router.get("/{review_id}", response=ReviewOut, summary="One review (read logged)")
def get_review(request: HttpRequest, review_id: int) -> CreditReview:
    actor: Any = request.user
    review = services.review_get(actor=actor, review_id=review_id)
    with transaction.atomic():
        audit.record_read(actor, review, channel="api")
    return review


@reviews_router.post(
    "/{review_id}/decision", response=ReviewOut, summary="Keep, change (new application), suspend"
)
def decide(request: HttpRequest, review_id: int, payload: DecideIn) -> Any:
    return services.review_decide(actor=request.user, review_id=review_id, **payload.dict())  # type: ignore[arg-type]
