"""The credit limit in the customer list (R-CUS-08: the list shows each customer's credit limit): the amount and
term of the limit in force, brought into the list's one query."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from kehu.core.listing import Column
from kehu.limits.models import CreditLimit, LimitStatus


def _annotate(qs: QuerySet[Any]) -> QuerySet[Any]:
    in_force = CreditLimit.objects.filter(customer=OuterRef("pk"), status=LimitStatus.IN_FORCE)
    return qs.annotate(
        limit_amount=Subquery(in_force.values("amount")[:1]),
        limit_term_days=Subquery(in_force.values("term_days")[:1]),
    )


def _limit(c: Any) -> str:
    amount = getattr(c, "limit_amount", None)
    if amount is None:
        return ""
    return _("%(amount)s 元 · %(days)s 天") % {"amount": f"{amount:,.0f}", "days": c.limit_term_days}


def register() -> None:
    from kehu.customers.columns import register_list_column

    register_list_column(
        "limits.amount",
        36,  # after the credit grade
        lambda: Column(
            "limit_amount", _("信用额度"), sort="limit_amount", value=_limit, css="text-nowrap text-end"
        ),
        annotate=_annotate,
    )
