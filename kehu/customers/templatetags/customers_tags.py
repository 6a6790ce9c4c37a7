from __future__ import annotations

from django import template

from kehu.customers.views import CLASS_CSS, STATUS_CSS

register = template.Library()


@register.filter
def customer_status_css(status: str) -> str:
    return STATUS_CSS.get(status, "bg-light text-muted")


@register.filter
def customer_class_css(value: str) -> str:
    return CLASS_CSS.get(value, "bg-light text-muted")
