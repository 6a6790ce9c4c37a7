"""The credit grade in the customer list (R-CUS-08: the list shows each customer's credit grade): the grade and
class of the rating in force, brought into the list's one query."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from kehu.core.listing import Column
from kehu.credit.models import Rating, RatingStatus


def _annotate(qs: QuerySet[Any]) -> QuerySet[Any]:
    in_force = Rating.objects.filter(customer=OuterRef("pk"), status=RatingStatus.APPROVED)
    return qs.annotate(
        credit_grade=Subquery(in_force.values("grade")[:1]),
        credit_class=Subquery(in_force.values("credit_class")[:1]),
    )


def _grade(c: Any) -> str:
    grade = getattr(c, "credit_grade", None)
    return f"{grade} · {c.credit_class}" if grade else ""


def register() -> None:
    from kehu.customers.columns import register_list_column

    register_list_column(
        "credit.grade",
        35,  # after the customer class
        lambda: Column("credit_grade", _("信用等级"), value=_grade, css="text-nowrap"),
        annotate=_annotate,
    )
