"""The dossier's own archive sections (R-CUS-06): the files attached to the dossier (category 1) and the
lifecycle with the ending reason (category 6). Other modules file theirs through :mod:`kehu.customers.archive`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from kehu.core import audit
from kehu.core.attachments import attachment_panel
from kehu.core.models.attachments import DocumentType
from kehu.customers.archive import ArchiveCategory, register_section
from kehu.customers.documents import LICENCE_TYPES
from kehu.customers.models import Customer, CustomerStatus

LIFECYCLE_LIMIT = 200
SHOWN_ELSEWHERE = {*LICENCE_TYPES, DocumentType.CONTRACT}


def render_attachments(request: HttpRequest, customer: Customer) -> str:
    actor: Any = request.user
    panel = attachment_panel(actor=actor, target=customer, next_url=request.get_full_path())
    # licences and certificates have their own section ("证照"), contracts category 2
    panel["items"] = [i for i in panel["items"] if i["att"].doc_type not in SHOWN_ELSEWHERE]
    return render_to_string("customers/sections/attachments.html", {"attachments": panel}, request=request)


def lifecycle_events(customer: Customer) -> list[dict[str, Any]]:
    """Each status change of the customer, oldest first: from, to, ending reason, who, when, why (one query)."""
    labels = dict(CustomerStatus.choices)
    events = []
    entries = audit.history(customer).filter(action="transition").order_by("seq")[:LIFECYCLE_LIMIT]
    for e in entries:
        status = (e.changes or {}).get("status")
        if not isinstance(status, list) or len(status) != 2:
            continue
        events.append(
            {
                "at": e.timestamp,
                "actor": e.actor.label if e.actor else e.actor_label,
                "old": labels.get(status[0], status[0]),
                "new": labels.get(status[1], status[1]),
                "ended": status[1] == CustomerStatus.ENDED,
                "reason": e.reason,
            }
        )
    return events


def render_exit(request: HttpRequest, customer: Customer) -> str:
    return render_to_string(
        "customers/sections/exit.html",
        {"c": customer, "events": lifecycle_events(customer)},
        request=request,
    )


def register() -> None:
    register_section(
        ArchiveCategory.BASIC, "customers.attachments", _("资料附件"), render_attachments, order=50
    )
    register_section(
        ArchiveCategory.EXIT, "customers.lifecycle", _("状态变更与终止原因"), render_exit, order=10
    )
