"""Workflow API: cases, transitions, the inbox, definitions and monitoring figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from kehu.core import access
from kehu.core.errors import NotFound, ValidationFailed
from kehu.workflow import engine, selectors
from kehu.workflow.models import Case, CaseEvent, ProcessDefinition, Task

router = Router()


class EventOut(Schema):
    seq: int
    transition: str
    label: str = Field(alias="transition_label")
    from_state: str
    to_state: str
    actor: str | None = None
    acting_for: str | None = None
    at: dt.datetime
    comment: str
    checklist: dict[str, str]
    attachments: list[int] = Field(alias="attachment_ids")
    send_back: bool
    overdue: bool

    @staticmethod
    def resolve_actor(obj: CaseEvent) -> str | None:
        return obj.actor.username if obj.actor else None

    @staticmethod
    def resolve_acting_for(obj: CaseEvent) -> str | None:
        return obj.acting_for.username if obj.acting_for else None


class CaseOut(Schema):
    id: int
    number: str
    definition: str
    version: int
    state: str
    title: str
    subject_type: str | None = None
    subject_id: str
    data: dict[str, Any]
    opened_by: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    state_due: dt.date | None

    @staticmethod
    def resolve_definition(obj: Case) -> str:
        return obj.definition.key

    @staticmethod
    def resolve_version(obj: Case) -> int:
        return obj.definition_version.number

    @staticmethod
    def resolve_subject_type(obj: Case) -> str | None:
        ct = obj.subject_type
        return f"{ct.app_label}.{ct.model}" if ct is not None else None

    @staticmethod
    def resolve_opened_by(obj: Case) -> str:
        return obj.opened_by.username


class TransitionOut(Schema):
    key: str
    label: str
    target: str
    comment_required: bool
    attachments_required: bool
    send_back: bool
    checklist: list[dict[str, Any]]


class CaseDetailOut(CaseOut):
    events: list[EventOut]
    allowed: list[TransitionOut]

    @staticmethod
    def resolve_events(obj: Any) -> list[Any]:
        return list(obj.events.select_related("actor", "acting_for").order_by("seq"))

    @staticmethod
    def resolve_allowed(obj: Any) -> list[dict[str, Any]]:
        return list(obj.allowed_for_request)


class TransitionIn(Schema):
    comment: str = ""
    checklist: dict[str, str] = Field(default_factory=dict, description='answers: "yes" | "no" | "na"')
    attachments: list[int] = Field(default_factory=list, description="ids of attachments of this case")
    expected_state: str | None = Field(None, description="the state the client saw (stale → 409)")


class TaskOut(Schema):
    id: int
    kind: str
    title: str
    case_id: int | None
    case_number: str | None = None
    assignee: str | None = None
    assignee_role: str
    acting_for: str | None = Field(None, description="username whose task this is, when acting as AB backup")
    due: dt.date | None
    overdue: bool = False
    url: str = ""
    created_at: dt.datetime

    @staticmethod
    def resolve_case_number(obj: Task) -> str | None:
        return obj.case.number if obj.case is not None else None

    @staticmethod
    def resolve_assignee(obj: Task) -> str | None:
        return obj.assignee.username if obj.assignee is not None else None

    @staticmethod
    def resolve_acting_for(obj: Task, context: Any) -> str | None:
        user = context["request"].user
        return obj.assignee.username if obj.assignee is not None and obj.assignee_id != user.pk else None

    @staticmethod
    def resolve_overdue(obj: Task) -> bool:
        return bool(obj.due and obj.due < timezone.localdate())

    @staticmethod
    def resolve_url(obj: Task) -> str:
        return obj.url()


class DefinitionOut(Schema):
    key: str
    name: str
    level: str
    owner_role: str
    departments: list[str]
    key_control_points: list[str]
    kpis: list[str]
    versions: list[dict[str, Any]]


def _allowed(case: Case, user: Any) -> list[dict[str, Any]]:
    return [
        {
            "key": t.key,
            "label": str(t.label),
            "target": t.target,
            "comment_required": t.comment_required,
            "attachments_required": t.attachments_required,
            "send_back": t.send_back,
            "checklist": [
                {"key": c.key, "label": str(c.label), "mandatory": c.mandatory} for c in t.checklist
            ],
        }
        for t in engine.allowed_transitions(case, user)
    ]


def _detail(case: Case, user: Any) -> Case:
    case.allowed_for_request = _allowed(case, user)  # type: ignore[attr-defined]
    return case


@router.get("/cases", response=list[CaseOut], summary="Cases the user may see")
@paginate(PageNumberPagination, page_size=50)
def cases(
    request: HttpRequest,
    definition: str | None = None,
    state: str | None = None,
    open: bool | None = None,
    q: str | None = None,
) -> Any:
    """Filters: definition key, state, open (true: running, false: closed), q (text in number or title)."""
    qs = selectors.cases_visible(request.user).select_related("subject_type")
    if definition:
        qs = qs.filter(definition__key=definition)
    if state:
        qs = qs.filter(state=state)
    if open is not None:
        qs = qs.filter(closed_at__isnull=open)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(number__icontains=q))
    return qs.order_by("-opened_at", "-pk")


@router.get(
    "/cases/{case_id}", response=CaseDetailOut, summary="A case with its history and allowed transitions"
)
def case(request: HttpRequest, case_id: int) -> Any:
    return _detail(engine.case_get(actor=request.user, case_id=case_id), request.user)  # type: ignore[arg-type]


@router.post("/cases/{case_id}/transitions/{key}", response=CaseDetailOut, summary="Take a transition")
def transition(request: HttpRequest, case_id: int, key: str, payload: TransitionIn) -> Any:
    case = engine.case_transition(
        actor=request.user,  # type: ignore[arg-type]
        case_id=case_id,
        transition=key,
        comment=payload.comment,
        checklist=payload.checklist,
        attachments=payload.attachments,
        expected_state=payload.expected_state,
    )
    return _detail(engine.case_get(actor=request.user, case_id=case.pk), request.user)  # type: ignore[arg-type]


@router.get("/inbox", response=list[TaskOut], summary="Open tasks of the user (own, role, AB backup)")
@paginate(PageNumberPagination, page_size=50)
def inbox(request: HttpRequest) -> Any:
    user: Any = request.user
    access.require(user, "workflow.inbox.view")
    return selectors.inbox_tasks(user).order_by("due", "-created_at", "pk")


@router.get("/definitions", response=list[DefinitionOut], summary="Process definitions and their versions")
def definitions(request: HttpRequest) -> Any:
    out = []
    for pd in selectors.definitions_visible(request.user).prefetch_related("versions"):
        out.append(
            {
                "key": pd.key,
                "name": pd.name,
                "level": pd.level,
                "owner_role": pd.owner_role,
                "departments": pd.departments,
                "key_control_points": pd.key_control_points,
                "kpis": pd.kpis,
                "versions": [
                    {
                        "number": v.number,
                        "status": v.status,
                        "spec_hash": v.spec_hash,
                        "trial_started_at": v.trial_started_at,
                        "formal_at": v.formal_at,
                    }
                    for v in sorted(pd.versions.all(), key=lambda v: -v.number)
                ],
            }
        )
    return out


class MonitoringIn(Schema):
    definition: str
    start: dt.date | None = None
    end: dt.date | None = None


@router.get("/monitoring", response=dict[str, Any], summary="Figures of one definition over a period")
def monitoring(request: HttpRequest, params: Query[MonitoringIn]) -> Any:
    access.require(request.user, "workflow.monitoring.view")
    pd = ProcessDefinition.objects.filter(key=params.definition).first()
    if pd is None:
        raise NotFound()
    end = params.end or timezone.localdate()
    start = params.start or end - dt.timedelta(days=90)
    if start > end:
        raise ValidationFailed(_("结束日期不能早于开始日期。"), field="end", rule="after_start")
    return selectors.monitoring(actor=request.user, definition=pd, start=start, end=end).as_dict()
