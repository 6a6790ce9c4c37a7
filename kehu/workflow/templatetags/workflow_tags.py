from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext

from kehu.workflow.selectors import inbox_count as _inbox_count

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_count(context: Any) -> int:
    """Open tasks of the signed-in user (one query, cached on the request)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return 0
    cached = getattr(request, "_kehu_inbox_count", None)
    if cached is None:
        cached = _inbox_count(user)
        request._kehu_inbox_count = cached
    return int(cached)


@register.filter
def role_label(code: str) -> str:
    """The display name of a role code (the code itself when unknown)."""
    from kehu.core.models.org import RoleCode

    return str(RoleCode(code).label) if code in RoleCode.values else code


@register.filter
def role_labels(codes: list[str]) -> str:
    return "、".join(role_label(c) for c in codes or [])


@register.filter
def department_kinds(kinds: list[str]) -> str:
    from kehu.core.models.org import DepartmentKind

    return "、".join(str(DepartmentKind(k).label) if k in DepartmentKind.values else k for k in kinds or [])


@register.filter
def tr(value: object) -> str:
    """A label stored in a definition's spec (its Chinese text is the msgid) in the active language."""
    return gettext(str(value)) if value else ""
