"""Customer selectors (every read): the customer list with its filters and search, one dossier (R-CUS-08,
R-CUS-09, R-CUS-13). Each returns only what the acting user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from kehu.core import access
from kehu.core.models import User
from kehu.customers import documents, search
from kehu.customers.models import ChangeField, Customer, CustomerChange, CustomerStatus


def search_q(text: str) -> Q:
    """Name, former names, pinyin initials, number, codes, addresses and contacts (R-CUS-13): see
    :mod:`kehu.customers.search`."""
    return search.search_q(text)


def apply_filters(qs: QuerySet[Customer], filters: dict[str, Any]) -> QuerySet[Customer]:
    if filters.get("q"):
        qs = qs.filter(search_q(filters["q"]))
    status = filters.get("status")
    # ended customers leave the list unless asked for by status (R-CUS-07)
    qs = qs.filter(status=status) if status else qs.exclude(status=CustomerStatus.ENDED)
    for key, lookup in (
        ("customer_class", "customer_class"),
        ("kind", "kind"),
        ("industry", "industry"),
        ("region", "region"),
        ("owner", "owner"),
        ("department", "department"),
    ):
        value = filters.get(key)
        if value not in (None, ""):
            qs = qs.filter(**{lookup: value})
    qs = documents.filter_by_state(qs, filters.get("documents"))  # summary fields only (R-CUS-05)
    return qs


def customer_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Customer]:
    """Customers within the user's scope, with the list filters applied (ended ones only when asked for by
    status)."""
    qs = access.restrict(actor, "customer.view", Customer.objects.all()).select_related(
        "owner", "region", "department"
    )
    return apply_filters(qs, filters or {})


def customer_get(*, actor: User, pk: int | str) -> Customer:
    """One dossier (ended customers included); 404 when missing or outside the user's scope."""
    return access.get_scoped(
        actor,
        "customer.view",
        Customer.objects.select_related("owner", "region", "department", "created_by"),
        pk=pk,
    )


def customer_timeline(customer: Customer) -> QuerySet[CustomerChange]:
    return customer.changes.select_related("recorded_by").order_by("-changed_on", "-pk")


def former_names(customer: Customer) -> list[str]:
    return list(
        customer.changes.filter(field=ChangeField.NAME)
        .order_by("-changed_on", "-pk")
        .values_list("old", flat=True)
    )
