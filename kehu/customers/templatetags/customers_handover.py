"""The dossier's hand-over and merge actions (R-CUS-10, R-CUS-11): buttons for reassigning the owner and for
asking to merge, the successor's open "inform the contacts" confirmation, the banner of a merged dossier and the
list of dossiers merged into this one."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import CharField, Value

from kehu.core import access
from kehu.customers.models import Customer, CustomerMerge, CustomerStatus, HandOverItem, MergeState

register = template.Library()


@register.inclusion_tag("customers/merge/_dossier_actions.html", takes_context=True)
def dossier_handover_actions(context: dict[str, Any], c: Customer) -> dict[str, Any]:
    user = context["request"].user
    active = c.status != CustomerStatus.ENDED
    # one query for both lists: the dossiers merged into this one, and this user's open "inform the contacts"
    text = CharField()
    merged_in = CustomerMerge.objects.filter(survivor=c, state=MergeState.DONE).values_list(
        Value("m", output_field=text), "merged_id", "merged__number", "merged__name"
    )
    inform = HandOverItem.objects.filter(
        customer=c, contacts_informed_at__isnull=True, handover__to_user_id=user.pk
    ).values_list(
        Value("i", output_field=text), "pk", Value("", output_field=text), Value("", output_field=text)
    )
    rows = list(merged_in.union(inform, all=True))
    return {
        "c": c,
        "csrf_token": context.get("csrf_token"),
        "merged_into": c.merged_into if c.merged_into_id else None,
        "merged_in": [
            {"pk": pk, "number": number, "name": name} for kind, pk, number, name in rows if kind == "m"
        ],
        "inform": next(({"pk": pk} for kind, pk, _n, _m in rows if kind == "i"), None),
        "can_reassign": active
        and access.can(user, "customer.handover")
        and access.in_scope(user, "customer.handover", c),
        "can_merge": active and access.can(user, "customer.merge.request"),
    }
