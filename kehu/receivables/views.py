"""Pages of the receivables module: ledger per customer, posting forms, company ageing, exposure list, collections,
statement of account, reports and write-offs. Every page calls the same selectors and services as the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errorpages import message_error
from kehu.core.errors import KehuError
from kehu.core.excel import xlsx_response
from kehu.core.models import Department, Region, User
from kehu.receivables import collections, forms, selectors, services, writeoff
from kehu.receivables.models import EntryKind, ReportKind, WriteOffStatus

PAGE = 50


def _date_param(value: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


@login_required
def ledger(request: HttpRequest, customer_id: int) -> HttpResponse:
    data = selectors.ledger(request.user, customer_id)
    user: Any = request.user
    return render(
        request,
        "receivables/ledger.html",
        {
            "l": data,
            "can_post": access.can(user, "receivables.post"),
            "can_deposit": access.can(user, "receivables.deposit"),
            "can_collect": access.can(user, "receivables.collect"),
            "can_writeoff": access.can(user, "receivables.writeoff.request"),
            "limit": selectors.limit_of(data.customer),
        },
    )


POST_FORMS = {
    "invoice": (forms.InvoiceForm, _("登记发票")),
    "receipt": (forms.ReceiptForm, _("登记收款")),
    "prepayment": (forms.ReceiptForm, _("登记预收款")),
    "credit_note": (forms.CreditNoteForm, _("登记红字发票")),
}


@login_required
def post_entry(request: HttpRequest, customer_id: int, kind: str) -> HttpResponse:
    user: Any = request.user
    access.require(user, "receivables.post")
    customer = selectors.customer_get(user, "receivables.post", customer_id)
    if kind not in POST_FORMS:
        from kehu.core.errors import NotFound

        raise NotFound()
    form_cls, title = POST_FORMS[kind]
    kwargs: dict[str, Any] = {}
    if kind in ("receipt", "credit_note"):
        kwargs["invoices"] = selectors.Entry.objects.filter(
            customer=customer, kind=EntryKind.INVOICE, open_amount__gt=0
        ).order_by("due_date", "pk")
    form = form_cls(request.POST or None, **kwargs)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if kind == "invoice":
                services.invoice_post(
                    actor=user,
                    customer_id=customer.pk,
                    number=d["number"],
                    entry_date=d["entry_date"],
                    amount=d["amount"],
                    due_date=d["due_date"],
                    terms_days=d["terms_days"],
                    memo=d["memo"],
                )
            elif kind in ("receipt", "prepayment"):
                assert isinstance(form, forms.ReceiptForm)
                services.receipt_post(
                    actor=user,
                    customer_id=customer.pk,
                    entry_date=d["entry_date"],
                    lines=form.lines(),
                    allocations=form.allocations() if kind == "receipt" else None,
                    number=d["number"],
                    memo=d["memo"],
                    prepayment=kind == "prepayment",
                )
            else:
                services.credit_note_post(
                    actor=user,
                    customer_id=customer.pk,
                    entry_date=d["entry_date"],
                    amount=d["amount"],
                    invoice_id=d["invoice"],
                    number=d["number"],
                    memo=d["memo"],
                )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已记账。"))
            return redirect("receivables_ledger", customer.pk)
    return render(request, "receivables/form.html", {"form": form, "title": title, "customer": customer})


@login_required
def reverse_entry(request: HttpRequest, entry_id: int) -> HttpResponse:
    user: Any = request.user
    entry = access.get_scoped(
        user, "receivables.post", selectors.Entry.objects.select_related("customer"), pk=entry_id
    )
    form = forms.ReverseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.entry_reverse(
                actor=user,
                entry_id=entry.pk,
                entry_date=form.cleaned_data["entry_date"],
                reason=form.cleaned_data["reason"],
            )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已冲销。"))
            return redirect("receivables_ledger", entry.customer_id)
    return render(
        request,
        "receivables/form.html",
        {"form": form, "title": _("冲销 %(e)s") % {"e": entry}, "customer": entry.customer, "entry": entry},
    )


@login_required
def deposit_new(request: HttpRequest, customer_id: int) -> HttpResponse:
    user: Any = request.user
    customer = selectors.customer_get(user, "receivables.deposit", customer_id)
    form = forms.DepositForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.deposit_create(actor=user, customer_id=customer.pk, **form.cleaned_data)
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已登记。"))
            return redirect("receivables_ledger", customer.pk)
    return render(
        request, "receivables/form.html", {"form": form, "title": _("登记保证金/担保"), "customer": customer}
    )


@login_required
def deposit_release(request: HttpRequest, deposit_id: int) -> HttpResponse:
    user: Any = request.user
    if request.method != "POST":
        from kehu.core.errors import NotFound

        raise NotFound()
    deposit = access.get_scoped(user, "receivables.deposit", selectors.Deposit.objects.all(), pk=deposit_id)
    try:
        services.deposit_release(
            actor=user,
            deposit_id=deposit.pk,
            released_on=request.POST.get("released_on") or timezone.localdate(),
            reason=request.POST.get("reason", ""),
        )
    except KehuError as exc:
        message_error(request, exc)
    else:
        messages.success(request, _("已解除。"))
    return redirect("receivables_ledger", deposit.customer_id)


# ---------------------------------------------------------------------------------------------------------------
# Ageing


def _ageing_filters(request: HttpRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("owner", "department", "region"):
        value = request.GET.get(key, "")
        if value.isdigit():
            out[key] = int(value)
    return out


@login_required
def ageing(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "receivables.ageing")
    at = _date_param(request.GET.get("at"), timezone.localdate())
    filters = _ageing_filters(request)
    if request.GET.get("export") == "xlsx":
        rep = selectors.ageing_report(user, at=at, filters=filters, limit=None)
        audit.record(
            actor=user,
            action="export",
            object_type="receivables.ageing",
            changes={"at": at.isoformat(), **filters},
        )
        headers = [
            _("客户编号"),
            _("客户名称"),
            _("负责人"),
            *[b.label for b in rep.buckets],
            _("预收/未核销"),
            _("余额"),
        ]
        rows = [[r.number, r.name, r.owner, *r.amounts, r.credits, r.balance] for r in rep.rows]
        rows.append(["", _("合计"), "", *rep.totals, rep.total_credits, rep.total_balance])
        return xlsx_response(f"ageing-{at:%Y%m%d}", headers, rows, sheet=_("账龄分析"))
    try:
        page_no = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page_no = 1
    rep = selectors.ageing_report(user, at=at, filters=filters, offset=(page_no - 1) * PAGE, limit=PAGE)
    pages = max(1, (rep.count + PAGE - 1) // PAGE)
    scope = access.scope_for(user, "receivables.ageing")
    owners = (
        User.objects.filter(is_active=True, owned_customers__isnull=False)
        .distinct()
        .order_by("display_name", "username")[:300]
        if scope == access.Scope.ALL
        else User.objects.filter(pk=user.pk)
    )
    return render(
        request,
        "receivables/ageing.html",
        {
            "rep": rep,
            "page_no": page_no,
            "pages": pages,
            "owners": owners,
            "departments": Department.objects.order_by("path")[:300],
            "regions": Region.objects.order_by("code")[:300],
            "chart": {
                "labels": [str(b.label) for b in rep.buckets],
                "values": [float(v) for v in rep.totals],
            },
        },
    )


@login_required
def exposure_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "receivables.exposure")
    problem = request.GET.get("problem", "")
    page = None
    if problem == "over_limit":
        rows = selectors.over_limit(user)
    else:
        qs = selectors.exposure_list(user, problem="overdue" if problem == "overdue" else "")
        page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
        rows = []
        for r in page.object_list:
            view = selectors.view_of(r)
            limit = r.limit_amount  # annotated by the list query
            rows.append(
                {"row": r, "view": view, "limit": limit, "over": limit is not None and view.total > limit}
            )
    return render(
        request,
        "receivables/exposure.html",
        {"rows": rows, "page": page, "problem": problem, "today": timezone.localdate()},
    )


# ---------------------------------------------------------------------------------------------------------------
# Collections


@login_required
def collections_all(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "receivables.collect")
    page = Paginator(selectors.collections_all(user), PAGE).get_page(request.GET.get("page"))
    alerts = selectors.alerts(user)[:50]
    return render(request, "receivables/collections_all.html", {"page": page, "alerts": alerts})


@login_required
def collections_view(request: HttpRequest, customer_id: int) -> HttpResponse:
    user: Any = request.user
    customer, records = selectors.collection_list(user, customer_id)
    form = forms.CollectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            collections.collection_record(actor=user, customer_id=customer.pk, **form.cleaned_data)
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已记录。"))
            return redirect("receivables_collections", customer.pk)
    can_reports = access.can(user, "receivables.report.view")
    return render(
        request,
        "receivables/collections.html",
        {
            "customer": customer,
            "records": records[:200],
            "form": form,
            "promises": collections.promises_of(customer.pk),
            "reports": selectors.reports(user, customer.pk)[:50] if can_reports else [],
            "can_reports": can_reports,
            "can_report_create": access.can(user, "receivables.report.create"),
        },
    )


@login_required
def statement(request: HttpRequest, customer_id: int) -> HttpResponse:
    user: Any = request.user
    today = timezone.localdate()
    end = _date_param(request.GET.get("end"), today)
    start = _date_param(request.GET.get("start"), end.replace(day=1) - dt.timedelta(days=90))
    data = selectors.statement(user, customer_id, start, end)
    return render(request, "receivables/statement.html", {"s": data, "today": today})


@login_required
def report_new(request: HttpRequest, customer_id: int) -> HttpResponse:
    user: Any = request.user
    access.require(user, "receivables.report.create")
    customer = selectors.customer_get(user, "receivables.report.create", customer_id)
    form = forms.ReportForm(
        request.POST or None, initial={"kind": request.GET.get("kind", ReportKind.ABNORMAL)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            report = collections.report_create(actor=user, customer_id=customer.pk, **form.cleaned_data)
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            return redirect("receivables_report", report.pk)
    return render(
        request, "receivables/form.html", {"form": form, "title": _("填写收款报告"), "customer": customer}
    )


@login_required
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    user: Any = request.user
    report = access.get_scoped(
        user,
        "receivables.report.view",
        selectors.CollectionReport.objects.select_related("customer", "created_by"),
        pk=report_id,
    )
    audit.record_read(user, report)
    return render(request, "receivables/report.html", {"r": report})


# ---------------------------------------------------------------------------------------------------------------
# Write-offs


@login_required
def writeoff_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "receivables.writeoff.view")
    page = Paginator(selectors.write_offs(user), PAGE).get_page(request.GET.get("page"))
    return render(request, "receivables/writeoffs.html", {"page": page})


@login_required
def writeoff_new(request: HttpRequest, customer_id: int) -> HttpResponse:
    user: Any = request.user
    access.require(user, "receivables.writeoff.request")
    customer = selectors.customer_get(user, "receivables.writeoff.request", customer_id)
    invoices = selectors.Entry.objects.filter(
        customer=customer, kind=EntryKind.INVOICE, open_amount__gt=0
    ).order_by("due_date")
    form = forms.WriteOffForm(request.POST or None, invoices=invoices)
    if request.method == "POST" and form.is_valid():
        try:
            wo = writeoff.write_off_request(
                actor=user,
                customer_id=customer.pk,
                invoice_ids=form.cleaned_data["invoices"],
                reason=form.cleaned_data["reason"],
            )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            return redirect("receivables_writeoff", wo.pk)
    return render(
        request, "receivables/form.html", {"form": form, "title": _("申请坏账核销"), "customer": customer}
    )


@login_required
def writeoff_detail(request: HttpRequest, write_off_id: int) -> HttpResponse:
    from kehu.workflow.engine import allowed_transitions

    user: Any = request.user
    wo = access.get_scoped(
        user,
        "receivables.writeoff.view",
        selectors.WriteOff.objects.select_related("customer", "prepared_by", "case", "entry"),
        pk=write_off_id,
    )
    form = forms.DecideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            writeoff.write_off_decide(
                actor=user,
                write_off_id=wo.pk,
                approve=request.POST.get("decision") == "approve",
                comment=form.cleaned_data["comment"],
            )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已处理。"))
            return redirect("receivables_writeoff", wo.pk)
    actions = (
        {t.key for t in allowed_transitions(wo.case, user)}
        if wo.case and wo.status == WriteOffStatus.PENDING
        else set()
    )
    invoices = selectors.Entry.objects.filter(pk__in=wo.invoice_ids).order_by("due_date")
    return render(
        request,
        "receivables/writeoff.html",
        {"wo": wo, "form": form, "actions": actions, "invoices": invoices},
    )


# ---------------------------------------------------------------------------------------------------------------
# Import


@login_required
def ledger_import(request: HttpRequest) -> HttpResponse:
    from django import forms as dj_forms

    from kehu.core.excel import template_response
    from kehu.core.forms import KehuForm
    from kehu.receivables import imports

    user: Any = request.user
    access.require(user, "receivables.import")
    if request.GET.get("template"):
        return template_response("ledger-import-template", imports.SPEC, imports.EXAMPLE)

    class UploadForm(KehuForm):
        file = dj_forms.FileField(label=_("Excel 文件（.xlsx）"))

    form = UploadForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = imports.ledger_import(actor=user, file=form.cleaned_data["file"])
        if report.ok:
            messages.success(request, _("已导入 %(n)s 条分录。") % {"n": report.created})
            return redirect("receivables_import")
    return render(request, "receivables/import.html", {"form": form, "report": report})
