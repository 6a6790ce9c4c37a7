"""Attachments (R-PLT-05): files on any record, stored content-addressed, versioned, never silently replaced.

- :func:`register_attachable` lets a model take attachments and names the access actions that guard them.
- Services: :func:`attachment_add`, :func:`attachment_replace`, :func:`attachment_open` (download).
- Selectors: :func:`attachment_list`, :func:`attachment_get`, :func:`attachments_expiring`, :func:`attachment_state`.

Storage: ``KEHU_FILES_DIR/ab/cd/<sha256>``. An upload is streamed to ``KEHU_FILES_DIR/tmp`` while it is hashed,
then linked into place; a file that already exists is never overwritten, identical content is stored once. A
blob file is written before the database transaction commits: when the transaction rolls back, the file stays as
an orphan (harmless; ``python -m kehu attachments check`` lists such files).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import User
from kehu.core.models.attachments import Attachment, DocumentType, FileBlob
from kehu.core.models.audit import AuditAction

if TYPE_CHECKING:
    from kehu.core.models.audit import AuditEntry

# ---------------------------------------------------------------------------------------------------------------
# Registry: which models take attachments, guarded by which actions


@dataclass(frozen=True)
class Attachable:
    model: type[models.Model]
    view_action: str
    change_action: str
    scope_action: str | None
    on_change: Callable[[models.Model], None] | None = None


_REGISTRY: dict[type[models.Model], Attachable] = {}


def register_attachable(
    model: type[models.Model],
    *,
    view_action: str,
    change_action: str,
    scope_action: str | None,
    on_change: Callable[[models.Model], None] | None = None,
) -> None:
    """Let ``model`` carry attachments. Seeing and downloading them needs ``view_action`` (and the record within
    the user's scope for ``scope_action`` when given); adding and replacing needs ``change_action``.
    ``on_change(target)`` runs in the same transaction after a file is added to or replaced on a record (a module
    keeps its own summary of the record's documents current with it)."""
    _REGISTRY[model] = Attachable(model, view_action, change_action, scope_action, on_change)


def attachable_for(model: type[models.Model]) -> Attachable | None:
    return _REGISTRY.get(model)


def _rule(content_type: ContentType) -> Attachable:
    model = content_type.model_class()
    rule = _REGISTRY.get(model) if model is not None else None
    if rule is None:
        raise NotFound()
    return rule


def _visible_target(actor: Any, rule: Attachable, object_id: str) -> models.Model:
    """The target record when the actor may see it: 403 without the action, 404 when missing or out of scope. Where
    the view and scope actions are one, :func:`access.get_scoped` decides alone (an access grant may stand in for
    the role, R-ARC-01)."""
    qs = rule.model._default_manager.all()
    if rule.scope_action:
        if rule.scope_action != rule.view_action:
            access.require(actor, rule.view_action)
        return access.get_scoped(actor, rule.scope_action, qs, pk=object_id)
    access.require(actor, rule.view_action)
    try:
        return qs.get(pk=object_id)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def _require_change(actor: Any, rule: Attachable, target: models.Model) -> None:
    access.require(actor, rule.change_action)
    try:
        allowed = access.restrict(
            actor, rule.change_action, type(target)._default_manager.filter(pk=target.pk)
        ).exists()
    except KeyError:  # no scope rule for the model: the action alone decides
        allowed = True
    if not allowed:
        raise PermissionDenied()


def resolve_target(*, actor: Any, app_label: str, model: str, object_id: str) -> models.Model:
    """The record named by ``app_label.model:id``, if it takes attachments and the actor may see it (else 404)."""
    try:
        ct = ContentType.objects.get_by_natural_key(app_label, model.lower())
    except ContentType.DoesNotExist:
        raise NotFound() from None
    return _visible_target(actor, _rule(ct), object_id)


def parse_target_ref(*, actor: Any, ref: str) -> models.Model:
    """``app_label.model:id`` (as used by the API) -> the target record."""
    label, sep, object_id = (ref or "").partition(":")
    app_label, dot, model = label.partition(".")
    if not (sep and dot and app_label and model and object_id):
        raise ValidationFailed(
            _("目标记录的格式应为“应用.模型:编号”，例如 core.user:12。"), field="target", rule="format"
        )
    return resolve_target(actor=actor, app_label=app_label, model=model, object_id=object_id)


def can_change(actor: Any, target: models.Model) -> bool:
    rule = _REGISTRY.get(type(target))
    if rule is None:
        return False
    try:
        _require_change(actor, rule, target)
    except PermissionDenied:
        return False
    return True


def target_ref(target: models.Model) -> str:
    return f"{target._meta.label_lower}:{target.pk}"


# ---------------------------------------------------------------------------------------------------------------
# Confidentiality of files (R-ARC-01, R-ARC-02): a module may decide which files are confidential and who may open
# them. Without one, a file flagged confidential is opened by whoever may see its record, and the download is logged.


@dataclass(frozen=True)
class Clearance:
    confidential: bool  # opening the file is logged
    allowed: bool = True  # the actor may open it
    request_url: str = ""  # where to request access when not allowed
    grant_id: int | None = None  # the access grant that allows it (named in the read log)


ClearanceFn = Callable[[Any, list[Attachment]], list[Clearance]]
_CLEARANCE: list[ClearanceFn] = []


def register_clearance(fn: ClearanceFn) -> None:
    """``fn(actor, attachments)`` -> one :class:`Clearance` per attachment (one call per page: keep it bounded).
    The last registration wins."""
    _CLEARANCE[:] = [fn]


def clearances(actor: Any, atts: list[Attachment]) -> list[Clearance]:
    if _CLEARANCE:
        return _CLEARANCE[0](actor, atts)
    return [Clearance(confidential=a.confidential) for a in atts]


# ---------------------------------------------------------------------------------------------------------------
# Storage


def files_dir() -> Path:
    return Path(settings.KEHU_FILES_DIR)


def blob_path(sha256: str) -> Path:
    return files_dir() / sha256[:2] / sha256[2:4] / sha256


_ZIP = (b"PK\x03\x04",)
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
# Extension -> accepted leading bytes. Extensions not listed (plain text, csv) are not sniffed.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".tiff": (b"II*\x00", b"MM\x00*"),
    ".docx": _ZIP,
    ".xlsx": _ZIP,
    ".pptx": _ZIP,
    ".zip": _ZIP,
    ".ofd": _ZIP,
    ".doc": _OLE,
    ".xls": _OLE,
    ".ppt": _OLE,
}
_MIME_FALLBACK = {".ofd": "application/ofd", ".webp": "image/webp"}
_HEAD = 1024
_CHUNK = 256 * 1024


def _content_matches(ext: str, head: bytes) -> bool:
    if ext == ".webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if ext == ".pdf":  # readers accept a little junk before the header
        return b"%PDF-" in head[:_HEAD]
    prefixes = _MAGIC.get(ext)
    return prefixes is None or any(head.startswith(p) for p in prefixes)


def _mb(n: int) -> str:
    """A byte count in MB for messages: ``20``, ``2.5``, ``0.001``."""
    mb = n / (1024 * 1024)
    text = f"{mb:.1f}" if mb >= 0.1 else f"{mb:.2g}"
    return text.rstrip("0").rstrip(".") if "." in text and "e" not in text else text


def _check_file(upload: UploadedFile | None) -> str:
    """Checks that need no reading; returns the extension."""
    if upload is None:
        raise ValidationFailed(_("请选择要上传的文件。"), field="file", rule="required")
    name = os.path.basename(upload.name or "")
    ext = os.path.splitext(name)[1].lower()
    allowed = [e.lower() for e in settings.KEHU_UPLOAD_EXTENSIONS]
    if not ext or ext not in allowed:
        raise ValidationFailed(
            _("不支持的文件类型“%(ext)s”。允许的类型：%(allowed)s。")
            % {"ext": ext or name, "allowed": " ".join(allowed)},
            field="file",
            rule="file_type",
        )
    limit = int(settings.KEHU_UPLOAD_MAX_BYTES)
    if upload.size is not None and upload.size > limit:
        raise _too_big(limit)
    if not upload.size:
        raise ValidationFailed(_("文件为空，请重新选择。"), field="file", rule="empty")
    return ext


def _too_big(limit: int) -> ValidationFailed:
    return ValidationFailed(
        _("文件过大：最大允许 %(mb)s MB。") % {"mb": _mb(limit)}, field="file", rule="max_size"
    )


@dataclass
class StoredFile:
    blob: FileBlob
    filename: str
    mime_type: str
    size: int


def _store(upload: UploadedFile) -> StoredFile:
    """Stream the upload to a temp file while hashing, check its content, then move it to its sha256 path.

    Never reads the whole file into memory; never overwrites an existing blob file."""
    ext = _check_file(upload)
    limit = int(settings.KEHU_UPLOAD_MAX_BYTES)
    tmp_dir = files_dir() / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="up-")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        size = 0
        head = b""
        with os.fdopen(fd, "wb") as out:
            upload.seek(0)
            for chunk in upload.chunks(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise _too_big(limit)
                if len(head) < _HEAD:
                    head += chunk[: _HEAD - len(head)]
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise ValidationFailed(_("文件为空，请重新选择。"), field="file", rule="empty")
        if not _content_matches(ext, head):
            raise ValidationFailed(
                _("文件内容与扩展名“%(ext)s”不符，请上传真实的%(kind)s文件。")
                % {"ext": ext, "kind": ext.lstrip(".").upper()},
                field="file",
                rule="file_content",
            )
        sha = digest.hexdigest()
        final = blob_path(sha)
        if not final.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(tmp, final)  # atomic, and fails rather than overwrite
            except FileExistsError:
                pass
            except OSError:
                if not final.exists():
                    os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    blob, _created = FileBlob.objects.get_or_create(sha256=sha, defaults={"size": size})
    name = os.path.basename(upload.name or "")[:255]
    mime = mimetypes.guess_type(name)[0] or _MIME_FALLBACK.get(ext) or "application/octet-stream"
    return StoredFile(blob=blob, filename=name, mime_type=mime, size=size)


# ---------------------------------------------------------------------------------------------------------------
# Services

_META_FIELDS = (
    "doc_type",
    "title",
    "number",
    "issuing_authority",
    "valid_from",
    "valid_to",
    "confidential",
    "note",
)
_AUDIT_FIELDS = (
    "filename",
    "size",
    "blob",
    "version",
    "supersedes",
    "content_type",
    "object_id",
    *_META_FIELDS,
)


def _check_meta(meta: dict[str, Any]) -> None:
    if meta["doc_type"] not in DocumentType.values:
        raise ValidationFailed(_("请选择有效的文件类别。"), field="doc_type", rule="choice")
    limits = {"title": 200, "number": 100, "issuing_authority": 200, "note": 500}
    for name, limit in limits.items():
        if len(meta[name] or "") > limit:
            raise ValidationFailed(_("最多 %(n)s 个字符。") % {"n": limit}, field=name, rule="max_length")
    vf, vt = meta["valid_from"], meta["valid_to"]
    if vf and vt and vt < vf:
        raise ValidationFailed(_("有效期至不能早于有效期自。"), field="valid_to", rule="date_order")


@transaction.atomic
def attachment_add(
    *,
    actor: User,
    target: models.Model,
    upload: UploadedFile | None,
    doc_type: str,
    title: str = "",
    number: str = "",
    issuing_authority: str = "",
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
    confidential: bool = False,
    note: str = "",
) -> Attachment:
    """Attach a file to ``target`` (version 1). Needs the change action registered for the target's model."""
    rule = _REGISTRY.get(type(target))
    if rule is None:
        raise NotFound()
    target = _visible_target(actor, rule, str(target.pk))
    _require_change(actor, rule, target)
    meta = {
        "doc_type": doc_type or DocumentType.OTHER,
        "title": (title or "").strip(),
        "number": (number or "").strip(),
        "issuing_authority": (issuing_authority or "").strip(),
        "valid_from": valid_from,
        "valid_to": valid_to,
        "confidential": bool(confidential),
        "note": (note or "").strip(),
    }
    _check_meta(meta)
    stored = _store(upload)  # type: ignore[arg-type]  # _check_file refuses None
    att = Attachment.objects.create(
        content_type=ContentType.objects.get_for_model(target),
        object_id=str(target.pk),
        blob=stored.blob,
        filename=stored.filename,
        mime_type=stored.mime_type,
        size=stored.size,
        version=1,
        current=True,
        uploaded_by=actor,
        **meta,
    )
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=att,
        changes=audit.diff(None, audit.snapshot(att, _AUDIT_FIELDS)),
    )
    if rule.on_change is not None:
        rule.on_change(target)
    return att


_KEEP: Any = None


@transaction.atomic
def attachment_replace(
    *,
    actor: User,
    attachment_id: int,
    upload: UploadedFile | None,
    reason: str,
    doc_type: str | None = _KEEP,
    title: str | None = _KEEP,
    number: str | None = _KEEP,
    issuing_authority: str | None = _KEEP,
    valid_from: dt.date | None = _KEEP,
    valid_to: dt.date | None = _KEEP,
    confidential: bool | None = _KEEP,
    note: str | None = _KEEP,
    clear: tuple[str, ...] = (),
) -> Attachment:
    """A new version of an attachment: a new row (version + 1) that supersedes the old one, which keeps its file
    and becomes non-current. Metadata not given (None) is carried over; names in ``clear`` are emptied."""
    old = attachment_get(actor=actor, attachment_id=attachment_id)
    rule = _rule(old.content_type)
    _require_change(actor, rule, old.target)  # type: ignore[arg-type]
    old = Attachment.objects.select_for_update().get(pk=old.pk)
    if not old.current:
        raise Conflict(_("该附件已有更新的版本，请替换当前版本。"), field="attachment", rule="not_current")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写替换原因。"), field="reason", rule="required")
    given = {
        "doc_type": doc_type,
        "title": title,
        "number": number,
        "issuing_authority": issuing_authority,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "confidential": confidential,
        "note": note,
    }
    meta: dict[str, Any] = {}
    for name in _META_FIELDS:
        value = given[name]
        if name in clear:
            value = "" if isinstance(getattr(old, name), str) else None
        elif value is None:
            value = getattr(old, name)
        elif isinstance(value, str):
            value = value.strip()
        meta[name] = value
    meta["doc_type"] = meta["doc_type"] or DocumentType.OTHER
    meta["confidential"] = bool(meta["confidential"])
    _check_meta(meta)
    stored = _store(upload)  # type: ignore[arg-type]
    before = audit.snapshot(old, _AUDIT_FIELDS)
    Attachment.objects.filter(pk=old.pk).update(current=False)
    new = Attachment.objects.create(
        content_type_id=old.content_type_id,
        object_id=old.object_id,
        blob=stored.blob,
        filename=stored.filename,
        mime_type=stored.mime_type,
        size=stored.size,
        version=old.version + 1,
        supersedes=old,
        current=True,
        uploaded_by=actor,
        **meta,
    )
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=new,
        changes=audit.diff(before, audit.snapshot(new, _AUDIT_FIELDS)),
        reason=reason,
    )
    if rule.on_change is not None:
        rule.on_change(old.target)  # type: ignore[arg-type]
    return new


class OpenedFile(NamedTuple):
    attachment: Attachment
    path: Path
    confidential: bool  # as the clearance found it: served ``no-store``, and the download logged


def attachment_open(*, actor: User, attachment_id: int, channel: str = "page") -> OpenedFile:
    """The attachment, the path of its file and whether it is confidential, when the actor may see its record (else
    404) and may open it (else 403, with where to request access). A confidential file's download is recorded in
    the audit trail (one DOWNLOAD entry per call, naming the access grant used)."""
    att = attachment_get(actor=actor, attachment_id=attachment_id)
    clearance = clearances(actor, [att])[0]
    if not clearance.allowed:
        raise PermissionDenied(
            detail={"request_access": clearance.request_url} if clearance.request_url else None
        )
    path = blob_path(att.blob_id)
    if not path.is_file() or path.stat().st_size != att.blob.size:
        raise NotFound(_("附件文件缺失或已损坏，请联系系统管理员。"))
    if clearance.confidential:
        if clearance.grant_id is not None:
            access.note_grant(actor, clearance.grant_id, access.owner_of(att))
        audit.record_read(actor, att, channel="download", detail=channel)
    return OpenedFile(att, path, clearance.confidential)


# ---------------------------------------------------------------------------------------------------------------
# Selectors


def _base_qs() -> models.QuerySet[Attachment]:
    return Attachment.objects.select_related("uploaded_by", "content_type", "blob")


def attachment_get(*, actor: User, attachment_id: int | str) -> Attachment:
    """One attachment (any version) whose record the actor may see; 404 otherwise (also without the action)."""
    try:
        att = _base_qs().get(pk=int(attachment_id))
    except (Attachment.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    rule = _rule(att.content_type)
    try:
        target = _visible_target(actor, rule, att.object_id)
    except PermissionDenied:
        raise NotFound() from None
    # the record is known now: cache it so ``att.target`` needs no further query
    Attachment._meta.get_field("target").set_cached_value(att, target)
    return att


def attachment_list(
    *, actor: User, target: models.Model, include_history: bool = False
) -> models.QuerySet[Attachment]:
    """The target's attachments (current versions only unless ``include_history``), when the actor may see it."""
    rule = _REGISTRY.get(type(target))
    if rule is None:
        raise NotFound()
    _visible_target(actor, rule, str(target.pk))
    qs = _base_qs().filter(content_type=ContentType.objects.get_for_model(target), object_id=str(target.pk))
    if not include_history:
        qs = qs.filter(current=True)
    return qs.order_by("doc_type", "-version", "-id")


def attachment_versions(att: Attachment) -> list[Attachment]:
    """Every version of the chain ``att`` belongs to, newest first (one query)."""
    rows = list(
        _base_qs()
        .filter(content_type_id=att.content_type_id, object_id=att.object_id)
        .order_by("-version", "-id")
    )
    by_id = {r.pk: r for r in rows}
    superseded_by = {r.supersedes_id: r for r in rows if r.supersedes_id}
    # walk to the newest, then back down the supersedes chain
    head = by_id.get(att.pk, att)
    while head.pk in superseded_by:
        head = superseded_by[head.pk]
    chain = [head]
    while chain[-1].supersedes_id and chain[-1].supersedes_id in by_id:
        chain.append(by_id[chain[-1].supersedes_id])
    return chain


def attachment_history(versions: list[Attachment]) -> models.QuerySet[AuditEntry]:
    """The audit trail of every version, newest first (one query)."""
    qs = audit.history(versions[0])
    for v in versions[1:]:
        qs = qs | audit.history(v)
    return qs.order_by("-seq")


def attachments_expiring(*, within_days: int, at: dt.date) -> models.QuerySet[Attachment]:
    """Current attachments whose validity ends between ``at`` and ``at + within_days`` (inclusive), soonest
    first. Not restricted to a user: for reminder jobs, which address each record's owners themselves."""
    return (
        Attachment.objects.filter(
            current=True, valid_to__gte=at, valid_to__lte=at + dt.timedelta(days=within_days)
        )
        .select_related("content_type")
        .order_by("valid_to", "id")
    )


VALID, EXPIRING, EXPIRED, NOT_YET_VALID = "valid", "expiring", "expired", "not_yet_valid"
DEFAULT_EXPIRING_DAYS = 30


def expiring_days() -> int:
    """Days before ``valid_to`` from which a document shows as expiring: policy ``platform.documents``."""
    try:
        from kehu.core.policies import policy_get

        return int(policy_get("platform.documents").values.expiring_days)
    except (ImportError, LookupError):
        return DEFAULT_EXPIRING_DAYS


def attachment_state(att: Attachment, at: dt.date, *, expiring: int | None = None) -> str:
    """ "valid" | "expiring" (ends within ``expiring`` days) | "expired" | "not_yet_valid"."""
    window = expiring_days() if expiring is None else expiring
    if att.valid_from and at < att.valid_from:
        return NOT_YET_VALID
    if att.valid_to:
        if at > att.valid_to:
            return EXPIRED
        if att.valid_to <= at + dt.timedelta(days=window):
            return EXPIRING
    return VALID


STATE_LABELS = {
    VALID: ("有效", "bg-success-subtle text-success-emphasis"),
    EXPIRING: ("即将到期", "bg-warning-subtle text-warning-emphasis"),
    EXPIRED: ("已过期", "bg-danger-subtle text-danger-emphasis"),
    NOT_YET_VALID: ("未生效", "bg-secondary-subtle text-secondary-emphasis"),
}


def state_display(state: str) -> tuple[str, str]:
    label, css = STATE_LABELS[state]
    return _(label), css


def attachment_panel(
    *, actor: User, target: models.Model, at: dt.date | None = None, next_url: str = ""
) -> dict[str, Any]:
    """Context for ``core/attachments/_panel.html``: ``{% include "core/attachments/_panel.html" with
    panel=attachments %}`` where the view put ``attachments = attachment_panel(actor=..., target=...)``."""
    from django.utils import timezone

    day = at or timezone.localdate()
    rows = list(attachment_list(actor=actor, target=target))
    window = expiring_days()
    items = []
    for att, clearance in zip(rows, clearances(actor, rows), strict=True):
        state = attachment_state(att, day, expiring=window)
        label, css = state_display(state)
        items.append(
            {"att": att, "state": state, "state_label": label, "state_css": css, "clearance": clearance}
        )
    from kehu.core.views.attachments import UploadForm

    return {
        "target": target,
        "app_label": target._meta.app_label,
        "model_name": target._meta.model_name,
        "object_id": str(target.pk),
        "items": items,
        "can_change": can_change(actor, target),
        "form": UploadForm(),
        "next": next_url,
        "today": day,
        "max_mb": _mb(int(settings.KEHU_UPLOAD_MAX_BYTES)),
        "extensions": " ".join(str(e) for e in settings.KEHU_UPLOAD_EXTENSIONS),
    }


def iter_blob_files() -> Iterator[Path]:
    root = files_dir()
    if not root.is_dir():
        return
    for first in sorted(root.iterdir()):
        if first.name == "tmp" or not first.is_dir() or len(first.name) != 2:
            continue
        for second in sorted(first.iterdir()):
            if second.is_dir():
                yield from sorted(p for p in second.iterdir() if p.is_file())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class CheckResult:
    checked: int
    missing: list[str]
    corrupted: list[str]
    orphans: list[Path]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupted or self.orphans)


def check_store() -> CheckResult:
    """Blobs whose file is missing or whose content does not hash to their name; files with no blob row."""
    known: set[str] = set()
    missing: list[str] = []
    corrupted: list[str] = []
    checked = 0
    for sha in FileBlob.objects.order_by("sha256").values_list("sha256", flat=True).iterator(chunk_size=2000):
        known.add(sha)
        path = blob_path(sha)
        checked += 1
        if not path.is_file():
            missing.append(sha)
        elif file_sha256(path) != sha:
            corrupted.append(sha)
    orphans = [p for p in iter_blob_files() if p.name not in known]
    return CheckResult(checked=checked, missing=missing, corrupted=corrupted, orphans=orphans)


# ---------------------------------------------------------------------------------------------------------------
# Registrations of the platform's own models

register_attachable(
    User, view_action="org.user.view", change_action="org.user.manage", scope_action="org.user.view"
)
