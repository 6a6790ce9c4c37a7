"""Credit pages: the credit overview (module home, ECharts), applications (list, form, case page with the
investigation and the actions this user may take), limits in force (utilisation, review dates) and the printable
notification letter, reviews (due / overdue, decision), litigation flags. All through the services and selectors."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core import access, audit
from kehu.core.attachments import attachment_panel
from kehu.core.errorpages import form_error_or_back
from kehu.core.errors import KehuError, NotFound
from kehu.core.listing import Column, ListPage
from kehu.customers.models import Customer
from kehu.limits import selectors, services
from kehu.limits.forms import (
    ActForm,
    ApplicationFilterForm,
    ApplicationForm,
    ConclusionForm,
    FindingForm,
    LimitFilterForm,
    LitigationForm,
    ReviewDecideForm,
    ReviewFilterForm,
)
from kehu.limits.models import AppStatus, CreditApplication, CreditLimit, LimitStatus, ReviewDecision
from kehu.limits.workflow import APPROVAL_STATES
from kehu.workflow import engine

STATUS_CSS: dict[str, str] = {
    AppStatus.APPROVED: "bg-success-subtle text-success-emphasis",
    AppStatus.REJECTED: "bg-danger-subtle text-danger-emphasis",
    AppStatus.WITHDRAWN: "bg-secondary-subtle text-secondary-emphasis",
    AppStatus.APPROVAL: "bg-warning-subtle text-warning-emphasis",
}


def _money(value: Any) -> str:
    return "" if value is None else f"{value:,.2f}"


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "limits.limit.view")
    data = selectors.overview(actor=user)
    return render(
        request,
        "limits/overview.html",
        {
            "data": data,
            "chart": selectors.chart_data(data),
            "can_reviews": access.can(user, "limits.review.view"),
            "can_apply": access.can(user, "limits.application.apply"),
            "status_labels": dict(AppStatus.choices),
        },
    )


def application_columns() -> list[Column]:
    link = lambda a: reverse("limits_application", args=[a.pk])  # noqa: E731
    return [
        Column("number", _("申请编号"), sort="number", link=link),
        Column("customer", _("客户"), sort="customer__name", value=lambda a: a.customer.name, link=link),
        Column("owner", _("负责人"), value=lambda a: a.customer.owner.label),
        Column(
            "requested_amount",
            _("申请额度"),
            sort="requested_amount",
            value=lambda a: a.requested_amount,
            css="text-end",
        ),
        Column("requested_term_days", _("账期（天）"), sort="requested_term_days", css="text-end"),
        Column("credit_class", _("类别"), sort="credit_class"),
        Column("status", _("状态"), sort="status", value=lambda a: a.get_status_display()),
        Column(
            "stage_due",
            _("环节期限"),
            sort="case__state_due",
            value=lambda a: a.case.state_due if a.case else None,
        ),
        Column("approved_amount", _("批准额度"), sort="approved_amount", css="text-end"),
        Column(
            "created_at",
            _("申请时间"),
            sort="created_at",
            value=lambda a: timezone.localtime(a.created_at).date(),
        ),
    ]


@login_required
def application_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "limits.application.view")
    page = ListPage(
        request,
        selectors.applications(actor=user),
        columns=application_columns(),
        filter_form=ApplicationFilterForm,
        apply_filters=selectors.apply_application_filters,
        default_sort="-created_at",
    )
    return page.respond(
        "limits/list.html",
        {
            "title": _("授信申请"),
            "can_apply": access.can(user, "limits.application.apply"),
            "new_url": reverse("limits_apply"),
        },
        export_name="credit-applications",
    )


def _apply_customers(user: Any) -> Any:
    return access.restrict(
        user, "limits.application.apply", Customer.objects.filter(status__in=services.APPLICABLE_STATUSES)
    ).order_by("name")


@login_required
def application_apply(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "limits.application.apply")
    customers = _apply_customers(user)
    initial = {"customer": request.GET.get("customer")} if request.GET.get("customer") else {}
    form = ApplicationForm(request.POST or None, initial=initial, customers=customers)
    chosen = customers.filter(pk=request.POST.get("customer") or request.GET.get("customer") or 0).first()
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            app = services.application_create(
                actor=user,
                customer_id=d["customer"].pk,
                requested_amount=d["requested_amount"],
                requested_term_days=d["requested_term_days"],
                expected_sales=d.get("expected_sales"),
                reason=d["reason"],
                override=d.get("override") or False,
                override_reason=d.get("override_reason") or "",
            )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("授信申请已保存，编号 %(n)s；请在申请页面提交。") % {"n": app.number})
            return redirect("limits_application", pk=app.pk)
    return render(
        request,
        "limits/apply.html",
        {"form": form, "allowance": services.allowance(chosen) if chosen else None, "customer": chosen},
        status=400 if form.errors else 200,
    )


@login_required
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    app = services.application_get(actor=user, application_id=pk)
    initial = {
        "customer": app.customer_id,
        "requested_amount": app.requested_amount,
        "requested_term_days": app.requested_term_days,
        "expected_sales": app.expected_sales,
        "reason": app.reason,
        "override": app.override,
        "override_reason": app.override_reason,
    }
    form = ApplicationForm(
        request.POST or None, initial=initial, customers=Customer.objects.filter(pk=app.customer_id)
    )
    form.fields["customer"].disabled = True
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.application_update(
                actor=user,
                application_id=app.pk,
                **{k: v for k, v in d.items() if k != "customer"},
            )
        except KehuError as exc:
            if back := form_error_or_back(request, form, exc, reverse("limits_application", args=[app.pk])):
                return back
        else:
            messages.success(request, _("申请已保存。"))
            return redirect("limits_application", pk=app.pk)
    return render(
        request,
        "limits/apply.html",
        {
            "form": form,
            "application": app,
            "allowance": services.allowance(app.customer),
            "customer": app.customer,
        },
        status=400 if form.errors else 200,
    )


def _render_detail(request: HttpRequest, app: CreditApplication, **forms: Any) -> HttpResponse:
    user: Any = request.user
    case = app.case
    allowed = engine.allowed_transitions(case, user) if case else []
    approving = bool(case and case.state in APPROVAL_STATES)
    chosen = forms.get("chosen")
    acts = [
        (
            t,
            forms["act_form"]
            if chosen == t.key
            else ActForm(prefix=t.key, approving=approving and t.key.startswith("approve_")),
        )
        for t in allowed
    ]
    see_investigation = access.can(user, "limits.investigation.view")
    edit_investigation = (
        access.can(user, "limits.investigation.edit") and app.status == AppStatus.INVESTIGATION
    )
    if see_investigation:
        audit.record_read(user, app, channel="page", detail="investigation")
    limit = app.limits.first() if app.status == AppStatus.APPROVED else None
    has_errors = any(f is not None and getattr(f, "errors", None) for k, f in forms.items() if k != "chosen")
    return render(
        request,
        "limits/detail.html",
        {
            "app": app,
            "case": case,
            "css": STATUS_CSS.get(app.status, "bg-primary-subtle text-primary-emphasis"),
            "allowance": services.allowance(app.customer),
            "acts": acts,
            "chosen": chosen,
            "refusals": engine.refusals(case, user) if case else {},
            "events": services.case_history(case, see_investigation=see_investigation) if case else [],
            "see_investigation": see_investigation,
            "edit_investigation": edit_investigation,
            "findings": list(app.findings.select_related("recorded_by").order_by("channel"))
            if see_investigation
            else [],
            "finding_form": forms.get("finding_form") or FindingForm(),
            "conclusion_form": forms.get("conclusion_form")
            or ConclusionForm(initial={"conclusion": app.conclusion}),
            "attachments": attachment_panel(actor=user, target=app, next_url=request.get_full_path())
            if see_investigation
            else None,
            "can_edit": bool(
                case and case.state == "draft" and engine.acting_task(case, user)[0] is not None
            ),
            "limit": limit,
            "approver_label": services.role_label(app.approver_role) if app.approver_role else "",
        },
        status=400 if has_errors else 200,
    )


@login_required
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    app = services.application_get(actor=request.user, application_id=pk)  # type: ignore[arg-type]
    return _render_detail(request, app)


@login_required
@require_POST
def application_finding(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    app = services.application_get(actor=user, application_id=pk)
    form = FindingForm(request.POST)
    if form.is_valid():
        try:
            services.finding_save(actor=user, application_id=app.pk, **form.cleaned_data)
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("调查结果已记录。"))
            return redirect("limits_application", pk=app.pk)
    return _render_detail(request, app, finding_form=form)


@login_required
@require_POST
def application_conclusion(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    app = services.application_get(actor=user, application_id=pk)
    form = ConclusionForm(request.POST)
    if form.is_valid():
        try:
            services.conclusion_save(actor=user, application_id=app.pk, **form.cleaned_data)
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("分析结论已保存。"))
            return redirect("limits_application", pk=app.pk)
    return _render_detail(request, app, conclusion_form=form)


@login_required
@require_POST
def application_act(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    user: Any = request.user
    app = services.application_get(actor=user, application_id=pk)
    if app.case is None or engine.spec_view(app.case.definition_version).transition(key) is None:
        raise NotFound()
    form = ActForm(request.POST, prefix=key, approving=key.startswith("approve_"))
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.application_act(
                actor=user,
                application_id=app.pk,
                transition=key,
                comment=d.get("comment") or "",
                approved_amount=d.get("approved_amount"),
                approved_term_days=d.get("approved_term_days"),
                override=d.get("override") or False,
                override_reason=d.get("override_reason") or "",
                expected_state=request.POST.get("expected_state"),
            )
        except KehuError as exc:
            if back := form_error_or_back(request, form, exc, reverse("limits_application", args=[app.pk])):
                return back
        else:
            messages.success(request, _("已办理。"))
            return redirect("limits_application", pk=app.pk)
    app = services.application_get(actor=user, application_id=pk)
    return _render_detail(request, app, act_form=form, chosen=key)


def _utilisation_cell(row: CreditLimit) -> Any:
    return getattr(row, "utilisation", None)


class _UtilisationPage(ListPage):
    """The limits page computes exposure only for the rows of the current page (and the export)."""

    def rows(self) -> list[dict[str, Any]]:
        selectors.with_utilisation(list(self.page.object_list))
        return super().rows()


def limit_columns() -> list[Column]:
    letter = lambda r: reverse("limits_letter", args=[r.pk])  # noqa: E731
    return [
        Column(
            "customer",
            _("客户"),
            sort="customer__name",
            value=lambda r: r.customer.name,
            link=lambda r: r.customer.get_absolute_url() + "?tab=3",
        ),
        Column("owner", _("负责人"), value=lambda r: r.customer.owner.label),
        Column("amount", _("信用额度"), sort="amount", css="text-end"),
        Column(
            "exposure",
            _("信用占用"),
            value=lambda r: getattr(r, "exposure", None),
            css="text-end",
            export=False,
        ),
        Column(
            "available",
            _("可用额度"),
            value=lambda r: getattr(r, "available", None),
            css="text-end",
            export=False,
        ),
        Column("utilisation", _("使用率 %"), value=_utilisation_cell, css="text-end", export=False),
        Column("term_days", _("账期（天）"), sort="term_days", css="text-end"),
        Column("credit_class", _("类别"), sort="credit_class"),
        Column("terms_level", _("付款条件"), sort="terms_level"),
        Column("valid_from", _("生效日期"), sort="valid_from"),
        Column("next_review_on", _("下次复查"), sort="next_review_on"),
        Column("letter_number", _("通知书"), sort="letter_number", link=letter),
    ]


@login_required
def limit_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "limits.limit.view")
    page = _UtilisationPage(
        request,
        selectors.limits_in_force(actor=user),
        columns=limit_columns(),
        filter_form=LimitFilterForm,
        apply_filters=selectors.apply_limit_filters,
        default_sort="next_review_on",
        exportable=access.can(user, "limits.limit.export"),
    )
    return page.respond(
        "limits/list.html",
        {"title": _("信用额度")},
        export_name="credit-limits",
        export_action="limits.limit.export",
    )


@login_required
def limit_letter(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    limit = access.get_scoped(
        user,
        "limits.limit.view",
        CreditLimit.objects.select_related("customer", "approved_by", "application", "customer__owner"),
        pk=pk,
    )
    return render(
        request,
        "limits/letter.html",
        {
            "limit": limit,
            "approver": services.role_label(limit.application.approver_role) if limit.application else "",
        },
    )


def review_columns() -> list[Column]:
    link = lambda r: reverse("limits_review", args=[r.pk])  # noqa: E731
    return [
        Column("customer", _("客户"), sort="customer__name", value=lambda r: r.customer.name, link=link),
        Column("trigger", _("触发原因"), sort="trigger", value=lambda r: r.get_trigger_display()),
        Column("reason", _("说明"), value=lambda r: r.reason[:60]),
        Column(
            "opened_at",
            _("发起时间"),
            sort="opened_at",
            value=lambda r: timezone.localtime(r.opened_at).date(),
        ),
        Column("due", _("完成期限"), sort="due"),
        Column("decision", _("复查结论"), sort="decision", value=lambda r: r.get_decision_display()),
    ]


@login_required
def review_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "limits.review.view")
    page = ListPage(
        request,
        selectors.reviews(actor=user),
        columns=review_columns(),
        filter_form=ReviewFilterForm,
        apply_filters=selectors.apply_review_filters,
        default_sort="due",
    )
    return page.respond("limits/list.html", {"title": _("信用复查")}, export_name="credit-reviews")


@login_required
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    review = services.review_get(actor=user, review_id=pk)
    form = ReviewDecideForm(request.POST or None)
    if request.method == "POST":
        access.require(user, "limits.review.decide")
        if form.is_valid():
            try:
                services.review_decide(actor=user, review_id=review.pk, **form.cleaned_data)
            except KehuError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("复查结论已保存。"))
                return redirect("limits_review", pk=review.pk)
    audit.record_read(user, review, channel="page")
    return render(
        request,
        "limits/review.html",
        {
            "review": review,
            "form": form,
            "can_decide": review.is_open and access.can(user, "limits.review.decide"),
            "applications": list(review.applications.all()),
            "change": ReviewDecision.CHANGE,
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def review_open(request: HttpRequest, customer_id: int) -> HttpResponse:
    user: Any = request.user
    customer = access.get_scoped(user, "limits.review.open", Customer.objects.all(), pk=customer_id)
    if not services.CreditLimit.objects.filter(customer=customer, status=LimitStatus.IN_FORCE).exists():
        messages.error(request, _("该客户没有生效的额度，无需复查。"))
        return redirect(customer.get_absolute_url() + "?tab=3")
    review, _created = services.review_open(
        customer=customer,
        reason=(request.POST.get("reason") or "").strip() or _("人工发起复查"),
        trigger="manual",
        key=timezone.now().isoformat(),
        actor=user,
    )
    return redirect("limits_review", pk=review.pk)


@login_required
def litigation(request: HttpRequest, customer_id: int) -> HttpResponse:
    user: Any = request.user
    customer = access.get_scoped(user, "limits.litigation.record", Customer.objects.all(), pk=customer_id)
    form = LitigationForm(request.POST or None, initial={"occurred_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            _flag, review = services.litigation_record(
                actor=user, customer_id=customer.pk, **form.cleaned_data
            )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("涉诉情况已记录。"))
            if review is not None and access.can(user, "limits.review.view"):
                return redirect("limits_review", pk=review.pk)
            return redirect(customer.get_absolute_url() + "?tab=3")
    return render(
        request,
        "limits/litigation.html",
        {"form": form, "customer": customer},
        status=400 if form.errors else 200,
    )


urlpatterns = [
    path("credit/", overview, name="credit_overview"),
    path("credit/applications/", application_list, name="limits_applications"),
    path("credit/applications/new/", application_apply, name="limits_apply"),
    path("credit/applications/<int:pk>/", application_detail, name="limits_application"),
    path("credit/applications/<int:pk>/edit/", application_edit, name="limits_edit"),
    path("credit/applications/<int:pk>/finding/", application_finding, name="limits_finding"),
    path("credit/applications/<int:pk>/conclusion/", application_conclusion, name="limits_conclusion"),
    path("credit/applications/<int:pk>/act/<str:key>/", application_act, name="limits_act"),
    path("credit/limits/", limit_list, name="limits_list"),
    path("credit/limits/<int:pk>/letter/", limit_letter, name="limits_letter"),
    path("credit/reviews/", review_list, name="limits_reviews"),
    path("credit/reviews/<int:pk>/", review_detail, name="limits_review"),
    path("credit/reviews/open/<int:customer_id>/", review_open, name="limits_review_open"),
    path("credit/litigation/<int:customer_id>/", litigation, name="limits_litigation"),
]
