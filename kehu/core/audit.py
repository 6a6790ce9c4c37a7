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
import ipaddress
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

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
            out[name] = (
                sorted(jsonable(v) for v in getattr(obj, name).values_list("pk", flat=True)) if obj.pk else []
            )
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


#: Every stored field of an entry except ``hash`` itself is covered by the hash.
#: Every stored field of an entry except ``hash`` itself is covered by the hash.
HASHED_FIELDS = (
    "seq",
    "timestamp",
    "actor_id",
    "actor_label",
    "acting_for_id",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "reason",
    "policy_version",
    "confidential",
    "ip",
    "prev_hash",
)


def compute_hash(fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the entry's :data:`HASHED_FIELDS` (timestamp in UTC, microseconds)."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    payload["timestamp"] = fields["timestamp"].astimezone(dt.UTC).isoformat(timespec="microseconds")
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
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # Only an empty trail may start a new head (a fresh database, or a test run that emptied the tables);
        # a head missing beside existing entries is a broken trail, and writing on would hide it.
        if AuditEntry.objects.exists():
            raise RuntimeError(
                "audit trail head is missing while entries exist: run 'python -m kehu audit verify'"
            )
        head = AuditHead.objects.create(pk=1, seq=0, hash=GENESIS_HASH)
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
        object_id=str(object_id)[:64],
        object_repr=str(object_repr)[:300],
        changes=changes_json,
        reason=reason or "",
        policy_version="" if policy_version is None else str(policy_version),
        confidential=confidential,
        ip=_normal_ip(current_ip.get()),
        prev_hash=head.hash,
    )
    entry.hash = _entry_hash(entry)
    entry.save(force_insert=True)
    AuditHead.objects.filter(pk=1).update(seq=entry.seq, hash=entry.hash)
    return entry


def _normal_ip(ip: str | None) -> str | None:
    """The address as every database returns it (PostgreSQL's inet normalises IPv6), so the hash recomputes."""
    if not ip:
        return None
    try:
        return ipaddress.ip_address(ip).compressed
    except ValueError:
        return None


def _entry_hash(entry: AuditEntry) -> str:
    return compute_hash({name: getattr(entry, name) for name in HASHED_FIELDS})


def record_read(actor: User, obj: models.Model, *, channel: str = "page", detail: str = "") -> AuditEntry:
    """Log a read of a confidential object (R-PLT-02, R-ARC-02). A read under an access grant names the grant the
    access check used for this object's customer (:func:`kehu.core.access.take_grant`)."""
    from kehu.core.access import take_grant

    grant_id = take_grant(actor, obj)
    return record(
        actor=actor,
        action=AuditAction.READ if channel != "download" else AuditAction.DOWNLOAD,
        obj=obj,
        changes={
            "channel": channel,
            **({"detail": detail} if detail else {}),
            **({"grant": grant_id} if grant_id is not None else {}),
        },
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


_FIELDS = (*HASHED_FIELDS, "hash")


def _rows(chunk: int, upto: int) -> Iterator[tuple[Any, ...]]:
    last = 0
    while True:
        batch = list(
            AuditEntry.objects.filter(seq__gt=last, seq__lte=upto)
            .order_by("seq")
            .values_list(*_FIELDS)[:chunk]
        )
        if not batch:
            return
        yield from batch
        last = batch[-1][0]


def verify(chunk: int = 5000) -> VerifyResult:
    """Walk the chain in ``seq`` order up to the head read at the start, so entries appended while it runs do not
    disturb it. The first entry whose sequence, link or hash is wrong is reported: an altered row fails its hash,
    a deleted row leaves a gap, an inserted row breaks a link, a row beyond the head was never appended by
    :func:`record` (which moves the head in the same transaction)."""
    head = AuditHead.objects.filter(pk=1).values_list("seq", "hash").first()
    if head is None:
        if AuditEntry.objects.exists():
            return VerifyResult(False, 0, 1, _("审计链头缺失：无法确认记录是否完整。"))
        return VerifyResult(True, 0)
    head_seq, head_hash = head
    expected_seq = 1
    prev = GENESIS_HASH
    checked = 0
    for row in _rows(chunk, head_seq):
        fields = dict(zip(_FIELDS, row, strict=True))
        seq, prev_hash, h = fields["seq"], fields["prev_hash"], fields["hash"]
        if seq != expected_seq:
            return VerifyResult(
                False,
                checked,
                expected_seq,
                _("第 %(seq)s 条记录缺失（下一条为第 %(found)s 条）：记录被删除或插入了错序的记录。")
                % {"seq": expected_seq, "found": seq},
            )
        if prev_hash != prev:
            return VerifyResult(
                False,
                checked,
                seq,
                _("第 %(seq)s 条记录未链接到前一条记录（记录被插入或替换）。") % {"seq": seq},
            )
        if compute_hash(fields) != h:
            return VerifyResult(
                False, checked, seq, _("第 %(seq)s 条记录被篡改（哈希值不符）。") % {"seq": seq}
            )
        prev = h
        expected_seq += 1
        checked += 1
    if checked < head_seq:
        bad = checked + 1
        problem = _(
            "第 %(seq)s 条记录缺失：审计链止于第 %(last)s 条，链头记录为第 %(head)s 条（末尾记录被删除）。"
        )
        return VerifyResult(False, checked, bad, problem % {"seq": bad, "last": checked, "head": head_seq})
    if prev != head_hash:
        problem = _("第 %(seq)s 条记录与链头不一致（末尾记录被替换）。")
        return VerifyResult(False, checked, checked, problem % {"seq": checked})
    # Rows beyond the head: a genuine append moves the head in its own transaction, so read the highest row first
    # and the head after it; a row above the head then was never appended by record().
    highest = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    now_head = AuditHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0
    if highest > now_head:
        bad = now_head + 1
        problem = _("第 %(seq)s 条记录不属于审计链：链头记录为第 %(head)s 条（记录被插入）。")
        return VerifyResult(False, checked, bad, problem % {"seq": bad, "head": now_head})
    return VerifyResult(True, checked)


# ---------------------------------------------------------------------------------------------------------------
# Reading the trail (pages, API, command)

VERIFY_ACTION = "verify"


def action_choices() -> list[tuple[str, str]]:
    """Every action code with its label, for filters and display."""
    return [(str(v), str(label)) for v, label in AuditAction.choices] + [(VERIFY_ACTION, _("校验审计链"))]


def action_label(code: str) -> str:
    return dict(action_choices()).get(code, code)


def object_type_label(object_type: str) -> str:
    """The model's verbose name for ``app.model`` (the type itself when unknown)."""
    from django.apps import apps

    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type


def object_types() -> list[tuple[str, str]]:
    """The distinct object types present in the trail, labelled, for the search filter."""
    types = AuditEntry.objects.order_by("object_type").values_list("object_type", flat=True).distinct()
    return [(t, f"{object_type_label(t)} ({t})") for t in types if t]


def _detail_labels() -> dict[str, str]:
    return {
        "channel": _("渠道"), "detail": _("详情"), "filters": _("筛选条件"), "rows": _("行数"),
        "ok": _("审计链完整"), "checked": _("校验记录数"), "bad_seq": _("第一条问题记录"), "problem": _("问题"),
    }  # fmt: skip


_CHANGE_LABELS: dict[str, dict[str, Any]] = {}
_CHANGE_VALUES: dict[str, dict[str, dict[str, Any]]] = {}


def register_change_labels(
    object_type: str, labels: dict[str, Any], values: dict[str, dict[str, Any]] | None = None
) -> None:
    """Labels for the keys a module writes into the changes of ``object_type`` ("app_label.model") that are not
    model fields (e.g. ``{"run": _("检查次数")}``), and labels for their coded values (``{"failed": {"credit":
    _("信用检查")}}``), so that history pages show words, not keys."""
    _CHANGE_LABELS.setdefault(object_type, {}).update(labels)
    for key, mapping in (values or {}).items():
        _CHANGE_VALUES.setdefault(object_type, {}).setdefault(key, {}).update(mapping)


def _model_field(object_type: str, name: str) -> Any:
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist

    try:
        return apps.get_model(object_type)._meta.get_field(name)
    except (LookupError, ValueError, FieldDoesNotExist):
        return None


def _field_label(object_type: str, name: str) -> str:
    registered = _CHANGE_LABELS.get(object_type, {}).get(name)
    if registered is not None:  # a module's own word wins (e.g. a reverse relation such as "lines" has none)
        return str(registered)
    field = _model_field(object_type, name)
    if field is None:
        return _detail_labels().get(name, name)
    return str(getattr(field, "verbose_name", name))


def _related_model(field: Any) -> Any:
    if field is None or not getattr(field, "is_relation", False) or getattr(field, "auto_created", False):
        return None
    return field.related_model if (field.many_to_one or field.one_to_one or field.many_to_many) else None


def prefetch_labels(entries: Iterable[AuditEntry]) -> list[AuditEntry]:
    """Resolve the ids of related records in the entries' changes (an owner, a department...) to their names, with
    one query per related model, so that :func:`change_rows` shows names instead of ids. Returns the entries."""
    entries = list(entries)
    wanted: dict[Any, set[str]] = {}
    for entry in entries:
        if not isinstance(entry.changes, dict):
            continue
        for name, value in entry.changes.items():
            model = _related_model(_model_field(entry.object_type, name))
            if model is None:
                continue
            values = value if isinstance(value, list) else [value]
            flat = [v for item in values for v in (item if isinstance(item, list) else [item])]
            wanted.setdefault(model, set()).update(str(v) for v in flat if v not in (None, ""))
    labels: dict[tuple[Any, str], str] = {}
    for model, ids in wanted.items():
        pk_field = model._meta.pk
        keys = []
        for i in ids:
            try:
                keys.append(pk_field.to_python(i))
            except (TypeError, ValueError, ValidationError):  # not an id (e.g. a username): shown as stored
                continue
        for obj in model._default_manager.filter(pk__in=keys):
            label = getattr(obj, "label", None)
            labels[(model, str(obj.pk))] = str(label if isinstance(label, str) and label else obj)
    for entry in entries:
        entry._related_labels = labels  # type: ignore[attr-defined]
    return entries


def _display(value: Any, field: Any = None, labels: dict[tuple[Any, str], str] | None = None) -> str:
    """A stored value as people read it: choice codes as their labels, related ids as names when the entries were
    passed through :func:`prefetch_labels` (no query here: history pages stay bounded)."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list):
        return ", ".join(_display(v, field, labels) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if field is not None:
        choices = dict(getattr(field, "flatchoices", None) or [])
        if value in choices:
            return str(choices[value])
        model = _related_model(field)
        if model is not None and labels:
            name = labels.get((model, str(value)))
            if name is not None:
                return name
    return str(value)


def _decode(value: Any, coded: dict[str, Any]) -> Any:
    """Codes as their labels: one code, a list of codes, or codes written comma-separated."""
    if isinstance(value, list):
        return [_decode(v, coded) for v in value]
    if isinstance(value, str) and "," in value:
        return ", ".join(str(_decode(v, coded)) for v in value.split(","))
    return str(coded[value]) if isinstance(value, str) and value in coded else value


def change_rows(entry: AuditEntry) -> list[dict[str, Any]]:
    """The entry's changes as rows ``{field, label, before, after, is_change}`` for display and export.

    ``{field: [before, after]}`` pairs are changes; any other value (e.g. the channel of a read) is a detail.
    On a creation, fields left empty are not listed."""
    rows: list[dict[str, Any]] = []
    changes = entry.changes if isinstance(entry.changes, dict) else {"": entry.changes}
    for name, value in changes.items():
        is_change = isinstance(value, list) and len(value) == 2
        if is_change and entry.action == "create" and value[1] in (None, "", [], {}):
            continue
        field = _model_field(entry.object_type, name)
        labels = getattr(entry, "_related_labels", None)
        coded = _CHANGE_VALUES.get(entry.object_type, {}).get(name)
        if coded:
            value = _decode(value, coded)
        rows.append(
            {
                "field": name,
                "label": _field_label(entry.object_type, name),
                "before": _display(value[0], field, labels) if is_change else "",
                "after": _display(value[1], field, labels) if is_change else _display(value, field, labels),
                "is_change": is_change,
            }
        )
    return rows


def changes_summary(entry: AuditEntry) -> str:
    """One line: ``label: before → after; ...`` (list pages and export)."""
    parts = []
    for row in change_rows(entry):
        if row["is_change"]:
            parts.append(f"{row['label']}: {row['before']} → {row['after']}")
        else:
            parts.append(f"{row['label']}: {row['after']}")
    return "; ".join(parts)


def actor_display(entry: AuditEntry) -> str:
    """``张三 (zhangsan)``, with ``代 李四`` when acting for someone; ``系统`` for system entries."""
    actor = entry.actor
    text = (
        f"{actor.display_name or actor.username} ({actor.username})" if actor else (entry.actor_label or "")
    )
    if not text or text == "system":
        text = _("系统")
    if entry.acting_for_id:
        other = entry.acting_for
        name = (other.display_name or other.username) if other else str(entry.acting_for_id)
        text += " " + _("代 %(name)s") % {"name": name}
    return text


FILTER_KEYS = ("actor", "object_type", "action", "date_from", "date_to", "object_id", "q")


def apply_filters(qs: models.QuerySet[AuditEntry], filters: dict[str, Any]) -> models.QuerySet[AuditEntry]:
    """The search filters, shared by the page, its export and the API. Dates are local calendar days."""
    from django.db.models import Q

    if filters.get("actor"):
        name = str(filters["actor"]).strip()
        qs = qs.filter(Q(actor__username__iexact=name) | Q(actor_label__iexact=name))
    if filters.get("object_type"):
        qs = qs.filter(object_type=filters["object_type"])
    if filters.get("action"):
        qs = qs.filter(action=filters["action"])
    if filters.get("object_id"):
        qs = qs.filter(object_id=str(filters["object_id"]).strip())
    if filters.get("date_from"):
        start = dt.datetime.combine(filters["date_from"], dt.time.min)
        qs = qs.filter(timestamp__gte=timezone.make_aware(start))
    if filters.get("date_to"):
        end = dt.datetime.combine(filters["date_to"] + dt.timedelta(days=1), dt.time.min)
        qs = qs.filter(timestamp__lt=timezone.make_aware(end))
    if filters.get("q"):
        text = str(filters["q"]).strip()
        qs = qs.filter(Q(reason__icontains=text) | Q(object_repr__icontains=text))
    return qs


def entry_list(*, actor: User, filters: dict[str, Any] | None = None) -> models.QuerySet[AuditEntry]:
    """Entries the user may read (``audit.view``), filtered; newest first."""
    from kehu.core import access

    access.require(actor, "audit.view")
    qs = access.restrict(actor, "audit.view", AuditEntry.objects.select_related("actor", "acting_for"))
    return apply_filters(qs, filters or {}).order_by("-seq")


def entry_get(*, actor: User, seq: int) -> AuditEntry:
    from kehu.core import access

    return access.get_scoped(
        actor, "audit.view", AuditEntry.objects.select_related("actor", "acting_for"), seq=seq
    )


def object_trail(*, actor: User, object_type: str, object_id: str) -> models.QuerySet[AuditEntry]:
    """The trail of one object by type and id, newest first."""
    return entry_list(actor=actor, filters={"object_type": object_type, "object_id": object_id})


def export_record(*, actor: User, filters: dict[str, Any], rows: int) -> AuditEntry:
    """Log an export of the trail (who exported what)."""
    return record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type=AuditEntry._meta.label_lower,
        object_repr=str(_("审计记录导出")),
        changes={
            "filters": {k: jsonable(v) for k, v in filters.items() if v not in (None, "")},
            "rows": rows,
        },
    )


@transaction.atomic
def verify_run(*, actor: User) -> VerifyResult:
    """Verify the chain for a user (``audit.verify``) and log that it was run and what it found."""
    from kehu.core import access

    access.require(actor, "audit.verify")
    result = verify()
    record(
        actor=actor,
        action=VERIFY_ACTION,
        object_type=AuditEntry._meta.label_lower,
        object_repr=str(_("审计链校验")),
        changes={
            "ok": result.ok,
            "checked": result.checked,
            "bad_seq": result.bad_seq,
            "problem": result.problem,
        },
    )
    return result


def last_verify() -> AuditEntry | None:
    """The latest logged run of the chain check."""
    return AuditEntry.objects.filter(action=VERIFY_ACTION).select_related("actor").order_by("-seq").first()
