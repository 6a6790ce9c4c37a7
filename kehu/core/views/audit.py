"""Audit trail pages (R-PLT-04): search with export, the trail of one object, one entry, the chain check."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import access, audit
from kehu.core.errors import NotFound, PermissionDenied
from kehu.core.forms import KehuForm
from kehu.core.listing import Column, ListPage
from kehu.core.models import AuditEntry, AuditHead


def _http_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Show the access layer's refusals as the 403 and 404 pages."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(str(exc.message)) from None
        except NotFound as exc:
            raise Http404(str(exc.message)) from None

    return wrapper


def _type_choices() -> list[tuple[str, str]]:
    return [("", _("全部")), *audit.object_types()]


def _action_choices() -> list[tuple[str, str]]:
    return [("", _("全部")), *audit.action_choices()]


class AuditFilterForm(KehuForm):
    actor = forms.CharField(label=gettext_lazy("操作人（用户名）"), required=False, max_length=150)
    object_type = forms.ChoiceField(label=gettext_lazy("对象类型"), required=False, choices=_type_choices)
    action = forms.ChoiceField(label=gettext_lazy("操作"), required=False, choices=_action_choices)
    date_from = forms.DateField(label=gettext_lazy("开始日期"), required=False)
    date_to = forms.DateField(label=gettext_lazy("结束日期"), required=False)
    object_id = forms.CharField(label=gettext_lazy("对象ID"), required=False, max_length=64)
    q = forms.CharField(label=gettext_lazy("原因或对象名称包含"), required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("结束日期不能早于开始日期。"))
        return data


def _entry_url(e: AuditEntry) -> str:
    return reverse("audit_entry", args=[e.seq])


def _object_url(e: AuditEntry) -> str:
    if not e.object_type or not e.object_id:
        return ""
    return reverse("audit_object", args=[e.object_type, e.object_id])


def columns() -> list[Column]:
    return [
        Column("seq", _("序号"), sort="seq", link=_entry_url, css="text-nowrap"),
        Column(
            "timestamp", _("时间"), sort="timestamp", template="core/audit/_time_cell.html", css="text-nowrap"
        ),
        Column(
            "actor",
            _("操作人"),
            sort="actor_label",
            value=audit.actor_display,
            template="core/audit/_actor_cell.html",
        ),
        Column(
            "action",
            _("操作"),
            sort="action",
            value=lambda e: audit.action_label(e.action),
            template="core/audit/_action_cell.html",
        ),
        Column(
            "object_type",
            _("对象类型"),
            sort="object_type",
            value=lambda e: audit.object_type_label(e.object_type),
        ),
        Column("object_id", _("对象ID"), sort="object_id", css="text-nowrap"),
        Column("object_repr", _("对象"), sort="object_repr", link=_object_url),
        Column("changes", _("变更内容"), value=audit.changes_summary, css="small kehu-audit-changes"),
        Column("reason", _("原因"), css="small"),
        Column("policy_version", _("政策版本"), sort="policy_version"),
        Column(
            "confidential",
            _("保密"),
            value=lambda e: e.confidential,
            template="core/audit/_confidential_cell.html",
            css="text-center",
        ),
    ]


@login_required
@_http_errors
def audit_search(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    qs = audit.entry_list(actor=user)
    page = ListPage(
        request,
        qs,
        columns=columns(),
        filter_form=AuditFilterForm,
        apply_filters=audit.apply_filters,
        default_sort="-seq",
        exportable=access.can(request.user, "audit.export"),
    )

    def logged() -> None:
        form = page.form
        filters = form.cleaned_data if form is not None and form.is_bound and form.is_valid() else {}
        audit.export_record(actor=user, filters=filters, rows=page.paginator.count)

    return page.respond(
        "core/audit/search.html",
        {"can_export": access.can(user, "audit.export"), "can_verify": access.can(user, "audit.verify")},
        export_name="audit-trail",
        export_action="audit.export",
        on_export=logged,
    )


@login_required
@_http_errors
def audit_object(request: HttpRequest, object_type: str, object_id: str) -> HttpResponse:
    user: Any = request.user
    qs = audit.object_trail(actor=user, object_type=object_type, object_id=object_id)
    paginator = Paginator(qs, 50)
    entries = paginator.get_page(request.GET.get("page"))
    latest = entries.object_list[0] if entries.object_list else None
    first = qs.order_by("seq").values("seq", "timestamp").first() if latest else None
    return render(
        request,
        "core/audit/object.html",
        {
            "object_type": object_type,
            "object_type_label": audit.object_type_label(object_type),
            "object_id": object_id,
            "object_repr": latest.object_repr if latest else "",
            "entries": entries,
            "first": first,
            "latest": latest,
            "search_qs": f"object_type={object_type}&object_id={object_id}",
        },
    )


@login_required
@_http_errors
def audit_entry(request: HttpRequest, seq: int) -> HttpResponse:
    user: Any = request.user
    entry = audit.entry_get(actor=user, seq=seq)
    previous = AuditEntry.objects.filter(seq=seq - 1).values_list("hash", flat=True).first()
    has_next = AuditEntry.objects.filter(seq=seq + 1).exists()
    hash_ok = audit._entry_hash(entry) == entry.hash
    link_ok = entry.prev_hash == (previous if seq > 1 else audit.GENESIS_HASH)
    return render(
        request,
        "core/audit/entry.html",
        {
            "entry": entry,
            "rows": audit.change_rows(audit.prefetch_labels([entry])[0]),
            "actor_text": audit.actor_display(entry),
            "object_url": _object_url(entry),
            "has_prev": seq > 1 and previous is not None,
            "has_next": has_next,
            "hash_ok": hash_ok,
            "link_ok": link_ok,
        },
    )


@login_required
@_http_errors
def audit_verify(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "audit.verify")
    if request.method == "POST":
        result = audit.verify_run(actor=user)
        if result.ok:
            messages.success(request, _("审计链完整：已校验 %(n)s 条记录。") % {"n": result.checked})
        else:
            messages.error(request, _("审计链校验未通过：%(problem)s") % {"problem": result.problem})
        return redirect("audit_verify")
    last = audit.last_verify()
    last_result = last.changes if last is not None and isinstance(last.changes, dict) else None
    head = AuditHead.objects.filter(pk=1).first()
    return render(request, "core/audit/verify.html", {"last": last, "result": last_result, "head": head})


urlpatterns: list[URLPattern] = [
    path("audit/", audit_search, name="audit_search"),
    path("audit/object/<str:object_type>/<str:object_id>/", audit_object, name="audit_object"),
    path("audit/entry/<int:seq>/", audit_entry, name="audit_entry"),
    path("audit/verify/", audit_verify, name="audit_verify"),
]
