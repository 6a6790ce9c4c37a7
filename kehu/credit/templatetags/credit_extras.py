from __future__ import annotations

from django import template

register = template.Library()

CLASS_CSS = {
    "A": "bg-success-subtle text-success-emphasis",
    "B": "bg-primary-subtle text-primary-emphasis",
    "C": "bg-warning-subtle text-warning-emphasis",
    "D": "bg-danger-subtle text-danger-emphasis",
}
STATUS_CSS = {
    "draft": "bg-light text-muted",
    "pending": "bg-warning-subtle text-warning-emphasis",
    "approved": "bg-success-subtle text-success-emphasis",
    "superseded": "bg-secondary-subtle text-secondary-emphasis",
    "rejected": "bg-danger-subtle text-danger-emphasis",
}


@register.filter
def class_css(value: str) -> str:
    return CLASS_CSS.get(str(value), "")


@register.filter
def status_css(value: str) -> str:
    return STATUS_CSS.get(str(value), "")
