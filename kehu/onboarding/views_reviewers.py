"""Reviewer management pages (R-ONB-07): the people who take the review stages with their qualifications (expiry
flagged, certificate files attached) and training records, the performance report (filters, xlsx export) and the
stored quarterly reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.core import access
from kehu.core.attachments import attachment_panel
from kehu.core.errors import KehuError
from kehu.core.forms import KehuForm
from kehu.onboarding import reviewers
from kehu.onboarding.models import ReviewerQualificationKind, TrainingResult


class QualificationForm(KehuForm):
    kind = forms.ChoiceField(label=gettext_lazy("资质"), choices=ReviewerQualificationKind.choices)
    certificate_no = forms.CharField(label=gettext_lazy("证书编号"), max_length=60)
    issued_by = forms.CharField(label=gettext_lazy("发证机构"), max_length=120)
    valid_from = forms.DateField(label=gettext_lazy("有效期自"), widget=forms.DateInput(format="%Y-%m-%d"))
    valid_to = forms.DateField(label=gettext_lazy("有效期至"), widget=forms.DateInput(format="%Y-%m-%d"))
    notes = forms.CharField(label=gettext_lazy("备注"), max_length=300, required=False)


class TrainingForm(KehuForm):
    course = forms.CharField(label=gettext_lazy("课程"), max_length=200)
    trained_on = forms.DateField(label=gettext_lazy("培训日期"), widget=forms.DateInput(format="%Y-%m-%d"))
    hours = forms.DecimalField(label=gettext_lazy("学时"), max_digits=5, decimal_places=1)
    result = forms.ChoiceField(label=gettext_lazy("结果"), choices=TrainingResult.choices)
    notes = forms.CharField(label=gettext_lazy("备注"), max_length=300, required=False)


def _states(quals: Any, today: dt.date, warning: int) -> list[dict[str, Any]]:
    out = []
    for q in quals:
        state = reviewers.qualification_state(q, today, warning)
        out.append({"q": q, "state": state, "state_label": reviewers.STATE_LABELS[state]})
    return out


@login_required
def reviewer_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    filters = {"q": request.GET.get("q", ""), "expired": request.GET.get("expired") == "1"}
    people = list(reviewers.reviewer_list(actor=user, filters=filters)[:500])
    today = timezone.localdate()
    warning = reviewers.policy()[0].expiry_warning_days
    rows = []
    for p in people:
        quals = _states(p.reviewer_qualifications.all(), today, warning)
        trainings = list(p.reviewer_trainings.all())
        rows.append(
            {
                "person": p,
                "roles": [str(r) for r in p.roles.all()],
                "quals": quals,
                "expired": any(q["state"] == "expired" for q in quals),
                "hours": sum((t.hours for t in trainings if t.trained_on.year == today.year), start=0),
                "last_training": trainings[0] if trainings else None,
            }
        )
    return render(request, "onboarding/reviewers/list.html", {"rows": rows, "filters": filters})


def _detail(
    request: HttpRequest,
    user_id: int,
    qform: QualificationForm | None = None,
    tform: TrainingForm | None = None,
) -> HttpResponse:
    user: Any = request.user
    person = reviewers.reviewer_get(actor=user, user_id=user_id)
    today = timezone.localdate()
    warning = reviewers.policy()[0].expiry_warning_days
    return render(
        request,
        "onboarding/reviewers/detail.html",
        {
            "person": person,
            "quals": _states(reviewers.qualification_list(actor=user, user_id=user_id), today, warning),
            "trainings": reviewers.training_list(actor=user, user_id=user_id),
            "can_manage": access.can(user, reviewers.MANAGE)
            and reviewers.people_in_scope(user, reviewers.MANAGE).filter(pk=person.pk).exists(),
            "qform": qform or QualificationForm(),
            "tform": tform or TrainingForm(),
        },
    )


@login_required
def reviewer_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    return _detail(request, user_id)


@login_required
@require_POST
def qualification_add(request: HttpRequest, user_id: int) -> HttpResponse:
    user: Any = request.user
    form = QualificationForm(request.POST)
    if form.is_valid():
        try:
            q = reviewers.qualification_create(actor=user, user_id=user_id, **form.cleaned_data)
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已登记资质 %(q)s。") % {"q": q})
            return redirect("onboarding_reviewer_qualification", pk=q.pk)
    else:
        access.require(user, reviewers.MANAGE)
    return _detail(request, user_id, qform=form)


@login_required
@require_POST
def training_add(request: HttpRequest, user_id: int) -> HttpResponse:
    user: Any = request.user
    form = TrainingForm(request.POST)
    if form.is_valid():
        try:
            reviewers.training_create(actor=user, user_id=user_id, **form.cleaned_data)
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已登记培训记录。"))
            return redirect("onboarding_reviewer", user_id=user_id)
    else:
        access.require(user, reviewers.MANAGE)
    return _detail(request, user_id, tform=form)


@login_required
def qualification_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    q = reviewers.qualification_get(actor=user, pk=pk)
    can_manage = access.can(user, reviewers.MANAGE)
    form = QualificationForm(
        initial={f: getattr(q, f) for f in reviewers.QUAL_FIELDS}, data=request.POST or None
    )
    if request.method == "POST":
        if request.POST.get("delete") == "1":
            reviewers.qualification_delete(actor=user, pk=q.pk, reason=request.POST.get("reason", ""))
            messages.success(request, _("已删除资质 %(q)s。") % {"q": q})
            return redirect("onboarding_reviewer", user_id=q.user_id)
        if form.is_valid():
            try:
                q = reviewers.qualification_update(actor=user, pk=q.pk, **form.cleaned_data)
            except KehuError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("已保存。"))
                return redirect("onboarding_reviewer_qualification", pk=q.pk)
        else:
            access.require(user, reviewers.MANAGE)
    state = reviewers.qualification_state(q, timezone.localdate(), reviewers.policy()[0].expiry_warning_days)
    return render(
        request,
        "onboarding/reviewers/qualification.html",
        {
            "q": q,
            "state": state,
            "state_label": reviewers.STATE_LABELS[state],
            "form": form,
            "can_manage": can_manage,
            "attachments": attachment_panel(actor=user, target=q, next_url=request.get_full_path()),
        },
    )


@login_required
def training_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    t = reviewers.training_get(actor=user, pk=pk)
    form = TrainingForm(
        initial={f: getattr(t, f) for f in reviewers.TRAINING_FIELDS}, data=request.POST or None
    )
    if request.method == "POST":
        if request.POST.get("delete") == "1":
            reviewers.training_delete(actor=user, pk=t.pk, reason=request.POST.get("reason", ""))
            messages.success(request, _("已删除培训记录。"))
            return redirect("onboarding_reviewer", user_id=t.user_id)
        if form.is_valid():
            try:
                reviewers.training_update(actor=user, pk=t.pk, **form.cleaned_data)
            except KehuError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("已保存。"))
                return redirect("onboarding_reviewer", user_id=t.user_id)
        else:
            access.require(user, reviewers.MANAGE)
    return render(
        request,
        "onboarding/reviewers/training.html",
        {"t": t, "form": form, "can_manage": access.can(user, reviewers.MANAGE)},
    )


REPORT_HEADERS = (
    gettext_lazy("审核人员"),
    gettext_lazy("姓名"),
    gettext_lazy("通过环节数"),
    gettext_lazy("退回整改数"),
    gettext_lazy("办理用时中位数（工作日）"),
    gettext_lazy("办理用时平均（工作日）"),
    gettext_lazy("退回原环节（被推翻）"),
    gettext_lazy("复审降级/暂停（被推翻）"),
    gettext_lazy("被推翻合计"),
    gettext_lazy("涉及审核"),
)


def _report_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            r["username"],
            r["name"],
            r["passed"],
            r["sent_back"],
            r["median_days"],
            r["avg_days"],
            r["overturned_rereview"],
            r["overturned_requal"],
            r["overturned"],
            "、".join(r["overturned_reviews"]),
        ]
        for r in rows
    ]


def _xlsx(name: str, rows: list[dict[str, Any]]) -> HttpResponse:
    from kehu.core.excel import xlsx_response

    return xlsx_response(name, [str(h) for h in REPORT_HEADERS], _report_rows(rows))


@login_required
def performance(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, reviewers.REPORT)
    today = timezone.localdate()
    default_start, default_end, _label = reviewers.previous_quarter(today)
    start = request.GET.get("start") or default_start.isoformat()
    end = request.GET.get("end") or default_end.isoformat()
    reviewer = request.GET.get("reviewer", "")
    error = None
    rows: list[dict[str, Any]] = []
    try:
        start_d, end_d, rows = reviewers.reviewer_performance(
            actor=user, start=start, end=end, reviewer_id=reviewer
        )
    except KehuError as exc:
        if exc.status in (403, 404):
            raise
        error = str(exc.message)
        start_d, end_d = default_start, default_end
    if request.GET.get("export") == "xlsx" and error is None:
        return _xlsx(f"reviewer-performance-{start_d}-{end_d}", rows)
    return render(
        request,
        "onboarding/reviewers/performance.html",
        {
            "rows": rows,
            "start": start_d,
            "end": end_d,
            "reviewer": reviewer,
            "people": reviewers.people_in_scope(user, reviewers.REPORT).order_by("username")[:500],
            "error": error,
            "reports": reviewers.report_list(actor=user)[:12],
            "window": reviewers.policy()[0].overturn_window_months,
        },
    )


@login_required
def stored_report(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    report, rows = reviewers.report_read(actor=user, pk=pk)
    if request.GET.get("export") == "xlsx":
        return _xlsx(f"reviewer-performance-{report.label}", rows)
    return render(request, "onboarding/reviewers/report.html", {"report": report, "rows": rows})


urlpatterns = [
    path("onboarding/reviewers/", reviewer_list, name="onboarding_reviewers"),
    path("onboarding/reviewers/performance/", performance, name="onboarding_reviewer_performance"),
    path("onboarding/reviewers/reports/<int:pk>/", stored_report, name="onboarding_reviewer_report"),
    path(
        "onboarding/reviewers/qualifications/<int:pk>/",
        qualification_edit,
        name="onboarding_reviewer_qualification",
    ),
    path("onboarding/reviewers/trainings/<int:pk>/", training_edit, name="onboarding_reviewer_training"),
    path("onboarding/reviewers/<int:user_id>/", reviewer_detail, name="onboarding_reviewer"),
    path(
        "onboarding/reviewers/<int:user_id>/qualifications/",
        qualification_add,
        name="onboarding_reviewer_qualification_add",
    ),
    path(
        "onboarding/reviewers/<int:user_id>/trainings/", training_add, name="onboarding_reviewer_training_add"
    ),
]
