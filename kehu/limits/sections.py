"""The customer's credit section in the dossier's archive category 3 (信用、债务与还款)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

from kehu.core import access
from kehu.customers.models import Customer
from kehu.limits import selectors


def render_credit_section(request: HttpRequest, customer: Customer) -> str | None:
    actor: Any = request.user
    if not access.can(actor, "limits.limit.view") or not access.in_scope(actor, "customer.view", customer):
        return None
    data = selectors.customer_credit(actor=actor, customer=customer)
    data.update(
        customer=customer,
        can_apply=access.can(actor, "limits.application.apply"),
        can_reviews=access.can(actor, "limits.review.view"),
        can_litigation=access.can(actor, "limits.litigation.record"),
        can_open_review=access.can(actor, "limits.review.open"),
    )
    return render_to_string("limits/_section.html", data, request=request)
