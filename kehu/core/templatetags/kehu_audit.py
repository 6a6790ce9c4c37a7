"""Template filters for showing audit entries (history cards, trail pages)."""

from __future__ import annotations

from typing import Any

from django import template

from kehu.core import audit
from kehu.core.models import AuditEntry

register = template.Library()


@register.filter
def audit_changes(entry: AuditEntry) -> list[dict[str, Any]]:
    """Rows ``{field, label, before, after, is_change}`` of the entry's changes."""
    return audit.change_rows(entry)


@register.filter
def audit_action(code: str) -> str:
    return audit.action_label(code)


@register.filter
def audit_object_type(object_type: str) -> str:
    return audit.object_type_label(object_type)


@register.filter
def audit_action_css(code: str) -> str:
    """Bootstrap background classes for the action tag."""
    return {
        "create": "bg-success-subtle text-success-emphasis",
        "update": "bg-primary-subtle text-primary-emphasis",
        "delete_request": "bg-danger-subtle text-danger-emphasis",
        "decision": "bg-warning-subtle text-warning-emphasis",
        "transition": "bg-info-subtle text-info-emphasis",
        "read": "bg-secondary-subtle text-secondary-emphasis",
        "download": "bg-secondary-subtle text-secondary-emphasis",
        "export": "bg-dark-subtle text-dark-emphasis",
        "login_failed": "bg-danger-subtle text-danger-emphasis",
        "verify": "bg-info-subtle text-info-emphasis",
    }.get(code, "bg-light text-body border")


@register.simple_tag
def audit_labels(entries: Any) -> str:
    """``{% audit_labels entries %}`` before listing entries: related ids in their changes show as names (one query
    per related model for the whole list)."""
    audit.prefetch_labels(entries)
    return ""
