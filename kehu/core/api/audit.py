"""Audit trail API (R-PLT-04): search entries, read one entry, verify the chain."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from kehu.core import audit
from kehu.core.models import AuditEntry

router = Router()


class EntryFilters(Schema):
    actor: str | None = Field(None, description="username of the actor")
    object_type: str | None = Field(None, description="app_label.model, e.g. core.user")
    action: str | None = None
    date_from: dt.date | None = Field(None, description="first local day (inclusive)")
    date_to: dt.date | None = Field(None, description="last local day (inclusive)")
    object_id: str | None = None
    q: str | None = Field(None, description="text in the reason or the object's name")


class ChangeOut(Schema):
    field: str
    label: str
    before: str
    after: str
    is_change: bool


class EntryOut(Schema):
    seq: int
    timestamp: dt.datetime
    actor: str | None
    actor_label: str
    acting_for: str | None
    action: str
    action_label: str
    object_type: str
    object_id: str
    object_repr: str
    changes: Any
    reason: str
    policy_version: str | None
    confidential: bool

    @staticmethod
    def resolve_actor(obj: AuditEntry) -> str | None:
        return obj.actor.username if obj.actor else None

    @staticmethod
    def resolve_acting_for(obj: AuditEntry) -> str | None:
        return obj.acting_for.username if obj.acting_for else None

    @staticmethod
    def resolve_action_label(obj: AuditEntry) -> str:
        return audit.action_label(obj.action)

    @staticmethod
    def resolve_policy_version(obj: AuditEntry) -> str | None:
        return obj.policy_version or None


class EntryDetailOut(EntryOut):
    ip: str | None
    prev_hash: str
    hash: str
    change_rows: list[ChangeOut]

    @staticmethod
    def resolve_change_rows(obj: AuditEntry) -> list[dict[str, Any]]:
        return audit.change_rows(audit.prefetch_labels([obj])[0])


class VerifyOut(Schema):
    ok: bool
    checked: int
    bad_seq: int | None
    problem: str


@router.get("/entries", response=list[EntryOut], summary="Search the audit trail (newest first)")
@paginate(PageNumberPagination, page_size=50, max_page_size=500)
def list_entries(request: HttpRequest, filters: Query[EntryFilters]) -> Any:
    return audit.entry_list(actor=request.user, filters=filters.dict(exclude_none=True))  # type: ignore[arg-type]


@router.get("/entries/{seq}", response=EntryDetailOut, summary="One audit entry with its hashes")
def get_entry(request: HttpRequest, seq: int) -> AuditEntry:
    return audit.entry_get(actor=request.user, seq=seq)  # type: ignore[arg-type]


@router.post("/verify", response=VerifyOut, summary="Verify the hash chain")
def verify_chain(request: HttpRequest) -> "audit.VerifyResult":
    return audit.verify_run(actor=request.user)  # type: ignore[arg-type]
