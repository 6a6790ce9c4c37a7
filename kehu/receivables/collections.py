"""Collections (催收, R-CRD-07): collection records and payment promises, the 收款异样报告表 and 问题帐款报告书 of the
credit file, and the daily job that turns broken promises and overdue invoices into inbox tasks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import audit
from kehu.core.errors import ValidationFailed
from kehu.core.models import User
from kehu.core.numbering import number_next, register_series
from kehu.receivables import policies
from kehu.receivables.models import (
    ZERO,
    AlertKind,
    CollectionAlert,
    CollectionKind,
    CollectionRecord,
    CollectionReport,
    Entry,
    EntryKind,
    ReportKind,
)
from kehu.receivables.selectors import customer_get
from kehu.receivables.services import _date, _not_future, money

register_series("rcv_abnormal", prefix="SKYC", width=5, label=_("收款异样报告表"))
register_series("rcv_problem", prefix="WTZK", width=5, label=_("问题帐款报告书"))


@transaction.atomic
def collection_record(
    *,
    actor: Any,
    customer_id: Any,
    kind: str,
    happened_on: Any,
    note: str = "",
    promise_date: Any = None,
    promise_amount: Any = None,
) -> CollectionRecord:
    """Record a call, letter, visit, statement sent or a payment promise (with date and amount)."""
    customer = customer_get(actor, "receivables.collect", customer_id)
    if kind not in CollectionKind.values:
        raise ValidationFailed(_("未知的催收方式。"), field="kind", rule="choice")
    day = _date(happened_on, field="happened_on", label=_("日期"))
    _not_future(day, field="happened_on", label=_("日期"))
    note = (note or "").strip()
    p_date = p_amount = None
    if kind == CollectionKind.PROMISE:
        if promise_date in (None, "") or promise_amount in (None, ""):
            raise ValidationFailed(
                _("付款承诺须填写承诺付款日和承诺金额。"), field="promise_date", rule="required"
            )
        p_date = _date(promise_date, field="promise_date", label=_("承诺付款日"))
        if p_date < day:
            raise ValidationFailed(
                _("承诺付款日不能早于记录日期。"), field="promise_date", rule="after_record"
            )
        p_amount = money(promise_amount, field="promise_amount")
    elif not note:
        raise ValidationFailed(_("请填写情况说明。"), field="note", rule="required")
    record = CollectionRecord.objects.create(
        customer=customer,
        kind=kind,
        happened_on=day,
        note=note[:4000],
        promise_date=p_date,
        promise_amount=p_amount,
        created_by=actor,
    )
    audit.record(
        actor=actor,
        action="create",
        obj=record,
        changes={
            "kind": kind,
            "promise": [p_date.isoformat(), str(p_amount)] if p_date else None,
        },
    )
    return record


@transaction.atomic
def report_create(
    *,
    actor: Any,
    customer_id: Any,
    kind: str,
    report_date: Any,
    amount: Any,
    situation: str,
    cause: str = "",
    measures: str = "",
) -> CollectionReport:
    """File a 收款异样报告表 or 问题帐款报告书 in the customer's credit file."""
    from kehu.core import access

    access.require(actor, "receivables.report.create")
    customer = customer_get(actor, "receivables.report.create", customer_id)
    if kind not in ReportKind.values:
        raise ValidationFailed(_("未知的报告类别。"), field="kind", rule="choice")
    day = _date(report_date, field="report_date", label=_("报告日期"))
    _not_future(day, field="report_date", label=_("报告日期"))
    value = money(amount, field="amount")
    situation = (situation or "").strip()
    if not situation:
        raise ValidationFailed(_("请填写异常情况。"), field="situation", rule="required")
    if kind == ReportKind.PROBLEM and not (measures or "").strip():
        raise ValidationFailed(_("问题帐款报告书须填写处理措施。"), field="measures", rule="required")
    report = CollectionReport.objects.create(
        customer=customer,
        kind=kind,
        number=number_next("rcv_abnormal" if kind == ReportKind.ABNORMAL else "rcv_problem", date=day),
        report_date=day,
        amount=value,
        situation=situation[:4000],
        cause=(cause or "").strip()[:4000],
        measures=(measures or "").strip()[:4000],
        created_by=actor,
    )
    audit.record(
        actor=actor,
        action="create",
        obj=report,
        changes={"kind": kind, "amount": str(value)},
        confidential=True,
    )
    return report


# ---------------------------------------------------------------------------------------------------------------
# Broken promises and overdue invoices → inbox tasks


def received_between(customer_id: int, start: dt.date, end: dt.date) -> Decimal:
    """Money received (receipts and prepayments not reversed) dated within [start, end]."""
    got = Entry.objects.filter(
        customer_id=customer_id,
        kind__in=(EntryKind.RECEIPT, EntryKind.PREPAYMENT),
        entry_date__gte=start,
        entry_date__lte=end,
        reversed_by__isnull=True,
    ).aggregate(s=Sum("amount"))["s"]
    return got or ZERO


def _credit_officers() -> list[User]:
    return list(User.objects.filter(is_active=True, roles__code="credit_officer").distinct().order_by("pk"))


def _raise(alert: CollectionAlert, title: str, due: dt.date, officers: list[User]) -> int:
    from kehu.workflow.engine import task_create

    customer = alert.customer
    made = 0
    people = [customer.owner] if customer.owner_id else []
    people += [u for u in officers if u.pk != customer.owner_id]
    for person in people:
        task_create(target=alert, title=title, assignee=person, due=due)
        made += 1
    if not officers:
        task_create(target=alert, title=title, assignee_role="credit_officer", due=due)
        made += 1
    return made


def collection_alerts_run(
    at: dt.date | None = None, progress: Callable[[int, int, str], None] | None = None
) -> dict[str, int]:
    """Find broken promises (promise date + tolerance passed, less than the promised amount received since the
    promise was made) and invoices overdue more than the policy's days; raise each once as an alert with tasks for
    the customer's owner and the credit officers. Idempotent: an alert exists at most once per promise/invoice."""
    at = at or timezone.localdate()
    policy, version = policies.collection()
    officers = _credit_officers()
    due = at + dt.timedelta(days=policy.task_days)
    counts = {"broken_promises": 0, "overdue": 0, "tasks": 0}
    done_promises = set(
        CollectionAlert.objects.filter(kind=AlertKind.BROKEN_PROMISE).values_list("source_id", flat=True)
    )
    promises = (
        CollectionRecord.objects.filter(
            kind=CollectionKind.PROMISE,
            promise_date__lt=at - dt.timedelta(days=policy.promise_tolerance_days),
        )
        .exclude(pk__in=done_promises)
        .select_related("customer", "customer__owner")
    )
    for p in promises:
        assert p.promise_date is not None and p.promise_amount is not None
        end = p.promise_date + dt.timedelta(days=policy.promise_tolerance_days)
        got = received_between(p.customer_id, p.happened_on, end)
        if got >= p.promise_amount:
            continue
        alert = _alert(p.customer, AlertKind.BROKEN_PROMISE, p.pk, p.promise_amount - got, at, version)
        if alert is None:
            continue
        counts["broken_promises"] += 1
        counts["tasks"] += _raise(
            alert,
            _("付款承诺未兑现：%(c)s 承诺 %(d)s 付 %(a)s，实收 %(g)s")
            % {"c": p.customer.name, "d": p.promise_date, "a": p.promise_amount, "g": got},
            due,
            officers,
        )
    done_invoices = CollectionAlert.objects.filter(kind=AlertKind.OVERDUE).values("source_id")
    overdue = (
        Entry.objects.filter(
            kind=EntryKind.INVOICE,
            open_amount__gt=0,
            due_date__lt=at - dt.timedelta(days=policy.overdue_task_days),
        )
        .exclude(pk__in=done_invoices)
        .select_related("customer", "customer__owner")
        .order_by("pk")
    )
    total = overdue.count()
    for n, inv in enumerate(overdue.iterator(), start=1):
        alert = _alert(inv.customer, AlertKind.OVERDUE, inv.pk, inv.open_amount, at, version)
        if alert is not None:
            counts["overdue"] += 1
            counts["tasks"] += _raise(
                alert,
                _("账款逾期：%(c)s 发票 %(n)s 逾期 %(d)s 天，未清 %(a)s")
                % {
                    "c": inv.customer.name,
                    "n": inv.number,
                    "d": (at - (inv.due_date or at)).days,
                    "a": inv.open_amount,
                },
                due,
                officers,
            )
        if progress is not None and n % 200 == 0:
            progress(n, total, "")
    return counts


def _alert(
    customer: Any, kind: str, source_id: int, amount: Decimal, at: dt.date, version: int | None
) -> CollectionAlert | None:
    try:
        with transaction.atomic():
            alert = CollectionAlert.objects.create(
                customer=customer,
                kind=kind,
                source_id=source_id,
                amount=amount,
                raised_on=at,
                policy_version_id=version,
            )
            audit.record(
                actor=None,
                action="create",
                obj=alert,
                changes={"kind": kind, "amount": str(amount)},
                policy_version=version,
            )
            return alert
    except IntegrityError:
        return None


PROMISES_SHOWN = 100


def promises_of(customer_id: int, *, limit: int = PROMISES_SHOWN) -> list[dict[str, Any]]:
    """The newest ``limit`` promises with what has been received since each was made (kept / open / broken). The
    receipts for all of them are read in one query, whatever the number of promises."""
    policy, _v = policies.collection()
    today = timezone.localdate()
    promises = list(
        CollectionRecord.objects.filter(customer_id=customer_id, kind=CollectionKind.PROMISE).order_by(
            "-promise_date", "-id"
        )[: max(limit, 0)]
    )
    windows = []
    for p in promises:
        assert p.promise_date is not None and p.promise_amount is not None
        end = p.promise_date + dt.timedelta(days=policy.promise_tolerance_days)
        windows.append((p, end, min(end, today)))
    received: list[tuple[dt.date, Decimal]] = []
    if windows:
        # the same receipts as received_between, for the span of all windows at once
        received = list(
            Entry.objects.filter(
                customer_id=customer_id,
                kind__in=(EntryKind.RECEIPT, EntryKind.PREPAYMENT),
                entry_date__gte=min(p.happened_on for p, _e, _u in windows),
                entry_date__lte=max(upto for _p, _e, upto in windows),
                reversed_by__isnull=True,
            )
            .order_by()
            .values_list("entry_date", "amount")
        )
    out = []
    for p, end, upto in windows:
        got = sum((amount for day, amount in received if p.happened_on <= day <= upto), ZERO)
        assert p.promise_amount is not None
        state = "kept" if got >= p.promise_amount else ("broken" if today > end else "open")
        out.append({"record": p, "received": got, "state": state})
    return out
