"""The dossier's note on confidential credit content (category 3): to a user whose role does not show the credit
file, statements and ratings, which of them they may open under a grant in force, which they have asked for, and
a "申请查阅" link for the others (R-ARC-01). Users who see them by role get nothing here."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse

from kehu.confidential import gates, selectors
from kehu.confidential import items as it
from kehu.core import access
from kehu.customers.models import Customer


def _open_url(key: str, customer: Customer) -> str:
    if key == it.CREDIT_FILE:
        return reverse("credit_file", args=[customer.pk])
    if key == it.CREDIT_STATEMENTS:
        return reverse("credit_statement_list", args=[customer.pk])
    from kehu.credit.models import Rating, RatingStatus

    rating = Rating.objects.filter(customer=customer, status=RatingStatus.APPROVED).values_list(
        "pk", flat=True
    )
    pk = rating.first()
    return reverse("credit_rating_detail", args=[pk]) if pk else ""


def render_credit_access(request: HttpRequest, customer: Customer) -> str | None:
    actor: Any = request.user
    hidden = [k for k in it.CREDIT_ITEMS if access.scope_for(actor, it.ITEM_ACTION[k]) is None]
    if not hidden:
        return None
    grants = gates.active_grants(actor, [customer.pk])
    requests = selectors.customer_requests(actor=actor, customer=customer)
    pending = {
        k for r in requests if r.status in ("draft", "pending", "gm") for k in r.items if k in it.CREDIT_ITEMS
    }
    can_request = gates.may_request(actor, customer.pk)
    rows = []
    for key in hidden:
        covering = it.ACTION_ITEMS[it.ITEM_ACTION[key]]
        grant = next((g for g, _c, keys in grants if covering & set(keys or [])), None)
        rows.append(
            {
                "key": key,
                "label": it.credit_label(key),
                "grant": grant,
                "open_url": _open_url(key, customer) if grant else "",
                "pending": key in pending,
                "request_url": gates.request_url(customer.pk, [key]) if can_request and not grant else "",
            }
        )
    return render_to_string(
        "confidential/_credit_section.html",
        {"c": customer, "rows": rows, "requests": requests},
        request=request,
    )
