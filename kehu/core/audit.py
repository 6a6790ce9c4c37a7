"""The audit trail service (R-PLT-04, DESIGN idea 4).

Every write service calls :func:`record` inside its own transaction, as its last step, so that the entry commits
or rolls back with the change. Entries form a hash chain: ``hash = sha256(canonical fields + prev_hash)``; the
single ``AuditHead`` row is locked to append, which orders writers (keep the call last: the lock is held until
commit). :func:`verify` walks the chain and names the first bad entry.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone

from kehu.core.models.audit import AuditAction, AuditEntry, AuditHead

if TYPE_CHECKING:
    from kehu.core.models import User

GENESIS_HASH = "0" * 64

# Set by the request middleware so that services need not pass the client address around.
current_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("kehu_current_ip", default=None)
# Set while a user acts on a task of someone they back up (R-PLT-03).
current_acting_for: contextvars.ContextVar[Any] = contextvars.ContextVar("kehu_acting_for", default=None)


def jsonable(value: Any) -> Any:
    """A JSON-safe form of a field value that round-trips exactly (Decimal and dates as strings)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """Field values of ``obj`` (foreign keys as ids) for a before/after comparison."""
    out: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        if field.many_to_many:
            out[name] = sorted(jsonable(v) for v in getattr(obj, name).values_list("pk", flat=True)) if obj.pk else []
        elif field.is_relation:
            out[name] = getattr(obj, field.attname)  # type: ignore[union-attr]
        else:
            out[name] = jsonable(getattr(obj, name))
    return out


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, list[Any]]:
    """Changed fields only: ``{field: [before, after]}``."""
    before = before or {}
    after = after or {}
    return {
        k: [before.get(k), after.get(k)]
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(
    *,
    seq: int,
    timestamp: dt.datetime,
    actor_id: int | None,
    acting_for_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    object_repr: str,
    changes: Any,
    reason: str,
    policy_version: str,
    confidential: bool,
    prev_hash: str,
) -> str:
    payload = {
        "seq": seq,
        "ts": timestamp.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": actor_id,
        "acting_for": acting_for_id,
        "action": action,
        "type": object_type,
        "id": object_id,
        "repr": object_repr,
        "changes": changes,
        "reason": reason,
        "policy": policy_version,
        "confidential": confidential,
        "prev": prev_hash,
    }
    return hashlib.sha256(_canonical(payload)).hexdigest()


def object_type_of(obj: models.Model | type[models.Model]) -> str:
    return obj._meta.label_lower


@transaction.atomic
def record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    changes: dict[str, Any] | None = None,
    reason: str = "",
    policy_version: str | int | None = None,
    acting_for: User | None = None,
    confidential: bool = False,
) -> AuditEntry:
    """Append one entry to the trail in the caller's transaction. Returns the entry."""
    if obj is not None:
        object_type = object_type or object_type_of(obj)
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)
    if acting_for is None:
        acting_for = current_acting_for.get()
    head = AuditHead.objects.select_for_update().get(pk=1)
    now = timezone.now()
    # Microsecond precision survives every database; truncate so the hash recomputes from the stored value.
    changes_json = jsonable(changes or {})
    entry = AuditEntry(
        seq=head.seq + 1,
        timestamp=now,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=(actor.username if actor is not None and actor.pk else "system"),
        acting_for=acting_for,
        action=str(action),
        object_type=object_type,
        object_id=str(object_id),
        object_repr=str(object_repr)[:300],
        changes=changes_json,
        reason=reason or "",
        policy_version="" if policy_version is None else str(policy_version),
        confidential=confidential,
        ip=current_ip.get(),
        prev_hash=head.hash,
    )
    entry.hash = _entry_hash(entry)
    entry.save(force_insert=True)
    AuditHead.objects.filter(pk=1).update(seq=entry.seq, hash=entry.hash)
    return entry


def _entry_hash(entry: AuditEntry) -> str:
    return compute_hash(
        seq=entry.seq,
        timestamp=entry.timestamp,
        actor_id=entry.actor_id,
        acting_for_id=entry.acting_for_id,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        object_repr=entry.object_repr,
        changes=entry.changes,
        reason=entry.reason,
        policy_version=entry.policy_version,
        confidential=entry.confidential,
        prev_hash=entry.prev_hash,
    )


def record_read(actor: User, obj: models.Model, *, channel: str = "page", detail: str = "") -> AuditEntry:
    """Log a read of a confidential object (R-PLT-02, R-ARC-02)."""
    return record(
        actor=actor,
        action=AuditAction.READ if channel != "download" else AuditAction.DOWNLOAD,
        obj=obj,
        changes={"channel": channel, **({"detail": detail} if detail else {})},
        confidential=True,
    )


def history(obj: models.Model) -> models.QuerySet[AuditEntry]:
    """The trail of one object, newest first."""
    return AuditEntry.objects.filter(object_type=object_type_of(obj), object_id=str(obj.pk)).select_related(
        "actor", "acting_for"
    )


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    bad_seq: int | None = None
    problem: str = ""


_FIELDS = (
    "seq", "timestamp", "actor_id", "acting_for_id", "action", "object_type", "object_id", "object_repr",
    "changes", "reason", "policy_version", "confidential", "prev_hash", "hash",
)


def _rows(chunk: int) -> Iterator[tuple[Any, ...]]:
    last = 0
    while True:
        batch = list(
            AuditEntry.objects.filter(seq__gt=last).order_by("seq").values_list(*_FIELDS)[:chunk]
        )
        if not batch:
            return
        yield from batch
        last = batch[-1][0]


def verify(chunk: int = 5000) -> VerifyResult:
    """Walk the chain in ``seq`` order. The first entry whose sequence, link or hash is wrong is reported:
    an altered row fails its hash, a deleted row leaves a gap in ``seq``, an inserted row breaks a link."""
    expected_seq = 1
    prev = GENESIS_HASH
    checked = 0
    for row in _rows(chunk):
        (seq, ts, actor_id, acting_for_id, action, otype, oid, orepr, changes, reason, policy, conf, prev_hash, h) = row
        if seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"entry #{expected_seq} is missing (found #{seq} next)")
        if prev_hash != prev:
            return VerifyResult(False, checked, seq, f"entry #{seq} does not link to the entry before it")
        computed = compute_hash(
            seq=seq, timestamp=ts, actor_id=actor_id, acting_for_id=acting_for_id, action=action,
            object_type=otype, object_id=oid, object_repr=orepr, changes=changes, reason=reason,
            policy_version=policy, confidential=conf, prev_hash=prev_hash,
        )
        if computed != h:
            return VerifyResult(False, checked, seq, f"entry #{seq} was altered (its hash does not match)")
        prev = h
        expected_seq += 1
        checked += 1
    head = AuditHead.objects.filter(pk=1).values_list("seq", "hash").first()
    if head is not None and (head[0] != checked or head[1] != prev):
        return VerifyResult(
            False, checked, checked + 1 if head[0] > checked else head[0],
            f"the chain ends at #{checked} but the head records #{head[0]}: entries were removed from the end",
        )
    return VerifyResult(True, checked)
