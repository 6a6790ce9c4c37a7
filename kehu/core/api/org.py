"""Organisation API (R-PLT-01, R-PLT-03): users, departments, regions, absences, and the signed-in user."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from kehu.core import access, org
from kehu.core.errors import NotFound, ValidationFailed
from kehu.core.models import Absence, Department, Region, User

router = Router()


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    employee_no: str
    email: str
    phone: str
    department: str | None = Field(None, description="department code")
    region: str | None = Field(None, description="region code")
    roles: list[str]
    backup: str | None = Field(None, description="username of the AB backup")
    is_active: bool

    @staticmethod
    def resolve_department(obj: User) -> str | None:
        return obj.department.code if obj.department else None

    @staticmethod
    def resolve_region(obj: User) -> str | None:
        return obj.region.code if obj.region else None

    @staticmethod
    def resolve_roles(obj: User) -> list[str]:
        return sorted(r.code for r in obj.roles.all())

    @staticmethod
    def resolve_backup(obj: User) -> str | None:
        return obj.backup.username if obj.backup else None


class MeOut(UserOut):
    actions: list[str] = Field(description="access actions the user holds")
    acting_for: list[str] = Field(description="usernames whose tasks this user receives now (AB backup)")
    language: str


class UserFilters(Schema):
    q: str | None = Field(None, description="text in username, name, e-mail, phone")
    department: int | None = Field(None, description="department id (its subtree is included)")
    region: int | None = None
    role: str | None = Field(None, description="role code")
    active: bool | None = None


class UserIn(Schema):
    username: str
    display_name: str = ""
    employee_no: str = ""
    email: str = ""
    phone: str = ""
    department: str | None = Field(None, description="department code")
    region: str | None = Field(None, description="region code")
    roles: list[str] = []
    backup: str | None = Field(None, description="username of the AB backup")
    password: str | None = None


class UserPatch(Schema):
    display_name: str | None = None
    employee_no: str | None = None
    email: str | None = None
    phone: str | None = None
    department: str | None = Field(None, description="department code; empty string clears")
    region: str | None = Field(None, description="region code; empty string clears")
    roles: list[str] | None = None
    backup: str | None = Field(None, description="username; empty string clears")
    is_active: bool | None = None


class DepartmentOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    parent: int | None = Field(None, alias="parent_id")
    head: str | None = None
    path: str
    active: bool

    @staticmethod
    def resolve_head(obj: Department) -> str | None:
        return obj.head.username if obj.head else None


class RegionOut(Schema):
    id: int
    code: str
    name: str
    active: bool


class AbsenceOut(Schema):
    id: int
    user: str
    start: dt.datetime
    end: dt.datetime
    reason: str
    cancelled: bool
    backup: str | None = Field(None, description="who receives the user's tasks during the absence")

    @staticmethod
    def resolve_user(obj: Absence) -> str:
        return obj.user.username

    @staticmethod
    def resolve_backup(obj: Absence) -> str | None:
        return obj.user.backup.username if obj.user.backup else None


class AbsenceIn(Schema):
    user: str | None = Field(None, description="username; default: yourself")
    start: dt.datetime
    end: dt.datetime
    reason: str = ""


class AbsenceFilters(Schema):
    state: str | None = Field(None, description="current, upcoming, past or cancelled")


def _by_code(model: type[Department] | type[Region], code: str | None, field: str) -> Any:
    if not code:
        return None
    obj = model.objects.filter(code__iexact=code).first()
    if obj is None:
        raise ValidationFailed(_("代码 %(code)s 不存在。") % {"code": code}, field=field, rule="exists")
    return obj


def _user_by_name(name: str | None, field: str) -> User | None:
    if not name:
        return None
    found = User.objects.filter(username__iexact=name).first()
    if found is None:
        raise ValidationFailed(_("用户 %(name)s 不存在。") % {"name": name}, field=field, rule="exists")
    return found


@router.get("/me", response=MeOut, summary="The signed-in user")
def me(request: HttpRequest) -> Any:
    user: Any = request.user
    full = org.user_get(actor=user, pk=user.pk)
    full.actions = [a for a in access.actions() if access.can(user, a)]  # type: ignore[attr-defined]
    full.acting_for = [u.username for u in org.users_backed_by(user)]  # type: ignore[attr-defined]
    return full


@router.get("/users", response=list[UserOut], summary="Users within your scope")
@paginate(PageNumberPagination, page_size=50)
def users(request: HttpRequest, filters: Query[UserFilters]) -> Any:
    f = filters.dict(exclude_none=True)
    if "active" in f:
        f["active"] = "1" if f["active"] else "0"
    access.require(request.user, "org.user.view")
    return org.user_list(actor=request.user, filters=f).order_by("username")  # type: ignore[arg-type]


@router.post("/users", response={201: UserOut}, summary="Create a user")
def user_create(request: HttpRequest, payload: UserIn) -> Any:
    actor: Any = request.user
    access.require(actor, "org.user.manage")
    user = org.user_create(
        actor=actor,
        username=payload.username,
        display_name=payload.display_name,
        employee_no=payload.employee_no,
        email=payload.email,
        phone=payload.phone,
        department=_by_code(Department, payload.department, "department"),
        region=_by_code(Region, payload.region, "region"),
        roles=payload.roles,
        backup=_user_by_name(payload.backup, "backup"),
        password=payload.password,
    )
    return Status(201, org.user_get(actor=actor, pk=user.pk))


@router.get("/users/{user_id}", response=UserOut, summary="One user (404 outside your scope)")
def user_get(request: HttpRequest, user_id: int) -> Any:
    return org.user_get(actor=request.user, pk=user_id)  # type: ignore[arg-type]


@router.patch("/users/{user_id}", response=UserOut, summary="Change a user")
def user_patch(request: HttpRequest, user_id: int, payload: UserPatch) -> Any:
    actor: Any = request.user
    data = payload.dict(exclude_unset=True)
    kwargs: dict[str, Any] = {}
    for name in ("display_name", "employee_no", "email", "phone", "roles", "is_active"):
        if name in data and data[name] is not None:
            kwargs[name] = data[name]
    if "department" in data:
        kwargs["department"] = _by_code(Department, data["department"], "department")
    if "region" in data:
        kwargs["region"] = _by_code(Region, data["region"], "region")
    if "backup" in data:
        kwargs["backup"] = _user_by_name(data["backup"], "backup")
    org.user_update(actor=actor, user_id=user_id, **kwargs)
    return org.user_get(actor=actor, pk=user_id)


@router.get("/departments", response=list[DepartmentOut], summary="The department tree (ordered by path)")
def departments(request: HttpRequest) -> Any:
    if not (access.can(request.user, "org.user.view") or access.can(request.user, "org.department.manage")):
        access.require(request.user, "org.department.manage")
    return list(Department.objects.select_related("head").order_by("path"))


@router.get("/regions", response=list[RegionOut], summary="Regions")
def regions(request: HttpRequest) -> Any:
    if not (access.can(request.user, "org.user.view") or access.can(request.user, "org.region.manage")):
        access.require(request.user, "org.region.manage")
    return list(Region.objects.all())


@router.get("/absences", response=list[AbsenceOut], summary="Absences within your scope")
@paginate(PageNumberPagination, page_size=50)
def absences(request: HttpRequest, filters: Query[AbsenceFilters]) -> Any:
    access.require(request.user, "org.absence.view")
    return org.absence_list(actor=request.user, filters=filters.dict(exclude_none=True))  # type: ignore[arg-type]


@router.post("/absences", response={201: AbsenceOut}, summary="Register an absence")
def absence_create(request: HttpRequest, payload: AbsenceIn) -> Any:
    actor: Any = request.user
    target: Any = actor
    if payload.user:
        target = User.objects.filter(username__iexact=payload.user).first()
        if target is None:
            raise NotFound()
    absence = org.absence_create(
        actor=actor, user=target, start=payload.start, end=payload.end, reason=payload.reason
    )
    return Status(201, absence)
