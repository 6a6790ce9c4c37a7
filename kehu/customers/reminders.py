"""Daily jobs of the customer dossier (declared in :mod:`kehu.customers.periodic`).

- :func:`group_deadlines_overdue` (R-CUS-04): one inbox task for the owner per information group that is past its
  deadline and still incomplete; a group found complete is marked so instead.
- :func:`documents_warn` (R-CUS-05): an inbox task for the owner at each lead time of the policy
  ``customers.documents`` (default 60/30/7 days before the end of validity), once per document version and lead
  time. A document found already inside several lead times raises only the nearest one.
- :func:`documents_summaries_refresh`: recomputes the documents summary of every customer (the list filter reads
  it), e.g. after the policy's required types changed.

Each job is safe to run twice: what it raised is recorded (``task_raised_at``, :class:`DocumentWarning`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import audit
from kehu.core.attachments import attachments_expiring
from kehu.customers import documents, groups, policies
from kehu.customers.models import Customer, CustomerStatus, DocumentWarning, GroupDeadline

Progress = Callable[[int, int, str], None] | None


def group_deadlines_overdue(progress: Progress = None, at: dt.date | None = None) -> dict[str, int]:
    """Raise one task per overdue incomplete group (customers not ended). Returns counts."""
    from kehu.workflow.engine import task_create

    today = at or timezone.localdate()
    due = (
        GroupDeadline.objects.filter(completed_at__isnull=True, task_raised_at__isnull=True, due_on__lt=today)
        .exclude(customer__status=CustomerStatus.ENDED)
        .order_by("customer_id", "pk")
    )
    customer_ids = list(due.values_list("customer_id", flat=True).distinct())
    raised = completed = 0
    for n, customer_id in enumerate(customer_ids, 1):
        with transaction.atomic():
            customer = Customer.objects.select_related("owner").get(pk=customer_id)
            rows = list(due.filter(customer_id=customer_id).select_for_update(of=("self",)))
            if rows:
                facts = groups.facts_for(customer, today=today)
                completed += len(groups.groups_refresh(customer, facts=facts))
                done = groups.completion(customer, facts)
                now = timezone.now()
                for d in rows:
                    if done[d.group][0] >= done[d.group][1]:
                        continue
                    task_create(
                        target=d, title=groups.overdue_title(customer, d), assignee=customer.owner, due=today
                    )
                    GroupDeadline.objects.filter(pk=d.pk).update(task_raised_at=now)
                    raised += 1
        if progress is not None:
            progress(n, len(customer_ids), "")
    if raised:
        audit.record(
            actor=None,
            action="other",
            object_type="customers.groupdeadline",
            object_repr=f"overdue groups: {raised}",
            changes={"tasks_raised": raised, "completed": completed},
            reason="customers.group_deadlines_overdue",
        )
    return {"raised": raised, "completed": completed}


def _lead_to_raise(days_left: int, leads: list[int]) -> int | None:
    """The nearest lead time the document has reached (``days_left`` ≤ lead), or None."""
    reached = [lead for lead in leads if days_left <= lead]
    return min(reached) if reached else None


def documents_warn(progress: Progress = None, at: dt.date | None = None) -> dict[str, int]:
    """Raise the expiry warnings due today. Returns counts."""
    from kehu.workflow.engine import task_close, task_create

    today = at or timezone.localdate()
    policy, version = policies.documents()
    leads = sorted(policy.warn_days)
    if not leads:
        return {"raised": 0}
    ct = ContentType.objects.get_for_model(Customer)
    expiring = list(
        attachments_expiring(within_days=max(leads), at=today).filter(
            content_type=ct, doc_type__in=documents.LICENCE_TYPES
        )
    )
    customers = {
        str(c.pk): c
        for c in Customer.objects.filter(pk__in={int(a.object_id) for a in expiring})
        .exclude(status=CustomerStatus.ENDED)
        .select_related("owner")
    }
    existing = {
        (w.attachment_id, w.lead_days)
        for w in DocumentWarning.objects.filter(attachment__in=[a.pk for a in expiring])
    }
    raised = 0
    for n, att in enumerate(expiring, 1):
        customer = customers.get(att.object_id)
        if customer is None or att.valid_to is None:
            continue
        days_left = (att.valid_to - today).days
        lead = _lead_to_raise(days_left, leads)
        if lead is None or (att.pk, lead) in existing:
            continue
        try:
            with transaction.atomic():
                warning = DocumentWarning.objects.create(
                    customer=customer,
                    attachment=att,
                    lead_days=lead,
                    valid_to=att.valid_to,
                    raised_at=timezone.now(),
                )
                # an earlier (farther) warning of the same document is superseded by this one
                for older in DocumentWarning.objects.filter(
                    attachment=att, resolved_at__isnull=True, lead_days__gt=lead
                ):
                    task_close(target=older)
                task_create(
                    target=warning,
                    title=_("%(customer)s 的%(doc)s将于 %(day)s 到期（剩 %(n)s 天），请督促更新")
                    % {
                        "customer": customer.name,
                        "doc": att.get_doc_type_display(),
                        "day": att.valid_to.isoformat(),
                        "n": days_left,
                    },
                    assignee=customer.owner,
                    due=att.valid_to,
                )
                audit.record(
                    actor=None,
                    action="create",
                    obj=warning,
                    changes={"attachment": [None, att.pk], "lead_days": [None, lead]},
                    reason="customers.documents_warn",
                    policy_version=version,
                )
        except IntegrityError:  # raised by a concurrent run
            continue
        existing.add((att.pk, lead))
        raised += 1
        if progress is not None:
            progress(n, len(expiring), "")
    return {"raised": raised}


def documents_summaries_refresh(progress: Progress = None) -> dict[str, Any]:
    """Recompute every customer's documents summary (the state of the list filter)."""
    changed = documents.refresh_all_summaries(progress=progress)
    if changed:
        audit.record(
            actor=None,
            action="other",
            object_type="customers.customer",
            object_repr=f"documents summaries: {changed}",
            changes={"changed": changed},
            reason="customers.documents_summaries_refresh",
        )
    return {"changed": changed}
