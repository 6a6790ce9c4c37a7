"""Customer import API (R-PLT-10): ``POST /api/v1/customers/import`` (multipart ``file`` and
``confirm_duplicates``) answers the per-row report (200), or 202 with the background job's id for a large file;
``GET /api/v1/customers/import/jobs/{id}`` follows that job; ``GET /api/v1/customers/import/template`` is the
workbook to fill in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from kehu.customers import imports

router = Router()


class ImportIn(Schema):
    confirm_duplicates: bool = Field(
        False, description="accept near-identical names (R-CUS-11); an existing credit code is always refused"
    )


class ImportError_(Schema):
    sheet: str
    row: int
    column: str
    message: str
    candidates: list[dict[str, Any]]


class ImportReportOut(Schema):
    ok: bool
    file: str
    sha256: str
    file_error: str
    rows: dict[str, int]
    created: dict[str, int]
    customer_ids: list[int]
    confirm_duplicates: bool
    needs_confirmation: bool
    error_count: int
    errors: list[ImportError_]


class ImportJobOut(Schema):
    job_id: int
    state: str
    progress_done: int
    progress_total: int
    progress_message: str
    error: str = ""
    report: ImportReportOut | None = None


def _job(run: Any) -> dict[str, Any]:
    result = run.result if isinstance(run.result, dict) else None
    return {
        "job_id": run.pk,
        "state": run.state,
        "progress_done": run.progress_done,
        "progress_total": run.progress_total,
        "progress_message": run.progress_message,
        "error": run.error,
        "report": result,
    }


@router.get("/import/template", summary="The customer import template (xlsx)")
def import_template(request: HttpRequest) -> HttpResponse:
    from kehu.core import access

    access.require(request.user, "customer.import")
    response = HttpResponse(imports.template_xlsx(), content_type=imports.XLSX_MIME)
    response["Content-Disposition"] = 'attachment; filename="customer-import-template.xlsx"'
    return response


@router.post(
    "/import",
    response={200: ImportReportOut, 202: ImportJobOut},
    summary="Import customers and contacts from xlsx (all or nothing)",
)
def import_customers(request: HttpRequest, data: Form[ImportIn], file: File[UploadedFile]) -> Any:
    start = imports.customer_import_start(
        actor=request.user,  # type: ignore[arg-type]
        upload=file,
        confirm_duplicates=data.confirm_duplicates,
    )
    if start.run is not None:
        start.run.refresh_from_db()
        return Status(202, _job(start.run))
    assert start.report is not None
    return Status(200, start.report.as_dict())


@router.get(
    "/import/jobs/{int:job_id}", response=ImportJobOut, summary="A background import: progress, report"
)
def import_job(request: HttpRequest, job_id: int) -> Any:
    return _job(imports.import_run(actor=request.user, run_id=job_id))  # type: ignore[arg-type]
