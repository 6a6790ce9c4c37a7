"""Onboarding pages: the review list (filters stage / overdue / owner, export), the reviewer's queue, the
application form (客户审核申请表) and its printable page, the case page (stage, checklist, findings, rounds,
documents, history) with the actions this user may take, the re-qualification schedule and the reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core import access, audit
from kehu.core.attachments import attachment_panel
from kehu.core.errorpages import message_error
from kehu.core.errors import KehuError, NotFound
from kehu.core.listing import Column, ListPage
from kehu.customers.documents import customer_documents, customer_documents_valid
from kehu.customers.models import Customer
from kehu.onboarding import selectors, services
from kehu.onboarding.forms import (
    ApplicationForm,
    RequalForm,
    ReviewFilterForm,
    ScheduleFilterForm,
    StepForm,
    prospects_for,
)
from kehu.onboarding.models import Review
from kehu.workflow import engine

STATE_CSS = {
    "approved": "bg-success-subtle text-success-emphasis",
    "kept": "bg-success-subtle text-success-emphasis",
    "deferred": "bg-warning-subtle text-warning-emphasis",
    "rectification": "bg-warning-subtle text-warning-emphasis",
    "rejected": "bg-danger-subtle text-danger-emphasis",
    "suspended": "bg-danger-subtle text-danger-emphasis",
    "downgraded": "bg-secondary-subtle text-secondary-emphasis",
    "withdrawn": "bg-secondary-subtle text-secondary-emphasis",
}


def stage_label(review: Review) -> str:
    if review.case is None:
        return ""
    for s in review.case.definition_version.spec.get("states", []):
        if s["key"] == review.case.state:
            return _(s["label"])
    return review.case.state


def _overdue(review: Review) -> bool:
    case = review.case
    return bool(case and case.closed_at is None and case.state_due and case.state_due < timezone.localdate())


def review_columns() -> list[Column]:
    link = lambda r: reverse("onboarding_detail", args=[r.pk])  # noqa: E731
    return [
        Column("number", _("审核编号"), sort="number", link=link),
        Column("customer", _("客户"), sort="customer__name", value=lambda r: r.customer.name, link=link),
        Column("kind", _("类型"), sort="kind", value=lambda r: r.get_kind_display()),
        Column(
            "stage",
            _("环节"),
            sort="case__state",
            value=stage_label,
            template="onboarding/_stage_cell.html",
        ),
        Column(
            "due",
            _("环节期限"),
            sort="case__state_due",
            value=lambda r: r.case.state_due if r.case else None,
            template="onboarding/_due_cell.html",
        ),
        Column(
            "owner", _("负责人"), sort="customer__owner__display_name", value=lambda r: r.customer.owner.label
        ),
        Column("decision", _("结论"), sort="decision", value=lambda r: r.get_decision_display()),
        Column(
            "created_at",
            _("申请时间"),
            sort="created_at",
            value=lambda r: timezone.localtime(r.created_at).strftime("%Y-%m-%d"),
        ),
    ]


@login_required
def review_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "onboarding.review.view")
    page = ListPage(
        request,
        selectors.review_list(actor=user),
        columns=review_columns(),
        filter_form=ReviewFilterForm,
        apply_filters=selectors.apply_filters,
        default_sort="-created_at",
        exportable=access.can(user, "onboarding.review.export"),
    )
    return page.respond(
        "onboarding/list.html",
        {
            "title": _("客户审核一览表"),
            "today": timezone.localdate(),
            "can_apply": access.can(user, "onboarding.review.apply"),
        },
        export_name="reviews",
        export_action="onboarding.review.export",
    )


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "onboarding.review.view")
    page = ListPage(
        request,
        selectors.review_queue(actor=user),
        columns=review_columns(),
        filter_form=ReviewFilterForm,
        apply_filters=selectors.apply_filters,
        default_sort="case__state_due",
        exportable=False,
    )
    return render(
        request,
        "onboarding/list.html",
        {
            "page": page,
            "title": _("我的审核待办"),
            "queue": True,
            "today": timezone.localdate(),
            "can_apply": access.can(user, "onboarding.review.apply"),
        },
    )


@login_required
def review_apply(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "onboarding.review.apply")
    initial = {"customer": request.GET.get("customer")} if request.GET.get("customer") else {}
    form = ApplicationForm(request.POST or None, initial=initial, customers=prospects_for(user))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            review = services.review_apply(
                actor=user,
                customer_id=d["customer"].pk,
                **{k: v for k, v in d.items() if k != "customer"},
            )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("审核申请已提交，编号 %(n)s。") % {"n": review.number})
            return redirect("onboarding_detail", pk=review.pk)
    return render(request, "onboarding/apply.html", {"form": form})


def _documents(review: Review) -> dict[str, Any]:
    check = customer_documents_valid(review.customer)
    docs = list(customer_documents(review.customer)[:50])
    return {"check": check, "docs": docs, "today": timezone.localdate()}


def _render_detail(
    request: HttpRequest, review: Review, form: StepForm | None = None, chosen: str | None = None
) -> HttpResponse:
    user: Any = request.user
    case = review.case
    allowed = engine.allowed_transitions(case, user) if case else []
    forms_by_key = {
        t.key: (form if form is not None and t.key == chosen else StepForm(transition=t, prefix=t.key))
        for t in allowed
    }
    missing = services.stage_documents_missing(review, case.state) if case else []
    open_tasks = (
        list(case.tasks.filter(state="open").select_related("assignee").order_by("pk")) if case else []
    )
    return render(
        request,
        "onboarding/detail.html",
        {
            "review": review,
            "case": case,
            "stage": stage_label(review),
            "stage_css": STATE_CSS.get(case.state if case else "", "bg-primary-subtle text-primary-emphasis"),
            "overdue": _overdue(review),
            "transitions": [(t, forms_by_key[t.key]) for t in allowed],
            "chosen": chosen,
            "refusals": engine.refusals(case, user) if case else {},
            "steps": selectors.case_steps(review),
            "rounds": selectors.rounds(review),
            "documents": _documents(review),
            "stage_missing": missing,
            "open_tasks": open_tasks,
            "attachments": attachment_panel(actor=user, target=review, next_url=request.get_full_path()),
            "entries": list(audit.history(review)[:50]),
            "can_edit_application": review.kind == "initial"
            and case is not None
            and case.state in ("screening", "rectification")
            and access.can(user, "onboarding.review.apply"),
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    review = services.review_get(actor=request.user, pk=pk)  # type: ignore[arg-type]
    return _render_detail(request, review)


@login_required
def review_print(request: HttpRequest, pk: int) -> HttpResponse:
    review = services.review_get(actor=request.user, pk=pk, channel="print")  # type: ignore[arg-type]
    return render(request, "onboarding/print.html", {"review": review, "rounds": selectors.rounds(review)})


@login_required
def review_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    review = services.review_get(actor=user, pk=pk)
    initial = {f: getattr(review, f) for f in services.APPLICATION_FIELDS}
    initial["customer"] = review.customer_id
    form = ApplicationForm(
        request.POST or None, initial=initial, customers=Customer.objects.filter(pk=review.customer_id)
    )
    form.fields["customer"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            services.review_update_application(
                actor=user,
                review_id=review.pk,
                **{k: v for k, v in form.cleaned_data.items() if k != "customer"},
            )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("申请表已保存。"))
            return redirect("onboarding_detail", pk=review.pk)
    return render(request, "onboarding/apply.html", {"form": form, "review": review})


@login_required
@require_POST
def review_step(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    user: Any = request.user
    review = services.review_get(actor=user, pk=pk)
    if review.case is None:
        raise NotFound()
    sv = engine.spec_view(review.case.definition_version)
    tspec = sv.transition(key)
    if tspec is None:
        raise NotFound()
    t = engine._transition_obj(sv, tspec)
    form = StepForm(request.POST, request.FILES, transition=t, prefix=key)
    if form.is_valid():
        try:
            with transaction.atomic():
                ids: list[int] = []
                upload = form.cleaned_data.get("file")
                if upload:
                    ids.append(
                        services.review_attach_evidence(
                            actor=user, review=review, upload=upload, title=str(t.label)
                        )
                    )
                services.review_act(
                    actor=user,
                    review_id=review.pk,
                    transition=key,
                    comment=form.cleaned_data.get("comment") or "",
                    checklist=form.checklist(),
                    evidence=form.evidence(),
                    attachments=ids,
                    rereview_on=form.cleaned_data.get("rereview_on"),
                    new_class=form.cleaned_data.get("new_class") or "",
                    expected_state=request.POST.get("expected_state"),
                )
        except KehuError as exc:
            if exc.status in (403, 404):
                raise
            if exc.status == 409:
                messages.error(request, str(exc.message))
                return redirect("onboarding_detail", pk=review.pk)
            form.add_error(form.field_for(exc.field), str(exc.message))
        else:
            messages.success(request, _("已办理：%(action)s") % {"action": t.label})
            return redirect("onboarding_detail", pk=review.pk)
    review.refresh_from_db()
    if review.case is not None:
        review.case.refresh_from_db()
    return _render_detail(request, review, form=form, chosen=key)


@login_required
def schedule(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "onboarding.review.view")
    today = timezone.localdate()
    page = ListPage(
        request,
        selectors.schedule_list(actor=user),
        columns=[
            Column(
                "customer",
                _("客户"),
                sort="customer__name",
                value=lambda q: q.customer.name,
                link=lambda q: q.customer.get_absolute_url(),
            ),
            Column(
                "customer_class",
                _("类别"),
                sort="customer__customer_class",
                value=lambda q: q.customer.get_customer_class_display(),
            ),
            Column("owner", _("负责人"), value=lambda q: q.customer.owner.label),
            Column("last_review_on", _("上次审核日期"), sort="last_review_on"),
            Column("interval_months", _("复审周期（月）"), sort="interval_months"),
            Column(
                "next_review_on",
                _("下次复审日期"),
                sort="next_review_on",
                template="onboarding/_next_cell.html",
            ),
            Column("last_meeting_on", _("最近会面日期"), sort="last_meeting_on"),
        ],
        filter_form=ScheduleFilterForm,
        apply_filters=lambda qs, f: selectors.schedule_list(actor=user, filters=f).filter(
            pk__in=qs.values("pk")
        ),
        default_sort="next_review_on",
        exportable=access.can(user, "onboarding.review.export"),
    )
    return page.respond(
        "onboarding/schedule.html",
        {"today": today, "can_open": access.can(user, "onboarding.requal.open"), "form": RequalForm()},
        export_name="requalification",
        export_action="onboarding.review.export",
    )


@login_required
@require_POST
def requal_open(request: HttpRequest, customer_id: int) -> HttpResponse:
    user: Any = request.user
    form = RequalForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写提前复审的原因。"))
        return redirect("onboarding_schedule")
    try:
        review = services.requal_open(actor=user, customer_id=customer_id, reason=form.cleaned_data["reason"])
    except KehuError as exc:
        message_error(request, exc)
        return redirect("onboarding_schedule")
    messages.success(request, _("已发起复审 %(n)s。") % {"n": review.number})
    return redirect("onboarding_detail", pk=review.pk)


def _period(request: HttpRequest) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    try:
        start = dt.date.fromisoformat(request.GET.get("start", ""))
    except ValueError:
        start = today - dt.timedelta(days=365)
    try:
        end = dt.date.fromisoformat(request.GET.get("end", ""))
    except ValueError:
        end = today
    return start, max(start, end)


@login_required
def reports(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    start, end = _period(request)
    rep = selectors.report(actor=user, start=start, end=end)
    if request.GET.get("export") == "xlsx":
        from kehu.core.excel import xlsx_response

        rows = [[_("审核中（按环节）"), r["label"], r["count"], ""] for r in rep.by_stage]
        rows += [[_("环节周期（小时）"), r["label"], r["avg_hours"], r["overdue"]] for r in rep.cycle]
        rows += [[_("审核结论"), r["label"], r["count"], r["rate"]] for r in rep.decisions]
        rows += [
            [_("超期审核"), r.number, r.customer.name, str(r.case.state_due if r.case else "")]
            for r in rep.overdue
        ]
        return xlsx_response("onboarding-report", [_("报表"), _("项目"), _("数值"), _("比率/超期")], rows)
    return render(
        request,
        "onboarding/reports.html",
        {
            "rep": rep,
            "start": start,
            "end": end,
            "can_monitor": access.can(user, "workflow.monitoring.view"),
            "chart": {
                "labels": [r["label"] for r in rep.cycle],
                "hours": [r["avg_hours"] for r in rep.cycle],
            },
        },
    )


urlpatterns = [
    path("onboarding/", review_list, name="onboarding_list"),
    path("onboarding/queue/", review_queue, name="onboarding_queue"),
    path("onboarding/apply/", review_apply, name="onboarding_apply"),
    path("onboarding/schedule/", schedule, name="onboarding_schedule"),
    path("onboarding/schedule/<int:customer_id>/open/", requal_open, name="onboarding_requal_open"),
    path("onboarding/reports/", reports, name="onboarding_reports"),
    path("onboarding/<int:pk>/", review_detail, name="onboarding_detail"),
    path("onboarding/<int:pk>/print/", review_print, name="onboarding_print"),
    path("onboarding/<int:pk>/edit/", review_edit, name="onboarding_edit"),
    path("onboarding/<int:pk>/step/<str:key>/", review_step, name="onboarding_step"),
]
