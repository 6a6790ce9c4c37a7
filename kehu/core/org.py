"""Organisation services and selectors (R-PLT-01, R-PLT-03): users, departments, regions, absences, AB backup."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errors import KehuError, NotFound, ValidationFailed
from kehu.core.excel import ImportColumn, ImportReport, ImportSpec, RowResult, run_import
from kehu.core.models import Absence, Department, Region, Role, User
from kehu.core.models.org import DepartmentKind, RoleCode

SELF_FIELDS = ("display_name", "email", "phone", "language")


@transaction.atomic
def user_update_self(*, actor: User, display_name: str, email: str, phone: str, language: str) -> User:
    """A user edits their own contact details and language."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationFailed(_("不支持的语言。"), field="language", rule="choices")
    user = User.objects.select_for_update(of=("self",)).get(pk=actor.pk)
    before = audit.snapshot(user, SELF_FIELDS)
    user.display_name, user.email, user.phone = display_name.strip(), email.strip(), phone.strip()
    user.language = language
    user.save(update_fields=list(SELF_FIELDS))
    changes = audit.diff(before, audit.snapshot(user, SELF_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=user, changes=changes)
    actor.display_name, actor.email, actor.phone, actor.language = (
        user.display_name,
        user.email,
        user.phone,
        language,
    )
    return user


@transaction.atomic
def user_set_language(*, actor: User, language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise ValidationFailed(_("不支持的语言。"), field="language", rule="choices")
    if actor.language == language:
        return
    before = actor.language
    User.objects.filter(pk=actor.pk).update(language=language)
    actor.language = language
    audit.record(actor=actor, action="update", obj=actor, changes={"language": [before, language]})


def department_path(dept: Department) -> str:
    """Recompute and store the materialised path of ``dept`` (and its subtree when it moved)."""
    parent_path = dept.parent.path if dept.parent_id and dept.parent else "/"
    new = f"{parent_path}{dept.pk}/"
    if dept.path != new:
        old = dept.path
        Department.objects.filter(pk=dept.pk).update(path=new)
        if old not in ("", "/"):
            for child in Department.objects.filter(path__startswith=old).exclude(pk=dept.pk):
                Department.objects.filter(pk=child.pk).update(path=new + child.path[len(old) :])
        dept.path = new
    return new


# --------------------------------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------------------------------

USER_FIELDS = (
    "username",
    "display_name",
    "employee_no",
    "email",
    "phone",
    "department",
    "region",
    "backup",
    "is_active",
)


def _user_snapshot(user: User) -> dict[str, Any]:
    data = audit.snapshot(user, USER_FIELDS)
    data["roles"] = sorted(user.roles.values_list("code", flat=True)) if user.pk else []
    return data


def _roles_from_codes(codes: Iterable[str]) -> list[Role]:
    codes = [str(c) for c in codes]
    unknown = [c for c in codes if c not in RoleCode.values]
    if unknown:
        raise ValidationFailed(
            _("未知角色：%(codes)s") % {"codes": "、".join(unknown)}, field="roles", rule="choices"
        )
    for code in codes:
        Role.objects.get_or_create(code=code)
    return list(Role.objects.filter(code__in=codes))


def _check_backup(user: User | None, backup: User | None) -> None:
    if backup is None:
        return
    if user is not None and user.pk and backup.pk == user.pk:
        raise ValidationFailed(_("备岗人不能是本人。"), field="backup", rule="not_self")
    if not backup.is_active:
        raise ValidationFailed(
            _("备岗人 %(name)s 已停用，请选择在职人员。") % {"name": backup.label},
            field="backup",
            rule="active",
        )


@transaction.atomic
def user_create(
    *,
    actor: User,
    username: str,
    display_name: str = "",
    email: str = "",
    phone: str = "",
    employee_no: str = "",
    department: Department | None = None,
    region: Region | None = None,
    roles: Iterable[str] = (),
    backup: User | None = None,
    password: str | None = None,
    is_active: bool = True,
) -> User:
    """Create a user. Without a password the account cannot sign in until one is set."""
    access.require(actor, "org.user.manage")
    username = username.strip()
    if not username:
        raise ValidationFailed(_("请填写用户名。"), field="username", rule="required")
    if len(username) > 150 or not re.fullmatch(r"[\w.@+-]+", username):
        raise ValidationFailed(
            _("用户名只能包含字母、数字和 @/./+/-/_ 字符。"), field="username", rule="format"
        )
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationFailed(
            _("用户名 %(username)s 已存在。") % {"username": username}, field="username", rule="unique"
        )
    _check_backup(None, backup)
    role_rows = _roles_from_codes(roles)
    user = User(
        username=username,
        display_name=display_name.strip(),
        email=email.strip(),
        phone=phone.strip(),
        employee_no=employee_no.strip(),
        department=department,
        region=region,
        backup=backup,
        is_active=is_active,
    )
    if password:
        _validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    user.roles.set(role_rows)
    audit.record(actor=actor, action="create", obj=user, changes=audit.diff(None, _user_snapshot(user)))
    return user


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), field="password", rule="password") from None


_UNSET: Any = object()


@transaction.atomic
def user_update(
    *,
    actor: User,
    user_id: int,
    display_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    employee_no: str | None = None,
    department: Department | None = _UNSET,
    region: Region | None = _UNSET,
    roles: Iterable[str] | None = None,
    backup: User | None = _UNSET,
    is_active: bool | None = None,
) -> User:
    """Change a user's profile, placement, roles or backup. Only the given fields change."""
    user = access.get_scoped(
        actor, "org.user.manage", User.objects.select_for_update(of=("self",)), pk=user_id
    )
    before = _user_snapshot(user)
    for name, value in (
        ("display_name", display_name),
        ("email", email),
        ("phone", phone),
        ("employee_no", employee_no),
    ):
        if value is not None:
            setattr(user, name, value.strip())
    if department is not _UNSET:
        user.department = department
    if region is not _UNSET:
        user.region = region
    if backup is not _UNSET:
        _check_backup(user, backup)
        user.backup = backup
    if is_active is not None and is_active != user.is_active:
        if not is_active:
            if user.pk == actor.pk:
                raise ValidationFailed(_("不能停用自己的账号。"), field="is_active", rule="not_self")
            _check_can_leave(user)
            user.left_at = timezone.now()
        else:
            user.left_at = None
        user.is_active = is_active
    user.save()
    if roles is not None:
        user.roles.set(_roles_from_codes(roles))
        user.__dict__.pop("_role_codes", None)
    changes = audit.diff(before, _user_snapshot(user))
    if changes:
        audit.record(actor=actor, action="update", obj=user, changes=changes)
    return user


def _check_can_leave(user: User) -> None:
    headed = list(Department.objects.filter(head=user, active=True).values_list("name", flat=True))
    if headed:
        raise ValidationFailed(
            _("%(user)s 仍是部门负责人（%(depts)s），请先更换负责人。")
            % {"user": user.label, "depts": "、".join(headed)},
            field="is_active",
            rule="heads_department",
        )


@transaction.atomic
def user_deactivate(*, actor: User, user_id: int, reason: str = "") -> User:
    """Deactivate a user who left: sign-in blocked, ``left_at`` set. Refused while they head a department."""
    user = access.get_scoped(
        actor, "org.user.manage", User.objects.select_for_update(of=("self",)), pk=user_id
    )
    if user.pk == actor.pk:
        raise ValidationFailed(_("不能停用自己的账号。"), field="is_active", rule="not_self")
    if not user.is_active:
        raise ValidationFailed(_("该用户已停用。"), field="is_active", rule="state")
    _check_can_leave(user)
    user.is_active = False
    user.left_at = timezone.now()
    user.save(update_fields=["is_active", "left_at"])
    audit.record(
        actor=actor,
        action="update",
        obj=user,
        changes={"is_active": [True, False], "left_at": [None, audit.jsonable(user.left_at)]},
        reason=reason,
    )
    return user


@transaction.atomic
def user_set_password(*, actor: User, user_id: int, password: str) -> User:
    """The administrator sets a new password for a user (the value itself is never recorded)."""
    user = access.get_scoped(
        actor, "org.user.manage", User.objects.select_for_update(of=("self",)), pk=user_id
    )
    if not password:
        raise ValidationFailed(_("请填写新密码。"), field="password", rule="required")
    _validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(
        actor=actor,
        action="update",
        obj=user,
        changes={"password": ["***", "***"]},
        reason=_("管理员重置密码"),
    )
    return user


def user_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[User]:
    """Users the actor may see, with optional filters: q, department, region, role, active."""
    qs = access.restrict(actor, "org.user.view", User.objects.all())
    qs = qs.select_related("department", "region", "backup").prefetch_related("roles")
    return apply_user_filters(qs, filters or {})


def apply_user_filters(qs: QuerySet[User], filters: dict[str, Any]) -> QuerySet[User]:
    q = (filters.get("q") or "").strip()
    if q:
        qs = qs.filter(
            Q(username__icontains=q)
            | Q(display_name__icontains=q)
            | Q(email__icontains=q)
            | Q(phone__icontains=q)
            | Q(employee_no__icontains=q)
        )
    dept = filters.get("department")
    if dept:
        dept_obj = dept if isinstance(dept, Department) else Department.objects.filter(pk=dept).first()
        qs = qs.filter(dept_obj.subtree_q("department__")) if dept_obj else qs.none()
    region = filters.get("region")
    if region:
        qs = qs.filter(region=region)
    role = filters.get("role")
    if role:
        qs = qs.filter(roles__code=role).distinct()
    active = filters.get("active")
    if active in (True, "1", "true", "yes"):
        qs = qs.filter(is_active=True)
    elif active in (False, "0", "false", "no"):
        qs = qs.filter(is_active=False)
    return qs


def user_get(*, actor: User, pk: int) -> User:
    """One user within the actor's scope (404 otherwise)."""
    return access.get_scoped(
        actor,
        "org.user.view",
        User.objects.select_related("department", "region", "backup").prefetch_related("roles"),
        pk=pk,
    )


# --------------------------------------------------------------------------------------------------------------
# Departments and regions
# --------------------------------------------------------------------------------------------------------------

DEPARTMENT_FIELDS = ("code", "name", "kind", "parent", "head", "active")


def _check_parent(dept: Department | None, parent: Department | None) -> None:
    if parent is None or dept is None or not dept.pk:
        return
    if parent.pk == dept.pk or parent.path.startswith(dept.path):
        raise ValidationFailed(_("上级部门不能是本部门或其下级部门。"), field="parent", rule="tree_cycle")


def _check_code(model: type[Department] | type[Region], code: str, pk: int | None) -> str:
    code = code.strip()
    if not code:
        raise ValidationFailed(_("请填写代码。"), field="code", rule="required")
    if model.objects.filter(code__iexact=code).exclude(pk=pk or 0).exists():
        raise ValidationFailed(_("代码 %(code)s 已被使用。") % {"code": code}, field="code", rule="unique")
    return code


@transaction.atomic
def department_create(
    *,
    actor: User,
    code: str,
    name: str,
    kind: str = DepartmentKind.OTHER,
    parent: Department | None = None,
    head: User | None = None,
    active: bool = True,
) -> Department:
    access.require(actor, "org.department.manage")
    code = _check_code(Department, code, None)
    if not name.strip():
        raise ValidationFailed(_("请填写名称。"), field="name", rule="required")
    if head is not None and not head.is_active:
        raise ValidationFailed(_("部门负责人已停用。"), field="head", rule="active")
    dept = Department.objects.create(
        code=code, name=name.strip(), kind=kind, parent=parent, head=head, active=active
    )
    department_path(dept)
    audit.record(
        actor=actor,
        action="create",
        obj=dept,
        changes=audit.diff(None, audit.snapshot(dept, DEPARTMENT_FIELDS)),
    )
    return dept


@transaction.atomic
def department_update(
    *,
    actor: User,
    department_id: int,
    code: str | None = None,
    name: str | None = None,
    kind: str | None = None,
    parent: Department | None = _UNSET,
    head: User | None = _UNSET,
    active: bool | None = None,
) -> Department:
    access.require(actor, "org.department.manage")
    try:
        dept = Department.objects.select_for_update().get(pk=department_id)
    except Department.DoesNotExist:
        raise NotFound() from None
    before = audit.snapshot(dept, DEPARTMENT_FIELDS)
    if code is not None:
        dept.code = _check_code(Department, code, dept.pk)
    if name is not None:
        if not name.strip():
            raise ValidationFailed(_("请填写名称。"), field="name", rule="required")
        dept.name = name.strip()
    if kind is not None:
        dept.kind = kind
    if parent is not _UNSET:
        _check_parent(dept, parent)
        dept.parent = parent
    if head is not _UNSET:
        if head is not None and not head.is_active:
            raise ValidationFailed(_("部门负责人已停用。"), field="head", rule="active")
        dept.head = head
    if active is not None:
        dept.active = active
    dept.save()
    department_path(dept)
    changes = audit.diff(before, audit.snapshot(dept, DEPARTMENT_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=dept, changes=changes)
    return dept


def department_tree(*, actor: User) -> QuerySet[Department]:
    """All departments in tree order (by path), with head and member count."""
    return (
        Department.objects.select_related("head", "parent")
        .annotate(member_count=Count("members", filter=Q(members__is_active=True)))
        .order_by("path")
    )


def department_ordered(qs: QuerySet[Department]) -> list[Department]:
    """Depth-first order by name within each parent (``path`` holds ids, so sorting by it is by creation)."""
    rows = list(qs)
    children: dict[int | None, list[Department]] = {}
    for d in rows:
        children.setdefault(d.parent_id, []).append(d)
    ids = {d.pk for d in rows}
    out: list[Department] = []

    def walk(parent: int | None) -> None:
        for d in sorted(children.get(parent, []), key=lambda x: (x.code, x.pk)):
            out.append(d)
            walk(d.pk)

    for root in [None, *sorted({d.parent_id for d in rows if d.parent_id not in ids and d.parent_id})]:
        walk(root)
    return out


REGION_FIELDS = ("code", "name", "active")


@transaction.atomic
def region_create(*, actor: User, code: str, name: str, active: bool = True) -> Region:
    access.require(actor, "org.region.manage")
    code = _check_code(Region, code, None)
    if not name.strip():
        raise ValidationFailed(_("请填写名称。"), field="name", rule="required")
    region = Region.objects.create(code=code, name=name.strip(), active=active)
    audit.record(
        actor=actor,
        action="create",
        obj=region,
        changes=audit.diff(None, audit.snapshot(region, REGION_FIELDS)),
    )
    return region


@transaction.atomic
def region_update(
    *,
    actor: User,
    region_id: int,
    code: str | None = None,
    name: str | None = None,
    active: bool | None = None,
) -> Region:
    access.require(actor, "org.region.manage")
    try:
        region = Region.objects.select_for_update().get(pk=region_id)
    except Region.DoesNotExist:
        raise NotFound() from None
    before = audit.snapshot(region, REGION_FIELDS)
    if code is not None:
        region.code = _check_code(Region, code, region.pk)
    if name is not None:
        if not name.strip():
            raise ValidationFailed(_("请填写名称。"), field="name", rule="required")
        region.name = name.strip()
    if active is not None:
        region.active = active
    region.save()
    changes = audit.diff(before, audit.snapshot(region, REGION_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=region, changes=changes)
    return region


def region_list(*, actor: User) -> QuerySet[Region]:
    return Region.objects.annotate(member_count=Count("members", filter=Q(members__is_active=True)))


# --------------------------------------------------------------------------------------------------------------
# Absences and AB backup (R-PLT-03)
# --------------------------------------------------------------------------------------------------------------

ABSENCE_FIELDS = ("user", "start", "end", "reason", "cancelled")


@transaction.atomic
def absence_create(
    *, actor: User, user: User, start: dt.datetime, end: dt.datetime, reason: str = ""
) -> Absence:
    """Register an absence: the user themself, a manager for their department, or the administrator."""
    target = access.get_scoped(
        actor, "org.absence.manage", User.objects.select_for_update(of=("self",)), pk=user.pk
    )
    if end <= start:
        raise ValidationFailed(_("结束时间必须晚于开始时间。"), field="end", rule="after_start")
    overlap = Absence.objects.filter(user=target, cancelled=False, start__lt=end, end__gt=start).first()
    if overlap is not None:
        raise ValidationFailed(
            _("与已登记的缺岗（%(period)s）时间重叠。")
            % {
                "period": f"{timezone.localtime(overlap.start):%Y-%m-%d %H:%M}–"
                f"{timezone.localtime(overlap.end):%Y-%m-%d %H:%M}"
            },
            field="start",
            rule="overlap",
        )
    absence = Absence.objects.create(
        user=target, start=start, end=end, reason=reason.strip(), created_by=actor
    )
    audit.record(
        actor=actor,
        action="create",
        obj=absence,
        changes=audit.diff(None, audit.snapshot(absence, ABSENCE_FIELDS)),
    )
    return absence


@transaction.atomic
def absence_cancel(*, actor: User, absence_id: int, reason: str = "") -> Absence:
    locked = Absence.objects.select_for_update(of=("self",))
    absence = access.get_scoped(actor, "org.absence.manage", locked, pk=absence_id)
    if absence.cancelled:
        raise ValidationFailed(_("该缺岗已取消。"), field="cancelled", rule="state")
    absence.cancelled = True
    absence.save(update_fields=["cancelled"])
    audit.record(
        actor=actor, action="update", obj=absence, changes={"cancelled": [False, True]}, reason=reason
    )
    return absence


def absence_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Absence]:
    qs = access.restrict(actor, "org.absence.view", Absence.objects.all())
    qs = qs.select_related("user", "user__backup", "user__department", "created_by")
    return apply_absence_filters(qs, filters or {})


def apply_absence_filters(qs: QuerySet[Absence], filters: dict[str, Any]) -> QuerySet[Absence]:
    if filters.get("user"):
        qs = qs.filter(user=filters["user"])
    state = filters.get("state")
    now = timezone.now()
    if state == "current":
        qs = qs.filter(cancelled=False, start__lte=now, end__gt=now)
    elif state == "upcoming":
        qs = qs.filter(cancelled=False, start__gt=now)
    elif state == "past":
        qs = qs.filter(cancelled=False, end__lte=now)
    elif state == "cancelled":
        qs = qs.filter(cancelled=True)
    return qs


def _absent_ids(user_ids: Iterable[int], at: dt.datetime) -> set[int]:
    return set(
        Absence.objects.filter(
            user_id__in=list(user_ids), cancelled=False, start__lte=at, end__gt=at
        ).values_list("user_id", flat=True)
    )


def acting_backup(user: User, at: dt.datetime | None = None) -> User | None:
    """Who receives ``user``'s tasks at ``at``: the backup while the user is absent (and the backup is active
    and present), otherwise None (the user handles them)."""
    at = at or timezone.now()
    if not user.backup_id or not _absent_ids([user.pk], at):
        return None
    backup = User.objects.filter(pk=user.backup_id, is_active=True).first()
    if backup is None or _absent_ids([backup.pk], at):
        return None
    return backup


def users_backed_by(user: User, at: dt.datetime | None = None) -> QuerySet[User]:
    """The people whose tasks ``user`` receives at ``at`` (they are absent and name ``user`` as backup)."""
    at = at or timezone.now()
    if _absent_ids([user.pk], at) or not user.is_active:
        return User.objects.none()
    absent_now = Absence.objects.filter(cancelled=False, start__lte=at, end__gt=at).values("user_id")
    return User.objects.filter(backup=user, pk__in=absent_now)


# --------------------------------------------------------------------------------------------------------------
# Import users from Excel (R-PLT-10)
# --------------------------------------------------------------------------------------------------------------


def _parse_roles(text: str) -> list[str]:
    by_label = {str(label): code for code, label in RoleCode.choices}
    codes: list[str] = []
    for part in re.split(r"[,，、;；/\s]+", text):
        part = part.strip()
        if not part:
            continue
        if part in RoleCode.values:
            codes.append(part)
        elif part in by_label:
            codes.append(by_label[part])
        else:
            raise ValueError(_("未知角色“%(role)s”") % {"role": part})
    return codes


def _parse_department(text: str) -> Department:
    dept = Department.objects.filter(code__iexact=text).first()
    if dept is None:
        raise ValueError(_("部门代码 %(code)s 不存在") % {"code": text})
    return dept


def _parse_region(text: str) -> Region:
    region = Region.objects.filter(code__iexact=text).first()
    if region is None:
        raise ValueError(_("区域代码 %(code)s 不存在") % {"code": text})
    return region


USER_IMPORT_SPEC = ImportSpec(
    columns=[
        ImportColumn("用户名", "username", required=True),
        ImportColumn("姓名", "display_name", required=True),
        ImportColumn("邮箱", "email"),
        ImportColumn("电话", "phone"),
        ImportColumn("部门代码", "department", parse=_parse_department),
        ImportColumn("区域代码", "region", parse=_parse_region),
        ImportColumn("角色", "roles", parse=_parse_roles),
        ImportColumn("备岗人用户名", "backup"),
        ImportColumn("初始密码", "password"),
    ],
    key="username",
)


def user_import(*, actor: User, file: Any) -> ImportReport:
    """Create users from an xlsx file: all rows or none. Generated passwords are in each row's ``note``."""
    access.require(actor, "org.user.import")
    access.require(actor, "org.user.manage")
    created: dict[str, User] = {}
    pending_backup: list[tuple[User, str, RowResult]] = []

    def handle(values: dict[str, Any], row: RowResult) -> str:
        password = values.get("password") or ""
        generated = not password
        if generated:
            password = secrets.token_urlsafe(9)
        user = user_create(
            actor=actor,
            username=values["username"],
            display_name=values["display_name"] or "",
            email=values["email"] or "",
            phone=values["phone"] or "",
            department=values["department"],
            region=values["region"],
            roles=values["roles"] or [],
            password=password,
        )
        created[user.username.lower()] = user
        if values.get("backup"):
            pending_backup.append((user, values["backup"], row))
        if generated:
            row.note = password
        return "created"

    def finish() -> None:
        for user, name, row in pending_backup:
            backup = created.get(name.lower()) or User.objects.filter(username__iexact=name).first()
            if backup is None:
                row.errors.append(("备岗人用户名", _("用户 %(name)s 不存在") % {"name": name}))
                continue
            try:
                user_update(actor=actor, user_id=user.pk, backup=backup)
            except KehuError as exc:
                row.errors.append(("备岗人用户名", str(exc.message)))

    return run_import(spec=USER_IMPORT_SPEC, file=file, handler=handle, actor=actor, after=finish)
