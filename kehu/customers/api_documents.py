"""Customer documents and information groups API (R-CUS-04, R-CUS-05): /api/v1/customers/{id}/documents (the
licences and certificates with their state and the result of ``customer_documents_valid``; POST uploads one,
multipart) and /api/v1/customers/{id}/groups (completion and deadlines). Scoped like the dossier (404)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from kehu.core.attachments import attachment_add
from kehu.core.errors import ValidationFailed
from kehu.customers import documents, groups, selectors

router = Router()


class DocumentOut(Schema):
    id: int | None = Field(None, description="attachment id; none for a missing required type")
    doc_type: str
    doc_type_label: str
    state: str = Field(description="valid | expiring | expired | not_yet_valid | missing")
    state_label: str
    title: str = ""
    number: str = ""
    issuing_authority: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    version: int | None = None
    filename: str = ""
    uploaded_at: dt.datetime | None = None


class ProblemOut(Schema):
    doc_type: str
    state: str
    valid_to: dt.date | None
    message: str


class CheckOut(Schema):
    ok: bool
    at: dt.date
    message: str
    problems: list[ProblemOut]
    policy_version_id: int | None


class DocumentsOut(Schema):
    state: str = Field(description="the list's document state: valid | expiring | expired | missing")
    check: CheckOut
    documents: list[DocumentOut]


class DocumentIn(Schema):
    doc_type: str = Field(description="business_licence, tax_registration, qualification, permit, ...")
    title: str = ""
    number: str = ""
    issuing_authority: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    confidential: bool = False
    note: str = ""


class GroupOut(Schema):
    group: str
    label: str
    done: int
    total: int
    percent: int
    complete: bool
    missing: list[str]
    due_on: dt.date | None
    completed_at: dt.datetime | None
    overdue: bool


def _row(r: documents.DocumentRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "doc_type": r.doc_type,
        "doc_type_label": r.doc_type_label,
        "state": r.state,
        "state_label": r.state_label,
    }
    a = r.att
    if a is not None:
        out.update(
            id=a.pk,
            title=a.title,
            number=a.number,
            issuing_authority=a.issuing_authority,
            valid_from=a.valid_from,
            valid_to=a.valid_to,
            version=a.version,
            filename=a.filename,
            uploaded_at=a.uploaded_at,
        )
    return out


def _documents(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    actor: Any = request.user
    c = selectors.customer_get(actor=actor, pk=customer_id)
    today = timezone.localdate()
    rows = documents.document_rows(actor=actor, customer=c, at=today)
    required, version = documents.required_types(c)
    check = documents.check_documents([r.att for r in rows if r.att is not None], today, required, version)
    return {
        "state": documents.summary_state(c, today),
        "check": {
            "ok": check.ok,
            "at": check.at,
            "message": check.message,
            "problems": [
                {"doc_type": p.doc_type, "state": p.state, "valid_to": p.valid_to, "message": p.message}
                for p in check.problems
            ],
            "policy_version_id": check.policy_version_id,
        },
        "documents": [_row(r) for r in rows],
    }


@router.get(
    "/{customer_id}/documents",
    response=DocumentsOut,
    summary="Licences and certificates with their state and the documents check",
)
def documents_list(request: HttpRequest, customer_id: int) -> Any:
    return _documents(request, customer_id)


@router.post(
    "/{customer_id}/documents",
    response={201: DocumentOut},
    summary="Upload a licence or certificate (multipart: file and metadata)",
)
def documents_add(
    request: HttpRequest, customer_id: int, data: Form[DocumentIn], file: File[UploadedFile]
) -> Any:
    actor: Any = request.user
    c = selectors.customer_get(actor=actor, pk=customer_id)
    if data.doc_type not in documents.LICENCE_TYPES:
        raise ValidationFailed(
            _(
                "证照类别无效：应为营业执照、税务登记证、组织机构代码证、资质证书、许可证、体系认证证书或荣誉证书之一。"
            ),
            field="doc_type",
            rule="choice",
        )
    att = attachment_add(actor=actor, target=c, upload=file, **data.dict())
    rows = documents.document_rows(actor=actor, customer=c)
    row = next(r for r in rows if r.att is not None and r.att.pk == att.pk)
    return Status(201, _row(row))


@router.get(
    "/{customer_id}/groups", response=list[GroupOut], summary="Information groups: completion, deadlines"
)
def groups_list(request: HttpRequest, customer_id: int) -> Any:
    c = selectors.customer_get(actor=request.user, pk=customer_id)  # type: ignore[arg-type]
    return [
        {
            "group": g.group,
            "label": g.label,
            "done": g.done,
            "total": g.total,
            "percent": g.percent,
            "complete": g.complete,
            "missing": g.missing,
            "due_on": g.due_on,
            "completed_at": g.completed_at,
            "overdue": g.overdue,
        }
        for g in groups.group_status(c)
    ]
