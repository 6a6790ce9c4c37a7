"""Grading API (/api/v1/grading): runs (list, start, detail with distribution and movers, approve) and a
customer's grade terms. The same services and selectors as the pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from kehu.grading import selectors, services
from kehu.grading.api_overrides import OverrideOut, SupersededOut, run_report
from kehu.grading.api_overrides import router as overrides_router
from kehu.grading.api_simulation import router as simulation_router
from kehu.grading.models import GradingRun

router = Router()
router.add_router("/overrides", overrides_router)
router.add_router("/simulations", simulation_router)

MAX_PAGE = 200


class RunOut(Schema):
    id: int
    period_start: dt.date
    period_end: dt.date
    status: str
    policy_version_id: int | None
    started_by: str
    started_at: dt.datetime
    approved_by: str | None
    approved_at: dt.datetime | None
    effective_on: dt.date | None
    customer_count: int
    distribution: dict[str, int]
    job_run_id: int | None


class RunPage(Schema):
    count: int
    page: int
    items: list[RunOut]


class ResultOut(Schema):
    customer_id: int
    customer_number: str
    rank: int
    score: Decimal
    grade: str
    missing: int
    previous_grade: str | None


class RunDetailOut(RunOut):
    previous_run_id: int | None
    results: list[ResultOut]
    results_count: int
    # R-GRD-04: overrides approved against this run (the count company-wide; the list and its own count only of
    # the customers within the user's scope), and those this run supersedes
    overrides_count: int = 0
    overrides_visible: int = 0
    overrides: list[OverrideOut] = []
    superseded_overrides: list[SupersededOut] = []


class StartIn(Schema):
    period_end: dt.date | None = None


class ApproveIn(Schema):
    comment: str = ""


class PageIn(Schema):
    page: int = 1
    size: int = 50


class TermsOut(Schema):
    customer_id: int
    graded: bool
    grade: str | None = None
    score: Decimal | None = None
    rank: int | None = None
    run_id: int | None = None
    effective_on: dt.date | None = None
    policy_version_id: int | None = None
    discount_cap: Decimal | None = None
    payment_terms: list[str] = []
    lead_time_days: int | None = None
    rush_rule: str | None = None
    response_hours: int | None = None
    visit_every_days: int | None = None
    overridden: bool = False
    override_id: int | None = None


def run_out(r: GradingRun) -> dict[str, Any]:
    return {
        "id": r.pk,
        "period_start": r.period_start,
        "period_end": r.period_end,
        "status": r.status,
        "policy_version_id": r.policy_version_id,
        "started_by": r.started_by.username,
        "started_at": r.started_at,
        "approved_by": r.approved_by.username if r.approved_by else None,
        "approved_at": r.approved_at,
        "effective_on": r.effective_on,
        "customer_count": r.customer_count,
        "distribution": r.distribution or {},
        "job_run_id": r.job_run_id,
    }


@router.get("/runs", response=RunPage, summary="Grading runs, latest first")
def runs(request: HttpRequest, q: Query[PageIn]) -> Any:
    page, size = max(1, q.page), min(max(1, q.size), MAX_PAGE)
    qs = selectors.run_list(actor=request.user)
    return {
        "count": qs.count(),
        "page": page,
        "items": [run_out(r) for r in qs[(page - 1) * size : page * size]],
    }


@router.post("/runs", response={201: RunOut}, summary="Start a grading run (computed in the background)")
def run_start(request: HttpRequest, payload: StartIn) -> Any:
    run = services.run_start(actor=request.user, period_end=payload.period_end)
    return Status(201, run_out(selectors.run_get(actor=request.user, run_id=run.pk)))


@router.get("/runs/{run_id}", response=RunDetailOut, summary="One run: distribution and results (paged)")
def run_get(request: HttpRequest, run_id: int, q: Query[PageIn]) -> Any:
    actor: Any = request.user
    run = selectors.run_get(actor=actor, run_id=run_id)
    previous = selectors.previous_run(run)
    page, size = max(1, q.page), min(max(1, q.size), MAX_PAGE)
    qs = selectors.run_results(actor=actor, run=run)
    rows = list(qs[(page - 1) * size : page * size])
    before: dict[int, str] = {}
    if previous is not None:
        before = dict(
            previous.results.filter(customer_id__in=[r.customer_id for r in rows]).values_list(
                "customer_id", "grade"
            )
        )
    return {
        **run_out(run),
        "previous_run_id": previous.pk if previous else None,
        **run_report(run, previous, actor),
        "results_count": qs.count(),
        "results": [
            {
                "customer_id": r.customer_id,
                "customer_number": r.customer.number,
                "rank": r.rank,
                "score": r.score,
                "grade": r.grade,
                "missing": r.missing,
                "previous_grade": before.get(r.customer_id),
            }
            for r in rows
        ],
    }


@router.post("/runs/{run_id}/approve", response=RunOut, summary="Approve a computed run (not by its starter)")
def run_approve(request: HttpRequest, run_id: int, payload: ApproveIn) -> Any:
    services.run_approve(actor=request.user, run_id=run_id, comment=payload.comment)
    return run_out(selectors.run_get(actor=request.user, run_id=run_id))


@router.get("/customers/{customer_id}/terms", response=TermsOut, summary="The grade in force and its terms")
def customer_terms(request: HttpRequest, customer_id: int, at: dt.date | None = None) -> Any:
    customer, terms = selectors.customer_terms(actor=request.user, customer_id=customer_id, at=at)
    if terms is None:
        return {"customer_id": customer.pk, "graded": False}
    return {"customer_id": customer.pk, "graded": True, **terms.__dict__}
