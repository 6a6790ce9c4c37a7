"""Grading simulation pages (R-GRD-05): the draft form (the scheme in force as editable fields, recent
simulations below), the report (progress while it runs, then before/after per grade, movers, chart) and its xlsx
download. The same functions as the API (kehu.grading.simulation)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models.fields.json import KT
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core.errorpages import message_error
from kehu.core.errors import Conflict, KehuError
from kehu.core.excel import XLSX_MIME
from kehu.core.forms import KehuForm
from kehu.core.jobs.models import JobState
from kehu.core.policies import schema as policy_schema
from kehu.grading import policies, simulation

MOVERS_PAGE = 100


class SimulationForm(KehuForm):
    """The draft scheme as fields named by their path in ``grading.scheme`` (``grades.0.quota``,
    ``items.2.weight``, ``rules.sales_full_at``), so that an error of the draft lands on its field. A grade whose
    name is left blank is dropped; a renamed grade keeps the terms of its row."""

    def __init__(self, base: policies.SchemePolicy, *args: Any, **kwargs: Any) -> None:
        self.base = base
        super().__init__(*args, **kwargs)
        f = self.fields
        f["period_end"] = forms.DateField(
            label=gettext_lazy("期间止日"),
            required=False,
            help_text=gettext_lazy("留空为昨天。"),
            widget=forms.DateInput(attrs={"type": "date"}),
        )
        f["period_months"] = forms.IntegerField(
            label=gettext_lazy("评分期间（个月）"), min_value=1, max_value=36, initial=base.period_months
        )
        f["total_points"] = forms.IntegerField(
            label=gettext_lazy("总分"), min_value=1, max_value=1000, initial=base.total_points
        )
        for i in range(len(base.grades)):
            g = base.grades[i]
            f[f"grades.{i}.name"] = forms.CharField(
                label=gettext_lazy("等级名称"), required=False, max_length=20, initial=g.name
            )
            f[f"grades.{i}.quota"] = forms.IntegerField(
                label=gettext_lazy("配额（%）"), required=False, min_value=0, max_value=100, initial=g.quota
            )
        for i, item in enumerate(base.items):
            f[f"items.{i}.weight"] = forms.IntegerField(
                label=_({k: lbl for k, lbl, _s in policies.ITEMS}.get(item.key, item.key)),
                min_value=0,
                max_value=1000,
                initial=item.weight,
            )
        rules = base.rules.model_dump()
        for name, info in policies.Rules.model_fields.items():
            if name == "sales_model_percent":
                continue
            title = policy_schema.title_of(policies.Rules, name)
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            unit = _(str(extra["unit"])) if extra.get("unit") else ""
            label = _("%(title)s（%(unit)s）") % {"title": title, "unit": unit} if unit else title
            field_cls = forms.IntegerField if info.annotation is int else forms.DecimalField
            f[f"rules.{name}"] = field_cls(label=label, initial=rules[name], min_value=0)
        for key, label in policies.SALES_MODELS:
            f[f"rules.sales_model_percent.{key}"] = forms.IntegerField(
                label=_(label),
                required=False,
                min_value=0,
                max_value=100,
                initial=base.rules.sales_model_percent.get(key),
            )
        self._style()

    def grade_rows(self) -> list[dict[str, Any]]:
        return [
            {"name": self[f"grades.{i}.name"], "quota": self[f"grades.{i}.quota"], "base": g}
            for i, g in enumerate(self.base.grades)
        ]

    def item_rows(self) -> list[dict[str, Any]]:
        return [{"field": self[f"items.{i}.weight"], "base": item} for i, item in enumerate(self.base.items)]

    def rule_fields(self) -> list[Any]:
        return [self[n] for n in self.fields if n.startswith("rules.") and n.count(".") == 1]

    def sales_model_fields(self) -> list[Any]:
        return [self[n] for n in self.fields if n.startswith("rules.sales_model_percent.")]

    def draft(self) -> dict[str, Any]:
        """The draft scheme (full: every value of the form) for :func:`simulation.simulation_start`."""
        data = self.cleaned_data
        grades = []
        for i, g in enumerate(self.base.grades):
            name = (data.get(f"grades.{i}.name") or "").strip()
            if not name:
                continue
            quota = data.get(f"grades.{i}.quota")
            grades.append({**g.model_dump(mode="json"), "name": name, "quota": 0 if quota is None else quota})
        rules: dict[str, Any] = {}
        for n in self.fields:
            if n.startswith("rules.sales_model_percent."):
                value = data.get(n)
                if value is not None:
                    rules.setdefault("sales_model_percent", {})[n.rsplit(".", 1)[1]] = value
            elif n.startswith("rules."):
                value = data.get(n)
                rules[n.split(".", 1)[1]] = str(value) if isinstance(value, Decimal) else value
        rules.setdefault("sales_model_percent", {})
        return {
            "period_months": data["period_months"],
            "total_points": data["total_points"],
            "grades": grades,
            "items": [
                {"key": item.key, "weight": data[f"items.{i}.weight"]}
                for i, item in enumerate(self.base.items)
            ],
            "rules": rules,
        }


@login_required
def simulation_new(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    recent = list(
        simulation.simulation_list(actor=actor)
        .defer("result", "traceback")
        .annotate(moved=KT("result__movers__total"))[:20]
    )
    today = timezone.localdate()
    base, version = policies.scheme(today)  # the same base as simulation_start: today's scheme
    form = SimulationForm(base)
    if request.method == "POST":
        form = SimulationForm(base, request.POST)
        if form.is_valid():
            try:
                job = simulation.simulation_start(
                    actor=actor, draft=form.draft(), period_end=form.cleaned_data.get("period_end")
                )
            except KehuError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("分级模拟已开始，正在后台计算；不会改变任何客户的等级。"))
                return redirect("grading_simulation_detail", job.pk)
    return render(
        request,
        "grading/simulation/new.html",
        {"form": form, "recent": recent, "base_version": version, "base_date": today},
    )


def _chart(grades: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "grades": [simulation.grade_label(g["grade"]) for g in grades],
        "before_count": [g["before_count"] for g in grades],
        "after_count": [g["after_count"] for g in grades],
        "before_revenue": [float(g["before_revenue"]) for g in grades],
        "after_revenue": [float(g["after_revenue"]) for g in grades],
        "labels": {
            "before": _("现行"),
            "after": _("模拟"),
            "count": _("客户数"),
            "revenue": _("期间销售额"),
        },
    }


@login_required
def simulation_detail(request: HttpRequest, simulation_id: int) -> HttpResponse:
    actor: Any = request.user
    job = simulation.simulation_get(actor=actor, simulation_id=simulation_id)
    finished = job.state in (JobState.SUCCEEDED, JobState.FAILED)
    if request.headers.get("HX-Request"):
        response = render(request, "grading/simulation/_status.html", {"run": job, "finished": finished})
        if finished:
            response["HX-Refresh"] = "true"  # the report replaces the progress bar
        return response
    context: dict[str, Any] = {"run": job, "job": job, "finished": finished}
    report = job.result if job.state == JobState.SUCCEEDED and isinstance(job.result, dict) else None
    if report is not None:
        direction = request.GET.get("direction", "")
        rows = report.get("mover_rows", [])
        if direction in simulation.DIRECTIONS:
            rows = [r for r in rows if r.get("direction") == direction]
        else:
            direction = ""
        page = Paginator(rows, MOVERS_PAGE).get_page(request.GET.get("page"))
        for r in page.object_list:
            r["direction_label"] = simulation.direction_label(r.get("direction", ""))
        counts = report.get("movers", {})
        context.update(
            {
                "report": report,
                "grades": [
                    {**g, "diff": g["after_count"] - g["before_count"]} for g in report.get("grades", [])
                ],
                "counts": counts,
                "directions": [
                    (d, simulation.direction_label(d), counts.get(d, 0)) for d in simulation.DIRECTIONS
                ],
                "direction": direction,
                "movers": page,
                "chart": _chart(report.get("grades", [])),
                "draft_rows": simulation._draft_rows(report.get("draft") or {}),
            }
        )
    draft = job.kwargs.get("draft") or {}
    context["draft_grades"] = draft.get("grades", [])
    context["period_end"] = job.kwargs.get("period_end")
    return render(request, "grading/simulation/detail.html", context)


@login_required
def simulation_download(request: HttpRequest, simulation_id: int) -> HttpResponse:
    actor: Any = request.user
    job = simulation.simulation_get(actor=actor, simulation_id=simulation_id)
    if job.state != JobState.SUCCEEDED:
        message_error(request, Conflict(_("模拟尚未完成，完成后才能下载报告。")))
        return redirect("grading_simulation_detail", job.pk)
    response = HttpResponse(simulation.report_xlsx(job), content_type=XLSX_MIME)
    response["Content-Disposition"] = content_disposition_header(True, f"grading-simulation-{job.pk}.xlsx")
    return response


urlpatterns = [
    path("grading/simulations/", simulation_new, name="grading_simulation"),
    path("grading/simulations/<int:simulation_id>/", simulation_detail, name="grading_simulation_detail"),
    path(
        "grading/simulations/<int:simulation_id>/xlsx/",
        simulation_download,
        name="grading_simulation_download",
    ),
]
