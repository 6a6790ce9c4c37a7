"""Policy services: the version in force at a date, proposing, approving and retiring versions."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Case, IntegerField, Max, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import BaseModel

from kehu.core import access, audit
from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import User
from kehu.core.models.audit import AuditAction
from kehu.core.policies import schema as schema_mod
from kehu.core.policies.models import PolicyStatus, PolicyVersion
from kehu.core.policies.registry import PolicyType, get_type, types

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger(__name__)

DEFAULT_EFFECTIVE_FROM = dt.date(2000, 1, 1)
CASE_DEFINITION = "policy_change"


@dataclass(frozen=True)
class PolicyValue:
    """The version of a policy in force: store ``version_id`` with every decision made under it."""

    version_id: int
    number: int
    status: str
    values: BaseModel
    key: str = ""


# ---------------------------------------------------------------------------------------------------------------
# Cache: per thread, dropped at the start and end of every request and job, and on every write.

_local = threading.local()


def clear_cache(**_kwargs: Any) -> None:
    _local.cache = {}


def _cache() -> dict[tuple[str, dt.date], PolicyValue]:
    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    return cache


def today() -> dt.date:
    return timezone.localdate()


class UnknownPolicyType(NotFound, LookupError):
    """No policy type is declared under this key (404 to users; a LookupError to code)."""


def _ptype(key: str) -> PolicyType:
    try:
        return get_type(key)
    except LookupError:
        raise UnknownPolicyType(_("制度类型 %(key)s 不存在。") % {"key": key}) from None


def ensure_default(ptype: PolicyType) -> None:
    """Store the declared default as version 1 (formal, effective 2000-01-01, author: system) if missing."""
    if PolicyVersion.objects.filter(type_key=ptype.key, number=1).exists():
        return
    try:
        with transaction.atomic():
            PolicyVersion.objects.create(
                type_key=ptype.key,
                number=1,
                values=ptype.default_values(),
                effective_from=DEFAULT_EFFECTIVE_FROM,
                status=PolicyStatus.FORMAL,
                reason=_("系统默认值"),
                approved_at=timezone.now(),
            )
    except IntegrityError:
        pass  # created concurrently


def ensure_defaults(**_kwargs: Any) -> None:
    for ptype in types():
        ensure_default(ptype)


def _in_force_qs(ptype: PolicyType, at: dt.date) -> Any:
    statuses = [PolicyStatus.FORMAL, PolicyStatus.TRIAL] if ptype.allows_trial else [PolicyStatus.FORMAL]
    # A version retired after it was approved still governs the days before its retirement: retiring it must not
    # rewrite past decisions. Rejected proposals were never approved and never apply.
    next_day = timezone.make_aware(dt.datetime.combine(at + dt.timedelta(days=1), dt.time.min))
    was_in_force = Q(status=PolicyStatus.RETIRED, approved_at__isnull=False, retired_at__gte=next_day)
    return (
        PolicyVersion.objects.filter(type_key=ptype.key, effective_from__lte=at)
        .filter(Q(status__in=statuses) | was_in_force)
        .annotate(
            rank=Case(
                When(status=PolicyStatus.FORMAL, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("-effective_from", "rank", "-number")
    )


def version_in_force(key: str, at: dt.date | None = None) -> PolicyVersion:
    ptype = _ptype(key)
    at = at or today()
    version = _in_force_qs(ptype, at).first()
    if version is None:
        ensure_default(ptype)
        version = _in_force_qs(ptype, at).first()
    if version is None:  # pragma: no cover - v1 is effective from 2000-01-01
        raise NotFound(_("制度 %(key)s 在 %(date)s 没有生效的版本。") % {"key": key, "date": at})
    return version


def values_of(ptype: PolicyType, version: PolicyVersion) -> BaseModel:
    """The stored values as the schema's model; fields added to the schema later take their defaults."""
    merged = {**ptype.default_values(), **(version.values or {})}
    try:
        return ptype.schema.model_validate(merged)
    except Exception:
        log.warning("policy %s v%s does not match the schema; using the default", ptype.key, version.number)
        return ptype.default


def policy_values(key: str, model: type[M], at: dt.date | None = None) -> tuple[M, int | None]:
    """The values of policy ``key`` in force on ``at`` as ``model`` (the type's schema), with the version id; the
    schema's defaults and None when no version exists. What a module reads before applying a rule."""
    try:
        value = policy_get(key, at)
    except LookupError:
        return model(), None
    values = value.values
    if not isinstance(values, model):
        values = model.model_validate(values if isinstance(values, dict) else values.model_dump())
    return values, value.version_id


def policy_get(key: str, at: dt.date | None = None) -> PolicyValue:
    """The version of policy ``key`` in force on ``at`` (today when None).

    Among non-retired versions effective on or before ``at`` with status formal (or trial, where the type allows
    trials), the latest effective date wins; on the same date a formal version beats a trial one."""
    at = at or today()
    cache = _cache()
    hit = cache.get((key, at))
    if hit is not None:
        return hit
    ptype = _ptype(key)
    version = version_in_force(key, at)
    value = PolicyValue(
        version_id=version.pk,
        number=version.number,
        status=version.status,
        values=values_of(ptype, version),
        key=key,
    )
    cache[(key, at)] = value
    return value


def policy_value_for_audit(pv: PolicyValue | PolicyVersion | int) -> str:
    """What an audit entry's ``policy_version`` stores for a decision made under ``pv``."""
    if isinstance(pv, PolicyValue):
        return str(pv.version_id)
    if isinstance(pv, PolicyVersion):
        return str(pv.pk)
    return str(pv)


# ---------------------------------------------------------------------------------------------------------------
# Writes


def _next_number(key: str) -> int:
    top = PolicyVersion.objects.filter(type_key=key).aggregate(m=Max("number"))["m"] or 0
    return int(top) + 1


def _lock_type(ptype: PolicyType) -> None:
    """Serialise writers of one policy type on its version 1 row (the fixed lock order: type, then version)."""
    ensure_default(ptype)
    list(PolicyVersion.objects.select_for_update().filter(type_key=ptype.key, number=1).values_list("pk"))


@transaction.atomic
def policy_propose(
    *,
    actor: User,
    key: str,
    values: dict[str, Any],
    effective_from: dt.date,
    reason: str,
    trial: bool = False,
) -> PolicyVersion:
    """Propose a new version: validated against the schema, stored as a draft and sent for approval."""
    access.require(actor, "policy.propose")
    ptype = _ptype(key)
    if not (reason or "").strip():
        raise ValidationFailed(_("请填写变更理由。"), field="reason", rule="required")
    if trial and not ptype.allows_trial:
        raise ValidationFailed(
            _("制度“%(label)s”不允许试行，只能正式发布。") % {"label": ptype.label},
            field="trial",
            rule="trial_not_allowed",
        )
    if effective_from is None:
        raise ValidationFailed(_("请填写生效日期。"), field="effective_from", rule="required")
    if not trial and effective_from < today():
        raise ValidationFailed(
            _("正式版本的生效日期不能早于今天（%(today)s）。") % {"today": today()},
            field="effective_from",
            rule="not_in_past",
        )
    model = schema_mod.validate(ptype.schema, values)
    _lock_type(ptype)
    version = PolicyVersion.objects.create(
        type_key=key,
        number=_next_number(key),
        values=model.model_dump(mode="json"),
        effective_from=effective_from,
        status=PolicyStatus.DRAFT,
        requested_trial=trial,
        author=actor,
        reason=reason.strip(),
    )
    clear_cache()
    case = _open_case(actor, ptype, version)
    if case is not None:
        version.case_id = case.pk
        version.refresh_from_db(fields=["status"])
        version.save(update_fields=["case_id"])
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=version,
        changes={
            "values": [None, version.values],
            "effective_from": [None, str(effective_from)],
            "status": [None, version.status],
            "trial": [None, trial],
        },
        reason=version.reason,
        policy_version=version.pk,
    )
    return version


def _engine() -> Any:
    try:
        from kehu.workflow import engine
    except ImportError:
        return None
    if not hasattr(engine, "case_open") or not hasattr(engine, "case_transition"):
        return None
    return engine


def _open_case(actor: User, ptype: PolicyType, version: PolicyVersion) -> Any:
    engine = _engine()
    if engine is None:
        return None
    from kehu.core.policies.workflow import ensure_registered

    ensure_registered()
    case = engine.case_open(
        actor=actor,
        definition_key=CASE_DEFINITION,
        subject=version,
        title=_("制度变更：%(label)s 第%(number)s版") % {"label": ptype.label, "number": version.number},
        data={"policy_type": ptype.key, "version_id": version.pk, "trial": version.requested_trial},
    )
    return engine.case_transition(actor=actor, case_id=case.pk, transition="submit", comment=version.reason)


def _mark(version_id: int, actor: User | None, frm: str, to: str, reason: str) -> None:
    """A status step of the proposal inside its approval case, written to the version's own trail."""
    if PolicyVersion.objects.filter(pk=version_id, status=frm).update(status=to):
        version = PolicyVersion.objects.get(pk=version_id)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=version,
            changes={"status": [frm, to]},
            reason=reason,
            policy_version=version.pk,
        )


def mark_pending(version_id: int, actor: User | None = None) -> None:
    """The proposal was submitted for review."""
    _mark(version_id, actor, PolicyStatus.DRAFT, PolicyStatus.PENDING, "submitted for review")


def mark_draft(version_id: int, actor: User | None = None) -> None:
    """The proposal was sent back to its author."""
    _mark(version_id, actor, PolicyStatus.PENDING, PolicyStatus.DRAFT, "sent back")


def apply_approval(*, approver: User, version_id: int) -> PolicyVersion:
    """The approval decision (called by the approval case's effect, inside its transaction): the version becomes
    trial or formal; an older formal version of the same type with the same effective date is retired."""
    version = PolicyVersion.objects.select_for_update().filter(pk=version_id).first()
    if version is None:
        raise NotFound()
    ptype = _ptype(version.type_key)
    if version.status not in (PolicyStatus.DRAFT, PolicyStatus.PENDING):
        raise Conflict(_("该版本已处理（当前状态：%(s)s）。") % {"s": version.get_status_display()})
    if approver.pk == version.author_id:
        raise PermissionDenied(_("提出人不能批准自己的制度变更。"))
    if not set(approver.role_codes()) & set(ptype.approver_roles):
        raise PermissionDenied(_("您不是该制度的批准人。"))
    now = timezone.now()
    before = version.status
    version.status = (
        PolicyStatus.TRIAL if version.requested_trial and ptype.allows_trial else PolicyStatus.FORMAL
    )
    version.approver = approver
    version.approved_at = now
    version.save(update_fields=["status", "approver", "approved_at"])
    if version.status == PolicyStatus.FORMAL:
        for old in PolicyVersion.objects.select_for_update().filter(
            type_key=version.type_key,
            status=PolicyStatus.FORMAL,
            effective_from=version.effective_from,
            number__lt=version.number,
        ):
            old.status = PolicyStatus.RETIRED
            old.retired_at = now
            old.retire_reason = _("被第%(n)s版取代") % {"n": version.number}
            old.save(update_fields=["status", "retired_at", "retire_reason"])
            audit.record(
                actor=approver,
                action=AuditAction.UPDATE,
                obj=old,
                changes={"status": [PolicyStatus.FORMAL, PolicyStatus.RETIRED]},
                reason=old.retire_reason,
                policy_version=old.pk,
            )
    clear_cache()
    audit.record(
        actor=approver,
        action=AuditAction.DECISION,
        obj=version,
        changes={"status": [before, version.status], "approver": [None, approver.pk]},
        reason=_("批准制度变更"),
        policy_version=version.pk,
    )
    return version


def apply_rejection(*, actor: User, version_id: int, reason: str = "") -> PolicyVersion:
    version = PolicyVersion.objects.select_for_update().filter(pk=version_id).first()
    if version is None:
        raise NotFound()
    if version.status not in (PolicyStatus.DRAFT, PolicyStatus.PENDING):
        raise Conflict(_("该版本已处理（当前状态：%(s)s）。") % {"s": version.get_status_display()})
    before = version.status
    version.status = PolicyStatus.RETIRED
    version.retired_at = timezone.now()
    version.retire_reason = reason or _("变更被驳回")
    version.save(update_fields=["status", "retired_at", "retire_reason"])
    clear_cache()
    audit.record(
        actor=actor,
        action=AuditAction.DECISION,
        obj=version,
        changes={"status": [before, version.status]},
        reason=version.retire_reason,
        policy_version=version.pk,
    )
    return version


@transaction.atomic
def policy_retire(*, actor: User, version_id: int, reason: str) -> PolicyVersion:
    """Retire a trial or formal version: it no longer applies from the day it is retired; the days before keep
    it, so past decisions stay explained. Only the type's approvers retire. Version 1 (the default) stays."""
    access.require(actor, "policy.approve")
    version = PolicyVersion.objects.select_for_update().filter(pk=version_id).first()
    if version is None:
        raise NotFound()
    ptype = _ptype(version.type_key)
    if not (reason or "").strip():
        raise ValidationFailed(_("请填写废止理由。"), field="reason", rule="required")
    if version.status == PolicyStatus.RETIRED:
        raise Conflict(_("该版本已废止。"))
    if version.number == 1:
        raise ValidationFailed(_("默认版本（第1版）不能废止。"), field="version_id", rule="default_version")
    if version.status in (PolicyStatus.DRAFT, PolicyStatus.PENDING) and version.case_id:
        raise Conflict(_("该版本正在审批中，请在审批流程中驳回。"))
    if not set(actor.role_codes()) & set(ptype.approver_roles):
        raise PermissionDenied(_("您不是该制度的批准人。"))
    before = version.status
    version.status = PolicyStatus.RETIRED
    version.retired_at = timezone.now()
    version.retire_reason = reason.strip()
    version.save(update_fields=["status", "retired_at", "retire_reason"])
    clear_cache()
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=version,
        changes={"status": [before, PolicyStatus.RETIRED]},
        reason=version.retire_reason,
        policy_version=version.pk,
    )
    return version
