"""Django admin for the platform's models (a fallback for the administrator; the product pages are under
/system/). The audit trail is read-only here: it is append-only everywhere."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from kehu.core.models import (
    Absence,
    ApiToken,
    Attachment,
    AuditEntry,
    CalendarDay,
    CalendarYear,
    Department,
    FileBlob,
    LoginAttempt,
    NumberSeries,
    Region,
    Role,
    User,
)


class ReadOnlyMixin:
    """The Django admin is a read-only inspection tool: every write goes through Kehu's services and pages, where
    it is checked and audited (R-PLT-04)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    pass


@admin.register(User)
class UserAdmin(ReadOnlyMixin, BaseUserAdmin):
    list_display = ("username", "display_name", "department", "region", "backup", "is_active")
    list_filter = ("is_active", "roles", "department", "region")
    search_fields = ("username", "display_name", "email", "phone", "employee_no")
    list_select_related = ("department", "region", "backup")
    filter_horizontal = ("roles", "groups", "user_permissions")
    raw_id_fields = ("backup",)
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        (
            _("组织"),
            {
                "fields": (
                    "display_name",
                    "employee_no",
                    "phone",
                    "department",
                    "region",
                    "roles",
                    "backup",
                    "language",
                    "left_at",
                )
            },
        ),
    )


@admin.register(Role)
class RoleAdmin(ReadOnlyAdmin):
    list_display = ("code", "__str__", "description")


@admin.register(Department)
class DepartmentAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "kind", "parent", "head", "path", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    readonly_fields = ("path",)
    raw_id_fields = ("head",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        from kehu.core.org import department_path

        super().save_model(request, obj, form, change)
        department_path(obj)


@admin.register(Region)
class RegionAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "active")
    search_fields = ("code", "name")


@admin.register(Absence)
class AbsenceAdmin(ReadOnlyAdmin):
    list_display = ("user", "start", "end", "reason", "cancelled", "created_by")
    list_filter = ("cancelled",)
    raw_id_fields = ("user", "created_by")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("seq", "timestamp", "actor", "action", "object_type", "object_id", "object_repr")
    list_filter = ("action", "object_type", "confidential")
    search_fields = ("object_repr", "object_id", "reason", "actor__username")
    list_select_related = ("actor",)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("key_hash", "prefix")


@admin.register(LoginAttempt)
class LoginAttemptAdmin(ReadOnlyAdmin):
    pass


@admin.register(FileBlob)
class FileBlobAdmin(ReadOnlyAdmin):
    pass


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = (
        "filename",
        "doc_type",
        "version",
        "current",
        "confidential",
        "uploaded_by",
        "uploaded_at",
    )
    list_filter = ("doc_type", "current", "confidential")
    raw_id_fields = ("uploaded_by", "blob", "supersedes")


@admin.register(NumberSeries)
class NumberSeriesAdmin(ReadOnlyAdmin):
    list_display = ("doc_type", "department", "scope_key", "year", "last")


@admin.register(CalendarYear)
class CalendarYearAdmin(ReadOnlyAdmin):
    list_display = ("year", "source", "entered_by", "entered_at")


@admin.register(CalendarDay)
class CalendarDayAdmin(ReadOnlyAdmin):
    list_display = ("date", "kind", "name")
    list_filter = ("kind",)


# Sign-in to the admin goes through Kehu's own login page (throttled and audited), never the admin's form.
admin.site.login = RedirectView.as_view(pattern_name="login", query_string=True)  # type: ignore[method-assign,assignment]
admin.site.site_header = "Kehu"
