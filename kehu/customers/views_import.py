"""Import pages (R-PLT-10): upload the customer workbook, see the per-row report, confirm near-identical names
(R-CUS-11) without uploading again, and follow a large import running in the background."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import access
from kehu.core.errors import KehuError, NotFound
from kehu.core.forms import KehuForm
from kehu.core.jobs.models import JobState
from kehu.customers import imports

REPORT_KEY = "customer_import_report"  # the last report workbook (hex) of an import that failed
FILES_KEY = "customer_import_files"  # sha256 of files this user uploaded (for confirming without re-upload)


class ImportForm(KehuForm):
    file = forms.FileField(label=gettext_lazy("Excel 文件（.xlsx）"))
    confirm_duplicates = forms.BooleanField(
        label=gettext_lazy("确认相近名称：名称相近的客户已核对，不是同一主体"),
        required=False,
        help_text=gettext_lazy("统一社会信用代码相同的客户始终不能重复建档。"),
    )


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=imports.XLSX_MIME)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def _remember(request: HttpRequest, sha: str, filename: str) -> None:
    files = dict(request.session.get(FILES_KEY) or {})
    files[sha] = filename
    request.session[FILES_KEY] = dict(list(files.items())[-10:])


@login_required
def customer_import(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "customer.import")
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    sha = ""
    if request.method == "POST":
        confirm = request.POST.get("confirm_duplicates") in ("1", "on", "true")
        start = None
        try:
            if request.POST.get("sha256"):  # confirming a file uploaded before
                sha = request.POST["sha256"]
                files = request.session.get(FILES_KEY) or {}
                if sha not in files:
                    raise NotFound()
                start = imports.customer_import_start(
                    actor=actor, sha256=sha, filename=files[sha], confirm_duplicates=confirm
                )
            elif form.is_valid():
                start = imports.customer_import_start(
                    actor=actor, upload=form.cleaned_data["file"], confirm_duplicates=confirm, keep=True
                )
        except KehuError as exc:
            if exc.status in (403, 404):
                raise
            form.add_error("file", str(exc.message))
        if start is not None:
            sha = start.sha256
            if start.run is not None:
                messages.info(request, _("文件较大，已转入后台导入，可在本页查看进度。"))
                return redirect("customer_import_job", pk=start.run.pk)
            report = start.report
            assert report is not None
            if report.ok:
                request.session.pop(REPORT_KEY, None)
                messages.success(
                    request,
                    _("导入成功：新建 %(c)s 个客户、%(p)s 个联系人。")
                    % {"c": report.created_customers, "p": report.created_contacts},
                )
                return redirect("customer_list")
            if report.file_error:
                form.add_error("file", report.file_error)
            else:
                request.session[REPORT_KEY] = report.report_xlsx().hex()
                _remember(request, sha, report.filename)
    return render(
        request,
        "customers/import/import.html",
        {
            "form": form,
            "report": report,
            "errors": report.error_list() if report else [],
            "sha256": sha,
            "customer_spec": imports.CUSTOMER_SPEC,
            "contact_spec": imports.CONTACT_SPEC,
            "sync_rows": imports.sync_rows_limit(),
            "max_rows": imports.max_rows_limit(),
        },
    )


@login_required
def customer_import_template(request: HttpRequest) -> HttpResponse:
    access.require(request.user, "customer.import")
    return _xlsx(imports.template_xlsx(), "customer-import-template.xlsx")


@login_required
def customer_import_report(request: HttpRequest) -> HttpResponse:
    access.require(request.user, "customer.import")
    stored = request.session.get(REPORT_KEY)
    if not stored:
        raise NotFound()
    return _xlsx(bytes.fromhex(stored), "customer-import-report.xlsx")


@login_required
def customer_import_job(request: HttpRequest, pk: int) -> HttpResponse:
    actor: Any = request.user
    run = imports.import_run(actor=actor, run_id=pk)
    result = run.result if isinstance(run.result, dict) else {}
    finished = run.state in (JobState.SUCCEEDED, JobState.FAILED)
    sha = str(run.kwargs.get("sha256", ""))
    if result.get("needs_confirmation") and sha:
        _remember(request, sha, str(run.kwargs.get("filename", "")))
    context = {"run": run, "result": result, "finished": finished, "sha256": sha}
    if request.headers.get("HX-Request"):
        return render(request, "customers/import/_job_status.html", context)
    return render(request, "customers/import/job.html", context)


@login_required
def customer_import_job_report(request: HttpRequest, pk: int) -> HttpResponse:
    data = imports.import_run_report_xlsx(actor=request.user, run_id=pk)  # type: ignore[arg-type]
    return _xlsx(data, f"customer-import-report-{pk}.xlsx")


urlpatterns = [
    path("customers/import/", customer_import, name="customer_import"),
    path("customers/import/template/", customer_import_template, name="customer_import_template"),
    path("customers/import/report/", customer_import_report, name="customer_import_report"),
    path("customers/import/jobs/<int:pk>/", customer_import_job, name="customer_import_job"),
    path(
        "customers/import/jobs/<int:pk>/report/",
        customer_import_job_report,
        name="customer_import_job_report",
    ),
]
