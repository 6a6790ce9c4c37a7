"""Orders API (R-ORD-01..07, R-CRD-05): /api/v1/orders (create, read, list; ``status=open`` is the open order
list, A-grade rush orders first), /api/v1/orders/{id}/submit, /release, /cancel, /amend, /reopen, /copy,
/review/{transition}, execution (/assign, /deliveries, /invoices, /feedback), /api/v1/orders/holds (the credit
hold queue) and /api/v1/orders/errors (internal errors by department). The same services
and selectors as the pages, so the same refusals (403 where the page answers 403). Errors name the field by its
key (``lines[1].quantity``) in ``detail.field`` and in words in ``message``."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from kehu.orders import execution, selectors, services
from kehu.orders import review as review_flow
from kehu.orders.models import Delivery, Order

router = Router()


class LineIn(Schema):
    product_id: int | None = None
    product_code: str | None = None
    spec: str = ""
    quantity: Decimal | None = None
    unit: str = ""
    unit_price: Decimal | None = None
    discount: Decimal = Decimal("0")
    tax_rate: Decimal | None = None


class OrderIn(Schema):
    customer_id: int
    channel: str
    requested_date: dt.date
    payment_terms: str
    lines: list[LineIn]
    non_standard: bool = False
    customer_ref: str = ""
    notes: str = ""


class AmendIn(Schema):
    channel: str
    requested_date: dt.date
    payment_terms: str
    lines: list[LineIn]
    non_standard: bool = False
    customer_ref: str = ""
    notes: str = ""
    reason: str = ""
    cause: str = ""
    department_id: int | None = None
    person_id: int | None = None


class ReasonIn(Schema):
    reason: str


class CopyIn(Schema):
    requested_date: dt.date | None = None
    submit: bool = False


class LineOut(Schema):
    position: int
    product_id: int | None
    product_code: str
    spec: str
    quantity: Decimal | None
    unit: str
    unit_price: Decimal | None
    discount: Decimal
    tax_rate: Decimal | None
    net_amount: Decimal
    tax_amount: Decimal
    amount: Decimal

    @staticmethod
    def resolve_product_code(obj: Any) -> str:
        return obj.product.code if obj.product_id else ""


class CheckOut(Schema):
    key: str
    passed: bool
    reason: str
    figures: dict[str, Any]
    policy_versions: dict[str, Any]


class HoldOut(Schema):
    excess: Decimal
    overdue_days: int
    required_role: str
    reason: str
    open: bool
    created_at: dt.datetime
    released_by: str
    released_at: dt.datetime | None
    release_reason: str

    @staticmethod
    def resolve_released_by(obj: Any) -> str:
        return obj.released_by.username if obj.released_by_id else ""


class OrderRow(Schema):
    id: int
    number: str
    customer_id: int
    customer: str
    owner: str
    channel: str
    status: str
    on_hold: bool
    requested_date: dt.date
    payment_terms: str
    non_standard: bool
    currency: str
    net_amount: Decimal
    tax_amount: Decimal
    total_amount: Decimal
    counted_amount: Decimal
    check_run: int
    checks_passed: bool | None
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    grade: str
    rush: bool
    priority: int
    responsible: str
    delivered_amount: Decimal
    invoiced_amount: Decimal
    unbilled_amount: Decimal

    @staticmethod
    def resolve_customer(obj: Order) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_owner(obj: Order) -> str:
        return obj.owner.username

    @staticmethod
    def resolve_responsible(obj: Order) -> str:
        return obj.responsible.username if obj.responsible is not None else ""


class NoticeOut(Schema):
    number: str
    responsible: str
    delivery_deadline: dt.date
    quality_requirements: str
    production_plan: str
    issued_by: str
    issued_at: dt.datetime

    @staticmethod
    def resolve_responsible(obj: Any) -> str:
        return obj.responsible.username

    @staticmethod
    def resolve_issued_by(obj: Any) -> str:
        return obj.issued_by.username


class DeliveryLineOut(Schema):
    line_id: int
    position: int
    quantity: Decimal
    amount: Decimal

    @staticmethod
    def resolve_line_id(obj: Any) -> int:
        return int(obj.order_line_id)

    @staticmethod
    def resolve_position(obj: Any) -> int:
        return int(obj.order_line.position)


class DeliveryOut(Schema):
    id: int
    number: str
    delivered_on: dt.date
    amount: Decimal
    note: str
    lines: list[DeliveryLineOut]

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())


class InvoiceOut(Schema):
    id: int
    number: str
    invoiced_on: dt.date
    due_date: dt.date
    amount: Decimal
    entry_id: int


class AmendmentOut(Schema):
    status_before: str
    after_approval: bool
    cause: str
    department: str
    person: str
    reason: str
    changes: dict[str, Any]
    total_before: Decimal
    total_after: Decimal
    amended_by: str
    amended_at: dt.datetime

    @staticmethod
    def resolve_department(obj: Any) -> str:
        return obj.department.name if obj.department_id else ""

    @staticmethod
    def resolve_person(obj: Any) -> str:
        return obj.person.username if obj.person_id else ""

    @staticmethod
    def resolve_amended_by(obj: Any) -> str:
        return obj.amended_by.username


class FeedbackOut(Schema):
    kind: str
    rating: int | None
    content: str
    recorded_by: str
    recorded_at: dt.datetime

    @staticmethod
    def resolve_recorded_by(obj: Any) -> str:
        return obj.recorded_by.username


class OrderOut(OrderRow):
    customer_ref: str
    notes: str
    copied_from_id: int | None
    lines: list[LineOut]
    checks: list[CheckOut]
    holds: list[HoldOut]
    notices: list[NoticeOut]
    deliveries: list[DeliveryOut]
    invoices: list[InvoiceOut]
    amendments: list[AmendmentOut]
    feedback: list[FeedbackOut]
    retain_until: dt.date | None

    @staticmethod
    def resolve_notices(obj: Order) -> list[Any]:
        return execution.order_notices(obj)

    @staticmethod
    def resolve_deliveries(obj: Order) -> list[Any]:
        return execution.order_deliveries(obj)

    @staticmethod
    def resolve_invoices(obj: Order) -> list[Any]:
        return execution.order_invoices(obj)

    @staticmethod
    def resolve_amendments(obj: Order) -> list[Any]:
        return execution.order_amendments(obj)

    @staticmethod
    def resolve_feedback(obj: Order) -> list[Any]:
        return execution.order_feedback(obj)

    @staticmethod
    def resolve_retain_until(obj: Order) -> dt.date | None:
        return execution.retain_until(obj)

    @staticmethod
    def resolve_lines(obj: Order) -> list[Any]:
        return selectors.order_lines(obj)

    @staticmethod
    def resolve_checks(obj: Order) -> list[Any]:
        return selectors.order_checks(obj)

    @staticmethod
    def resolve_holds(obj: Order) -> list[Any]:
        return selectors.order_holds(obj)


class Filters(Schema):
    status: str | None = None
    hold: str | None = None
    customer: int | None = None
    owner: int | None = None
    overdue: str | None = None
    q: str | None = None


class HoldRow(Schema):
    order_id: int
    number: str
    customer: str
    total_amount: Decimal
    excess: Decimal
    overdue_days: int
    required_role: str
    reason: str
    created_at: dt.datetime
    can_release: bool

    @staticmethod
    def resolve_number(obj: Any) -> str:
        return obj.order.number

    @staticmethod
    def resolve_customer(obj: Any) -> str:
        return obj.order.customer.name

    @staticmethod
    def resolve_total_amount(obj: Any) -> Decimal:
        return obj.order.total_amount


def _payload(order: Order) -> Order:
    return order


def _lines(payload: Any) -> list[dict[str, Any]]:
    return [x.dict() for x in payload.lines]


@router.get("/", response=list[OrderRow], summary="List orders")
@paginate(PageNumberPagination, page_size=50)
def list_orders(request: HttpRequest, filters: Query[Filters]) -> Any:
    """Orders within the caller's scope; 403 without the view permission."""
    return selectors.order_list(actor=request.user, filters=filters.dict(exclude_none=True))


@router.post("/", response={201: OrderOut}, summary="Enter an order (draft)")
def create_order(request: HttpRequest, payload: OrderIn) -> Any:
    data = payload.dict()
    data["lines"] = _lines(payload)
    order = services.order_create(actor=request.user, customer_id=data.pop("customer_id"), **data)
    return Status(201, _payload(selectors.order_get(actor=request.user, order_id=order.pk)))


class ProductOut(Schema):
    id: int
    code: str
    name: str
    spec: str
    unit: str
    control_price: Decimal
    tax_rate: Decimal
    scope: str
    active: bool


@router.get("/products", response=list[ProductOut], summary="The product catalogue")
@paginate(PageNumberPagination, page_size=100)
def products(request: HttpRequest) -> Any:
    return selectors.product_list(actor=request.user).order_by("code")


@router.get("/holds", response=list[HoldRow], summary="Open credit holds in my release scope")
@paginate(PageNumberPagination, page_size=50)
def holds(request: HttpRequest) -> Any:
    """Open holds within the caller's release scope; ``can_release`` says whether the caller's authority covers
    the role the hold asked for (checked again on the excess at release). 403 without the release permission."""
    return selectors.hold_queue(actor=request.user)


class ErrorRow(Schema):
    department_id: int
    department: str
    errors: int
    orders: int
    people: int
    changed: Decimal | None
    latest: dt.datetime | None
    repeated: bool

    @staticmethod
    def resolve_department_id(obj: Any) -> int:
        return int(obj.pk)

    @staticmethod
    def resolve_department(obj: Any) -> str:
        return str(obj.name)


class ErrorFilters(Schema):
    start: dt.date | None = None
    end: dt.date | None = None


@router.get("/errors", response=list[ErrorRow], summary="Internal errors after approval by department")
def errors(request: HttpRequest, filters: Query[ErrorFilters]) -> Any:
    """R-ORD-07: amendments after approval that corrected an internal error, counted by the department that
    answers for them in the period (default: the policy's window up to today); ``repeated`` marks departments at
    or above the policy's count. 403 without ``orders.errors.view``."""
    return list(execution.error_report(actor=request.user, start=filters.start, end=filters.end))


@router.get(
    "/{order_id}", response=OrderOut, summary="One order with its checks, holds, review and execution"
)
def get_order(request: HttpRequest, order_id: int) -> Any:
    return _payload(selectors.order_get_for_review(actor=request.user, order_id=order_id))


def _done(request: HttpRequest, order: Order) -> Any:
    return _payload(selectors.order_get_for_review(actor=request.user, order_id=order.pk))


@router.post("/{order_id}/submit", response=OrderOut, summary="Submit: automatic checks and credit check")
def submit(request: HttpRequest, order_id: int) -> Any:
    return _done(request, services.order_submit(actor=request.user, order_id=order_id))


@router.post("/{order_id}/release", response=OrderOut, summary="Release a credit hold")
def release(request: HttpRequest, order_id: int, payload: ReasonIn) -> Any:
    return _done(
        request, services.order_release(actor=request.user, order_id=order_id, reason=payload.reason)
    )


@router.post("/{order_id}/cancel", response=OrderOut, summary="Cancel an order")
def cancel(request: HttpRequest, order_id: int, payload: ReasonIn) -> Any:
    return _done(request, services.order_cancel(actor=request.user, order_id=order_id, reason=payload.reason))


@router.post("/{order_id}/reopen", response=OrderOut, summary="Reopen a cancelled order (checks run again)")
def reopen(request: HttpRequest, order_id: int, payload: ReasonIn) -> Any:
    return _done(request, services.order_reopen(actor=request.user, order_id=order_id, reason=payload.reason))


@router.post(
    "/{order_id}/amend", response=OrderOut, summary="Change an order (submitted ones are checked again)"
)
def amend(request: HttpRequest, order_id: int, payload: AmendIn) -> Any:
    data = payload.dict()
    data["lines"] = _lines(payload)
    return _done(request, services.order_update(actor=request.user, order_id=order_id, **data))


class ReviewIn(Schema):
    comment: str = ""
    expected_state: str


@router.post(
    "/{order_id}/review/{transition}", response=OrderOut, summary="Take a step of the order review (opinion)"
)
def review_step(request: HttpRequest, order_id: int, transition: str, payload: ReviewIn) -> Any:
    """A step of the order review (R-ORD-03, R-ORD-04): ``content_pass``, ``sales_pass``, ``purchasing_pass``,
    ``logistics_pass``, ``finance_pass``, ``approve``, ``reject``, ``send_back``. ``expected_state`` (required) is the
    step the caller saw: 409 when another reviewer decided first, so a decision never lands on a later step its
    author did not see. 403 when the step is not the caller's."""
    order = review_flow.order_review(
        actor=request.user,
        order_id=order_id,
        transition=transition,
        comment=payload.comment,
        expected_state=payload.expected_state,
    )
    return _payload(order)


@router.post("/{order_id}/copy", response={201: OrderOut}, summary="Copy an order into a new draft")
def copy(request: HttpRequest, order_id: int, payload: CopyIn) -> Any:
    new = services.order_copy(
        actor=request.user, order_id=order_id, requested_date=payload.requested_date, submit=payload.submit
    )
    return Status(201, _payload(selectors.order_get(actor=request.user, order_id=new.pk)))


# ---------------------------------------------------------------------------------------------------------------
# Execution (R-ORD-05)


class NoticeIn(Schema):
    responsible_id: int
    delivery_deadline: dt.date
    quality_requirements: str
    production_plan: str = ""


class DeliveryLineIn(Schema):
    line_id: int
    quantity: Decimal


class DeliveryIn(Schema):
    delivered_on: dt.date
    lines: list[DeliveryLineIn]
    note: str = ""


class InvoiceIn(Schema):
    number: str
    invoiced_on: dt.date
    amount: Decimal | None = None
    due_date: dt.date | None = None


class FeedbackIn(Schema):
    kind: str
    content: str
    rating: int | None = None


@router.post(
    "/{order_id}/assign", response=OrderOut, summary="Issue the execution notice (responsible person)"
)
def assign(request: HttpRequest, order_id: int, payload: NoticeIn) -> Any:
    """An approved order goes to execution: responsible person, delivery deadline (not after the requested
    date), quality requirements. A new notice supersedes the earlier one. 403 without ``orders.order.assign``."""
    notice = execution.order_assign(actor=request.user, order_id=order_id, **payload.dict())
    return _done(request, notice.order)


@router.get("/{order_id}/deliveries", response=list[DeliveryOut], summary="The deliveries of an order")
def deliveries(request: HttpRequest, order_id: int) -> Any:
    return execution.order_deliveries(selectors.order_get_for_review(actor=request.user, order_id=order_id))


@router.post(
    "/{order_id}/deliveries", response={201: DeliveryOut}, summary="Record a delivery (partial allowed)"
)
def deliver(request: HttpRequest, order_id: int, payload: DeliveryIn) -> Any:
    """Quantities per order line, at most what is left to deliver; the amount moves from the approved open order
    to the unbilled deliveries of the customer's exposure. The order's editors and its responsible person."""
    delivery = execution.delivery_post(
        actor=request.user,
        order_id=order_id,
        delivered_on=payload.delivered_on,
        lines=[x.dict() for x in payload.lines],
        note=payload.note,
    )
    return Status(201, Delivery.objects.prefetch_related("lines__order_line").get(pk=delivery.pk))


@router.get("/{order_id}/invoices", response=list[InvoiceOut], summary="The invoices of an order")
def invoices(request: HttpRequest, order_id: int) -> Any:
    return execution.order_invoices(selectors.order_get_for_review(actor=request.user, order_id=order_id))


@router.post("/{order_id}/invoices", response={201: InvoiceOut}, summary="Invoice delivered goods")
def invoice(request: HttpRequest, order_id: int, payload: InvoiceIn) -> Any:
    """Posts the invoice to the receivables ledger (default amount: all delivered and not invoiced; default due
    date: the payment terms' days of policy ``orders.execution``); the amount leaves the unbilled deliveries.
    Finance (``orders.invoice.post`` and ``receivables.post``)."""
    return Status(201, execution.order_invoice(actor=request.user, order_id=order_id, **payload.dict()))


@router.post("/{order_id}/feedback", response={201: FeedbackOut}, summary="Record the customer's feedback")
def feedback(request: HttpRequest, order_id: int, payload: FeedbackIn) -> Any:
    return Status(201, execution.feedback_add(actor=request.user, order_id=order_id, **payload.dict()))
