"""The daily re-qualification job (R-ONB-08).

1. Every active customer gets its schedule; next review dates follow the policy in force and the current class.
2. A re-qualification case opens for each customer due within the policy's lead days, and for each customer whose
   required documents are missing or expired (R-CUS-05 check), unless a review is already open.
3. The annual meeting: a task for the owner when no visit or meeting was logged within the policy's interval; the
   task closes once a meeting is logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.customers.documents import customer_documents_valid
from kehu.customers.models import ContactChannel, ContactLog, Customer, CustomerStatus
from kehu.onboarding import policies, services
from kehu.onboarding.models import Qualification, Review, ReviewTrigger
from kehu.workflow import engine
from kehu.workflow.models import Task, TaskState

Progress = Callable[[int, int, str], None]


def requalification_run(progress: Progress | None = None, today: str | None = None) -> dict[str, int]:
    day = dt.date.fromisoformat(today) if today else timezone.localdate()
    out = services.qualification_refresh()
    policy, _version = policies.requalification()
    open_ids = set(Review.objects.filter(case__closed_at__isnull=True).values_list("customer_id", flat=True))
    due = list(
        Qualification.objects.filter(
            customer__status=CustomerStatus.ACTIVE,
            next_review_on__lte=day + dt.timedelta(days=policy.lead_days),
        )
        .exclude(customer_id__in=open_ids)
        .values_list("customer_id", flat=True)
    )
    suspects = (
        Customer.objects.filter(status=CustomerStatus.ACTIVE)
        .filter(Q(documents_missing=True) | Q(documents_expiry__lt=day))
        .exclude(pk__in=open_ids)
        .exclude(pk__in=due)
        .only("pk", "is_person")
    )
    expired = [c.pk for c in suspects.iterator(chunk_size=500) if not customer_documents_valid(c, day).ok]
    total = len(due) + len(expired)
    opened = {"due": 0, "documents": 0}
    for i, (pk, trigger) in enumerate(
        [(pk, ReviewTrigger.DUE) for pk in due] + [(pk, ReviewTrigger.DOCUMENTS) for pk in expired], start=1
    ):
        if services.requal_open_system(customer_id=pk, trigger=trigger) is not None:
            opened["due" if trigger == ReviewTrigger.DUE else "documents"] += 1
        if progress is not None:
            progress(i, total, _("发起复审"))
    out.update({"opened_due": opened["due"], "opened_documents": opened["documents"]})
    out.update(_meetings(day, policy.meeting_days))
    return out


def _meetings(day: dt.date, interval: int) -> dict[str, int]:
    since = timezone.make_aware(dt.datetime.combine(day - dt.timedelta(days=interval), dt.time.min))
    last = dict(
        ContactLog.objects.filter(
            channel__in=[ContactChannel.VISIT, ContactChannel.MEETING],
            customer__status=CustomerStatus.ACTIVE,
        )
        .values("customer_id")
        .annotate(at=Max("contacted_at"))
        .values_list("customer_id", "at")
    )
    ct = ContentType.objects.get_for_model(Qualification)
    with_task = set(
        Task.objects.filter(target_type=ct, state=TaskState.OPEN).values_list("target_id", flat=True)
    )
    created = closed = 0
    rows = Qualification.objects.filter(customer__status=CustomerStatus.ACTIVE).select_related(
        "customer", "customer__owner"
    )
    for q in rows.iterator(chunk_size=500):
        met: Any = last.get(q.customer_id)
        met_on = timezone.localtime(met).date() if met else None
        if met_on != q.last_meeting_on:
            Qualification.objects.filter(pk=q.pk).update(last_meeting_on=met_on)
        has_task = str(q.pk) in with_task
        if met is not None and met >= since:
            if has_task:
                engine.task_close(target=q)
                closed += 1
            continue
        if not has_task and q.customer.owner.is_active:
            engine.task_create(
                target=q,
                title=_("年度客户会面：%(name)s") % {"name": q.customer.name},
                assignee=q.customer.owner,
                due=day + dt.timedelta(days=30),
            )
            created += 1
    return {"meeting_tasks": created, "meeting_tasks_closed": closed}
