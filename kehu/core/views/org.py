"""Organisation pages for the system administrator (R-PLT-01, R-PLT-02, R-PLT-03, R-PLT-10): users, departments,
regions, absences and AB backup, user import from Excel, and the access matrix."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import select_template
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.core import access, audit, excel, org
from kehu.core.attachments import attachment_panel
from kehu.core.errorpages import message_error
from kehu.core.errors import KehuError, NotFound
from kehu.core.forms import KehuForm
from kehu.core.listing import Column, ListPage
from kehu.core.models import Absence, Department, Region, User
from kehu.core.models.org import DepartmentKind, RoleCode


def _revalidate(form: KehuForm) -> None:
    """Choices were narrowed after the base form validated and styled itself: validate again."""
    if form.is_bound:
        form.full_clean()


# --------------------------------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------------------------------


class UserFilterForm(KehuForm):
    q = forms.CharField(
        label=gettext_lazy("关键字"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("用户名/姓名/邮箱/电话")}),
    )
    department = forms.ModelChoiceField(
        label=gettext_lazy("部门"), required=False, queryset=Department.objects.order_by("path")
    )
    region = forms.ModelChoiceField(label=gettext_lazy("区域"), required=False, queryset=Region.objects.all())
    role = forms.ChoiceField(
        label=gettext_lazy("角色"), required=False, choices=[("", gettext_lazy("全部")), *RoleCode.choices]
    )
    active = forms.ChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        choices=[("", gettext_lazy("全部")), ("1", gettext_lazy("在职")), ("0", gettext_lazy("已停用"))],
    )


def _roles_text(u: User) -> str:
    return "、".join(str(r) for r in u.roles.all())


def user_columns() -> list[Column]:
    return [
        Column(
            "username", _("用户名"), sort="username", link=lambda u: reverse("org_user_detail", args=[u.pk])
        ),
        Column("display_name", _("姓名"), sort="display_name"),
        Column("department", _("部门"), sort="department__name", value=lambda u: u.department or ""),
        Column("region", _("区域"), sort="region__name", value=lambda u: u.region or ""),
        Column("roles", _("角色"), value=_roles_text),
        Column("backup", _("AB岗备岗人"), value=lambda u: u.backup.label if u.backup else ""),
        Column("email", _("邮箱"), sort="email"),
        Column("phone", _("电话")),
        Column("is_active", _("状态"), sort="is_active", template="core/org/_active_cell.html"),
    ]


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "org.user.view")
    page = ListPage(
        request,
        org.user_list(actor=user),
        columns=user_columns(),
        filter_form=UserFilterForm,
        apply_filters=org.apply_user_filters,
        default_sort="username",
    )
    return page.respond(
        "core/org/user_list.html",
        {
            "can_manage": access.can(user, "org.user.manage"),
            "can_import": access.can(user, "org.user.import"),
        },
        export_name="users",
    )


def _history_template() -> str:
    return select_template(["core/partials/_history.html", "core/org/_history_simple.html"]).template.name


@login_required
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor: Any = request.user
    target = org.user_get(actor=actor, pk=pk)
    now = timezone.now()
    absences = list(target.absences.select_related("created_by").order_by("-start")[:20])
    can_manage = access.can(actor, "org.user.manage")
    return render(
        request,
        "core/org/user_detail.html",
        {
            "target": target,
            "roles": list(target.roles.all()),
            "absences": absences,
            "absent_now": any(not a.cancelled and a.start <= now < a.end for a in absences),
            "acting_backup": org.acting_backup(target, now),
            "backed_by": list(org.users_backed_by(target, now)),
            "headed": list(target.headed_departments.all()),
            "entries": list(audit.history(target)[:50])
            if access.can(actor, "audit.view") or can_manage
            else None,
            "history_template": _history_template(),
            "attachments": attachment_panel(actor=actor, target=target, next_url=request.get_full_path()),
            "can_manage": can_manage,
            "password_form": PasswordForm(),
            "now": now,
        },
    )


class UserForm(KehuForm):
    username = forms.CharField(label=gettext_lazy("用户名"), max_length=150)
    display_name = forms.CharField(label=gettext_lazy("姓名"), max_length=60)
    employee_no = forms.CharField(label=gettext_lazy("工号"), max_length=30, required=False)
    email = forms.EmailField(label=gettext_lazy("邮箱"), required=False)
    phone = forms.CharField(label=gettext_lazy("电话"), max_length=30, required=False)
    department = forms.ModelChoiceField(
        label=gettext_lazy("部门"),
        required=False,
        queryset=Department.objects.filter(active=True).order_by("path"),
    )
    region = forms.ModelChoiceField(
        label=gettext_lazy("区域"), required=False, queryset=Region.objects.filter(active=True)
    )
    roles = forms.MultipleChoiceField(
        label=gettext_lazy("角色"),
        required=False,
        choices=RoleCode.choices,
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    backup = forms.ModelChoiceField(
        label=gettext_lazy("AB岗备岗人"),
        required=False,
        queryset=User.objects.none(),
        help_text=gettext_lazy("本人缺岗期间，由备岗人接收并处理本人的待办。"),
    )
    password = forms.CharField(
        label=gettext_lazy("初始密码"),
        required=False,
        widget=forms.PasswordInput,
        help_text=gettext_lazy("留空则该账号暂不能登录，之后可由管理员重置密码。"),
    )
    is_active = forms.BooleanField(label=gettext_lazy("在职（可登录）"), required=False, initial=True)

    def __init__(self, *args: Any, instance: User | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        backups = User.objects.filter(is_active=True)
        if instance is not None:
            backups = backups.exclude(pk=instance.pk)
            del self.fields["username"]
            del self.fields["password"]
        else:
            del self.fields["is_active"]
        self.fields["backup"].queryset = backups  # type: ignore[attr-defined]
        self.fields["backup"].label_from_instance = lambda u: u.label  # type: ignore[attr-defined]
        _revalidate(self)


@login_required
def user_create(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "org.user.manage")
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            new = org.user_create(
                actor=actor,
                username=d["username"],
                display_name=d["display_name"],
                email=d["email"],
                phone=d["phone"],
                employee_no=d["employee_no"],
                department=d["department"],
                region=d["region"],
                roles=d["roles"],
                backup=d["backup"],
                password=d["password"] or None,
            )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("用户 %(name)s 已创建。") % {"name": new.label})
            return redirect("org_user_detail", pk=new.pk)
    return render(request, "core/org/user_form.html", {"form": form, "target": None})


@login_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "org.user.manage")
    target = org.user_get(actor=actor, pk=pk)
    initial = {
        "display_name": target.display_name,
        "employee_no": target.employee_no,
        "email": target.email,
        "phone": target.phone,
        "department": target.department_id,
        "region": target.region_id,
        "roles": [r.code for r in target.roles.all()],
        "backup": target.backup_id,
        "is_active": target.is_active,
    }
    form = UserForm(request.POST or None, initial=initial, instance=target)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            org.user_update(
                actor=actor,
                user_id=target.pk,
                display_name=d["display_name"],
                email=d["email"],
                phone=d["phone"],
                employee_no=d["employee_no"],
                department=d["department"],
                region=d["region"],
                roles=d["roles"],
                backup=d["backup"],
                is_active=d["is_active"],
            )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("org_user_detail", pk=target.pk)
    return render(request, "core/org/user_form.html", {"form": form, "target": target})


class PasswordForm(KehuForm):
    password = forms.CharField(label=gettext_lazy("新密码"), widget=forms.PasswordInput)


@login_required
@require_POST
def user_password(request: HttpRequest, pk: int) -> HttpResponse:
    actor: Any = request.user
    form = PasswordForm(request.POST)
    if form.is_valid():
        try:
            org.user_set_password(actor=actor, user_id=pk, password=form.cleaned_data["password"])
        except KehuError as exc:
            message_error(request, exc)
        else:
            messages.success(request, _("密码已重置。"))
    else:
        access.require(actor, "org.user.manage")
        messages.error(request, _("请填写新密码。"))
    return redirect("org_user_detail", pk=pk)


@login_required
@require_POST
def user_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    actor: Any = request.user
    try:
        org.user_deactivate(actor=actor, user_id=pk, reason=request.POST.get("reason", ""))
    except KehuError as exc:
        message_error(request, exc)
    else:
        messages.success(request, _("用户已停用。"))
    return redirect("org_user_detail", pk=pk)


# --------------------------------------------------------------------------------------------------------------
# Import users
# --------------------------------------------------------------------------------------------------------------


class ImportForm(KehuForm):
    file = forms.FileField(label=gettext_lazy("Excel 文件（.xlsx）"))


REPORT_SESSION_KEY = "org_user_import_report"


@login_required
def user_import(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "org.user.import")
    if request.GET.get("report") == "xlsx":
        stored = request.session.get(REPORT_SESSION_KEY)
        if not stored:
            raise NotFound()
        response = HttpResponse(bytes.fromhex(stored), content_type=excel.XLSX_MIME)
        response["Content-Disposition"] = 'attachment; filename="user-import-report.xlsx"'
        return response
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = org.user_import(actor=actor, file=form.cleaned_data["file"])
        if report.ok:
            request.session.pop(REPORT_SESSION_KEY, None)
            messages.success(request, _("导入成功：新建 %(n)s 个用户。") % {"n": report.created})
        elif report.file_error:
            form.add_error("file", report.file_error)
        else:
            request.session[REPORT_SESSION_KEY] = report.report_xlsx().hex()
    return render(
        request,
        "core/org/user_import.html",
        {
            "form": form,
            "report": report,
            "spec": org.USER_IMPORT_SPEC,
            "generated": [r for r in report.rows if r.note] if report and report.ok else [],
        },
    )


@login_required
def user_import_template(request: HttpRequest) -> HttpResponse:
    access.require(request.user, "org.user.import")
    example = [
        ["zhangsan", "张三", "zhangsan@example.com", "13800000000", "MKT", "EAST", "sales_rep", "", ""]
    ]
    return excel.template_response("user-import-template", org.USER_IMPORT_SPEC, example)


# --------------------------------------------------------------------------------------------------------------
# Departments and regions
# --------------------------------------------------------------------------------------------------------------


class DepartmentForm(KehuForm):
    code = forms.CharField(label=gettext_lazy("代码"), max_length=20)
    name = forms.CharField(label=gettext_lazy("名称"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("类型"), choices=DepartmentKind.choices)
    parent = forms.ModelChoiceField(
        label=gettext_lazy("上级部门"), required=False, queryset=Department.objects.none()
    )
    head = forms.ModelChoiceField(
        label=gettext_lazy("部门负责人"), required=False, queryset=User.objects.none()
    )
    active = forms.BooleanField(label=gettext_lazy("启用"), required=False, initial=True)

    def __init__(self, *args: Any, instance: Department | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parents = Department.objects.order_by("path")
        if instance is not None:
            parents = parents.exclude(path__startswith=instance.path)
        self.fields["parent"].queryset = parents  # type: ignore[attr-defined]
        self.fields["parent"].label_from_instance = (  # type: ignore[attr-defined]
            lambda d: f"{'— ' * d.depth}{d.name} ({d.code})"
        )
        self.fields["head"].queryset = User.objects.filter(is_active=True)  # type: ignore[attr-defined]
        self.fields["head"].label_from_instance = lambda u: u.label  # type: ignore[attr-defined]
        _revalidate(self)


@login_required
def department_list(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "org.department.manage")
    rows = org.department_ordered(org.department_tree(actor=actor))
    if request.GET.get("export") == "xlsx":
        return excel.xlsx_response(
            "departments",
            [_("代码"), _("名称"), _("类型"), _("上级部门"), _("部门负责人"), _("人数"), _("启用")],
            (_department_row(d) for d in rows),
        )
    return render(request, "core/org/department_list.html", {"rows": rows})


def _department_row(d: Any) -> list[Any]:
    return [
        d.code,
        d.name,
        d.get_kind_display(),
        d.parent.name if d.parent else "",
        d.head.label if d.head else "",
        d.member_count,
        d.active,
    ]


def _department_form_view(request: HttpRequest, dept: Department | None) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "org.department.manage")
    initial = {"kind": DepartmentKind.OTHER, "active": True}
    if dept is not None:
        initial = {
            "code": dept.code,
            "name": dept.name,
            "kind": dept.kind,
            "parent": dept.parent_id,
            "head": dept.head_id,
            "active": dept.active,
        }
    elif request.GET.get("parent", "").isdigit():
        initial["parent"] = int(request.GET["parent"])
    form = DepartmentForm(request.POST or None, initial=initial, instance=dept)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if dept is None:
                org.department_create(
                    actor=actor,
                    code=d["code"],
                    name=d["name"],
                    kind=d["kind"],
                    parent=d["parent"],
                    head=d["head"],
                    active=d["active"],
                )
            else:
                org.department_update(
                    actor=actor,
                    department_id=dept.pk,
                    code=d["code"],
                    name=d["name"],
                    kind=d["kind"],
                    parent=d["parent"],
                    head=d["head"],
                    active=d["active"],
                )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("org_department_list")
    return render(
        request,
        "core/org/simple_form.html",
        {
            "form": form,
            "obj": dept,
            "list_url": reverse("org_department_list"),
            "list_label": _("部门"),
            "entries": list(audit.history(dept)[:20]) if dept else None,
            "history_template": _history_template(),
        },
    )


@login_required
def department_create(request: HttpRequest) -> HttpResponse:
    return _department_form_view(request, None)


@login_required
def department_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, "org.department.manage")
    dept = Department.objects.filter(pk=pk).first()
    if dept is None:
        raise NotFound()
    return _department_form_view(request, dept)


class RegionForm(KehuForm):
    code = forms.CharField(label=gettext_lazy("代码"), max_length=20)
    name = forms.CharField(label=gettext_lazy("名称"), max_length=100)
    active = forms.BooleanField(label=gettext_lazy("启用"), required=False, initial=True)


@login_required
def region_list(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "org.region.manage")
    columns = [
        Column("code", _("代码"), sort="code", link=lambda r: reverse("org_region_edit", args=[r.pk])),
        Column("name", _("名称"), sort="name"),
        Column("member_count", _("人数"), sort="member_count"),
        Column("active", _("状态"), sort="active", template="core/org/_active_cell.html"),
    ]
    page = ListPage(request, org.region_list(actor=actor), columns=columns, default_sort="code")
    return page.respond("core/org/region_list.html", export_name="regions")


def _region_form_view(request: HttpRequest, region: Region | None) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "org.region.manage")
    initial: dict[str, Any] = {"active": True}
    if region is not None:
        initial = {"code": region.code, "name": region.name, "active": region.active}
    form = RegionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if region is None:
                org.region_create(actor=actor, code=d["code"], name=d["name"], active=d["active"])
            else:
                org.region_update(
                    actor=actor, region_id=region.pk, code=d["code"], name=d["name"], active=d["active"]
                )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("org_region_list")
    return render(
        request,
        "core/org/simple_form.html",
        {
            "form": form,
            "obj": region,
            "list_url": reverse("org_region_list"),
            "list_label": _("区域"),
            "entries": list(audit.history(region)[:20]) if region else None,
            "history_template": _history_template(),
        },
    )


@login_required
def region_create(request: HttpRequest) -> HttpResponse:
    return _region_form_view(request, None)


@login_required
def region_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, "org.region.manage")
    region = Region.objects.filter(pk=pk).first()
    if region is None:
        raise NotFound()
    return _region_form_view(request, region)


# --------------------------------------------------------------------------------------------------------------
# Absences
# --------------------------------------------------------------------------------------------------------------


class AbsenceFilterForm(KehuForm):
    state = forms.ChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        choices=[
            ("", gettext_lazy("全部")),
            ("current", gettext_lazy("缺岗中")),
            ("upcoming", gettext_lazy("未开始")),
            ("past", gettext_lazy("已结束")),
            ("cancelled", gettext_lazy("已取消")),
        ],
    )


def _absence_state(a: Absence) -> str:
    now = timezone.now()
    if a.cancelled:
        return "cancelled"
    if a.start <= now < a.end:
        return "current"
    return "upcoming" if a.start > now else "past"


class AbsenceForm(KehuForm):
    user = forms.ModelChoiceField(label=gettext_lazy("用户"), queryset=User.objects.none())
    start = forms.DateTimeField(label=gettext_lazy("开始"), widget=forms.DateTimeInput())
    end = forms.DateTimeField(label=gettext_lazy("结束"), widget=forms.DateTimeInput())
    reason = forms.CharField(label=gettext_lazy("原因"), max_length=200, required=False)

    def __init__(self, *args: Any, users: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users  # type: ignore[attr-defined]
        self.fields["user"].label_from_instance = lambda u: u.label  # type: ignore[attr-defined]
        _revalidate(self)


def _absence_users(actor: User) -> QuerySet[User]:
    return access.restrict(actor, "org.absence.manage", User.objects.filter(is_active=True))


@login_required
def absence_list(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "org.absence.view")
    can_manage = access.can(actor, "org.absence.manage")
    form = None
    if can_manage:
        today = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)
        form = AbsenceForm(
            request.POST or None,
            users=_absence_users(actor),
            initial={"user": actor.pk, "start": today, "end": today + dt.timedelta(days=1)},
        )
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                org.absence_create(
                    actor=actor, user=d["user"], start=d["start"], end=d["end"], reason=d["reason"]
                )
            except KehuError as exc:
                if exc.status == 403:
                    raise
                form.add_service_error(exc)
            else:
                messages.success(request, _("缺岗已登记。"))
                return redirect("org_absence_list")
    elif request.method == "POST":
        access.require(actor, "org.absence.manage")
    columns = [
        Column(
            "user",
            _("用户"),
            sort="user__username",
            value=lambda a: a.user.label,
            link=lambda a: reverse("org_user_detail", args=[a.user_id]),
        ),
        Column("start", _("开始"), sort="start"),
        Column("end", _("结束"), sort="end"),
        Column("reason", _("原因")),
        Column(
            "backup",
            _("代理人"),
            value=lambda a: a.user.backup.label if a.user.backup else "",
            template="core/org/_backup_cell.html",
        ),
        Column("state", _("状态"), value=_absence_state, template="core/org/_absence_state_cell.html"),
        Column("created_by", _("登记人"), value=lambda a: a.created_by.label if a.created_by else ""),
        Column("actions", "", template="core/org/_absence_actions.html", export=False, css="text-end"),
    ]
    page = ListPage(
        request,
        org.absence_list(actor=actor),
        columns=columns,
        filter_form=AbsenceFilterForm,
        apply_filters=org.apply_absence_filters,
        default_sort="-start",
    )
    return page.respond(
        "core/org/absence_list.html", {"form": form, "can_manage": can_manage}, export_name="absences"
    )


@login_required
@require_POST
def absence_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        org.absence_cancel(actor=request.user, absence_id=pk)  # type: ignore[arg-type]
    except KehuError as exc:
        message_error(request, exc)
    else:
        messages.success(request, _("缺岗已取消。"))
    return redirect("org_absence_list")


# --------------------------------------------------------------------------------------------------------------
# The access matrix
# --------------------------------------------------------------------------------------------------------------

SCOPE_TAGS = {
    access.Scope.ALL: ("all", gettext_lazy("全部"), "bg-success-subtle text-success-emphasis"),
    access.Scope.DEPARTMENT: ("department", gettext_lazy("本部门/区域"), "bg-info-subtle text-info-emphasis"),
    access.Scope.OWN: ("own", gettext_lazy("本人"), "bg-secondary-subtle text-secondary-emphasis"),
}


def matrix_rows() -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    roles = [(code, str(label)) for code, label in RoleCode.choices]
    rows = []
    for action_name, grants in access.actions().items():
        cells = []
        for code, _label in roles:
            scope = grants.get(code)
            cells.append(SCOPE_TAGS[scope] if scope is not None else None)
        rows.append({"action": action_name, "description": access.describe(action_name), "cells": cells})
    return roles, rows


@login_required
def access_matrix(request: HttpRequest) -> HttpResponse:
    access.require(request.user, "access.view")
    roles, rows = matrix_rows()
    q = request.GET.get("q", "").strip()
    if q:
        rows = [r for r in rows if q.lower() in r["action"].lower() or q in str(r["description"])]
    if request.GET.get("export") == "xlsx":
        return excel.xlsx_response(
            "access-matrix",
            [_("操作"), _("说明"), *[label for _c, label in roles]],
            ([r["action"], r["description"], *[str(c[1]) if c else "" for c in r["cells"]]] for r in rows),
        )
    return render(request, "core/org/access_matrix.html", {"roles": roles, "rows": rows, "q": q})


urlpatterns = [
    path("system/users/", user_list, name="org_user_list"),
    path("system/users/new/", user_create, name="org_user_create"),
    path("system/users/import/", user_import, name="org_user_import"),
    path("system/users/import/template/", user_import_template, name="org_user_import_template"),
    path("system/users/<int:pk>/", user_detail, name="org_user_detail"),
    path("system/users/<int:pk>/edit/", user_edit, name="org_user_edit"),
    path("system/users/<int:pk>/password/", user_password, name="org_user_password"),
    path("system/users/<int:pk>/deactivate/", user_deactivate, name="org_user_deactivate"),
    path("system/departments/", department_list, name="org_department_list"),
    path("system/departments/new/", department_create, name="org_department_create"),
    path("system/departments/<int:pk>/edit/", department_edit, name="org_department_edit"),
    path("system/regions/", region_list, name="org_region_list"),
    path("system/regions/new/", region_create, name="org_region_create"),
    path("system/regions/<int:pk>/edit/", region_edit, name="org_region_edit"),
    path("system/absences/", absence_list, name="org_absence_list"),
    path("system/absences/new/", absence_list, name="org_absence_create"),
    path("system/absences/<int:pk>/cancel/", absence_cancel, name="org_absence_cancel"),
    path("system/access/", access_matrix, name="access_matrix"),
]
