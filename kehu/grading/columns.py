"""The customer grade in the customer list (R-CUS-08: the list shows each customer's grade), brought into the
list's one query by a subquery on the approved runs."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from kehu.core.listing import Column


def _annotate(qs: QuerySet[Any]) -> QuerySet[Any]:
    from kehu.grading.interface import grade_subquery

    return qs.annotate(customer_grade=grade_subquery("pk"))


def register() -> None:
    from kehu.customers.columns import register_list_column

    register_list_column(
        "grading.grade",
        36,  # after the credit grade
        lambda: Column(
            "customer_grade",
            _("客户等级"),
            value=lambda c: getattr(c, "customer_grade", None) or "",
            css="text-nowrap",
        ),
        annotate=_annotate,
    )
