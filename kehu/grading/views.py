"""Grading pages: runs list (start a run), run detail (distribution, movers, results, approval), the entry form
of a customer's scorecard inputs, and the grade-history section of the dossier."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core import access
from kehu.core.errorpages import message_error
from kehu.core.errors import KehuError
from kehu.customers.models import Customer
from kehu.grading import policies, selectors, services, views_overrides, views_simulation, visits
from kehu.grading.forms import ApproveForm, InputsForm, StartForm
from kehu.grading.interface import grade_terms
from kehu.grading.models import GradingRun, RunStatus


def item_label(key: str) -> str:
    return _({k: label for k, label, _src in policies.ITEMS}.get(key, key))


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    runs = selectors.run_list(actor=actor)
    page = Paginator(runs, 50).get_page(request.GET.get("page"))
    form = StartForm()
    if request.method == "POST":
        form = StartForm(request.POST)
        if form.is_valid():
            try:
                run = services.run_start(actor=actor, period_end=form.cleaned_data["period_end"])
            except KehuError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("分级运行已发起，正在后台计算。"))
                return redirect(run.get_absolute_url())
    return render(
        request,
        "grading/run_list.html",
        {
            "page": page,
            "form": form,
            "can_start": access.can(actor, "grading.run.start"),
            "can_simulate": access.can(actor, "grading.simulation.run"),
        },
    )


@login_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    actor: Any = request.user
    run = selectors.run_get(actor=actor, run_id=run_id)
    previous = selectors.previous_run(run)
    results = Paginator(selectors.run_results(actor=actor, run=run), 100).get_page(request.GET.get("page"))
    can_approve = (
        run.status == RunStatus.COMPUTED
        and access.can(actor, "grading.run.approve")
        and run.started_by_id != actor.pk
    )
    return render(
        request,
        "grading/run_detail.html",
        {
            "run": run,
            "previous": previous,
            "distribution": selectors.distribution_rows(run),
            **_movers_context(run, previous),
            "results": results,
            "can_approve": can_approve,
            "approve_form": ApproveForm(),
            **views_overrides.run_detail_context(actor, run, previous, results),
        },
    )


def item_value(key: str, value: Any) -> str:
    """A scorecard input as people read it: amounts grouped, days and percentages with their unit, the sales
    model by its name."""
    from decimal import Decimal, InvalidOperation

    if value is None or value == "":
        return ""
    if key == "sales_model":
        return str({k: _(v) for k, v in policies.SALES_MODELS}.get(str(value), value))
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if key == "sales_volume":
        return f"{number:,.2f}"
    if key == "payment_reputation":
        return _("最长逾期 %(d)s 天") % {"d": value}
    if key in ("margin", "purchase_share"):
        return f"{number}%"
    if key == "years_of_trade":
        return _("%(y)s 年") % {"y": value}
    return str(value)


MOVERS_SHOWN = 200


def _movers_context(run: GradingRun, previous: GradingRun | None) -> dict[str, Any]:
    """The movers against the previous run in force: counts per direction and the first ``MOVERS_SHOWN`` rows (the
    first run of all has no previous run, so nobody "moves")."""
    if previous is None:
        return {"movers": [], "mover_counts": {}, "movers_total": 0}
    rows = selectors.movers(run, previous)
    counts: dict[str, int] = {}
    for m in rows:
        counts[m["direction"]] = counts.get(m["direction"], 0) + 1
    return {"movers": rows[:MOVERS_SHOWN], "mover_counts": counts, "movers_total": len(rows)}


@login_required
@require_POST
def run_approve(request: HttpRequest, run_id: int) -> HttpResponse:
    actor: Any = request.user
    form = ApproveForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        services.run_approve(actor=actor, run_id=run_id, comment=comment)
    except KehuError as exc:
        message_error(request, exc)
    else:
        messages.success(request, _("分级结果已批准生效。"))
    return redirect("grading_run_detail", run_id)


@login_required
def inputs_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor: Any = request.user
    customer = access.get_scoped(actor, "grading.input.enter", Customer.objects.all(), pk=customer_id)
    form = InputsForm()
    if request.method == "POST":
        form = InputsForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            values = {k: data.get(k) for k in policies.ENTERED if data.get(k) not in (None, "")}
            try:
                services.inputs_enter(
                    actor=actor, customer_id=customer.pk, values=values, note=data.get("note", "")
                )
            except KehuError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("评分项已录入。"))
                return redirect("grading_inputs", customer.pk)
    rows = selectors.inputs_current(actor=actor, customer=customer)
    for r in rows:
        r["label"] = _(r["label"])
    return render(request, "grading/inputs.html", {"c": customer, "form": form, "rows": rows})


def render_section(request: HttpRequest, customer: Customer) -> str | None:
    """The grade on the dossier's category 5 tab (服务与关系记录): a grade sets how the customer is served (visits,
    response time, lead time), so it is filed with the service records. The grade shown is the grade in force
    (``grade_terms``: the run in force, or an approved override of it, tagged 已调整 with a link to the override for
    users who may see it; R-GRD-04), with the breakdown of the run in force; the history rows are the customer's
    results in the approved runs. None for users who may not see grades."""
    actor: Any = request.user
    if not access.can(actor, "grading.grade.view"):
        return None
    history = list(selectors.customer_history(actor=actor, customer_id=customer.pk)[:10])
    terms = grade_terms(customer)
    current = next((h for h in history if terms is not None and h.run_id == terms.run_id), None)
    breakdown = []
    if current is not None:
        for row in current.breakdown.get("items", []):
            breakdown.append(
                {
                    **row,
                    "label": item_label(str(row["key"])),
                    "value": item_value(str(row["key"]), row.get("value")),
                }
            )
    return render_to_string(
        "grading/_section.html",
        {
            "c": customer,
            "history": history,
            "terms": terms,
            "current": current,
            "breakdown": breakdown,
            "can_enter": access.in_scope(actor, "grading.input.enter", customer)
            if access.can(actor, "grading.input.enter")
            else False,
            **views_overrides.section_context(actor, customer, terms),
            "visit": visits.quarter_status(customer),  # R-GRD-03: this quarter's visit
        },
        request=request,
    )


urlpatterns = [
    path("grading/runs/", run_list, name="grading_run_list"),
    path("grading/runs/<int:run_id>/", run_detail, name="grading_run_detail"),
    path("grading/runs/<int:run_id>/approve/", run_approve, name="grading_run_approve"),
    path("grading/customers/<int:customer_id>/inputs/", inputs_edit, name="grading_inputs"),
]
urlpatterns += views_overrides.urlpatterns  # grade overrides (R-GRD-04)
urlpatterns += views_simulation.urlpatterns  # grading simulation (R-GRD-05)
