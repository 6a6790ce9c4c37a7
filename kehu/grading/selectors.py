"""Grading reads: runs, their results, distribution and movers, a customer's grade history and current inputs."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from kehu.core import access
from kehu.customers.models import Customer
from kehu.grading import policies
from kehu.grading.models import GradingResult, GradingRun, InputEntry, RunStatus


def run_list(*, actor: Any) -> QuerySet[GradingRun]:
    access.require(actor, "grading.run.view")
    return access.restrict(
        actor, "grading.run.view", GradingRun.objects.select_related("started_by", "approved_by")
    )


def run_get(*, actor: Any, run_id: int) -> GradingRun:
    return access.get_scoped(
        actor, "grading.run.view", GradingRun.objects.select_related("started_by", "approved_by"), pk=run_id
    )


def previous_run(run: GradingRun) -> GradingRun | None:
    """The run this one replaces (R-GRD-02), by approval order (effective date, approval time): for an approved run
    the approved run in force just before it took effect; for any other run the run in force now (the grades it
    would replace if approved)."""
    from kehu.grading.interface import RUN_ORDER, runs_in_force

    runs = runs_in_force(timezone.localdate()).exclude(pk=run.pk)
    if run.status == RunStatus.APPROVED and run.effective_on is not None and run.approved_at is not None:
        runs = GradingRun.objects.filter(status=RunStatus.APPROVED).filter(
            Q(effective_on__lt=run.effective_on)
            | Q(effective_on=run.effective_on, approved_at__lt=run.approved_at)
            | Q(effective_on=run.effective_on, approved_at=run.approved_at, pk__lt=run.pk)
        )
    return runs.order_by(*RUN_ORDER).first()


def run_results(*, actor: Any, run: GradingRun) -> QuerySet[GradingResult]:
    return GradingResult.objects.filter(run=run).select_related("customer").order_by("rank", "customer_id")


def movers(run: GradingRun, previous: GradingRun | None) -> list[dict[str, Any]]:
    """Customers whose grade differs from the previous run (new customers included), then the customers of the
    previous run this one leaves out: they are ungraded once it takes effect (direction ``ungraded``). Three
    queries."""
    if run.status not in (RunStatus.COMPUTED, RunStatus.APPROVED):
        return []
    before: dict[int, str] = {}
    if previous is not None:
        before = dict(GradingResult.objects.filter(run=previous).values_list("customer_id", "grade"))
    order = {g: i for i, g in enumerate(run.distribution or {})}
    out = []
    for r in GradingResult.objects.filter(run=run).select_related("customer").order_by("rank", "customer_id"):
        old = before.get(r.customer_id)
        if old != r.grade:
            direction = (
                "new" if old is None else ("up" if order.get(r.grade, 99) < order.get(old, 99) else "down")
            )
            out.append(
                {"result": r, "customer": r.customer, "before": old, "after": r.grade, "direction": direction}
            )
    if previous is not None:
        kept = GradingResult.objects.filter(run=run).values("customer_id")
        left = GradingResult.objects.filter(run=previous).exclude(customer_id__in=kept).values("customer_id")
        for c in Customer.objects.filter(pk__in=left).order_by("name", "pk"):
            out.append(
                {
                    "result": None,
                    "customer": c,
                    "before": before.get(c.pk),
                    "after": None,
                    "direction": "ungraded",
                }
            )
    return out


def distribution_rows(run: GradingRun) -> list[dict[str, Any]]:
    policy = policies.scheme_of_version(run.policy_version_id)
    quotas = {g.name: g.quota for g in policy.grades}
    n = run.customer_count or 0
    return [
        {
            "grade": g,
            "count": c,
            "quota": quotas.get(g, 0),
            "percent": round(100 * c / n, 1) if n else 0,
        }
        for g, c in (run.distribution or {}).items()
    ]


def customer_history(*, actor: Any, customer_id: int) -> QuerySet[GradingResult]:
    """The customer's results in approved runs, latest first (only within the user's scope)."""
    return access.restrict(
        actor,
        "grading.grade.view",
        GradingResult.objects.filter(customer_id=customer_id, run__status=RunStatus.APPROVED)
        .select_related("run")
        .order_by("-run__effective_on", "-run__approved_at", "-run_id"),
    )


def inputs_current(*, actor: Any, customer: Customer) -> list[dict[str, Any]]:
    """The entered items of a customer: the value in use, who entered it and when, and the earlier entries."""
    rows = list(
        access.restrict(actor, "grading.grade.view", InputEntry.objects.filter(customer=customer))
        .select_related("entered_by")
        .order_by("item", "-entered_at", "-id")
    )
    by_item: dict[str, list[InputEntry]] = {}
    for r in rows:
        by_item.setdefault(r.item, []).append(r)
    labels = {k: label for k, label, _src in policies.ITEMS}
    return [
        {
            "key": k,
            "label": labels[k],
            "current": by_item[k][0] if by_item.get(k) else None,
            "earlier": by_item.get(k, [])[1:],
        }
        for k in policies.ENTERED
    ]


def customer_terms(*, actor: Any, customer_id: int, at: Any = None) -> tuple[Customer, Any]:
    """A customer within the user's scope and the grade terms in force (None when ungraded)."""
    from kehu.grading.interface import grade_terms

    customer = access.get_scoped(actor, "grading.grade.view", Customer.objects.all(), pk=customer_id)
    return customer, grade_terms(customer, at)
