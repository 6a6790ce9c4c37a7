"""Grading writes (R-GRD-01, R-GRD-02): entering scorecard inputs, starting a run (computed in the background),
the computation itself, and approval by someone other than the starter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kehu.core.models.audit import AuditAction
from kehu.customers.models import Customer, CustomerStatus
from kehu.grading import policies, scoring
from kehu.grading.models import GradingResult, GradingRun, InputEntry, RunStatus
from kehu.receivables import interface as receivables

# --------------------------------------------------------------------------------------------------------------
# Entered inputs


def _clean_input(item: str, raw: Any, policy: policies.SchemePolicy) -> str:
    text = str(raw if raw is not None else "").strip()
    label = {k: _(lbl) for k, lbl, _src in policies.ITEMS}.get(item, item)
    if item == "sales_model":
        if text not in policy.rules.sales_model_percent:
            raise ValidationFailed(
                _("%(label)s：请选择有效的销售模式。") % {"label": label}, field=item, rule="choice"
            )
        return text
    if item == "industry_reputation":
        if text not in {"1", "2", "3", "4", "5"}:
            raise ValidationFailed(
                _("%(label)s：须为 1 至 5 的整数。") % {"label": label}, field=item, rule="range"
            )
        return text
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(
            _("%(label)s：须为数字。") % {"label": label}, field=item, rule="number"
        ) from None
    if not value.is_finite() or value < 0 or value > 100:
        raise ValidationFailed(
            _("%(label)s：须在 0 至 100（%%）之间。") % {"label": label}, field=item, rule="range"
        )
    return str(value.quantize(Decimal("0.01")))


@transaction.atomic
def inputs_enter(*, actor: Any, customer_id: int, values: dict[str, Any], note: str = "") -> list[InputEntry]:
    """Record the entered items given in ``values`` (blank ones are left as they are). Each value becomes a new row
    with who entered it and when; all values are checked before any is stored."""
    customer = access.get_scoped(actor, "grading.input.enter", Customer.objects.all(), pk=customer_id)
    policy, version = policies.scheme()
    unknown = set(values) - set(policies.ENTERED)
    if unknown:
        field = sorted(unknown)[0]
        raise ValidationFailed(
            _("评分项 %(item)s 不由销售录入。") % {"item": field}, field=field, rule="entered_items"
        )
    cleaned = {k: _clean_input(k, v, policy) for k, v in values.items() if v not in (None, "")}
    if not cleaned:
        raise ValidationFailed(_("请至少录入一个评分项。"), field="values", rule="required")
    rows = [
        InputEntry(customer=customer, item=k, value=v, note=(note or "")[:200], entered_by=actor)
        for k, v in cleaned.items()
    ]
    InputEntry.objects.bulk_create(rows)
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=customer,
        changes={"grading_inputs": cleaned, **({"note": note} if note else {})},
        policy_version=version,
    )
    return rows


# --------------------------------------------------------------------------------------------------------------
# Runs


def period_end_of(period_end: dt.date | None = None) -> dt.date:
    """The last day of a scoring period: ``period_end``, or yesterday when None; never in the future
    (ValidationFailed on ``period_end``)."""
    today = timezone.localdate()
    period_end = period_end or today - dt.timedelta(days=1)
    if period_end > today:
        raise ValidationFailed(_("期间止日不得晚于今天。"), field="period_end", rule="not_future")
    return period_end


def period_of(policy: policies.SchemePolicy, period_end: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The first and last day of the scoring period of ``policy`` ending ``period_end`` (checked and defaulted as
    :func:`period_end_of` does): ``policy.period_months`` months up to and including the last day."""
    end = period_end_of(period_end)
    return end - relativedelta(months=policy.period_months) + dt.timedelta(days=1), end


@transaction.atomic
def run_start(*, actor: Any, period_end: dt.date | None = None) -> GradingRun:
    """Record a run for the period ending ``period_end`` (yesterday when None; not in the future) under the scheme
    in force on that day, and queue its computation."""
    access.require(actor, "grading.run.start")
    period_end = period_end_of(period_end)
    if GradingRun.objects.filter(status=RunStatus.QUEUED).exists():
        raise Conflict(_("已有一次分级运行正在计算，请等其完成。"))
    policy, version = policies.scheme(period_end)
    period_start, period_end = period_of(policy, period_end)
    run = GradingRun.objects.create(
        period_start=period_start,
        period_end=period_end,
        policy_version_id=version,
        started_by=actor,
    )
    from kehu.core.jobs import enqueue

    job = enqueue("kehu.grading.services.run_compute", actor=actor, run_id=run.pk)
    run.job_run_id = job.pk
    run.save(update_fields=["job_run_id"])
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=run,
        changes={"period_start": run.period_start, "period_end": run.period_end},
        policy_version=version,
    )
    return run


def collect_inputs(
    customers: list[Customer], start: dt.date, end: dt.date, as_of: dt.datetime
) -> dict[int, scoring.Inputs]:
    """The inputs of each customer (R-GRD-01), read for the whole batch at once through the receivables interface:
    sales and order volume from the invoices dated in [start, end] and years of trade from the first invoice
    (``invoice_totals``), payment reputation from the most days late (``worst_days_late``: paid late within the
    period or still overdue at its end, as ``late_payments`` and ``overdue_summary`` tell it), the entered items
    from the latest entry made before ``as_of``. A customer without any invoice up to ``end`` has no ledger data:
    those items are missing. Four queries per batch of up to 500 customers, whatever their ledgers hold (R-GRD-02:
    a run covers every customer)."""
    ids = [c.pk for c in customers]
    totals = receivables.invoice_totals(ids, start, end)
    worst = receivables.worst_days_late(list(totals), start, end)
    entered: dict[int, dict[str, str]] = {}
    for cid, item, value in (
        InputEntry.objects.filter(customer_id__in=ids, entered_at__lte=as_of)
        .order_by("customer_id", "item", "entered_at", "id")
        .values_list("customer_id", "item", "value")
    ):
        entered.setdefault(cid, {})[item] = value  # the latest wins
    out: dict[int, scoring.Inputs] = {}
    for cid in ids:
        mine = entered.get(cid, {})
        ledger = totals.get(cid)
        out[cid] = scoring.Inputs(
            sales_volume=ledger.amount if ledger else None,
            order_volume=ledger.count if ledger else None,
            worst_days_late=worst[cid] if ledger else None,
            margin=Decimal(mine["margin"]) if "margin" in mine else None,
            years_of_trade=scoring.years_between(ledger.first, end) if ledger else None,
            sales_model=mine.get("sales_model"),
            purchase_share=Decimal(mine["purchase_share"]) if "purchase_share" in mine else None,
            industry_reputation=int(mine["industry_reputation"]) if "industry_reputation" in mine else None,
        )
    return out


BATCH = 500


def run_compute(run_id: int, progress: Callable[..., None] | None = None) -> dict[str, Any]:
    """The background job: score every active customer, rank, apply the quotas, store the results. A failure marks
    the run failed (with the error) so that a new run can be started."""
    try:
        return _compute(run_id, progress)
    except Exception as exc:
        GradingRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED, error=str(exc)[:2000]
        )
        raise


# Per customer: the breakdown rows, the number of missing items and the raw inputs (JSON values).
Details = dict[int, tuple[list[dict[str, object]], int, dict[str, Any]]]


def compute_grades(
    policy: policies.SchemePolicy,
    period_start: dt.date,
    period_end: dt.date,
    as_of: dt.datetime,
    progress: Callable[..., None] | None = None,
    *,
    breakdown: bool = True,
) -> tuple[list[scoring.Placed], Details]:
    """Score every active customer over [period_start, period_end] with the entered items as of ``as_of``, rank
    and apply the quotas of ``policy`` (R-GRD-01, R-GRD-02). Reads only: a run stores the outcome, a simulation
    (R-GRD-05) compares it with the grades in force. Customers are read in batches of ``BATCH``; ``progress`` is
    told after each batch. Without ``breakdown`` the per-item rows are not kept (less memory for 100k customers)."""
    customers_qs = Customer.objects.filter(status=CustomerStatus.ACTIVE).order_by("pk").only("pk")
    total = customers_qs.count()
    scores: list[tuple[int, Decimal]] = []
    details: Details = {}
    batch: list[Customer] = []

    def flush() -> None:
        for cid, inputs in collect_inputs(batch, period_start, period_end, as_of).items():
            value, rows, missing = score(policy, inputs)
            scores.append((cid, value))
            details[cid] = (rows if breakdown else [], missing, inputs.as_json())
        batch.clear()
        if progress:
            progress(len(scores), total, _("已评分 %(n)s 户") % {"n": len(scores)})

    for c in customers_qs.iterator(chunk_size=BATCH):
        batch.append(c)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    placed = scoring.allocate(scores, [g.name for g in policy.grades], [g.quota for g in policy.grades])
    return placed, details


def _compute(run_id: int, progress: Callable[..., None] | None) -> dict[str, Any]:
    run = GradingRun.objects.get(pk=run_id)
    if run.status != RunStatus.QUEUED:
        return {"skipped": run.status}
    policy = policies.scheme_of_version(run.policy_version_id)
    placed, details = compute_grades(policy, run.period_start, run.period_end, run.started_at, progress)
    distribution = {g.name: 0 for g in policy.grades}
    for p in placed:
        distribution[p.grade] += 1
    with transaction.atomic():
        run = GradingRun.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.QUEUED:
            return {"skipped": run.status}
        GradingResult.objects.bulk_create(
            [
                GradingResult(
                    run=run,
                    customer_id=p.key,
                    score=p.score,
                    rank=p.rank,
                    grade=p.grade,
                    breakdown={"items": details[p.key][0], "inputs": details[p.key][2]},
                    missing=details[p.key][1],
                )
                for p in placed
            ],
            batch_size=BATCH,
        )
        run.status = RunStatus.COMPUTED
        run.computed_at = timezone.now()
        run.customer_count = len(placed)
        run.distribution = distribution
        run.save(update_fields=["status", "computed_at", "customer_count", "distribution"])
        audit.record(
            actor=None,
            action=AuditAction.UPDATE,
            obj=run,
            changes={"status": [RunStatus.QUEUED, RunStatus.COMPUTED], "distribution": distribution},
            policy_version=run.policy_version_id,
        )
    return {"customers": len(placed), "distribution": distribution}


def score(
    policy: policies.SchemePolicy, inputs: scoring.Inputs
) -> tuple[Decimal, list[dict[str, object]], int]:
    return scoring.score(policy, inputs)


def lock_run_in_force(at: dt.date | None = None) -> GradingRun | None:
    """Lock the run in force on ``at`` (today) for the rest of the transaction and give it back, or None when no
    run is in force. Approving a run and approving an override both lock it (R-GRD-04), so an override is never
    approved against a run that a concurrent approval is replacing. The run is read again once locked: when
    another approval took effect meanwhile, the new run in force is locked instead."""
    from kehu.grading.interface import runs_in_force

    at = at or timezone.localdate()
    current = runs_in_force(at).first()
    while current is not None:
        GradingRun.objects.select_for_update().filter(pk=current.pk).values_list("pk", flat=True).first()
        again = runs_in_force(at).first()
        if again is None or again.pk == current.pk:
            return again
        current = again
    return None


@transaction.atomic
def run_approve(*, actor: Any, run_id: int, comment: str = "") -> GradingRun:
    """Approve a computed run: its grades take effect today and it becomes the run in force (R-GRD-02). The
    approver may not be the one who started it. A run started before the run in force is out of date and cannot be
    approved any more (Conflict): it would replace newer grades with older ones."""
    access.require(actor, "grading.run.approve")
    run = access.get_scoped(actor, "grading.run.view", GradingRun.objects.select_for_update(), pk=run_id)
    if run.status != RunStatus.COMPUTED:
        raise Conflict(_("只有待批准的分级运行可以批准（当前：%(s)s）。") % {"s": run.get_status_display()})
    if run.started_by_id == actor.pk:
        raise PermissionDenied(_("发起人不得批准自己发起的分级运行，须由他人批准。"))
    current = lock_run_in_force()
    if current is not None and run.started_at < current.started_at:
        raise Conflict(
            _(
                "分级运行 #%(run)s 发起于现行的分级运行 #%(current)s 之前，其结果已过时，不能再批准；"
                "需要时请重新发起分级运行。"
            )
            % {"run": run.pk, "current": current.pk}
        )
    run.status = RunStatus.APPROVED
    run.approved_by = actor
    run.approved_at = timezone.now()
    run.effective_on = timezone.localdate()
    run.save(update_fields=["status", "approved_by", "approved_at", "effective_on"])
    audit.record(
        actor=actor,
        action=AuditAction.DECISION,
        obj=run,
        changes={
            "status": [RunStatus.COMPUTED, RunStatus.APPROVED],
            "effective_on": run.effective_on,
            "replaces": current.pk if current is not None else None,
        },
        reason=comment,
        policy_version=run.policy_version_id,
    )
    return run
