"""Contact-log API (R-CUS-12), mounted under /api/v1/customers:

* ``GET/POST /customers/{id}/contact-logs`` — one customer's contact log; log a contact
* ``GET/PATCH /customers/{id}/contact-logs/{log_id}`` — one contact log; correct it (with a reason)
* ``POST /customers/{id}/contact-logs/{log_id}/done`` — the next step is done (its inbox task closes)
* ``GET /customers/contact-logs`` — every contact log the caller may see, with filters
* ``GET /customers/contact-gaps`` — the open contact gaps (customers overdue for a contact)

All scoped by the access layer: a customer outside the caller's scope answers 404.
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from kehu.core.models import User
from kehu.customers import contactlog
from kehu.customers.models import ContactGap, ContactLog

router = Router()


class ContactLogOut(Schema):
    id: int
    customer_id: int
    customer: str = Field(description="customer name")
    channel: str
    contacted_at: dt.datetime
    staff: str = Field(description="username of our person")
    contact_id: int | None
    contact_name: str
    summary: str
    next_step: str
    next_step_due: dt.date | None
    next_step_open: bool = Field(description="the next step's inbox task is still open")
    recorded_by: str
    recorded_at: dt.datetime

    @staticmethod
    def resolve_customer(obj: ContactLog) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_staff(obj: ContactLog) -> str:
        return obj.staff.username

    @staticmethod
    def resolve_recorded_by(obj: ContactLog) -> str:
        return obj.recorded_by.username

    @staticmethod
    def resolve_next_step_open(obj: ContactLog) -> bool:
        value = getattr(obj, "next_step_open", None)
        if value is None:
            value = obj.pk in contactlog.next_step_open_ids([obj])
        return bool(value)


class ContactLogIn(Schema):
    channel: str = Field(description="visit | call | letter | fax | email | meeting | other")
    contacted_at: dt.datetime | None = Field(None, description="when (default: now)")
    staff: str | None = Field(None, description="username of our person (default: you)")
    contact_id: int | None = Field(None, description="a contact of this customer")
    contact_name: str = Field("", description="the person contacted, when not a stored contact")
    summary: str = ""
    next_step: str = ""
    next_step_due: dt.date | None = Field(None, description="a due date makes the next step an inbox task")


class ContactLogPatch(Schema):
    reason: str = Field(description="why the record is corrected (kept in the audit trail)")
    channel: str | None = None
    contacted_at: dt.datetime | None = None
    staff: str | None = None
    contact_id: int | None = None
    contact_name: str | None = None
    summary: str | None = None
    next_step: str | None = None
    next_step_due: dt.date | None = None


class DoneIn(Schema):
    note: str = ""


class ContactLogFilters(Schema):
    customer: int | None = Field(None, description="customer id")
    q: str | None = Field(None, description="customer name or number")
    staff: str | None = Field(None, description="username of our person")
    channel: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    open_next_step: bool | None = Field(None, description="only logs whose next step is still open")


class ContactGapOut(Schema):
    id: int
    customer_id: int
    customer: str
    customer_class: str
    owner: str
    last_contact_on: dt.date | None
    due_on: dt.date
    interval_days: int
    raised_at: dt.datetime

    @staticmethod
    def resolve_customer(obj: ContactGap) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_customer_class(obj: ContactGap) -> str:
        return obj.customer.customer_class

    @staticmethod
    def resolve_owner(obj: ContactGap) -> str:
        return obj.customer.owner.username


def _actor(request: HttpRequest) -> Any:
    return request.user


def _user(username: str | None) -> User | int | None:
    """A username -> the user; an unknown name is passed on as an id that does not exist, so the service refuses
    it on the ``staff`` field."""
    if not username:
        return None
    return User.objects.filter(username=username).first() or -1


def _marked(logs: Any) -> list[ContactLog]:
    return contactlog.mark_next_step_state(list(logs))


class MarkedPagination(PageNumberPagination):
    """Page numbers; the page's logs get their next-step state in one query."""

    def paginate_queryset(self, queryset: Any, pagination: Any, request: HttpRequest, **params: Any) -> Any:
        out = super().paginate_queryset(queryset, pagination, request, **params)
        out[self.items_attribute] = _marked(out[self.items_attribute])
        return out


@router.get(
    "/contact-logs",
    response=list[ContactLogOut],
    summary="Contact logs of every customer you may see",
)
@paginate(MarkedPagination, page_size=50)
def contact_log_list(request: HttpRequest, filters: Query[ContactLogFilters]) -> Any:
    data = filters.dict(exclude_none=True)
    if "staff" in data:
        data["staff"] = getattr(_user(data["staff"]), "pk", -1)
    return contactlog.contact_log_list(actor=_actor(request), filters=data)


@router.get("/contact-gaps", response=list[ContactGapOut], summary="Open contact gaps (customers to contact)")
@paginate(PageNumberPagination, page_size=50)
def contact_gap_list(request: HttpRequest, q: str | None = None, customer_class: str | None = None) -> Any:
    return contactlog.contact_gap_list(
        actor=_actor(request), filters={"q": q or "", "customer_class": customer_class or ""}
    )


@router.get(
    "/{customer_id}/contact-logs",
    response=list[ContactLogOut],
    summary="Contact log of a customer, newest first",
)
@paginate(MarkedPagination, page_size=50)
def customer_contact_logs(request: HttpRequest, customer_id: int) -> Any:
    return contactlog.customer_contact_logs(actor=_actor(request), customer_id=customer_id)


@router.post("/{customer_id}/contact-logs", response={201: ContactLogOut}, summary="Log a contact")
def contact_log_create(request: HttpRequest, customer_id: int, payload: ContactLogIn) -> Any:
    log = contactlog.contact_log_create(
        actor=_actor(request),
        customer_id=customer_id,
        channel=payload.channel,
        contacted_at=payload.contacted_at or timezone.now(),
        staff=_user(payload.staff),
        contact=payload.contact_id,
        contact_name=payload.contact_name,
        summary=payload.summary,
        next_step=payload.next_step,
        next_step_due=payload.next_step_due,
    )
    return Status(201, contactlog.contact_log_get(actor=_actor(request), pk=log.pk))


@router.get("/{customer_id}/contact-logs/{log_id}", response=ContactLogOut, summary="One contact log")
def contact_log_get(request: HttpRequest, customer_id: int, log_id: int) -> Any:
    return contactlog.contact_log_get(actor=_actor(request), pk=log_id, customer_id=customer_id)


@router.patch(
    "/{customer_id}/contact-logs/{log_id}",
    response=ContactLogOut,
    summary="Correct a contact log (recorder or sales manager; reason required)",
)
def contact_log_update(request: HttpRequest, customer_id: int, log_id: int, payload: ContactLogPatch) -> Any:
    data = payload.dict(exclude_unset=True)
    reason = data.pop("reason", "")
    if "staff" in data:
        data["staff"] = _user(data["staff"])
    if "contact_id" in data:
        data["contact"] = data.pop("contact_id")
    contactlog.contact_log_update(
        actor=_actor(request), log_id=log_id, customer_id=customer_id, reason=reason, **data
    )
    return contactlog.contact_log_get(actor=_actor(request), pk=log_id, customer_id=customer_id)


@router.post(
    "/{customer_id}/contact-logs/{log_id}/done",
    response=ContactLogOut,
    summary="The next step is done (its inbox task closes)",
)
def contact_log_done(request: HttpRequest, customer_id: int, log_id: int, payload: DoneIn) -> Any:
    contactlog.contact_log_next_step_done(
        actor=_actor(request), log_id=log_id, customer_id=customer_id, note=payload.note
    )
    return contactlog.contact_log_get(actor=_actor(request), pk=log_id, customer_id=customer_id)
