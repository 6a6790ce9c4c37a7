"""Grade override pages (R-GRD-04): the list (filters, xlsx export), the request form (from the dossier's grading
section and from the result rows of the run in force), the detail page with approve / reject / withdraw, and the
override parts of the run detail page and the dossier section. All through kehu.grading.overrides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.core import access
from kehu.core.errorpages import form_error_or_back
from kehu.core.errors import KehuError
from kehu.core.forms import KehuForm
from kehu.core.listing import Column, ListPage
from kehu.core.models.audit import AuditAction
from kehu.customers.models import Customer
from kehu.grading import overrides, policies
from kehu.grading.interface import grade_terms
from kehu.grading.models import GradeOverride, GradingRun, OverrideStatus, RunStatus

STATUS_CSS: dict[str, str] = {
    OverrideStatus.PENDING: "bg-warning-subtle text-warning-emphasis",
    OverrideStatus.APPROVED: "bg-success-subtle text-success-emphasis",
    OverrideStatus.REJECTED: "bg-danger-subtle text-danger-emphasis",
    OverrideStatus.WITHDRAWN: "bg-secondary-subtle text-secondary-emphasis",
}


def _grade_choices() -> list[tuple[str, str]]:
    return [(g.name, g.name) for g in policies.scheme()[0].grades]


class OverrideFilterForm(KehuForm):
    q = forms.CharField(label=gettext_lazy("客户名称或编号"), required=False)
    status = forms.ChoiceField(label=gettext_lazy("状态"), required=False)
    grade = forms.ChoiceField(label=gettext_lazy("调整后等级"), required=False)
    run = forms.IntegerField(label=gettext_lazy("分级运行"), required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        status: Any = self.fields["status"]
        status.choices = [("", _("全部")), *OverrideStatus.choices]
        grade: Any = self.fields["grade"]
        grade.choices = [("", _("全部")), *_grade_choices()]
        self._errors = None  # the base form validated before the choices were set
        self._style()


class RequestForm(KehuForm):
    to_grade = forms.ChoiceField(label=gettext_lazy("调整后等级"))
    reason = forms.CharField(
        label=gettext_lazy("调整理由"),
        max_length=overrides.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, current: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["to_grade"]
        field.choices = [("", "—"), *[(k, v) for k, v in _grade_choices() if k != current]]
        self._errors = None  # the base form validated before the choices were set
        self._style()


# The comments' length is checked by the services (overrides.COMMENT_MAX), whose message names the field; the
# browser is told the limit too.
class DecideForm(KehuForm):
    comment = forms.CharField(
        label=gettext_lazy("审批意见"),
        required=False,
        help_text=gettext_lazy("驳回时必须填写。"),
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": overrides.COMMENT_MAX}),
    )


class WithdrawForm(KehuForm):
    comment = forms.CharField(
        label=gettext_lazy("撤回说明"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": overrides.COMMENT_MAX}),
    )


def override_columns() -> list[Column]:
    link = lambda o: reverse("grading_override_detail", args=[o.pk])  # noqa: E731
    return [
        Column("id", "#", sort="id", link=link),
        Column("customer", _("客户"), sort="customer__name", value=lambda o: o.customer.name, link=link),
        Column("customer_number", _("客户编号"), sort="customer__number", value=lambda o: o.customer.number),
        Column("from_grade", _("原等级"), sort="from_grade"),
        Column("to_grade", _("调整后等级"), sort="to_grade"),
        Column(
            "status",
            _("状态"),
            sort="status",
            value=lambda o: o.get_status_display(),
            template="grading/overrides/_status_cell.html",
        ),
        Column("run", _("分级运行"), sort="run_id", value=lambda o: f"#{o.run_id}"),
        Column("requested_by", _("申请人"), value=lambda o: o.requested_by.label),
        Column(
            "requested_at",
            _("申请时间"),
            sort="requested_at",
            value=lambda o: timezone.localtime(o.requested_at).date(),
        ),
        Column("decided_by", _("审批人"), value=lambda o: o.decided_by.label if o.decided_by else ""),
        Column("effective_on", _("生效日期"), sort="effective_on"),
        Column("reason", _("调整理由"), page=False),
        Column("decision_comment", _("审批意见"), page=False),
    ]


@login_required
def override_list(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    page = ListPage(
        request,
        overrides.override_list(actor=actor),
        columns=override_columns(),
        filter_form=OverrideFilterForm,
        apply_filters=overrides.apply_override_filters,
        default_sort="-requested_at",
    )
    return page.respond("grading/overrides/list.html", export_name="grade-overrides")


@login_required
def override_request(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor: Any = request.user
    customer = access.get_scoped(actor, "grading.override.request", Customer.objects.all(), pk=customer_id)
    terms = grade_terms(customer)
    form = RequestForm(request.POST or None, current=terms.grade if terms else "")
    if request.method == "POST" and form.is_valid():
        try:
            ov = overrides.override_request(
                actor=actor,
                customer_id=customer.pk,
                to_grade=form.cleaned_data["to_grade"],
                reason=form.cleaned_data["reason"],
            )
        except KehuError as exc:
            form.add_service_error(exc)  # a conflict (a pending request) shows above the form
        else:
            messages.success(request, _("等级调整申请已提交，待总经理批准。"))
            return redirect(ov.get_absolute_url())
    pending = GradeOverride.objects.filter(customer=customer, status=OverrideStatus.PENDING).first()
    return render(
        request,
        "grading/overrides/request.html",
        {"c": customer, "terms": terms, "form": form, "pending": pending},
        status=400 if form.errors else 200,
    )


def _step_label(action: str) -> str:
    steps: dict[str, str] = {
        AuditAction.CREATE.value: _("提出申请"),
        AuditAction.DECISION.value: _("审批"),
        AuditAction.UPDATE.value: _("撤回"),
    }
    labels: dict[str, Any] = dict(AuditAction.choices)
    return steps.get(action) or str(labels.get(action, action))


def _status_label(change: Any) -> str:
    labels = dict(OverrideStatus.choices)
    if isinstance(change, list) and len(change) == 2:
        return str(labels.get(change[1], change[1]))
    return ""


def _render_detail(
    request: HttpRequest,
    ov: GradeOverride,
    decide_form: DecideForm | None = None,
    withdraw_form: WithdrawForm | None = None,
) -> HttpResponse:
    actor: Any = request.user
    pending = ov.status == OverrideStatus.PENDING
    can_decide = pending and access.can(actor, "grading.override.approve") and ov.requested_by_id != actor.pk
    can_withdraw = pending and ov.requested_by_id == actor.pk
    terms = grade_terms(ov.customer_id)
    invalid = (decide_form is not None and bool(decide_form.errors)) or (
        withdraw_form is not None and bool(withdraw_form.errors)
    )
    return render(
        request,
        "grading/overrides/detail.html",
        {
            "ov": ov,
            "css": STATUS_CSS.get(ov.status, ""),
            "terms": terms,
            "in_force": terms is not None and terms.override_id == ov.pk,
            "superseded": ov.status == OverrideStatus.APPROVED
            and (terms is None or terms.run_id != ov.run_id),
            "can_decide": can_decide,
            "can_withdraw": can_withdraw,
            "decide_form": decide_form or DecideForm(),
            "withdraw_form": withdraw_form or WithdrawForm(),
            "events": [
                {
                    "at": e.timestamp,
                    "actor": e.actor_label,
                    "action": _step_label(e.action),
                    "status": _status_label((e.changes or {}).get("status")),
                    "reason": e.reason,
                }
                for e in overrides.override_history(ov)
            ],
        },
        status=400 if invalid else 200,
    )


@login_required
def override_detail(request: HttpRequest, override_id: int) -> HttpResponse:
    ov = overrides.override_get(actor=request.user, override_id=override_id)
    return _render_detail(request, ov)


@login_required
@require_POST
def override_decide(request: HttpRequest, override_id: int) -> HttpResponse:
    actor: Any = request.user
    ov = overrides.override_get(actor=actor, override_id=override_id)
    access.require(actor, "grading.override.approve")
    form = DecideForm(request.POST)
    decision = request.POST.get("decision")  # "approve" or "reject": anything else changes nothing (400)
    if decision not in ("approve", "reject"):
        form.is_valid()
        form.add_error(None, _("请选择批准或驳回。"))
    elif form.is_valid():
        approve = decision == "approve"
        try:
            overrides.override_decide(
                actor=actor, override_id=ov.pk, approve=approve, comment=form.cleaned_data["comment"]
            )
        except KehuError as exc:
            if back := form_error_or_back(request, form, exc, ov.get_absolute_url()):
                return back
        else:
            messages.success(request, _("等级调整已批准生效。") if approve else _("等级调整已驳回。"))
            return redirect(ov.get_absolute_url())
    return _render_detail(request, ov, decide_form=form)


@login_required
@require_POST
def override_withdraw(request: HttpRequest, override_id: int) -> HttpResponse:
    actor: Any = request.user
    ov = overrides.override_get(actor=actor, override_id=override_id)
    form = WithdrawForm(request.POST)
    if not form.is_valid():  # e.g. an over-long comment: shown on its field, nothing changes
        return _render_detail(request, ov, withdraw_form=form)
    try:
        overrides.override_withdraw(actor=actor, override_id=ov.pk, comment=form.cleaned_data["comment"])
    except KehuError as exc:
        return form_error_or_back(request, form, exc, ov.get_absolute_url()) or _render_detail(
            request, ov, withdraw_form=form
        )
    messages.success(request, _("等级调整申请已撤回。"))
    return redirect(ov.get_absolute_url())


# --------------------------------------------------------------------------------------------------------------
# Parts of other grading pages


def run_detail_context(
    actor: Any, run: GradingRun, previous: GradingRun | None, results: Any
) -> dict[str, Any]:
    """For the run detail page: the overrides approved against the run — the company-wide count, and the latest
    200 of those within the user's scope (they carry the reason and the comments) with their own count — the
    overrides the run supersedes, and on each result row of the run in force the link to request an override for
    the customers this user may request for. At most six queries whatever the size of the run."""
    count = overrides.run_overrides(run).count()
    visible = overrides.run_overrides(run, actor)
    visible_count = visible.count() if count else 0
    rows = list(results)  # the page's results (the page keeps the list)
    marks: dict[int, str] = {}
    if count:
        for cid, grade in (
            overrides.run_overrides(run)
            .filter(customer_id__in=[r.customer_id for r in rows])
            .order_by("customer_id", "effective_on", "decided_at", "id")
            .values_list("customer_id", "to_grade")
        ):
            marks[cid] = grade  # the latest wins
    allowed: set[int] = set()
    if run.status == RunStatus.APPROVED and access.can(actor, "grading.override.request") and rows:
        current = overrides.run_in_force()
        if current is not None and current.pk == run.pk:
            allowed = set(
                access.restrict(
                    actor,
                    "grading.override.request",
                    Customer.objects.filter(pk__in=[r.customer_id for r in rows]),
                ).values_list("pk", flat=True)
            )
    for r in rows:
        r.override_grade = marks.get(r.customer_id)
        r.can_override = r.customer_id in allowed
    return {
        "overrides_count": count,
        "overrides_visible": visible_count,
        "run_overrides": list(visible[:200]) if visible_count else [],
        "superseded": overrides.superseded_by(run, previous, actor),
        "can_view_overrides": access.can(actor, "grading.override.view"),
    }


def section_context(actor: Any, customer: Customer, terms: Any = None) -> dict[str, Any]:
    """For the dossier's grading section: the pending override, the one in force (``terms``: the customer's grade
    terms today), and whether this user may request one for the customer."""
    can_request = access.can(actor, "grading.override.request") and access.in_scope(
        actor, "grading.override.request", customer
    )
    found = overrides.customer_overrides(actor=actor, customer_id=customer.pk, terms=terms)
    return {
        "can_override": can_request,
        "override_pending": found["pending"],
        "override_in_force": found["in_force"],
    }


urlpatterns = [
    path("grading/overrides/", override_list, name="grading_override_list"),
    path("grading/overrides/<int:override_id>/", override_detail, name="grading_override_detail"),
    path("grading/overrides/<int:override_id>/decide/", override_decide, name="grading_override_decide"),
    path(
        "grading/overrides/<int:override_id>/withdraw/", override_withdraw, name="grading_override_withdraw"
    ),
    path("grading/customers/<int:customer_id>/override/", override_request, name="grading_override_request"),
]
