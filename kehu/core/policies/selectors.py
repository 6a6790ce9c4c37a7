"""Reads of policies for pages and the API (every signed-in role may read policies)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from kehu.core import access
from kehu.core.models import User
from kehu.core.policies.models import PolicyStatus, PolicyVersion
from kehu.core.policies.registry import PolicyType, types
from kehu.core.policies.services import _ptype, ensure_defaults, today


def policy_types_in_force(*, actor: User, at: dt.date | None = None) -> list[dict[str, Any]]:
    """Every policy type with the version in force on ``at`` and the number of open proposals (2 queries)."""
    access.require(actor, "policy.view")
    at = at or today()
    all_types = types()
    qs = (
        PolicyVersion.objects.filter(type_key__in=[t.key for t in all_types])
        .exclude(status=PolicyStatus.RETIRED)
        .only("pk", "type_key", "number", "status", "effective_from", "requested_trial")
    )
    rows = list(qs)
    if {t.key for t in all_types} - {v.type_key for v in rows if v.number == 1}:
        ensure_defaults()
        rows = list(qs.all())
    out = []
    for ptype in all_types:
        mine = [v for v in rows if v.type_key == ptype.key]
        allowed = {PolicyStatus.FORMAL, PolicyStatus.TRIAL} if ptype.allows_trial else {PolicyStatus.FORMAL}
        candidates = [v for v in mine if v.status in allowed and v.effective_from <= at]
        candidates.sort(
            key=lambda v: (v.effective_from, v.status == PolicyStatus.FORMAL, v.number), reverse=True
        )
        upcoming = sorted(
            (v for v in mine if v.status in allowed and v.effective_from > at), key=lambda v: v.effective_from
        )
        out.append(
            {
                "type": ptype,
                "in_force": candidates[0] if candidates else None,
                "upcoming": upcoming[0] if upcoming else None,
                "open": sum(1 for v in mine if v.status in (PolicyStatus.DRAFT, PolicyStatus.PENDING)),
            }
        )
    return out


def policy_type_for(*, actor: User, key: str) -> PolicyType:
    access.require(actor, "policy.view")
    return _ptype(key)


def policy_versions(*, actor: User, key: str) -> QuerySet[PolicyVersion]:
    access.require(actor, "policy.view")
    _ptype(key)
    return PolicyVersion.objects.filter(type_key=key).select_related("author", "approver")


def policy_version(*, actor: User, key: str, number: int) -> PolicyVersion:
    return access.get_scoped(actor, "policy.view", policy_versions(actor=actor, key=key), number=number)
