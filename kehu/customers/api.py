"""Customer API (R-CUS-01..03, 07..09, 11, 14): /api/v1/customers with the list filters, create (with the
duplicate check: 409 ``duplicate_candidates`` lists the candidates; repeat with ``confirm_duplicates``), read,
update, lifecycle actions, contacts and staff."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from kehu.core.errors import NotFound, ValidationFailed
from kehu.core.models import User
from kehu.customers import selectors, services
from kehu.customers.models import Contact, Customer, CustomerChange

router = Router()


class ContactOut(Schema):
    id: int
    name: str
    role: str
    title: str
    mobile: str
    phone: str
    email: str
    is_signer: bool
    signer_valid_until: dt.date | None
    notes: str
    active: bool


class ChangeOut(Schema):
    field: str
    old: str
    new: str
    changed_on: dt.date
    source: str
    source_note: str


class CustomerRow(Schema):
    id: int
    number: str
    name: str
    credit_code: str
    customer_class: str
    kind: str
    status: str
    ended_reason: str
    industry: str
    owner: str = Field(description="username of the owner")
    region: str | None = Field(None, description="region code")
    city: str

    @staticmethod
    def resolve_owner(obj: Customer) -> str:
        return obj.owner.username

    @staticmethod
    def resolve_region(obj: Customer) -> str | None:
        return obj.region.code if obj.region else None


class CustomerOut(CustomerRow):
    is_person: bool
    enterprise_type: str
    legal_representative: str
    chairman: str
    general_manager: str
    registered_capital: Decimal | None
    capital_currency: str
    founded_on: dt.date | None
    operating_from: dt.date | None
    operating_to: dt.date | None
    licence_valid_until: dt.date | None
    issuing_authority: str
    business_scope: str
    province: str
    registered_address: str
    office_address: str
    postcode: str
    phone: str
    fax: str
    website: str
    certifications: str
    bank_name: str
    bank_account: str
    invoice_title: str
    tax_number: str
    notes: str
    department: str | None = Field(None, description="department code")
    staff: list[str] = Field(description="usernames of the assigned staff")
    former_names: list[str]
    contacts: list[ContactOut]
    changes: list[ChangeOut]

    @staticmethod
    def resolve_department(obj: Customer) -> str | None:
        return obj.department.code if obj.department else None

    @staticmethod
    def resolve_staff(obj: Customer) -> list[str]:
        return sorted(u.username for u in obj.staff.all())

    @staticmethod
    def resolve_former_names(obj: Customer) -> list[str]:
        return selectors.former_names(obj)

    @staticmethod
    def resolve_contacts(obj: Customer) -> list[Contact]:
        return list(obj.contacts.order_by("pk"))

    @staticmethod
    def resolve_changes(obj: Customer) -> list[CustomerChange]:
        return list(selectors.customer_timeline(obj))


class CustomerFilters(Schema):
    q: str | None = Field(
        None, description="name, former names, pinyin initials, number, credit code, contacts"
    )
    status: str | None = Field(None, description="status; ended customers only when asked for")
    customer_class: str | None = None
    kind: str | None = None
    industry: str | None = None
    region: int | None = Field(None, description="region id")
    owner: int | None = Field(None, description="owner user id")
    documents: str | None = Field(None, description="document state: valid, expiring, expired, missing")
    sort: str | None = Field(
        None, description="number, name, status, customer_class, created_at; '-' for descending"
    )


class MasterData(Schema):
    is_person: bool | None = None
    kind: str | None = None
    customer_class: str | None = None
    industry: str | None = None
    enterprise_type: str | None = None
    legal_representative: str | None = None
    chairman: str | None = None
    general_manager: str | None = None
    registered_capital: Decimal | None = None
    capital_currency: str | None = None
    founded_on: dt.date | None = None
    operating_from: dt.date | None = None
    operating_to: dt.date | None = None
    licence_valid_until: dt.date | None = None
    issuing_authority: str | None = None
    business_scope: str | None = None
    province: str | None = None
    city: str | None = None
    registered_address: str | None = None
    office_address: str | None = None
    postcode: str | None = None
    phone: str | None = None
    fax: str | None = None
    website: str | None = None
    certifications: str | None = None
    bank_name: str | None = None
    bank_account: str | None = None
    invoice_title: str | None = None
    tax_number: str | None = None
    notes: str | None = None


class CustomerIn(MasterData):
    name: str
    credit_code: str = ""
    owner: str | None = Field(None, description="username of the owner (default: you)")
    staff: list[str] = Field([], description="usernames of further assigned staff")
    confirm_duplicates: bool = Field(False, description="create although near-identical names exist")


class CustomerPatch(MasterData):
    name: str | None = None
    credit_code: str | None = None
    owner: str | None = Field(None, description="username of the new owner")
    source: str = Field(
        "manual", description="source of the change: manual, licence, registry, customer, ..."
    )
    source_note: str = ""
    changed_on: dt.date | None = None


class TransitionIn(Schema):
    reason: str
    ended_reason: str = Field("", description="trade_suspended | trade_past (for 'end')")


class ContactIn(Schema):
    name: str
    role: str = "other"
    title: str = ""
    mobile: str = ""
    phone: str = ""
    email: str = ""
    is_signer: bool = False
    signer_valid_until: dt.date | None = None
    notes: str = ""
    active: bool = True


class ContactPatch(Schema):
    name: str | None = None
    role: str | None = None
    title: str | None = None
    mobile: str | None = None
    phone: str | None = None
    email: str | None = None
    is_signer: bool | None = None
    signer_valid_until: dt.date | None = None
    notes: str | None = None
    active: bool | None = None


class StaffIn(Schema):
    staff: list[str]
    reason: str = ""


def _actor(request: HttpRequest) -> Any:
    """The signed-in user (session) or the token's user (bearer)."""
    return request.user


def _user(username: str | None, field: str) -> User | None:
    if not username:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationFailed(_("用户 %(u)s 不存在或已停用。") % {"u": username}, field=field, rule="exists")
    return user


def _detail(request: HttpRequest, pk: int) -> Customer:
    return selectors.customer_get(actor=_actor(request), pk=pk)


SORTS = {"number", "name", "status", "customer_class", "created_at"}


@router.get("", response=list[CustomerRow], summary="Customers within your scope (ended ones only by status)")
@paginate(PageNumberPagination, page_size=50)
def customer_list(request: HttpRequest, filters: Query[CustomerFilters]) -> Any:
    data = filters.dict(exclude_none=True)
    sort = data.pop("sort", "number")
    if sort.lstrip("-") not in SORTS:
        sort = "number"
    return selectors.customer_list(actor=_actor(request), filters=data).order_by(sort, "pk")


@router.post("", response={201: CustomerOut}, summary="Create a customer (duplicate check first)")
def customer_create(request: HttpRequest, payload: CustomerIn) -> Any:
    data = payload.dict(exclude_none=True)
    owner = _user(data.pop("owner", None), "owner")
    staff = [u for u in (_user(n, "staff") for n in data.pop("staff", [])) if u is not None]
    confirm = data.pop("confirm_duplicates", False)
    c = services.customer_create(
        actor=_actor(request), owner=owner, staff=staff, confirm_duplicates=confirm, **data
    )
    return Status(201, _detail(request, c.pk))


@router.get("/{int:customer_id}", response=CustomerOut, summary="One dossier (404 outside your scope)")
def customer_get(request: HttpRequest, customer_id: int) -> Any:
    return _detail(request, customer_id)


@router.patch(
    "/{int:customer_id}", response=CustomerOut, summary="Change master data (significant changes recorded)"
)
def customer_update(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> Any:
    data = payload.dict(exclude_unset=True)
    owner = _user(data.pop("owner", None), "owner")
    services.customer_update(actor=_actor(request), customer_id=customer_id, owner=owner, **data)
    return _detail(request, customer_id)


@router.post(
    "/{customer_id}/lifecycle/{action}",
    response=CustomerOut,
    summary="submit_review | return | activate | suspend | reactivate | end",
)
def customer_transition(request: HttpRequest, customer_id: int, action: str, payload: TransitionIn) -> Any:
    if action not in services.TRANSITIONS:
        raise NotFound()
    services.customer_transition(
        actor=_actor(request),
        customer_id=customer_id,
        action=action,
        reason=payload.reason,
        ended_reason=payload.ended_reason,
    )
    return _detail(request, customer_id)


@router.get("/{customer_id}/contacts", response=list[ContactOut], summary="Contacts of a customer")
def contact_list(request: HttpRequest, customer_id: int) -> Any:
    return list(_detail(request, customer_id).contacts.order_by("pk"))


@router.post("/{customer_id}/contacts", response={201: ContactOut}, summary="Add a contact")
def contact_add(request: HttpRequest, customer_id: int, payload: ContactIn) -> Any:
    return Status(201, services.contact_add(actor=_actor(request), customer_id=customer_id, **payload.dict()))


@router.patch("/{customer_id}/contacts/{contact_id}", response=ContactOut, summary="Change a contact")
def contact_update(request: HttpRequest, customer_id: int, contact_id: int, payload: ContactPatch) -> Any:
    return services.contact_update(
        actor=_actor(request),
        customer_id=customer_id,
        contact_id=contact_id,
        **payload.dict(exclude_unset=True),
    )


@router.put("/{customer_id}/staff", response=CustomerOut, summary="Replace the assigned staff (owner stays)")
def staff_set(request: HttpRequest, customer_id: int, payload: StaffIn) -> Any:
    staff = [u for u in (_user(n, "staff") for n in payload.staff) if u is not None]
    services.customer_set_staff(
        actor=_actor(request), customer_id=customer_id, staff=staff, reason=payload.reason
    )
    return _detail(request, customer_id)


from kehu.customers.api_handover import router as handover_router  # noqa: E402

router.add_router("", handover_router)

from kehu.customers.api_contactlog import router as contactlog_router  # noqa: E402

router.add_router("", contactlog_router)

from kehu.customers.api_import import router as import_router  # noqa: E402

router.add_router("", import_router)

from kehu.customers.api_documents import router as documents_router  # noqa: E402

router.add_router("", documents_router)
