"""Order pages (R-ORD-01, R-ORD-02, R-CRD-05): the list with filters and export, entry and amendment with live
check results (htmx), the order page with its checks, holds and history, the credit hold queue, the catalogue and
the xlsx import. The same services and selectors as the API."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core import access, audit
from kehu.core.errorpages import message_error
from kehu.core.errors import KehuError, ValidationFailed
from kehu.core.listing import MONEY_CELL, Column, ListPage
from kehu.customers.models import Customer, CustomerStatus
from kehu.customers.search import search_q
from kehu.orders import checks, execution, imports, policies, selectors, services
from kehu.orders import review as review_flow
from kehu.orders.forms import (
    LINE_FIELDS,
    LINE_ROWS,
    DeliveryForm,
    ErrorFilterForm,
    FeedbackForm,
    ImportForm,
    InvoiceForm,
    NoticeForm,
    OrderFilterForm,
    OrderForm,
    ReasonForm,
    terms_choices,
)
from kehu.orders.models import CheckKey, Order, OrderStatus
from kehu.orders.templatetags.orders_tags import STATUS_CSS


def _money(value: Any) -> str:
    return "" if value is None else f"{value:,.2f}"


def _order_link(o: Order) -> str:
    return reverse("orders_detail", args=[o.pk])


def _money_col(key: str, label: Any, sort: str | None = None) -> Column:
    """An amount column of an order (grouped on the page, a number in the xlsx)."""
    return Column(
        key,
        label,
        sort=sort,
        value=lambda o: getattr(o, key),
        template=MONEY_CELL,
        css="text-end text-nowrap",
    )


def _head_columns() -> tuple[Column, Column]:
    return (
        Column("number", _("订单编号"), sort="number", link=_order_link, css="text-nowrap"),
        Column(
            "customer", _("客户"), sort="customer__name", value=lambda o: o.customer.name, link=_order_link
        ),
    )


def _status_col() -> Column:
    return Column(
        "status",
        _("状态"),
        sort="status",
        value=lambda o: o.get_status_display(),
        template="orders/partials/_status_cell.html",
        css="text-nowrap",
    )


def _requested_col() -> Column:
    return Column("requested_date", _("要求交货日期"), sort="requested_date", css="text-nowrap")


def order_columns() -> list[Column]:
    return [
        *_head_columns(),
        Column("owner", _("负责人"), sort="owner__username", value=lambda o: str(o.owner), css="text-nowrap"),
        Column("channel", _("接单渠道"), value=lambda o: o.get_channel_display()),
        _requested_col(),
        _money_col("total_amount", _("价税合计"), "total_amount"),
        _status_col(),
        Column("on_hold", _("信用冻结"), value=lambda o: _("是") if o.on_hold else ""),
        Column(
            "created_at",
            _("录入时间"),
            sort="created_at",
            value=lambda o: timezone.localtime(o.created_at).date(),
            css="text-nowrap",
        ),
    ]


def _filters(user: Any) -> Any:
    def apply(qs: Any, data: dict[str, Any]) -> Any:
        filters = dict(data)
        if filters.get("owner") is not None:
            filters["owner"] = filters["owner"].pk
        return selectors.order_list(actor=user, filters=filters)

    return apply


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "orders.order.view")
    page = ListPage(
        request,
        selectors.order_list(actor=user),
        columns=order_columns(),
        filter_form=OrderFilterForm,
        apply_filters=_filters(user),
        default_sort="-created_at",
    )
    return page.respond(
        "orders/list.html",
        {
            "title": _("订单"),
            "can_edit": access.can(user, "orders.order.edit"),
            "can_import": access.can(user, "orders.order.import"),
        },
        export_name="orders",
        export_action="orders.order.export",
    )


def open_columns() -> list[Column]:
    return [
        Column(
            "priority",
            _("优先"),
            sort="priority",
            value=lambda o: _("急单优先") if o.priority else (_("急单") if o.rush else ""),
            template="orders/partials/_priority_cell.html",
            css="text-nowrap",
        ),
        *_head_columns(),
        Column("grade", _("客户等级"), sort="grade"),
        _requested_col(),
        Column(
            "responsible",
            _("执行责任人"),
            value=lambda o: str(o.responsible) if o.responsible_id else _("待下达执行通知"),
            css="text-nowrap",
        ),
        _money_col("total_amount", _("价税合计"), "total_amount"),
        _money_col("delivered_amount", _("已发货金额"), "delivered_amount"),
        _money_col("invoiced_amount", _("已开票金额")),
        _status_col(),
    ]


@login_required
def open_orders(request: HttpRequest) -> HttpResponse:
    """Approved and executing orders (R-ORD-05): A-grade rush orders first, then by the requested date."""
    user: Any = request.user
    access.require(user, "orders.order.view")
    page = ListPage(
        request,
        selectors.order_list(actor=user, filters={"status": "open"}).select_related("responsible"),
        columns=open_columns(),
        default_sort=("-priority", "requested_date"),
    )
    return page.respond(
        "orders/list.html",
        {
            "title": _("在手订单"),
            "intro": _("已批准与执行中的订单；A级急单（等级急单规则为优先排产）排在最前。"),
        },
        export_name="open-orders",
        export_action="orders.order.export",
    )


def error_columns(period: str = "") -> list[Column]:
    """``period``: the report's start/end query, carried to the department's entries."""

    def link(d: Any) -> str:
        return reverse("orders_error_entries") + f"?department={d.pk}" + (f"&{period}" if period else "")

    return [
        Column("name", _("责任部门"), sort="name", link=link),
        Column("errors", _("差错次数"), sort="errors", css="text-end"),
        Column("orders", _("涉及订单"), sort="orders", css="text-end"),
        Column("people", _("责任人数"), css="text-end"),
        Column("changed", _("变更金额合计"), template=MONEY_CELL, css="text-end text-nowrap"),
        Column(
            "latest", _("最近一次"), value=lambda d: timezone.localtime(d.latest).date(), css="text-nowrap"
        ),
        Column(
            "repeated",
            _("多次差错"),
            value=lambda d: _("是（须培训或调整人员）") if d.repeated else "",
            css="text-nowrap",
        ),
    ]


def _error_period(request: HttpRequest) -> tuple[Any, Any, ErrorFilterForm]:
    form = ErrorFilterForm(request.GET or None)
    start = end = None
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data.get("start"), form.cleaned_data.get("end")
    return start, end, form


@login_required
def error_report(request: HttpRequest) -> HttpResponse:
    """Internal errors corrected after approval, by responsible department (R-ORD-07)."""
    user: Any = request.user
    start, end, _form = _error_period(request)
    try:
        rows = execution.error_report(actor=user, start=start, end=end)
        first, last = execution.error_window(start, end)
    except ValidationFailed as exc:
        messages.error(request, str(exc.message))
        return redirect("orders_errors")
    policy, _version = policies.execution()
    period = "&".join(f"{k}={v.isoformat()}" for k, v in (("start", start), ("end", end)) if v)
    page = ListPage(
        request, rows, columns=error_columns(period), filter_form=ErrorFilterForm, default_sort="-errors"
    )
    return page.respond(
        "orders/list.html",
        {
            "title": _("订单差错报告"),
            "intro": _(
                "%(first)s 至 %(last)s 批准后变更中的内部差错，按责任部门统计；达到 %(n)s 次的部门列为多次差错。"
            )
            % {"first": first.isoformat(), "last": last.isoformat(), "n": policy.repeat_errors},
        },
        export_name="order-errors",
        export_action="orders.errors.view",
    )


def error_entry_columns() -> list[Column]:
    link = lambda a: reverse("orders_detail", args=[a.order_id])  # noqa: E731
    return [
        Column(
            "amended_at",
            _("变更时间"),
            sort="amended_at",
            value=lambda a: timezone.localtime(a.amended_at).strftime("%Y-%m-%d %H:%M"),
            css="text-nowrap",
        ),
        Column("order", _("订单编号"), value=lambda a: a.order.number, link=link, css="text-nowrap"),
        Column("customer", _("客户"), value=lambda a: a.order.customer.name),
        Column("department", _("责任部门"), value=lambda a: a.department.name if a.department_id else ""),
        Column("person", _("责任人"), value=lambda a: str(a.person) if a.person_id else ""),
        Column("reason", _("变更理由")),
        _money_col("total_before", _("变更前价税合计")),
        _money_col("total_after", _("变更后价税合计")),
        Column("amended_by", _("变更人"), value=lambda a: str(a.amended_by)),
    ]


@login_required
def error_entries(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    start, end, _form = _error_period(request)
    try:
        qs = execution.error_entries(
            actor=user, department_id=request.GET.get("department"), start=start, end=end
        )
    except ValidationFailed as exc:
        messages.error(request, str(exc.message))
        return redirect("orders_errors")
    page = ListPage(request, qs, columns=error_entry_columns(), default_sort="-amended_at")
    return page.respond(
        "orders/list.html",
        {"title": _("内部差错明细"), "back": reverse("orders_errors")},
        export_name="order-error-entries",
        export_action="orders.errors.view",
    )


LINE_KEY = re.compile(r"^line-(\d+)-")
SEARCH_LIMIT = 20


@login_required
def customer_search(request: HttpRequest) -> HttpResponse:
    """The entry form's customer search (htmx): active customers within the user's entry scope whose name,
    number, pinyin initials, codes or contacts match, through the customer search of the customers module."""
    user: Any = request.user
    access.require(user, "orders.order.edit")
    q = str(request.GET.get("customer_q") or request.GET.get("q") or "").strip()[:100]
    found: list[Customer] = []
    if q:
        qs = access.restrict(user, "orders.order.edit", Customer.objects.filter(status=CustomerStatus.ACTIVE))
        found = list(qs.filter(search_q(q)).order_by("name", "pk")[:SEARCH_LIMIT])
    return render(request, "orders/partials/_customer_results.html", {"customers": found, "q": q})


@login_required
def customer_pick(request: HttpRequest) -> HttpResponse:
    """The customer chosen from the search (a hidden input with its id), or the search field again without
    ``id``. A customer out of the user's scope is not found (404)."""
    user: Any = request.user
    access.require(user, "orders.order.edit")
    picked = None
    if request.GET.get("id"):
        picked = access.get_scoped(user, "orders.order.edit", Customer.objects.all(), pk=request.GET["id"])
    response = render(request, "orders/partials/_customer_picker.html", {"picked": picked, "fixed": False})
    if picked is not None:
        response["HX-Trigger"] = "customer-picked"  # the live checks run again
    return response


def _posted_rows(data: Any) -> int:
    """How many line rows the form posted: its row count, or the highest row number posted if higher (bounded:
    more rows than an order may have are refused by the service)."""
    count = str(data.get("line-count") or "")
    n = int(count) if count.isdigit() else 0
    highest = max((int(m.group(1)) for k in data if (m := LINE_KEY.match(str(k)))), default=0)
    return min(max(n, highest), services.MAX_LINES + 1)


def _line_rows(data: Any, order: Order | None = None) -> list[dict[str, Any]]:
    """The line inputs of the entry form (what the user typed, every row posted; or the order's lines and a few
    empty rows)."""
    rows: list[dict[str, Any]] = []
    if data is not None:
        for i in range(1, _posted_rows(data) + 1):
            rows.append({f: data.get(f"line-{i}-{f}", "") for f in LINE_FIELDS})
    else:
        for ln in selectors.order_lines(order) if order else []:
            rows.append(
                {
                    "product": ln.product_id or "",
                    "spec": ln.spec,
                    "quantity": "" if ln.quantity is None else ln.quantity.normalize(),
                    "unit": ln.unit,
                    "unit_price": "" if ln.unit_price is None else ln.unit_price,
                    "discount": ln.discount.normalize(),
                }
            )
        wanted = max(LINE_ROWS, len(rows) + 2)
        while len(rows) < wanted:
            rows.append(dict.fromkeys(LINE_FIELDS, ""))
    for n, r in enumerate(rows, start=1):
        r["n"] = n
    return rows


def _service_lines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        if not any(str(r.get(f) or "").strip() for f in ("product", "quantity", "unit_price")):
            continue
        out.append(
            {
                "product_id": r["product"] or None,
                "spec": r["spec"],
                "quantity": r["quantity"],
                "unit": r["unit"],
                "unit_price": r["unit_price"],
                "discount": r["discount"],
            }
        )
    return out


def _is_line_error(exc: KehuError) -> bool:
    return bool(exc.field) and (str(exc.field).startswith("lines") or exc.field == "total_amount")


def _entry(request: HttpRequest, order: Order | None) -> HttpResponse:
    user: Any = request.user
    amend = order is not None and services.is_amendment(order)
    data = request.POST if request.method == "POST" else None
    initial = {}
    if order is not None:
        initial = {
            "customer": order.customer_id,
            "channel": order.channel,
            "requested_date": order.requested_date,
            "payment_terms": order.payment_terms,
            "customer_ref": order.customer_ref,
            "non_standard": order.non_standard,
            "notes": order.notes,
        }
    elif request.GET.get("customer"):
        initial["customer"] = request.GET["customer"]
    form = OrderForm(
        data,
        initial=initial,
        user=user,
        amend=amend,
        fixed_customer=order.customer if order is not None else None,
        after_approval=order is not None and services.after_approval(order),
    )
    rows = _line_rows(data, order)
    error_line = ""
    if data is not None and form.is_valid():
        d = form.cleaned_data
        common = {
            "channel": d["channel"],
            "requested_date": d["requested_date"],
            "payment_terms": d["payment_terms"],
            "lines": _service_lines(rows),
            "non_standard": d["non_standard"],
            "customer_ref": d["customer_ref"],
            "notes": d["notes"],
        }
        try:
            if order is None:
                # save and submit: one transaction, the exposure row locked first (as every submit)
                saved = services.order_create(
                    actor=user, customer_id=d["customer"], submit=bool(request.POST.get("submit")), **common
                )
            else:
                saved = services.order_update(
                    actor=user,
                    order_id=order.pk,
                    reason=d.get("reason", ""),
                    cause=d.get("cause", ""),
                    department_id=d["department"].pk if d.get("department") else None,
                    person_id=d["person"].pk if d.get("person") else None,
                    **common,
                )
            messages.success(request, _("订单 %(n)s 已保存。") % {"n": saved.number})
            return redirect("orders_detail", saved.pk)
        except KehuError as exc:
            if _is_line_error(exc):
                error_line = str(exc.message)
            else:
                form.add_service_error(exc)
    products = list(selectors.product_list(actor=user, active_only=False).order_by("code"))
    return render(
        request,
        "orders/entry.html",
        {
            "form": form,
            "rows": rows,
            "order": order,
            "amend": amend,
            "products": products,
            "error_line": error_line,
            "title": _("修改订单") if order else _("新建订单"),
        },
    )


@login_required
def order_new(request: HttpRequest) -> HttpResponse:
    access.require(request.user, "orders.order.edit")
    return _entry(request, None)


@login_required
def order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(request.user, "orders.order.edit")
    order = access.get_scoped(
        request.user, "orders.order.edit", Order.objects.select_related("customer"), pk=pk
    )
    if order.status == OrderStatus.CANCELLED:
        messages.error(request, _("已取消的订单不能修改，可重新启用或复制。"))
        return redirect("orders_detail", pk)
    if order.status == OrderStatus.COMPLETED or services.has_deliveries(order):
        messages.error(request, _("订单已有发货，不能变更；可取消未发货部分后复制为新订单。"))
        return redirect("orders_detail", pk)
    return _entry(request, order)


def _preview(user: Any, data: Any) -> tuple[list[checks.Outcome], str, Order | None]:
    """The checks of what the entry form holds now, without storing anything (the credit part is a preview:
    the submit decides under the lock)."""
    form = OrderForm(data, user=user, amend=True)
    if not form.is_valid():
        return [], _("请先填写客户、渠道、交货日期与付款条件。"), None
    d = form.cleaned_data
    customer = form.fields["customer"].widget.picked
    try:
        lines = services._lines_in(_service_lines(_line_rows(data)))
    except ValidationFailed as exc:
        return [], str(exc.message), None
    order = Order(
        customer=customer,
        requested_date=d["requested_date"],
        payment_terms=d["payment_terms"],
        non_standard=d["non_standard"],
        total_amount=sum((x.amount for x in lines), Decimal(0)),
    )
    pk = str(data.get("order") or "")
    if pk.isdigit():
        order.counted_amount = Order.objects.filter(pk=int(pk), customer=customer).values_list(
            "counted_amount", flat=True
        ).first() or Decimal(0)
    return services.preview_checks(order, lines), _money(order.total_amount), order


@login_required
@require_POST
def order_live_check(request: HttpRequest) -> HttpResponse:
    access.require(request.user, "orders.order.edit")
    outcomes, note, _order = _preview(request.user, request.POST)
    labels = dict(CheckKey.choices)
    rows = [{"label": labels.get(o.key, o.key), "passed": o.passed, "reason": o.reason} for o in outcomes]
    return render(request, "orders/partials/_live.html", {"rows": rows, "note": note})


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    order = selectors.order_get_for_review(actor=user, order_id=pk)
    case = review_flow.latest_case(order)
    review_actions = review_flow.actions_for(case, user)
    can_edit = (
        access.in_scope(user, "orders.order.edit", order) if access.can(user, "orders.order.edit") else False
    )
    can_release = (
        order.status == OrderStatus.CREDIT_HOLD
        and access.can(user, "orders.hold.release")
        and access.in_scope(user, "orders.hold.release", order)
    )
    holds = selectors.order_holds(order)
    for h in holds:
        h.role_label = services.role_label(h.required_role)  # type: ignore[attr-defined]
    labels = dict(CheckKey.choices)
    checks_rows = [{"label": labels.get(c.key, c.key), "c": c} for c in selectors.order_checks(order)]
    return render(
        request,
        "orders/detail.html",
        {
            **_execution_context(user, order),
            "order": order,
            "css": STATUS_CSS.get(order.status, ""),
            "lines": selectors.order_lines(order),
            "checks": checks_rows,
            "holds": holds,
            "terms_label": dict(terms_choices()).get(order.payment_terms, order.payment_terms),
            "entries": list(audit.history(order)[:50]),
            "can_edit": can_edit,
            "can_release": can_release,
            "reason_form": ReasonForm(),
            "S": OrderStatus,
            "case": case,
            "case_events": review_flow.case_events(case) if case else [],
            "case_state_label": _step_label(case),
            "review_actions": review_actions,
        },
    )


def _execution_context(user: Any, order: Order) -> dict[str, Any]:
    """The execution part of the order page (R-ORD-05, R-ORD-06): notices, deliveries, invoices, feedback,
    amendments, and the forms the user may use now (``execution.actions_for``, the services' own rules)."""
    can = execution.actions_for(user, order)
    lines = selectors.order_lines(order) if can["can_deliver"] else []
    for ln in lines:
        ln.left = (ln.quantity or Decimal(0)) - ln.delivered_quantity  # type: ignore[attr-defined]
    deliveries = execution.order_deliveries(order)
    return {
        **can,
        "notices": execution.order_notices(order),
        "deliveries": deliveries,
        "has_deliveries": bool(deliveries),
        "invoices": execution.order_invoices(order),
        "feedback": execution.order_feedback(order),
        "amendments": execution.order_amendments(order),
        "retain_until": execution.retain_until(order),
        "notice_form": NoticeForm(initial={"delivery_deadline": order.requested_date}),
        "deliver_lines": [ln for ln in lines if ln.left > 0],  # type: ignore[attr-defined]
        "delivery_form": DeliveryForm(initial={"delivered_on": timezone.localdate()}),
        "invoice_form": InvoiceForm(initial={"invoiced_on": timezone.localdate()}),
        "feedback_form": FeedbackForm(),
    }


def _form_errors(form: Any) -> str:
    """A form's errors in one line, each with its field's label ("交付期限：请输入日期。")."""
    parts = []
    for key, errors in form.errors.items():
        label = form.fields[key].label if key in form.fields else ""
        parts.append(f"{label}：{'，'.join(errors)}" if label else "，".join(errors))
    return "；".join(parts)


@login_required
@require_POST
def order_execute(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    """The execution forms of the order page: notice, delivery, invoice, feedback (the same services as the API)."""
    user: Any = request.user
    post = request.POST
    try:
        if step == "notice":
            form: Any = NoticeForm(post)
            if form.is_valid():
                d = form.cleaned_data
                notice = execution.order_assign(
                    actor=user,
                    order_id=pk,
                    responsible_id=d["responsible"].pk,
                    delivery_deadline=d["delivery_deadline"],
                    quality_requirements=d["quality_requirements"],
                    production_plan=d["production_plan"],
                )
                messages.success(request, _("执行通知 %(n)s 已下达。") % {"n": notice.number})
        elif step == "delivery":
            form = DeliveryForm(post)
            if form.is_valid():
                rows = [
                    {"line_id": key[4:], "quantity": value}
                    for key, value in post.items()
                    if key.startswith("qty-") and str(value).strip()
                ]
                delivery = execution.delivery_post(
                    actor=user,
                    order_id=pk,
                    delivered_on=form.cleaned_data["delivered_on"],
                    lines=rows,
                    note=form.cleaned_data["note"],
                )
                messages.success(
                    request,
                    _("发货单 %(n)s 已登记，金额 %(a)s。")
                    % {"n": delivery.number, "a": _money(delivery.amount)},
                )
        elif step == "invoice":
            form = InvoiceForm(post)
            if form.is_valid():
                d = form.cleaned_data
                invoice = execution.order_invoice(
                    actor=user,
                    order_id=pk,
                    number=d["number"],
                    invoiced_on=d["invoiced_on"],
                    amount=d["amount"],
                    due_date=d["due_date"],
                )
                messages.success(
                    request,
                    _("发票 %(n)s 已记入应收台账，金额 %(a)s，到期日 %(d)s。")
                    % {"n": invoice.number, "a": _money(invoice.amount), "d": invoice.due_date.isoformat()},
                )
        elif step == "feedback":
            form = FeedbackForm(post)
            if form.is_valid():
                d = form.cleaned_data
                execution.feedback_add(
                    actor=user, order_id=pk, kind=d["kind"], rating=d["rating"], content=d["content"]
                )
                messages.success(request, _("客户反馈已记录。"))
        else:
            raise ValidationFailed(_("未知的操作。"), field="step", rule="choice")
        if not form.is_valid():
            messages.error(request, _form_errors(form))
    except KehuError as exc:
        message_error(request, exc)
    return redirect(reverse("orders_detail", args=[pk]) + "#execution")


def _step_label(case: Any) -> str:
    if case is None:
        return ""
    state = next((s for s in case.definition_version.spec["states"] if s["key"] == case.state), None)
    return str(_(state["label"])) if state else case.state


@login_required
@require_POST
def order_review(request: HttpRequest, pk: int, transition: str) -> HttpResponse:
    """A review step from the order page (R-ORD-03, R-ORD-04): opinion and the step the user saw."""
    user: Any = request.user
    try:
        review_flow.order_review(
            actor=user,
            order_id=pk,
            transition=transition,
            comment=request.POST.get("comment", ""),
            expected_state=request.POST.get("expected_state") or None,
        )
        messages.success(request, _("操作已完成。"))
    except KehuError as exc:
        message_error(request, exc)
    try:
        selectors.order_get_for_review(actor=user, order_id=pk)
    except KehuError:  # the step was theirs only: back to the inbox
        return redirect("workflow_inbox")
    return _back(request, pk)


@login_required
@require_POST
def order_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user: Any = request.user
    reason = request.POST.get("reason", "")
    try:
        if action == "submit":
            services.order_submit(actor=user, order_id=pk)
        elif action == "release":
            released = services.order_release(actor=user, order_id=pk, reason=reason)
            if released.status == OrderStatus.DRAFT:
                messages.warning(request, _("订单未通过其他检查，按制度已退回草稿，须修改后重新提交。"))
                return _back(request, pk)
        elif action == "cancel":
            services.order_cancel(actor=user, order_id=pk, reason=reason)
        elif action == "reopen":
            services.order_reopen(actor=user, order_id=pk, reason=reason)
        elif action == "copy":
            new = services.order_copy(actor=user, order_id=pk)
            messages.success(request, _("已复制为新订单 %(n)s（草稿）。") % {"n": new.number})
            return redirect("orders_edit", new.pk)
        else:
            raise ValidationFailed(_("未知的操作。"), field="action", rule="choice")
        messages.success(request, _("操作已完成。"))
    except KehuError as exc:
        message_error(request, exc)
    return _back(request, pk)


def _back(request: HttpRequest, pk: int) -> HttpResponse:
    if request.POST.get("next", "") == "holds":
        return redirect("orders_holds")
    return redirect("orders_detail", pk)


def hold_columns() -> list[Column]:
    link = lambda h: reverse("orders_detail", args=[h.order_id])  # noqa: E731
    return [
        Column(
            "number",
            _("订单编号"),
            sort="order__number",
            value=lambda h: h.order.number,
            link=link,
            css="text-nowrap",
        ),
        Column("customer", _("客户"), sort="order__customer__name", value=lambda h: h.order.customer.name),
        Column("owner", _("负责人"), value=lambda h: str(h.order.owner), css="text-nowrap"),
        Column(
            "total",
            _("价税合计"),
            sort="order__total_amount",
            value=lambda h: h.order.total_amount,
            template=MONEY_CELL,
            css="text-end text-nowrap",
        ),
        Column(
            "excess",
            _("超额"),
            sort="excess",
            value=lambda h: h.excess,
            template=MONEY_CELL,
            css="text-end text-nowrap",
        ),
        Column("overdue_days", _("最长逾期天数"), sort="overdue_days", css="text-end"),
        Column("required_role", _("所需审批权限"), value=lambda h: services.role_label(h.required_role)),
        Column(
            "can_release",
            _("本人可解除"),
            value=lambda h: _("是") if h.can_release else _("须更高权限"),
        ),
        Column("reason", _("冻结原因")),
        Column(
            "created_at",
            _("冻结时间"),
            sort="created_at",
            value=lambda h: timezone.localtime(h.created_at).date(),
            css="text-nowrap",
        ),
    ]


@login_required
def hold_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "orders.hold.release")
    page = ListPage(
        request, selectors.hold_queue(actor=user), columns=hold_columns(), default_sort="created_at"
    )
    return page.respond("orders/list.html", {"title": _("信用冻结")}, export_name="credit-holds")


def product_columns() -> list[Column]:
    return [
        Column("code", _("产品编码"), sort="code"),
        Column("name", _("产品名称"), sort="name"),
        Column("spec", _("规格型号")),
        Column("unit", _("单位")),
        Column(
            "control_price",
            _("内控价"),
            sort="control_price",
            template=MONEY_CELL,
            css="text-end text-nowrap",
        ),
        Column("tax_rate", _("税率（%）"), css="text-end"),
        Column("scope", _("产品范围"), sort="scope", value=lambda p: p.get_scope_display()),
        Column("active", _("在售"), value=lambda p: _("是") if p.active else _("否")),
    ]


@login_required
def product_list(request: HttpRequest) -> HttpResponse:
    page = ListPage(
        request, selectors.product_list(actor=request.user), columns=product_columns(), default_sort="code"
    )
    return page.respond("orders/list.html", {"title": _("产品目录")}, export_name="products")


@login_required
def order_import(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "orders.order.import")
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report, created = imports.orders_import(actor=user, file=form.cleaned_data["file"])
        if report.ok:
            messages.success(request, _("已导入 %(n)s 张订单（草稿）。") % {"n": len(created)})
            return redirect("orders_list")
    return render(request, "orders/import.html", {"form": form, "report": report})


@login_required
def order_import_template(request: HttpRequest) -> HttpResponse:
    access.require(request.user, "orders.order.import")
    return imports.template_response()
