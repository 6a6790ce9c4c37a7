"""Attachments API (R-PLT-05): list a record's attachments, upload, read, download, replace (new version).

A record is named ``app_label.model:id``, e.g. ``core.user:12``. Uploads are multipart forms.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from kehu.core import attachments as svc
from kehu.core.models.attachments import Attachment

router = Router()


class AttachmentOut(Schema):
    id: int
    target: str
    filename: str
    mime_type: str
    size: int
    sha256: str
    doc_type: str
    doc_type_label: str
    title: str
    number: str
    issuing_authority: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    state: str
    confidential: bool
    version: int
    supersedes: int | None
    current: bool
    note: str
    uploaded_by: str
    uploaded_at: dt.datetime
    download_url: str

    @staticmethod
    def resolve_target(obj: Attachment) -> str:
        return f"{obj.content_type.app_label}.{obj.content_type.model}:{obj.object_id}"

    @staticmethod
    def resolve_sha256(obj: Attachment) -> str:
        return obj.blob_id

    @staticmethod
    def resolve_doc_type_label(obj: Attachment) -> str:
        return str(obj.get_doc_type_display())

    @staticmethod
    def resolve_state(obj: Attachment) -> str:
        from django.utils import timezone

        return svc.attachment_state(obj, timezone.localdate())

    @staticmethod
    def resolve_supersedes(obj: Attachment) -> int | None:
        return obj.supersedes_id

    @staticmethod
    def resolve_uploaded_by(obj: Attachment) -> str:
        return obj.uploaded_by.username

    @staticmethod
    def resolve_download_url(obj: Attachment) -> str:
        return f"/api/v1/attachments/{obj.pk}/download"


class AttachmentDetailOut(AttachmentOut):
    versions: list[AttachmentOut]


class ListQuery(Schema):
    target: str = Field(..., description="the record, app_label.model:id, e.g. core.user:12")
    include_history: bool = Field(False, description="also superseded versions")


class Metadata(Schema):
    doc_type: str = "other"
    title: str = ""
    number: str = ""
    issuing_authority: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    confidential: bool = False
    note: str = ""


class UploadIn(Metadata):
    target: str = Field(..., description="the record, app_label.model:id")


class ReplaceIn(Schema):
    reason: str = Field(..., description="why the file is replaced (required)")
    doc_type: str | None = None
    title: str | None = None
    number: str | None = None
    issuing_authority: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    confidential: bool | None = None
    note: str | None = None


@router.get("", response=list[AttachmentOut], summary="List a record's attachments")
def list_attachments(request: HttpRequest, filters: Query[ListQuery]) -> Any:
    user: Any = request.user
    target = svc.parse_target_ref(actor=user, ref=filters.target)
    return list(svc.attachment_list(actor=user, target=target, include_history=filters.include_history))


@router.post("", response={201: AttachmentOut}, summary="Upload a file to a record")
def upload_attachment(request: HttpRequest, data: Form[UploadIn], file: File[UploadedFile]) -> Any:
    user: Any = request.user
    target = svc.parse_target_ref(actor=user, ref=data.target)
    att = svc.attachment_add(actor=user, target=target, upload=file, **data.dict(exclude={"target"}))
    return Status(201, svc.attachment_get(actor=user, attachment_id=att.pk))


@router.get("/{int:attachment_id}", response=AttachmentDetailOut, summary="One attachment with its versions")
def get_attachment(request: HttpRequest, attachment_id: int) -> Any:
    user: Any = request.user
    att = svc.attachment_get(actor=user, attachment_id=attachment_id)
    att.versions = svc.attachment_versions(att)  # type: ignore[attr-defined]
    return att


@router.get("/{int:attachment_id}/download", summary="Download the file (confidential downloads are audited)")
def download_attachment(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    from kehu.core.views.attachments import download_response

    user: Any = request.user
    att, path, confidential = svc.attachment_open(actor=user, attachment_id=attachment_id, channel="api")
    return download_response(att, path, confidential=confidential)


@router.post(
    "/{int:attachment_id}/replace", response={201: AttachmentOut}, summary="Upload a new version of the file"
)
def replace_attachment(
    request: HttpRequest, attachment_id: int, data: Form[ReplaceIn], file: File[UploadedFile]
) -> Any:
    user: Any = request.user
    new = svc.attachment_replace(actor=user, attachment_id=attachment_id, upload=file, **data.dict())
    return Status(201, svc.attachment_get(actor=user, attachment_id=new.pk))
