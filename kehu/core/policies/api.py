"""Policies API (R-PLT-11): types, versions, the version in force at a date, proposing a change."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from kehu.core.policies import selectors, services
from kehu.core.policies.models import PolicyVersion

router = Router()


class TypeOut(Schema):
    key: str
    label: str
    description: str
    allows_trial: bool
    approver_roles: list[str]
    schema_: dict[str, Any] = Field(..., alias="schema")
    in_force_number: int | None
    in_force_status: str | None
    in_force_effective_from: dt.date | None


class VersionOut(Schema):
    id: int
    type_key: str
    number: int
    status: str
    values: dict[str, Any]
    effective_from: dt.date
    requested_trial: bool
    author: str | None
    approver: str | None
    reason: str
    created_at: dt.datetime
    approved_at: dt.datetime | None
    retired_at: dt.datetime | None
    case_id: int | None

    @staticmethod
    def resolve_author(obj: PolicyVersion) -> str | None:
        return obj.author.username if obj.author else None

    @staticmethod
    def resolve_approver(obj: PolicyVersion) -> str | None:
        return obj.approver.username if obj.approver else None


class InForceOut(Schema):
    key: str
    at: dt.date
    version_id: int
    number: int
    status: str
    values: dict[str, Any]


class ProposeIn(Schema):
    values: dict[str, Any]
    effective_from: dt.date
    reason: str
    trial: bool = False


@router.get("/types", response=list[TypeOut], by_alias=True)
def list_types(request: HttpRequest) -> list[dict[str, Any]]:
    rows = selectors.policy_types_in_force(actor=request.user)  # type: ignore[arg-type]
    return [
        {
            "key": r["type"].key,
            "label": str(r["type"].label),
            "description": str(r["type"].description),
            "allows_trial": r["type"].allows_trial,
            "approver_roles": list(r["type"].approver_roles),
            "schema": r["type"].schema.model_json_schema(),
            "in_force_number": r["in_force"].number if r["in_force"] else None,
            "in_force_status": r["in_force"].status if r["in_force"] else None,
            "in_force_effective_from": r["in_force"].effective_from if r["in_force"] else None,
        }
        for r in rows
    ]


@router.get("/types/{key}/versions", response=list[VersionOut])
def list_versions(request: HttpRequest, key: str) -> Any:
    return selectors.policy_versions(actor=request.user, key=key).order_by("-number")  # type: ignore[arg-type]


@router.get("/types/{key}/versions/{number}", response=VersionOut)
def get_version(request: HttpRequest, key: str, number: int) -> Any:
    return selectors.policy_version(actor=request.user, key=key, number=number)  # type: ignore[arg-type]


@router.get("/types/{key}/in-force", response=InForceOut)
def in_force(request: HttpRequest, key: str, at: dt.date | None = None) -> dict[str, Any]:
    selectors.policy_type_for(actor=request.user, key=key)  # type: ignore[arg-type]
    day = at or services.today()
    pv = services.policy_get(key, at=day)
    return {
        "key": key,
        "at": day,
        "version_id": pv.version_id,
        "number": pv.number,
        "status": pv.status,
        "values": pv.values.model_dump(mode="json"),
    }


@router.post("/types/{key}/propose", response={201: VersionOut})
def propose(request: HttpRequest, key: str, payload: ProposeIn) -> Any:
    version = services.policy_propose(
        actor=request.user,  # type: ignore[arg-type]
        key=key,
        values=payload.values,
        effective_from=payload.effective_from,
        reason=payload.reason,
        trial=payload.trial,
    )
    return Status(201, version)
