"""Pages of the confidential archive (R-ARC-01, R-ARC-02): my requests, requests to approve, the request form
(prefilled from where an item is hidden), the request page with its actions and the printable 查阅申请单, grants
in force (revoke), the read log (filters, per-customer and per-user views, xlsx export, itself logged), unusual
reading, and the lending of originals. All through the services and selectors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.confidential import items as it
from kehu.confidential import selectors, services
from kehu.confidential.forms import (
    ActForm,
    GrantFilterForm,
    LendForm,
    ReadLogFilterForm,
    RequestFilterForm,
    RequestForm,
    ReturnForm,
    RevokeForm,
    UnusualForm,
)
from kehu.confidential.models import AccessRequest, Grant, RequestStatus
from kehu.confidential.policies import levels
from kehu.core import access, audit
from kehu.core.errorpages import form_error_or_back, message_error
from kehu.core.errors import KehuError, NotFound
from kehu.core.excel import xlsx_response
from kehu.core.listing import EXPORT_MAX_ROWS, Column, ListPage
from kehu.core.models.audit import AuditAction, AuditEntry
from kehu.customers.models import Customer
from kehu.workflow import engine

STATUS_CSS: dict[str, str] = {
    RequestStatus.APPROVED: "bg-success-subtle text-success-emphasis",
    RequestStatus.REJECTED: "bg-danger-subtle text-danger-emphasis",
    RequestStatus.GM: "bg-warning-subtle text-warning-emphasis",
    RequestStatus.PENDING: "bg-primary-subtle text-primary-emphasis",
}
GRANT_CSS = {
    selectors.ACTIVE: "bg-success-subtle text-success-emphasis",
    selectors.EXPIRED: "bg-secondary-subtle text-secondary-emphasis",
    selectors.REVOKED: "bg-danger-subtle text-danger-emphasis",
}


def _local(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def grant_state_label(state: str) -> str:
    return {selectors.ACTIVE: _("有效"), selectors.EXPIRED: _("已到期"), selectors.REVOKED: _("已撤销")}[
        state
    ]


# ---------------------------------------------------------------------------------------------------------------
# Requests


class ItemLabels(dict[str, str]):
    """Labels of item keys, read once for a page of rows (one query for the files named)."""

    def add(self, rows: Any) -> None:
        keys = {k for r in rows for k in r.items if k not in self}
        if keys:
            self.update(services.item_labels(sorted(keys)))

    def join(self, keys: list[str]) -> str:
        missing = [k for k in keys if k not in self]
        if missing:
            self.update(services.item_labels(missing))
        return "、".join(self[k] for k in keys)


def request_columns(labels: ItemLabels | None = None) -> list[Column]:
    link = lambda r: reverse("confidential_request", args=[r.pk])  # noqa: E731
    known = labels if labels is not None else ItemLabels()
    return [
        Column("number", _("申请编号"), sort="number", link=link, css="text-nowrap"),
        Column("customer", _("客户"), sort="customer__name", value=lambda r: r.customer.name, link=link),
        Column("requester", _("申请人"), sort="requester__username", value=lambda r: r.requester.label),
        Column("items", _("查阅内容"), value=lambda r: known.join(list(r.items))),
        Column("form", _("查阅方式"), sort="form", value=lambda r: r.get_form_display()),
        Column("period_days", _("申请期限（天）"), sort="period_days", css="text-end"),
        Column("office", _("审批部门"), sort="office", value=lambda r: r.get_office_display()),
        Column(
            "status",
            _("状态"),
            sort="status",
            value=lambda r: r.get_status_display(),
            template="confidential/_status_cell.html",
        ),
        Column("created_at", _("申请时间"), sort="created_at", value=lambda r: _local(r.created_at)),
    ]


EXPORT_CHUNK = 2000


def _export(page: ListPage, name: str, labels: ItemLabels) -> HttpResponse:
    """The list as xlsx (the rows the page's filters select, up to the platform's export limit), the labels of the
    items read once per chunk of rows rather than once per row."""
    cols = page.export_columns

    def lines() -> Iterator[list[Any]]:
        chunk: list[Any] = []
        for obj in page.queryset[:EXPORT_MAX_ROWS].iterator(chunk_size=EXPORT_CHUNK):
            chunk.append(obj)
            if len(chunk) == EXPORT_CHUNK:
                labels.add(chunk)
                yield from ([c.get(o) for c in cols] for o in chunk)
                chunk = []
        labels.add(chunk)
        yield from ([c.get(o) for c in cols] for o in chunk)

    return xlsx_response(name, [str(c.label) for c in cols], lines())


def _item_list(
    request: HttpRequest,
    qs: QuerySet[Any],
    *,
    columns: Callable[[ItemLabels], list[Column]],
    filter_form: type[Form],
    apply_filters: Callable[[QuerySet[Any], dict[str, Any]], QuerySet[Any]],
    default_sort: str,
    title: str,
    export_name: str,
) -> HttpResponse:
    """A list of requests or grants: the labels of the items named read once for the page (once per chunk of the
    export)."""
    labels = ItemLabels()
    page = ListPage(
        request,
        qs,
        columns=columns(labels),
        filter_form=filter_form,
        apply_filters=apply_filters,
        default_sort=default_sort,
    )
    if page.wants_export:
        return _export(page, export_name, labels)
    labels.add(page.page.object_list)
    return render(request, "confidential/list.html", {"page": page, "title": title})


def _request_list(
    request: HttpRequest, select: Callable[..., QuerySet[AccessRequest]], title: str, name: str
) -> HttpResponse:
    actor: Any = request.user
    return _item_list(
        request,
        select(actor=actor),
        columns=request_columns,
        filter_form=RequestFilterForm,
        apply_filters=selectors.apply_request_filters,
        default_sort="-created_at",
        title=title,
        export_name=name,
    )


@login_required
def my_requests(request: HttpRequest) -> HttpResponse:
    return _request_list(request, selectors.my_requests, _("我的查阅申请"), "access-requests")


@login_required
def to_approve(request: HttpRequest) -> HttpResponse:
    return _request_list(
        request, selectors.requests_to_approve, _("待我审批的查阅申请"), "access-requests-to-approve"
    )


@login_required
def all_requests(request: HttpRequest) -> HttpResponse:
    return _request_list(request, selectors.all_requests, _("全部查阅申请"), "access-requests-all")


@login_required
def request_new(request: HttpRequest) -> HttpResponse:
    """The request form, opened from where an item is hidden: ``?customer=<id>&items=<key,key>``."""
    actor: Any = request.user
    access.require(actor, "confidential.request.create")
    customer_id = request.POST.get("customer") or request.GET.get("customer") or ""
    try:
        customer = access.get_scoped(actor, "customer.view", Customer.objects.all(), pk=int(customer_id))
    except (TypeError, ValueError):
        raise NotFound() from None
    policy, _v = levels()
    wanted = [k for k in (request.GET.get("items") or "").split(",") if k]
    wanted += [k for k in request.POST.getlist("items") if k not in wanted]
    choices = services.requestable_items(actor, customer, wanted)
    initial = {
        "items": [k for k in wanted if k in {c.key for c in choices}],
        "period_days": policy.default_period_days,
    }
    form = RequestForm(
        request.POST or None,
        initial=initial,
        choices=[(c.key, c.label) for c in choices],
        max_days=policy.max_period_days,
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            req = services.request_create(
                actor=actor,
                customer_id=customer.pk,
                items=d["items"],
                purpose=d["purpose"],
                period_days=d["period_days"],
                form=d["form"],
            )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("查阅申请已提交，编号 %(n)s。") % {"n": req.number})
            return redirect("confidential_request", req.pk)
    return render(
        request,
        "confidential/request_form.html",
        {"form": form, "c": customer, "choices": choices, "policy": policy},
        status=400 if form.errors else 200,
    )


def _render_request(request: HttpRequest, req: AccessRequest, **forms: Any) -> HttpResponse:
    actor: Any = request.user
    case = req.case
    allowed = engine.allowed_transitions(case, actor) if case else []
    chosen = forms.get("chosen")
    policy, _v = levels()
    acts = [
        (
            t,
            forms["act_form"]
            if chosen == t.key
            else ActForm(
                prefix=t.key,
                with_days=t.key in ("approve", "forward_gm"),
                initial={"days": req.approved_days or req.period_days},
            ),
        )
        for t in allowed
    ]
    grant = Grant.objects.filter(request=req).select_related("granted_by", "revoked_by").first()
    state = selectors.grant_state(grant) if grant else ""
    lendings = list(req.lendings.select_related("lent_by", "received_by").order_by("-lent_at"))
    open_lending = next((x for x in lendings if x.returned_at is None), None)
    can_revoke = bool(
        grant
        and state == selectors.ACTIVE
        and access.can(actor, "confidential.grant.revoke")
        and services._may_revoke(actor, grant)
    )
    return render(
        request,
        "confidential/request_detail.html",
        {
            "r": req,
            "case": case,
            "labels": services.item_labels(list(req.items)),
            "css": STATUS_CSS.get(req.status, ""),
            "acts": acts,
            "chosen": chosen,
            "refusals": engine.refusals(case, actor) if case else {},
            "events": list(case.events.select_related("actor").order_by("seq")) if case else [],
            "grant": grant,
            "grant_state": state,
            "grant_state_label": grant_state_label(state) if state else "",
            "grant_css": GRANT_CSS.get(state, ""),
            "open_urls": _open_urls(req)
            if grant and state == selectors.ACTIVE and grant.user_id == actor.pk
            else {},
            "can_revoke": can_revoke,
            "revoke_form": forms.get("revoke_form") or RevokeForm(),
            "lendings": lendings,
            "open_lending": open_lending,
            "can_lend": (
                access.can(actor, "confidential.lending.manage")
                and req.form == "original"
                and state == selectors.ACTIVE
                and open_lending is None
            ),
            "can_return": access.can(actor, "confidential.lending.manage") and open_lending is not None,
            "lend_form": forms.get("lend_form") or LendForm(),
            "return_form": ReturnForm(),
            "needs_gm": services.needs_general_manager(req),
            "max_days": policy.max_period_days,
        },
        status=400 if any(getattr(f, "errors", None) for k, f in forms.items() if k != "chosen") else 200,
    )


def _open_urls(req: AccessRequest) -> dict[str, str]:
    """Where the requester opens each granted item."""
    out: dict[str, str] = {}
    for key in req.items:
        if key == it.CREDIT_FILE:
            out[key] = reverse("credit_file", args=[req.customer_id])
        elif key == it.CREDIT_STATEMENTS:
            out[key] = reverse("credit_statement_list", args=[req.customer_id])
        elif key == it.CREDIT_RATINGS:
            from kehu.credit.models import Rating, RatingStatus

            pk = (
                Rating.objects.filter(customer_id=req.customer_id, status=RatingStatus.APPROVED)
                .values_list("pk", flat=True)
                .first()
            )
            if pk:
                out[key] = reverse("credit_rating_detail", args=[pk])
        elif it.kind(key) == "attachment":
            out[key] = reverse("attachment_download", args=[it.attachment_id(key)])
        elif it.kind(key) == "section":
            out[key] = reverse("customer_detail", args=[req.customer_id])
    return out


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    req = services.request_get(actor=request.user, request_id=pk)  # type: ignore[arg-type]
    return _render_request(request, req)


@login_required
def request_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The 查阅申请单 laid out like the paper form, for printing and signing."""
    req = services.request_get(actor=request.user, request_id=pk)  # type: ignore[arg-type]
    grant = Grant.objects.filter(request=req).select_related("granted_by").first()
    events = list(req.case.events.select_related("actor").order_by("seq")) if req.case else []
    return render(
        request,
        "confidential/request_print.html",
        {
            "r": req,
            "labels": services.item_labels(list(req.items)),
            "grant": grant,
            "events": events,
            "lendings": list(req.lendings.select_related("lent_by", "received_by").order_by("lent_at")),
        },
    )


@login_required
@require_POST
def request_act(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    actor: Any = request.user
    req = services.request_get(actor=actor, request_id=pk)
    if key not in services.ACTIONS:
        raise NotFound()
    form = ActForm(request.POST, prefix=key, with_days=key in ("approve", "forward_gm"))
    if form.is_valid():
        try:
            services.request_act(
                actor=actor,
                request_id=req.pk,
                transition=key,
                comment=form.cleaned_data.get("comment") or "",
                days=form.cleaned_data.get("days"),
                expected_state=request.POST.get("expected_state"),
            )
        except KehuError as exc:
            if back := form_error_or_back(request, form, exc, reverse("confidential_request", args=[req.pk])):
                return back
        else:
            messages.success(request, _("已办理。"))
            return redirect("confidential_request", req.pk)
    req = services.request_get(actor=actor, request_id=pk)
    return _render_request(request, req, act_form=form, chosen=key)


@login_required
@require_POST
def grant_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    actor: Any = request.user
    grant = selectors.grant_get(actor=actor, grant_id=pk)
    form = RevokeForm(request.POST)
    if form.is_valid():
        try:
            services.grant_revoke(actor=actor, grant_id=grant.pk, reason=form.cleaned_data["reason"])
        except KehuError as exc:
            back_url = reverse("confidential_request", args=[grant.request_id])
            if back := form_error_or_back(request, form, exc, back_url):
                return back
        else:
            messages.success(request, _("授权已撤销。"))
            return redirect("confidential_request", grant.request_id)
    req = services.request_get(actor=actor, request_id=grant.request_id)
    return _render_request(request, req, revoke_form=form)


@login_required
@require_POST
def lending_record(request: HttpRequest, pk: int) -> HttpResponse:
    actor: Any = request.user
    req = services.request_get(actor=actor, request_id=pk)
    form = LendForm(request.POST)
    if form.is_valid():
        try:
            services.lending_record(
                actor=actor,
                request_id=req.pk,
                due_back=form.cleaned_data.get("due_back"),
                note=form.cleaned_data.get("note") or "",
            )
        except KehuError as exc:
            if back := form_error_or_back(request, form, exc, reverse("confidential_request", args=[req.pk])):
                return back
        else:
            messages.success(request, _("原件借出已登记。"))
            return redirect("confidential_request", req.pk)
    return _render_request(request, req, lend_form=form)


@login_required
@require_POST
def lending_return(request: HttpRequest, pk: int) -> HttpResponse:
    actor: Any = request.user
    form = ReturnForm(request.POST)
    try:
        lending = services.lending_return(
            actor=actor, lending_id=pk, note=(request.POST.get("note") or "") if form.is_valid() else ""
        )
        messages.success(request, _("原件归还已登记。"))
    except KehuError as exc:
        message_error(request, exc)
        from kehu.confidential.models import Lending

        lending = Lending.objects.filter(pk=pk).first()  # type: ignore[assignment]
        if lending is None:
            raise NotFound() from None
    return redirect("confidential_request", lending.request_id)


# ---------------------------------------------------------------------------------------------------------------
# Grants


def grant_columns(labels: ItemLabels | None = None) -> list[Column]:
    link = lambda g: reverse("confidential_request", args=[g.request_id])  # noqa: E731
    known = labels if labels is not None else ItemLabels()
    return [
        Column("id", _("授权号"), sort="pk", link=link),
        Column("request", _("申请编号"), value=lambda g: g.request.number, link=link),
        Column("user", _("被授权人"), sort="user__username", value=lambda g: g.user.label),
        Column("customer", _("客户"), sort="customer__name", value=lambda g: g.customer.name),
        Column("items", _("授权内容"), value=lambda g: known.join(list(g.items))),
        Column("valid_from", _("生效时间"), sort="valid_from", value=lambda g: _local(g.valid_from)),
        Column("valid_until", _("截止时间"), sort="valid_until", value=lambda g: _local(g.valid_until)),
        Column("granted_by", _("批准人"), value=lambda g: g.granted_by.label),
        Column("state", _("状态"), value=lambda g: grant_state_label(selectors.grant_state(g))),
    ]


@login_required
def grant_list(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    base = selectors.grants(actor=actor)
    if not request.GET or not GrantFilterForm(request.GET).is_valid():
        # an unknown state (or another bad filter) is shown as the field's error over the grants in force
        base = selectors.apply_grant_filters(base, {})
    return _item_list(
        request,
        base,
        columns=grant_columns,
        filter_form=GrantFilterForm,
        apply_filters=selectors.apply_grant_filters,
        default_sort="valid_until",
        title=_("有效授权"),
        export_name="access-grants",
    )


# ---------------------------------------------------------------------------------------------------------------
# Read log


def log_columns(rows: dict[int, selectors.LogRow]) -> list[Column]:
    def row(e: AuditEntry) -> selectors.LogRow:
        return rows[e.seq]

    def customer_url(e: AuditEntry) -> str:
        cid = row(e).customer_id
        return reverse("confidential_readlog") + f"?customer={cid}" if cid else ""

    def user_url(e: AuditEntry) -> str:
        return reverse("confidential_readlog") + f"?user={e.actor.username}" if e.actor else ""

    def grant_url(e: AuditEntry) -> str:
        gid = row(e).grant_id
        return reverse("confidential_readlog") + f"?grant={gid}" if gid else ""

    return [
        Column("seq", _("序号"), sort="seq", css="text-nowrap"),
        Column(
            "timestamp", _("时间"), sort="timestamp", value=lambda e: _local(e.timestamp), css="text-nowrap"
        ),
        Column("actor", _("查阅人"), sort="actor_label", value=audit.actor_display, link=user_url),
        Column("action", _("操作"), sort="action", value=lambda e: audit.action_label(e.action)),
        Column("channel", _("渠道"), value=_channel),
        Column(
            "customer",
            _("客户"),
            value=lambda e: row(e).customer_name,
            link=customer_url,
        ),
        Column("object_type", _("内容"), value=_content),
        Column("object_repr", _("对象"), value=lambda e: e.object_repr),
        Column("detail", _("详情"), value=_detail),
        Column("grant", _("授权号"), value=lambda e: row(e).grant_id or "", link=grant_url),
    ]


def channel_label(code: str) -> str:
    return {
        "page": _("页面"),
        "api": _("接口"),
        "export": _("导出"),
        "download": _("下载"),
        "dossier": _("客户档案"),
    }.get(code, code)


def _channel(e: AuditEntry) -> str:
    """The channel of a read; a download says whether from a page or the API."""
    changes = e.changes if isinstance(e.changes, dict) else {}
    channel = str(changes.get("channel", ""))
    if channel == "download" and changes.get("detail") in ("page", "api"):
        return f"{channel_label(channel)}（{channel_label(str(changes['detail']))}）"
    return channel_label(channel)


def _content(e: AuditEntry) -> str:
    lists = {
        "credit.statement": _("财务报表列表"),
        "credit.rating": _("信用评级列表"),
        "confidential.readlog": _("查阅日志"),
    }
    return lists.get(e.object_type) or audit.object_type_label(e.object_type)


def _detail(e: AuditEntry) -> str:
    detail = str(e.changes.get("detail", "")) if isinstance(e.changes, dict) else ""
    if detail in ("page", "api"):
        return ""
    if it.kind(detail):
        return services.item_labels([detail])[detail] if it.kind(detail) != "attachment" else detail
    return detail


class _Rows(dict[int, selectors.LogRow]):
    pass


def _log_filters(form: ReadLogFilterForm) -> dict[str, Any]:
    if not form.is_bound or not form.is_valid():
        return {}
    f = {k: v for k, v in form.cleaned_data.items() if v not in (None, "", False)}
    return f


@login_required
def read_log(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    qs = selectors.read_log(actor=actor)
    rows = _Rows()
    page = ListPage(
        request,
        qs,
        columns=log_columns(rows),
        filter_form=ReadLogFilterForm,
        apply_filters=selectors.apply_log_filters,
        default_sort="-seq",
        exportable=access.can(actor, "confidential.readlog.export"),
    )
    filters = _log_filters(page.form) if isinstance(page.form, ReadLogFilterForm) else {}
    if page.wants_export:
        access.require(actor, "confidential.readlog.export")
        total = page.queryset.count()
        if total > EXPORT_MAX_ROWS:
            messages.error(
                request,
                _(
                    "查阅日志导出最多 %(max)s 条，当前筛选结果有 %(n)s 条，未导出。"
                    "请缩小日期范围或加上客户、查阅人等筛选条件后再导出。"
                )
                % {"max": f"{EXPORT_MAX_ROWS:,}", "n": f"{total:,}"},
            )
            return redirect(reverse("confidential_readlog") + "?" + page.querystring())
        return _export_log(actor, page.queryset, page.export_columns, rows, filters, total)
    rows.update({r.entry.seq: r for r in selectors.resolve(list(page.page.object_list))})
    cid = selectors.customer_id_from(filters["customer"]) if filters.get("customer") else None
    customer = Customer.objects.filter(pk=cid).first() if cid else None
    return render(
        request,
        "confidential/readlog.html",
        {"page": page, "customer": customer, "user_filter": filters.get("user", ""), "filters": filters},
    )


def _export_log(
    actor: Any,
    qs: Any,
    columns: list[Column],
    rows: dict[int, selectors.LogRow],
    filters: dict[str, Any],
    total: int,
) -> HttpResponse:
    """The filtered log as xlsx (``total`` rows, at most the export limit: the caller refuses more), read in chunks;
    the export is itself an entry of the trail (R-ARC-02)."""

    def lines() -> Iterator[list[Any]]:
        chunk: list[AuditEntry] = []
        for entry in qs.iterator(chunk_size=EXPORT_CHUNK):
            chunk.append(entry)
            if len(chunk) == EXPORT_CHUNK:
                yield from resolved(chunk)
                chunk = []
        yield from resolved(chunk)

    def resolved(chunk: list[AuditEntry]) -> Iterator[list[Any]]:
        rows.clear()
        rows.update({r.entry.seq: r for r in selectors.resolve(chunk)})
        for e in chunk:
            yield [c.get(e) for c in columns]

    response = xlsx_response("confidential-read-log", [str(c.label) for c in columns], lines())
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.EXPORT,
            object_type="confidential.readlog",
            object_repr=str(_("保密档案查阅日志导出")),
            changes={"filters": audit.jsonable(filters), "rows": total},
        )
    return response


@login_required
def read_log_users(request: HttpRequest) -> HttpResponse:
    """Per user: how much confidential content each read in the period (R-ARC-02 report per user)."""
    actor: Any = request.user
    form = ReadLogFilterForm(request.GET or None)
    filters = _log_filters(form)
    filters.pop("user", None)
    rows = selectors.user_summary(actor=actor, filters=filters)
    return render(request, "confidential/readlog_users.html", {"form": form, "rows": rows})


@login_required
def unusual(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "confidential.unusual.view")
    form = UnusualForm(request.GET or None)
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=30), today
    if form.is_bound and form.is_valid():
        start = form.cleaned_data.get("date_from") or start
        end = form.cleaned_data.get("date_to") or end
    rows, threshold = selectors.unusual_reading(actor=actor, date_from=start, date_to=end)
    return render(
        request,
        "confidential/unusual.html",
        {"form": form, "rows": rows, "threshold": threshold, "start": start, "end": end},
    )


@login_required
def lendings(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    reqs = list(selectors.lendings(actor=actor).order_by("-decided_at")[:200])
    today = timezone.localdate()
    rows = []
    for r in reqs:
        lent = selectors.open_lending(r)
        rows.append(
            {"r": r, "open": lent, "overdue": bool(lent and lent.due_back < today), "all": r.lendings.all()}
        )
    return render(request, "confidential/lendings.html", {"rows": rows, "labels_of": services.item_labels})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("confidential_requests")


urlpatterns = [
    path("confidential/", home, name="confidential_home"),
    path("confidential/requests/", my_requests, name="confidential_requests"),
    path("confidential/requests/to-approve/", to_approve, name="confidential_to_approve"),
    path("confidential/requests/all/", all_requests, name="confidential_requests_all"),
    path("confidential/requests/new/", request_new, name="confidential_request_new"),
    path("confidential/requests/<int:pk>/", request_detail, name="confidential_request"),
    path("confidential/requests/<int:pk>/print/", request_print, name="confidential_request_print"),
    path("confidential/requests/<int:pk>/act/<str:key>/", request_act, name="confidential_request_act"),
    path("confidential/requests/<int:pk>/lend/", lending_record, name="confidential_lend"),
    path("confidential/lendings/<int:pk>/return/", lending_return, name="confidential_return"),
    path("confidential/lendings/", lendings, name="confidential_lendings"),
    path("confidential/grants/", grant_list, name="confidential_grants"),
    path("confidential/grants/<int:pk>/revoke/", grant_revoke, name="confidential_grant_revoke"),
    path("confidential/read-log/", read_log, name="confidential_readlog"),
    path("confidential/read-log/users/", read_log_users, name="confidential_readlog_users"),
    path("confidential/unusual/", unusual, name="confidential_unusual"),
]
