"""Orders API (R-ORD-01, R-ORD-02, R-CRD-05): /api/v1/orders (create, read, list), /api/v1/orders/{id}/submit,
/release, /cancel, /amend, /reopen, /copy, and /api/v1/orders/holds (the credit hold queue). The same services
and selectors as the pages, so the same refusals (403 where the page answers 403). Errors name the field by its
key (``lines[1].quantity``) in ``detail.field`` and in words in ``message``."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from kehu.orders import review as review_flow
from kehu.orders import selectors, services
from kehu.orders.models import Order

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

    @staticmethod
    def resolve_customer(obj: Order) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_owner(obj: Order) -> str:
        return obj.owner.username


class OrderOut(OrderRow):
    customer_ref: str
    notes: str
    copied_from_id: int | None
    lines: list[LineOut]
    checks: list[CheckOut]
    holds: list[HoldOut]

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


@router.get("/{order_id}", response=OrderOut, summary="One order with its checks and holds")
def get_order(request: HttpRequest, order_id: int) -> Any:
    return _payload(selectors.order_get(actor=request.user, order_id=order_id))


def _done(request: HttpRequest, order: Order) -> Any:
    return _payload(selectors.order_get(actor=request.user, order_id=order.pk))


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
    expected_state: str | None = None


@router.post(
    "/{order_id}/review/{transition}", response=OrderOut, summary="Take a step of the order review (opinion)"
)
def review_step(request: HttpRequest, order_id: int, transition: str, payload: ReviewIn) -> Any:
    """A step of the order review (R-ORD-03, R-ORD-04): ``content_pass``, ``sales_pass``, ``purchasing_pass``,
    ``logistics_pass``, ``finance_pass``, ``approve``, ``reject``, ``send_back``. ``expected_state`` is the step the
    caller saw (409 when another reviewer decided first). 403 when the step is not the caller's."""
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
