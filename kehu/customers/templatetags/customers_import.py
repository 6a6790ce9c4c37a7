"""The "导入" button of the customer list (R-PLT-10), shown to those who may import customers."""

from __future__ import annotations

from typing import Any

from django import template

from kehu.core import access

register = template.Library()


@register.inclusion_tag("customers/import/_button.html", takes_context=True)
def customer_import_button(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"show": bool(user is not None and user.is_authenticated and access.can(user, "customer.import"))}
