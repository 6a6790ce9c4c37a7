"""Job pages: runs with state tags, progress bars (refreshed while running), errors, retry; periodic jobs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.core import access
from kehu.core.errorpages import message_error
from kehu.core.errors import KehuError, NotFound, PermissionDenied
from kehu.core.forms import KehuForm
from kehu.core.jobs import scheduler, services
from kehu.core.jobs.models import JobState, PeriodicRun
from kehu.core.listing import Column, ListPage

STATE_CSS = {
    JobState.QUEUED: "bg-secondary-subtle text-secondary-emphasis",
    JobState.RUNNING: "bg-primary-subtle text-primary-emphasis",
    JobState.SUCCEEDED: "bg-success-subtle text-success-emphasis",
    JobState.FAILED: "bg-danger-subtle text-danger-emphasis",
}


def http_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(str(exc.message)) from None
        except NotFound as exc:
            raise Http404(str(exc.message)) from None

    return wrapper


class JobFilter(KehuForm):
    state = forms.ChoiceField(
        label=gettext_lazy("状态"), required=False, choices=[("", gettext_lazy("全部")), *JobState.choices]
    )
    name = forms.CharField(label=gettext_lazy("任务"), required=False)


def _filter(qs: Any, data: dict[str, Any]) -> Any:
    if data.get("state"):
        qs = qs.filter(state=data["state"])
    if data.get("name"):
        qs = qs.filter(name__icontains=data["name"])
    return qs


def _columns() -> list[Column]:
    return [
        Column(
            "pk",
            _("编号"),
            sort="pk",
            value=lambda r: f"#{r.pk}",
            link=lambda r: reverse("job_detail", args=[r.pk]),
        ),
        Column("name", _("任务"), sort="name"),
        Column(
            "state",
            _("状态"),
            sort="state",
            value=lambda r: r.get_state_display(),
            template="jobs/_state_cell.html",
        ),
        Column("progress", _("进度"), value=lambda r: f"{r.percent}%", template="jobs/_progress_cell.html"),
        Column("error", _("错误"), value=lambda r: r.error, template="jobs/_error_cell.html"),
        Column("enqueued_at", _("提交时间"), sort="enqueued_at", css="text-nowrap"),
        Column("finished_at", _("结束时间"), sort="finished_at", css="text-nowrap"),
        Column(
            "enqueued_by",
            _("提交人"),
            value=lambda r: str(r.enqueued_by) if r.enqueued_by else _("系统"),
            css="text-nowrap",
        ),
        Column("actions", "", template="jobs/_retry_cell.html", export=False, css="text-end"),
    ]


@login_required
@http_errors
def job_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    qs = access.restrict(user, "jobs.view", services.job_runs(actor=user))
    page = ListPage(
        request,
        qs,
        columns=_columns(),
        filter_form=JobFilter,
        apply_filters=_filter,
        default_sort="-enqueued_at",
    )
    if page.wants_export:
        return page.export("jobs")
    polling = any(r.state in (JobState.QUEUED, JobState.RUNNING) for r in page.page.object_list)
    context = {"page": page, "can_retry": access.can(user, "jobs.retry"), "polling": polling}
    if request.headers.get("HX-Request"):
        return render(request, "jobs/_table.html", context)
    return render(request, "jobs/list.html", context)


@login_required
@http_errors
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    run = services.job_run(actor=user, run_id=pk)
    context = {
        "run": run,
        "retries": list(run.retries.order_by("pk")),
        "can_retry": access.can(user, "jobs.retry"),
    }
    if request.headers.get("HX-Request"):
        return render(request, "jobs/_run_status.html", context)
    return render(request, "jobs/detail.html", context)


@login_required
@require_POST
@http_errors
def job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        run = services.job_retry(actor=request.user, run_id=pk)  # type: ignore[arg-type]
    except KehuError as exc:
        message_error(request, exc)
        return redirect("job_detail", pk=pk)
    messages.success(request, _("已重新提交，新的运行为 #%(id)s。") % {"id": run.pk})
    return redirect("job_detail", pk=run.pk)


@login_required
@http_errors
def job_periodic(request: HttpRequest) -> HttpResponse:
    access.require(request.user, "jobs.view")
    jobs = scheduler.discover()
    last = dict(
        PeriodicRun.objects.filter(name__in=[j.name for j in jobs])
        .values_list("name")
        .annotate(m=Max("pk"))
        .values_list("name", "m")
    )
    latest = {p.name: p for p in PeriodicRun.objects.filter(pk__in=list(last.values())).select_related("run")}
    rows = [{"job": j, "current": scheduler.period_key(j.every), "last": latest.get(j.name)} for j in jobs]
    return render(request, "jobs/periodic.html", {"rows": rows})


urlpatterns = [
    path("system/jobs/", job_list, name="job_list"),
    path("system/jobs/periodic/", job_periodic, name="job_periodic"),
    path("system/jobs/<int:pk>/", job_detail, name="job_detail"),
    path("system/jobs/<int:pk>/retry/", job_retry, name="job_retry"),
]
