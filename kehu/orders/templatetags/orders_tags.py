"""Template helpers of the orders pages."""

from __future__ import annotations

from django import template

from kehu.orders.models import OrderStatus

register = template.Library()

STATUS_CSS: dict[str, str] = {
    OrderStatus.DRAFT: "bg-secondary-subtle text-secondary-emphasis",
    OrderStatus.CREDIT_HOLD: "bg-danger-subtle text-danger-emphasis",
    OrderStatus.REVIEW_PENDING: "bg-warning-subtle text-warning-emphasis",
    OrderStatus.APPROVED: "bg-success-subtle text-success-emphasis",
    OrderStatus.EXECUTING: "bg-primary-subtle text-primary-emphasis",
    OrderStatus.COMPLETED: "bg-info-subtle text-info-emphasis",
    OrderStatus.CANCELLED: "bg-light text-muted",
}


@register.filter
def order_status_css(status: str) -> str:
    return STATUS_CSS.get(status, "")
