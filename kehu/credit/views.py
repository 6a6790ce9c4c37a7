"""Credit pages: the credit file of a customer (R-CRD-01), financial statements (form, import, detail with ratios,
list per customer), ratings (prepare, detail with each indicator's contribution, approval, override, list)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core import access
from kehu.core.errorpages import message_error
from kehu.core.errors import KehuError
from kehu.core.excel import xlsx_response
from kehu.core.listing import Column, ListPage
from kehu.credit import policies, ratios, selectors, services
from kehu.credit.forms import (
    CreditFileForm,
    DecideForm,
    DocumentForm,
    ImportForm,
    OverrideForm,
    RatingFilterForm,
    RatingForm,
    StatementForm,
)
from kehu.credit.models import FileItem, FinancialStatement, Rating, RatingStatus
from kehu.customers.models import Customer


def category_label(key: str) -> str:
    return _(dict(policies.CATEGORIES).get(key, key))


def indicator_rows(rating: Rating) -> list[dict[str, Any]]:
    labels = {k: _(label) for k, label, _kind in policies.INDICATORS}
    return [{**row, "label": labels.get(row["key"], row["key"])} for row in rating.details or []]


# --------------------------------------------------------------------------------------------------------------
# Credit file


@login_required
def credit_file(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor: Any = request.user
    view = selectors.credit_file_read(actor=actor, customer_id=customer_id, channel="page")
    cf = view.file
    can_edit = access.can(actor, "credit.file.edit")
    file_form = CreditFileForm(initial={k: getattr(cf, k) for k in services.FILE_FIELDS} if cf else None)
    items = []
    for value, label in FileItem.choices:
        items.append(
            {
                "key": value,
                "label": label,
                "documents": view.documents.get(value, []),
                "entries": view.entries.get(value, []),
                "text": getattr(cf, _ITEM_TEXT.get(value, ""), "") if cf and value in _ITEM_TEXT else "",
            }
        )
    return render(
        request,
        "credit/file.html",
        {
            "view": view,
            "c": view.customer,
            "items": items,
            "statements": [{"s": s, "ratios": ratios.rows(s)} for s in view.statements[:4]],
            "statement_count": len(view.statements),
            "file_form": file_form,
            "doc_form": DocumentForm(),
            "can_edit": can_edit,
            "can_statement": access.can(actor, "credit.statement.edit"),
            "can_rate": access.can(actor, "credit.rating.prepare"),
        },
    )


_ITEM_TEXT: dict[str, str] = {
    FileItem.SITE_SURVEY: "site_survey",
    FileItem.RELATED_PARTY: "related_party_survey",
    FileItem.INVESTIGATION: "analysis_conclusion",
    FileItem.PUBLIC: "public_materials",
}


@login_required
@require_POST
def credit_file_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor: Any = request.user
    form = CreditFileForm(request.POST)
    if form.is_valid():
        try:
            services.credit_file_update(actor=actor, customer_id=customer_id, **form.cleaned_data)
            messages.success(request, _("信用档案已保存。"))
        except KehuError as exc:
            message_error(request, exc)
    return redirect("credit_file", customer_id)


@login_required
@require_POST
def credit_document_upload(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor: Any = request.user
    form = DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "；".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("credit_file", customer_id)
    try:
        services.credit_document_add(
            actor=actor,
            customer_id=customer_id,
            item=form.cleaned_data["item"],
            upload=form.cleaned_data["file"],
            doc_type=form.cleaned_data["doc_type"],
            title=form.cleaned_data["title"],
            note=form.cleaned_data["note"],
        )
        messages.success(request, _("文件已存入信用档案。"))
    except KehuError as exc:
        message_error(request, exc)
    return redirect("credit_file", customer_id)


def render_section(request: HttpRequest, customer: Customer) -> str | None:
    """The credit summary on the dossier's category 3 tab; None for users who may not see the credit file (the
    owning sales rep). Showing it is a read of the credit file and is logged."""
    actor: Any = request.user
    if not selectors.credit_file_visible(actor):
        return None
    rating = Rating.objects.filter(customer=customer, status=RatingStatus.APPROVED).first()
    stmt = FinancialStatement.objects.filter(customer=customer).order_by("-period_end").first()
    selectors.log_read(actor, customer, "dossier", detail="credit.file")
    return render_to_string(
        "credit/_section.html",
        {"c": customer, "rating": rating, "stmt": stmt},
        request=request,
    )


# --------------------------------------------------------------------------------------------------------------
# Statements


def _ratio_cell(r: ratios.RatioDef) -> Callable[[FinancialStatement], str]:
    return lambda s: ratios.display(ratios.compute(s)[r.key], r.unit)


def statement_columns() -> list[Column]:
    def money(key: str) -> Any:
        return lambda s: getattr(s, key)

    cols = [
        Column(
            "period_end",
            _("报告期末"),
            sort="period_end",
            value=lambda s: s.period_end.isoformat(),
            link=lambda s: reverse("credit_statement_detail", args=[s.pk]),
        ),
        Column("period_type", _("报表类型"), value=lambda s: s.get_period_type_display()),
    ]
    for key in (
        "total_assets",
        "total_liabilities",
        "equity",
        "revenue",
        "net_profit",
        "operating_cash_flow",
    ):
        cols.append(Column(key, services.line_label(key), value=money(key), css="text-end"))
    for r in ratios.RATIOS:
        cols.append(Column(r.key, r.label, value=_ratio_cell(r), css="text-end"))
    cols.append(Column("source", _("来源"), value=lambda s: s.get_source_display()))
    return cols


@login_required
def statement_list(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor: Any = request.user
    customer, qs = selectors.statement_list(actor=actor, customer_id=customer_id)
    page = ListPage(request, qs, columns=statement_columns(), default_sort="-period_end")
    if page.wants_export:
        access.require(actor, "credit.export", customer)  # or a grant for the statements (R-ARC-01)
        selectors.log_list(
            actor, "credit.statement", "export", page.paginator.count, {"customer": customer.pk}
        )
        return page.export(f"statements-{customer.number}")
    selectors.log_list(
        actor, "credit.statement", "page", len(page.page.object_list), {"customer": customer.pk}
    )
    return render(
        request,
        "credit/statement_list.html",
        {"page": page, "c": customer, "can_edit": access.can(actor, "credit.statement.edit")},
    )


@login_required
def statement_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor: Any = request.user
    customer = services.customer_for(actor, "credit.statement.edit", customer_id)
    form = StatementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            stmt = services.statement_save(
                actor=actor,
                customer_id=customer.pk,
                period_end=form.cleaned_data["period_end"],
                period_type=form.cleaned_data["period_type"],
                lines=form.lines(),
                note=form.cleaned_data["note"],
            )
            messages.success(request, _("财务报表已保存。"))
            return redirect("credit_statement_detail", stmt.pk)
        except KehuError as exc:
            form.add_service_error(exc)
    return render(request, "credit/statement_form.html", {"form": form, "c": customer, "target": None})


@login_required
def statement_edit(request: HttpRequest, statement_id: int) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "credit.statement.edit")
    if request.method == "POST":
        stmt = access.get_scoped(
            actor,
            "credit.statement.edit",
            FinancialStatement.objects.select_related("customer"),
            pk=statement_id,
        )
        form = StatementForm(request.POST)
        if form.is_valid():
            try:
                services.statement_save(
                    actor=actor,
                    customer_id=stmt.customer_id,
                    statement_id=stmt.pk,
                    period_end=form.cleaned_data["period_end"],
                    period_type=form.cleaned_data["period_type"],
                    lines=form.lines(),
                    note=form.cleaned_data["note"],
                )
                messages.success(request, _("财务报表已保存。"))
                return redirect("credit_statement_detail", stmt.pk)
            except KehuError as exc:
                form.add_service_error(exc)
    else:
        stmt = selectors.statement_get(actor=actor, statement_id=statement_id)
        initial = {k: getattr(stmt, k) for k in ("period_end", "period_type", "note", *policies.LINES)}
        form = StatementForm(initial=initial)
    return render(request, "credit/statement_form.html", {"form": form, "c": stmt.customer, "target": stmt})


@login_required
def statement_detail(request: HttpRequest, statement_id: int) -> HttpResponse:
    actor: Any = request.user
    stmt = selectors.statement_get(actor=actor, statement_id=statement_id)
    form = StatementForm()
    groups = [(title, [(f.label, getattr(stmt, f.name)) for f in fields]) for title, fields in form.groups()]
    return render(
        request,
        "credit/statement_detail.html",
        {
            "s": stmt,
            "c": stmt.customer,
            "groups": groups,
            "ratios": ratios.rows(stmt),
            "can_edit": access.can(actor, "credit.statement.edit"),
        },
    )


@login_required
def statement_import(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor: Any = request.user
    customer = services.customer_for(actor, "credit.statement.edit", customer_id)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = services.statement_import(
            actor=actor, customer_id=customer.pk, file=form.cleaned_data["file"]
        )
        if report.ok:
            messages.success(
                request,
                _("已导入 %(created)s 期、更新 %(updated)s 期报表。")
                % {"created": report.created, "updated": report.updated},
            )
            return redirect("credit_statement_list", customer.pk)
    return render(request, "credit/import.html", {"form": form, "c": customer, "report": report})


@login_required
def statement_template(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "credit.statement.edit")
    spec = services.import_spec()
    example = ["2025-12-31", _("年报"), *["" for _k in policies.LINES], ""]
    return xlsx_response("statements-template", spec.headers, [example], sheet="Import")


# --------------------------------------------------------------------------------------------------------------
# Ratings


def _iso(day: Any) -> str:
    return day.isoformat() if day else ""


def rating_columns() -> list[Column]:
    return [
        Column("customer__number", _("客户编号"), sort="customer__number"),
        Column(
            "customer__name",
            _("客户名称"),
            sort="customer__name",
            link=lambda r: reverse("credit_rating_detail", args=[r.pk]),
        ),
        Column("category", _("行业类别"), sort="category", value=lambda r: category_label(r.category)),
        Column("score", _("得分"), sort="score", css="text-end"),
        Column("grade", _("信用等级"), sort="grade"),
        Column("credit_class", _("信用类别"), sort="credit_class"),
        Column("overridden", _("已调整"), value=lambda r: _("是") if r.overridden else ""),
        Column("status", _("状态"), sort="status", value=lambda r: r.get_status_display()),
        Column("rated_on", _("评级日期"), sort="rated_on", value=lambda r: _iso(r.rated_on)),
        Column("review_due", _("复评到期日"), sort="review_due", value=lambda r: _iso(r.review_due)),
        Column("prepared_by", _("评级人"), value=lambda r: r.prepared_by.label),
    ]


@login_required
def rating_list(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "credit.rating.view")
    base = selectors.rating_queryset(actor=actor)
    if not request.GET:  # no filter given (the filter form is unbound): the ratings in force
        base = selectors.apply_rating_filters(base, {})
    page = ListPage(
        request,
        base,
        columns=rating_columns(),
        filter_form=RatingFilterForm,
        apply_filters=selectors.apply_rating_filters,
        default_sort="customer__number",
    )
    filters = dict(request.GET.items())
    filters.pop("page", None)
    if page.wants_export:
        access.require(actor, "credit.export")
        selectors.log_list(actor, "credit.rating", "export", page.paginator.count, filters)
        return page.export("credit-ratings")
    selectors.log_list(actor, "credit.rating", "page", len(page.page.object_list), filters)
    return render(request, "credit/rating_list.html", {"page": page})


def _statements(customer: Customer) -> list[FinancialStatement]:
    return list(FinancialStatement.objects.filter(customer=customer).order_by("-period_end")[:12])


@login_required
def rating_create(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor: Any = request.user
    customer = services.customer_for(actor, "credit.rating.prepare", customer_id)
    stmts = _statements(customer)
    initial = {
        "years_of_trade": selectors.default_years_of_trade(customer),
        "payment_history": 3,
        "industry_outlook": 3,
        "management": 3,
        "litigation": 5,
    }
    form = RatingForm(request.POST or None, statements=stmts, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            rating = services.rating_prepare(actor=actor, customer_id=customer.pk, **form.values())
            messages.success(request, _("评级草稿已生成，请核对后提交审批。"))
            return redirect("credit_rating_detail", rating.pk)
        except KehuError as exc:
            if exc.status == 409:
                message_error(request, exc)
                return redirect("credit_file", customer.pk)
            form.add_service_error(exc)
    policy, _v = policies.rating()
    return render(
        request,
        "credit/rating_form.html",
        {
            "form": form,
            "c": customer,
            "target": None,
            "category": category_label(policy.category_for(customer.industry)),
        },
    )


@login_required
def rating_edit(request: HttpRequest, rating_id: int) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "credit.rating.prepare")
    rating = (
        selectors.rating_get(actor=actor, rating_id=rating_id)
        if request.method == "GET"
        else access.get_scoped(
            actor, "credit.rating.view", Rating.objects.select_related("customer"), pk=rating_id
        )
    )
    stmts = _statements(rating.customer)
    initial = {k: getattr(rating, k) for k in services.RATING_INPUTS}
    initial.update({"statement_id": rating.statement_id, "note": rating.note})
    form = RatingForm(request.POST or None, statements=stmts, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.rating_update(actor=actor, rating_id=rating.pk, **form.values())
            messages.success(request, _("评级已重新计算。"))
            return redirect("credit_rating_detail", rating.pk)
        except KehuError as exc:
            if exc.status == 409:
                message_error(request, exc)
                return redirect("credit_rating_detail", rating.pk)
            form.add_service_error(exc)
    return render(
        request,
        "credit/rating_form.html",
        {"form": form, "c": rating.customer, "target": rating, "category": category_label(rating.category)},
    )


@login_required
def rating_detail(request: HttpRequest, rating_id: int) -> HttpResponse:
    actor: Any = request.user
    rating = selectors.rating_get(actor=actor, rating_id=rating_id)
    policy, _v = policies.rating()
    roles = set(actor.role_codes())
    is_preparer = rating.prepared_by_id == actor.pk
    can_decide = (
        rating.status == RatingStatus.PENDING
        and access.can(actor, "credit.rating.decide")
        and bool(roles & set(policy.approver_roles))
        and not is_preparer
        and rating.override_by_id != actor.pk
    )
    can_override = (
        rating.status == RatingStatus.PENDING
        and access.can(actor, "credit.rating.decide")
        and bool(roles & set(policy.override_roles))
        and not is_preparer
    )
    rows = indicator_rows(rating)
    return render(
        request,
        "credit/rating_detail.html",
        {
            "r": rating,
            "c": rating.customer,
            "rows": rows,
            "category": category_label(rating.category),
            "can_submit": rating.status == RatingStatus.DRAFT and is_preparer,
            "can_decide": can_decide,
            "can_override": can_override,
            "decide_form": DecideForm(),
            "override_form": OverrideForm(initial={"grade": rating.grade}),
        },
    )


@login_required
@require_POST
def rating_submit(request: HttpRequest, rating_id: int) -> HttpResponse:
    actor: Any = request.user
    try:
        services.rating_submit(actor=actor, rating_id=rating_id)
        messages.success(request, _("评级已提交审批。"))
    except KehuError as exc:
        message_error(request, exc)
    return redirect("credit_rating_detail", rating_id)


@login_required
@require_POST
def rating_decide(request: HttpRequest, rating_id: int) -> HttpResponse:
    actor: Any = request.user
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择审批结论。"))
        return redirect("credit_rating_detail", rating_id)
    try:
        services.rating_decide(actor=actor, rating_id=rating_id, **form.cleaned_data)
        messages.success(request, _("审批结论已记录。"))
    except KehuError as exc:
        message_error(request, exc)
    return redirect("credit_rating_detail", rating_id)


@login_required
@require_POST
def rating_override(request: HttpRequest, rating_id: int) -> HttpResponse:
    actor: Any = request.user
    form = OverrideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("调整等级须选择等级并填写理由。"))
        return redirect("credit_rating_detail", rating_id)
    try:
        services.rating_override(actor=actor, rating_id=rating_id, **form.cleaned_data)
        messages.success(request, _("信用等级已调整。"))
    except KehuError as exc:
        message_error(request, exc)
    return redirect("credit_rating_detail", rating_id)


urlpatterns = [
    path("credit/customers/<int:customer_id>/", credit_file, name="credit_file"),
    path("credit/customers/<int:customer_id>/edit/", credit_file_edit, name="credit_file_edit"),
    path(
        "credit/customers/<int:customer_id>/documents/", credit_document_upload, name="credit_document_upload"
    ),
    path("credit/customers/<int:customer_id>/statements/", statement_list, name="credit_statement_list"),
    path(
        "credit/customers/<int:customer_id>/statements/new/", statement_create, name="credit_statement_create"
    ),
    path(
        "credit/customers/<int:customer_id>/statements/import/",
        statement_import,
        name="credit_statement_import",
    ),
    path("credit/statements/template/", statement_template, name="credit_statement_template"),
    path("credit/statements/<int:statement_id>/", statement_detail, name="credit_statement_detail"),
    path("credit/statements/<int:statement_id>/edit/", statement_edit, name="credit_statement_edit"),
    path("credit/ratings/", rating_list, name="credit_rating_list"),
    path("credit/customers/<int:customer_id>/ratings/new/", rating_create, name="credit_rating_create"),
    path("credit/ratings/<int:rating_id>/", rating_detail, name="credit_rating_detail"),
    path("credit/ratings/<int:rating_id>/edit/", rating_edit, name="credit_rating_edit"),
    path("credit/ratings/<int:rating_id>/submit/", rating_submit, name="credit_rating_submit"),
    path("credit/ratings/<int:rating_id>/decide/", rating_decide, name="credit_rating_decide"),
    path("credit/ratings/<int:rating_id>/override/", rating_override, name="credit_rating_override"),
]
