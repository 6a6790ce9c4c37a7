"""Grading simulation API (/api/v1/grading/simulations, R-GRD-05): start a simulation of a draft scheme (computed
in the background, nothing changes), read its state, progress and report, download the report. The same functions
as the pages (kehu.grading.simulation)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status

from kehu.core.errors import Conflict
from kehu.core.excel import XLSX_MIME
from kehu.core.jobs.models import JobRun, JobState
from kehu.grading import simulation

router = Router()

MAX_PAGE = 200


class SimulationIn(Schema):
    draft: dict[str, Any] = {}
    period_end: dt.date | None = None


class SimulationOut(Schema):
    id: int
    state: str
    percent: int
    progress_done: int
    progress_total: int
    progress_message: str
    enqueued_by: str | None
    enqueued_at: dt.datetime
    finished_at: dt.datetime | None
    error: str
    period_end: str | None
    base_version: int | None
    draft: dict[str, Any]
    report: dict[str, Any] | None


class SimulationPage(Schema):
    count: int
    page: int
    items: list[SimulationOut]


class PageIn(Schema):
    page: int = 1
    size: int = 50


def simulation_out(job: JobRun, *, report: bool = True) -> dict[str, Any]:
    kwargs = job.kwargs or {}
    return {
        "id": job.pk,
        "state": job.state,
        "percent": job.percent,
        "progress_done": job.progress_done,
        "progress_total": job.progress_total,
        "progress_message": job.progress_message,
        "enqueued_by": job.enqueued_by.username if job.enqueued_by else None,
        "enqueued_at": job.enqueued_at,
        "finished_at": job.finished_at,
        "error": job.error,
        "period_end": kwargs.get("period_end"),
        "base_version": kwargs.get("base_version"),
        "draft": kwargs.get("draft") or {},
        "report": job.result if report and job.state == JobState.SUCCEEDED else None,
    }


@router.get("", response=SimulationPage, summary="Grading simulations, latest first (without their reports)")
def simulations(request: HttpRequest, q: Query[PageIn]) -> Any:
    page, size = max(1, q.page), min(max(1, q.size), MAX_PAGE)
    qs = simulation.simulation_list(actor=request.user).defer("result", "traceback")
    return {
        "count": qs.count(),
        "page": page,
        "items": [simulation_out(j, report=False) for j in qs[(page - 1) * size : page * size]],
    }


@router.post("", response={202: SimulationOut}, summary="Simulate a draft grading scheme (in the background)")
def simulation_start(request: HttpRequest, payload: SimulationIn) -> Any:
    job = simulation.simulation_start(actor=request.user, draft=payload.draft, period_end=payload.period_end)
    return Status(202, simulation_out(simulation.simulation_get(actor=request.user, simulation_id=job.pk)))


@router.get("/{simulation_id}", response=SimulationOut, summary="One simulation: state, progress and report")
def simulation_get(request: HttpRequest, simulation_id: int) -> Any:
    return simulation_out(simulation.simulation_get(actor=request.user, simulation_id=simulation_id))


@router.get("/{simulation_id}/xlsx", summary="The report as an xlsx workbook")
def simulation_xlsx(request: HttpRequest, simulation_id: int) -> HttpResponse:
    job = simulation.simulation_get(actor=request.user, simulation_id=simulation_id)
    if job.state != JobState.SUCCEEDED:
        raise Conflict(_("模拟尚未完成，完成后才能下载报告。"))
    response = HttpResponse(simulation.report_xlsx(job), content_type=XLSX_MIME)
    response["Content-Disposition"] = content_disposition_header(True, f"grading-simulation-{job.pk}.xlsx")
    return response
