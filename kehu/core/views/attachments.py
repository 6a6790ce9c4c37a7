"""Attachment pages (R-PLT-05): upload to a record, replace (new version), details with versions and history,
and downloads (permission-checked; confidential downloads are audited)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from kehu.core import attachments as svc
from kehu.core.errors import KehuError, NotFound, PermissionDenied
from kehu.core.forms import KehuForm
from kehu.core.models.attachments import Attachment, DocumentType

_DATE = forms.DateInput(format="%Y-%m-%d")


class UploadForm(KehuForm):
    file = forms.FileField(label=gettext_lazy("文件"), required=False)
    doc_type = forms.ChoiceField(
        label=gettext_lazy("文件类别"), choices=DocumentType.choices, initial=DocumentType.OTHER
    )
    title = forms.CharField(label=gettext_lazy("标题"), max_length=200, required=False)
    number = forms.CharField(label=gettext_lazy("证照编号"), max_length=100, required=False)
    issuing_authority = forms.CharField(label=gettext_lazy("发证机关"), max_length=200, required=False)
    valid_from = forms.DateField(label=gettext_lazy("有效期自"), required=False, widget=_DATE)
    valid_to = forms.DateField(label=gettext_lazy("有效期至"), required=False, widget=_DATE)
    confidential = forms.BooleanField(label=gettext_lazy("保密（下载将记录在审计日志中）"), required=False)
    note = forms.CharField(label=gettext_lazy("说明"), max_length=500, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "att_%s")
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ",".join(_extensions())


class ReplaceForm(UploadForm):
    reason = forms.CharField(
        label=gettext_lazy("替换原因"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("例如：证照已换发、原扫描件不清晰。"),
    )


def _extensions() -> list[str]:
    from django.conf import settings

    return [str(e) for e in settings.KEHU_UPLOAD_EXTENSIONS]


def _http_errors(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Show the access layer's refusals as the 403 and 404 pages."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(str(exc.message)) from None
        except PermissionDenied as exc:
            if exc.detail:  # the error page shows where to request access (R-ARC-01)
                raise
            raise DjangoPermissionDenied(str(exc.message)) from None

    return wrapped


def _safe_next(request: HttpRequest, fallback: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}, request.is_secure()):
        return nxt
    return fallback


def _limits() -> dict[str, Any]:
    from django.conf import settings

    return {
        "max_mb": svc._mb(int(settings.KEHU_UPLOAD_MAX_BYTES)),
        "extensions": " ".join(_extensions()),
    }


@login_required
@_http_errors
@require_http_methods(["GET", "POST"])
def attachment_upload(request: HttpRequest, app_label: str, model: str, object_id: str) -> HttpResponse:
    user: Any = request.user
    target = svc.resolve_target(actor=user, app_label=app_label, model=model, object_id=object_id)
    if not svc.can_change(user, target):
        raise PermissionDenied()
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                att = svc.attachment_add(
                    actor=user,
                    target=target,
                    upload=request.FILES.get("file"),
                    doc_type=data["doc_type"],
                    title=data["title"],
                    number=data["number"],
                    issuing_authority=data["issuing_authority"],
                    valid_from=data["valid_from"],
                    valid_to=data["valid_to"],
                    confidential=data["confidential"],
                    note=data["note"],
                )
            except KehuError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("附件“%(name)s”已上传。") % {"name": att.filename})
                return HttpResponseRedirect(_safe_next(request, reverse("attachment_detail", args=[att.pk])))
        status = 400
    return render(
        request,
        "core/attachments/upload.html",
        {"form": form, "target": target, "next": _safe_next(request, ""), **_limits()},
        status=status,
    )


@login_required
@_http_errors
@require_http_methods(["GET", "POST"])
def attachment_replace(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    old = svc.attachment_get(actor=user, attachment_id=pk)
    if not svc.can_change(user, old.target):  # type: ignore[arg-type]
        raise PermissionDenied()
    if not old.current:
        newest = svc.attachment_versions(old)[0]
        messages.info(request, _("该附件已有更新的版本，已转到当前版本。"))
        return HttpResponseRedirect(reverse("attachment_replace", args=[newest.pk]))
    initial = {name: getattr(old, name) for name in svc._META_FIELDS}
    form = ReplaceForm(request.POST or None, request.FILES or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                new = svc.attachment_replace(
                    actor=user,
                    attachment_id=old.pk,
                    upload=request.FILES.get("file"),
                    reason=data["reason"],
                    doc_type=data["doc_type"],
                    title=data["title"],
                    number=data["number"],
                    issuing_authority=data["issuing_authority"],
                    valid_from=data["valid_from"],
                    valid_to=data["valid_to"],
                    confidential=data["confidential"],
                    note=data["note"],
                    clear=tuple(n for n in ("valid_from", "valid_to") if not data[n]),
                )
            except KehuError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("已上传新版本（第 %(v)s 版）。") % {"v": new.version})
                return HttpResponseRedirect(_safe_next(request, reverse("attachment_detail", args=[new.pk])))
        status = 400
    return render(
        request,
        "core/attachments/replace.html",
        {"form": form, "att": old, "target": old.target, "next": _safe_next(request, ""), **_limits()},
        status=status,
    )


@login_required
@_http_errors
@require_GET
def attachment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    att = svc.attachment_get(actor=user, attachment_id=pk)
    versions = svc.attachment_versions(att)
    today = timezone.localdate()
    window = svc.expiring_days()
    rows = []
    for v in versions:
        label, css = svc.state_display(svc.attachment_state(v, today, expiring=window))
        rows.append({"att": v, "state_label": label, "state_css": css})
    state_label, state_css = svc.state_display(svc.attachment_state(att, today, expiring=window))
    return render(
        request,
        "core/attachments/detail.html",
        {
            "att": att,
            "target": att.target,
            "versions": rows,
            "state_label": state_label,
            "state_css": state_css,
            "entries": list(svc.attachment_history(versions)[:100]),
            "can_change": svc.can_change(user, att.target),  # type: ignore[arg-type]
        },
    )


def download_response(att: Attachment, path: Any, *, confidential: bool | None = None) -> FileResponse:
    """The file as a download; a confidential one (as the clearance found it: by flag, category or section level)
    is never stored by caches."""
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115  (FileResponse closes it)
        as_attachment=True,
        filename=att.filename,
        content_type=att.mime_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    secret = att.confidential if confidential is None else confidential
    response["Cache-Control"] = "private, no-store" if secret else "private"
    return response


@login_required
@_http_errors
@require_GET
def attachment_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    user: Any = request.user
    att, file_path, confidential = svc.attachment_open(actor=user, attachment_id=pk, channel="page")
    return download_response(att, file_path, confidential=confidential)


urlpatterns: list[URLPattern] = [
    path(
        "attachments/upload/<str:app_label>/<str:model>/<str:object_id>/",
        attachment_upload,
        name="attachment_upload",
    ),
    path("attachments/<int:pk>/", attachment_detail, name="attachment_detail"),
    path("attachments/<int:pk>/replace/", attachment_replace, name="attachment_replace"),
    path("attachments/<int:pk>/download/", attachment_download, name="attachment_download"),
]
