"""The workflow engine (R-PLT-12, DESIGN idea 2).

A module declares its process in Python with :func:`register_definition`; the declaration is stored as a
versioned snapshot (``DefinitionVersion.spec``) the first time it is used and whenever it changes. Cases keep the
version they started with. :func:`case_transition` is the single way a case moves: it locks the case row, checks the
transition (state, assignment or AB backup, role, comment, attachments, checklist, guards), records the event,
moves the tasks of the inbox, runs the effects and writes one audit entry.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import access, audit
from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.workflow.models import (
    Case,
    CaseEvent,
    DefinitionVersion,
    ProcessDefinition,
    Task,
    TaskKind,
    TaskState,
    VersionStatus,
)

if TYPE_CHECKING:
    from kehu.core.models import User

Guard = Callable[[Case, Any], "str | None"]
Effect = Callable[[Case, Any, dict[str, Any]], None]
AssigneeFn = Callable[[Case], Any]  # -> User | list[User] | None

ANSWERS = ("yes", "no", "na")


# ---------------------------------------------------------------------------------------------------------------
# Declarations


@dataclass(frozen=True)
class Check:
    key: str
    label: str | Promise
    mandatory: bool = False


@dataclass(frozen=True)
class State:
    key: str
    label: str | Promise
    assignee_role: str | None = None  # role code; None (and no ``assignee``): the case's opener
    deadline_days: int | None = None  # working days from entering the state
    final: bool = False
    assignee: AssigneeFn | None = None  # case -> user or list of users (one task each)
    department_limited: bool = False  # role tasks only for holders within the case's department


@dataclass(frozen=True)
class Transition:
    key: str
    label: str | Promise
    source: str | Sequence[str]
    target: str
    roles: Sequence[str] = ()  # empty: whoever holds the task may take it
    guards: Sequence[Guard] = ()
    effects: Sequence[Effect] = ()
    comment_required: bool = False
    attachments_required: bool = False
    checklist: Sequence[Check] = ()
    send_back: bool = False
    cosign: bool = False  # each assignee of the source state signs; the case moves when all have signed

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,) if isinstance(self.source, str) else tuple(self.source)


@dataclass(frozen=True)
class Definition:
    key: str
    name: str | Promise
    states: Sequence[State]
    transitions: Sequence[Transition]
    initial: str
    level: str = "L3"
    owner_role: str = ""
    owner_user: str = ""  # username of the process owner, when a person
    departments: Sequence[str] = ()
    key_control_points: Sequence[str | Promise] = ()
    kpis: Sequence[str | Promise] = ()
    # A confidential process: the only cases of it a user may see (a Q over Case, e.g. those whose module record
    # the user may read). The engine's own pages, lists and API apply it on top of their rule; a user holding a
    # task of the case still sees it.
    visible_to: Callable[[Any], Q] | None = None
    number_prefix: str = ""  # of the case numbers; by default from the key (see case_prefix)
    _states: dict[str, State] = field(default_factory=dict, repr=False, compare=False)
    _transitions: dict[str, Transition] = field(default_factory=dict, repr=False, compare=False)

    def state(self, key: str) -> State | None:
        return self._states.get(key)

    def transition(self, key: str) -> Transition | None:
        return self._transitions.get(key)

    def spec(self) -> dict[str, Any]:
        """The declaration as JSON (labels in the source language), stored with each version."""
        with translation.override("zh-hans"):
            return {
                "key": self.key,
                "name": str(self.name),
                "level": self.level,
                "owner_role": self.owner_role,
                "owner_user": self.owner_user,
                "departments": list(self.departments),
                "key_control_points": [str(x) for x in self.key_control_points],
                "kpis": [str(x) for x in self.kpis],
                "initial": self.initial,
                "states": [
                    {
                        "key": s.key,
                        "label": str(s.label),
                        "assignee_role": s.assignee_role or "",
                        "assignee": _callable_name(s.assignee) if s.assignee else "",
                        "deadline_days": s.deadline_days,
                        "final": s.final,
                        "department_limited": s.department_limited,
                    }
                    for s in self.states
                ],
                "transitions": [
                    {
                        "key": t.key,
                        "label": str(t.label),
                        "source": list(t.sources),
                        "target": t.target,
                        "roles": list(t.roles),
                        "guards": [_callable_name(g) for g in t.guards],
                        "effects": [_callable_name(e) for e in t.effects],
                        "comment_required": t.comment_required,
                        "attachments_required": t.attachments_required,
                        "checklist": [
                            {"key": c.key, "label": str(c.label), "mandatory": c.mandatory}
                            for c in t.checklist
                        ],
                        "send_back": t.send_back,
                        "cosign": t.cosign,
                    }
                    for t in self.transitions
                ],
            }


def _callable_name(fn: Any) -> str:
    name = getattr(fn, "guard_name", None) or getattr(fn, "__qualname__", None) or repr(fn)
    return str(name)


def spec_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


_REGISTRY: dict[str, Definition] = {}
_LOCK = threading.Lock()


def register_definition(definition: Definition) -> Definition:
    """Declare a process. Declaring the same key again replaces the declaration (its next use syncs a version)."""
    states = {s.key: s for s in definition.states}
    if len(states) != len(definition.states):
        raise ValueError(f"{definition.key}: duplicate state keys")
    if definition.initial not in states:
        raise ValueError(f"{definition.key}: initial state {definition.initial!r} is not declared")
    transitions = {t.key: t for t in definition.transitions}
    if len(transitions) != len(definition.transitions):
        raise ValueError(f"{definition.key}: duplicate transition keys")
    for t in definition.transitions:
        for s in (*t.sources, t.target):
            if s not in states:
                raise ValueError(f"{definition.key}.{t.key}: unknown state {s!r}")
    prefix = case_prefix(definition)
    with _LOCK:
        clash = [d.key for d in _REGISTRY.values() if d.key != definition.key and case_prefix(d) == prefix]
    if clash:
        raise ValueError(f"{definition.key}: case number prefix {prefix!r} already used by {clash[0]}")
    definition._states.clear()
    definition._states.update(states)
    definition._transitions.clear()
    definition._transitions.update(transitions)
    with _LOCK:
        _REGISTRY[definition.key] = definition
    return definition


def case_prefix(definition: Definition) -> str:
    """The prefix of the process's case numbers: ``number_prefix``, or the key in capitals without underscores,
    at most 12 characters. Two processes may not share one."""
    return (definition.number_prefix or definition.key.upper().replace("_", ""))[:12]


def unregister_definition(key: str) -> None:
    with _LOCK:
        _REGISTRY.pop(key, None)


def get_definition(key: str) -> Definition:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise NotFound(_("流程定义不存在。")) from None


def registered() -> list[Definition]:
    return sorted(_REGISTRY.values(), key=lambda d: d.key)


# ---------------------------------------------------------------------------------------------------------------
# Versions: the declaration synced to the database


def sync_definition(key: str) -> DefinitionVersion:
    """The version matching the current declaration, created when the declaration changed.

    The first version of a definition starts formal; a later version starts in trial (it is promoted by the
    definition-approval case once the trial minimum has passed)."""
    definition = get_definition(key)
    spec = definition.spec()
    digest = spec_hash(spec)
    known = (
        DefinitionVersion.objects.filter(definition__key=key, spec_hash=digest)
        .exclude(status=VersionStatus.RETIRED)
        .order_by("-number")
        .first()
    )
    if known is not None:  # the usual case: nothing changed, no lock taken
        return known
    with transaction.atomic():
        pd, created = ProcessDefinition.objects.select_for_update().get_or_create(
            key=key, defaults=_definition_fields(definition)
        )
        if not created:
            fields = _definition_fields(definition)
            if any(getattr(pd, k) != v for k, v in fields.items()):
                for k, v in fields.items():
                    setattr(pd, k, v)
                pd.save(update_fields=list(fields))
        version = (
            pd.versions.filter(spec_hash=digest)
            .exclude(status=VersionStatus.RETIRED)
            .order_by("-number")
            .first()
        )
        if version is not None:
            return version
        last = pd.versions.order_by("-number").first()
        now = timezone.now()
        first = last is None
        version = DefinitionVersion.objects.create(
            definition=pd,
            number=(last.number + 1) if last else 1,
            spec=spec,
            spec_hash=digest,
            status=VersionStatus.FORMAL if first else VersionStatus.TRIAL,
            trial_started_at=None if first else now,
            formal_at=now if first else None,
        )
        audit.record(
            actor=None,
            action="create",
            obj=version,
            changes={"status": [None, version.status], "spec_hash": [None, digest]},
            reason=_("流程定义已更新，新版本进入试运行。") if not first else _("流程定义首个版本。"),
        )
        return version


def _definition_fields(definition: Definition) -> dict[str, Any]:
    from kehu.core.models import User

    spec = definition.spec()
    owner = User.objects.filter(username=definition.owner_user).first() if definition.owner_user else None
    return {
        "name": spec["name"][:200],
        "level": definition.level,
        "owner_role": definition.owner_role,
        "owner_user": owner,
        "departments": spec["departments"],
        "key_control_points": spec["key_control_points"],
        "kpis": spec["kpis"],
    }


def sync_all(**_kwargs: Any) -> None:
    """post_migrate: store every declared definition."""
    for definition in registered():
        sync_definition(definition.key)


def current_version(key: str) -> DefinitionVersion:
    """The version new cases of ``key`` use: the newest trial-or-formal one (after syncing the declaration)."""
    synced = sync_definition(key)
    newest = (
        DefinitionVersion.objects.filter(
            definition_id=synced.definition_id, status__in=[VersionStatus.TRIAL, VersionStatus.FORMAL]
        )
        .order_by("-number")
        .first()
    )
    return newest or synced


# ---------------------------------------------------------------------------------------------------------------
# Reading a version's spec


@dataclass(frozen=True)
class SpecView:
    """A version's stored spec with the current declaration's callables (guards, effects, assignees)."""

    version: DefinitionVersion
    definition: Definition | None

    @property
    def spec(self) -> dict[str, Any]:
        return self.version.spec

    def state(self, key: str) -> dict[str, Any] | None:
        return next((s for s in self.spec["states"] if s["key"] == key), None)

    def transition(self, key: str) -> dict[str, Any] | None:
        return next((t for t in self.spec["transitions"] if t["key"] == key), None)

    def transitions_from(self, state: str) -> list[dict[str, Any]]:
        return [t for t in self.spec["transitions"] if state in t["source"]]

    def py_transition(self, key: str) -> Transition | None:
        return self.definition.transition(key) if self.definition else None

    def py_state(self, key: str) -> State | None:
        return self.definition.state(key) if self.definition else None


def spec_view(version: DefinitionVersion) -> SpecView:
    return SpecView(version=version, definition=_REGISTRY.get(version.spec["key"]))


def _transition_obj(sv: SpecView, t: dict[str, Any]) -> Transition:
    """A Transition built from the stored spec, with the callables of the current declaration."""
    py = sv.py_transition(t["key"])
    return Transition(
        key=t["key"],
        label=gettext_lazy(t["label"]),
        source=tuple(t["source"]),
        target=t["target"],
        roles=tuple(t["roles"]),
        guards=tuple(py.guards) if py else (),
        effects=tuple(py.effects) if py else (),
        comment_required=t["comment_required"],
        attachments_required=t["attachments_required"],
        checklist=tuple(Check(c["key"], gettext_lazy(c["label"]), c["mandatory"]) for c in t["checklist"]),
        send_back=t["send_back"],
        cosign=t["cosign"],
    )


# ---------------------------------------------------------------------------------------------------------------
# Guards


def not_preparer(of_state: str | None = None) -> Guard:
    """Segregation of duties: who prepared the case may not take this transition.

    The preparer is whoever took the last transition out of ``of_state``; by default the case's opener and whoever
    submitted it out of the initial state. Acting for the preparer as their backup counts as the preparer too."""

    def guard(case: Case, user: Any) -> str | None:
        if of_state is None:
            initial = case.definition_version.spec["initial"]
            events = case.events.filter(from_state=initial, send_back=False)
            preparers = {case.opened_by_id}
        else:
            events = case.events.filter(from_state=of_state, send_back=False).order_by("-seq")[:1]
            preparers = set()
        for actor_id, acting_for_id in events.values_list("actor_id", "acting_for_id"):
            preparers.update({actor_id, acting_for_id})
        preparers.discard(None)
        acting_for = _acting_for_ctx.get()
        if user.pk in preparers or (acting_for is not None and acting_for in preparers):
            return _("职责分离：经办人不得审批本人经办的事项。")
        return None

    guard.guard_name = "职责分离" + (f"（{of_state}）" if of_state else "")  # type: ignore[attr-defined]
    return guard


# While guards run: the id of the person on whose behalf the actor acts (AB backup), else None.
_acting_for_ctx: contextvars.ContextVar[int | None] = contextvars.ContextVar("wf_acting_for", default=None)


# ---------------------------------------------------------------------------------------------------------------
# Deadlines, numbering


def deadline_for(start: dt.date, days: int) -> dt.date:
    """``days`` working days after ``start`` (holidays and make-up working days from the platform calendar)."""
    try:
        from kehu.core import workdays
    except ImportError:
        workdays = None  # type: ignore[assignment]
    if workdays is not None:
        fn = getattr(workdays, "workdays_add", None) or getattr(workdays, "deadline", None)
        if fn is not None:
            result = fn(start, days)
            return result.date() if isinstance(result, dt.datetime) else result
    return _fallback_workdays_add(start, days)


def _is_workday(day: dt.date) -> bool:
    from kehu.core.models import CalendarDay, CalendarYear

    if CalendarYear.objects.filter(year=day.year).exists():
        kind = CalendarDay.objects.filter(date=day).values_list("kind", flat=True).first()
        if kind is not None:
            return kind == "workday"
        return day.weekday() < 5
    try:
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))
    except (ImportError, NotImplementedError):
        return day.weekday() < 5


def _fallback_workdays_add(start: dt.date, days: int) -> dt.date:
    day = start
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if _is_workday(day):
            left -= 1
    return day


def _case_number(key: str, case: Case) -> str:
    try:
        from kehu.core import numbering
    except ImportError:
        numbering = None  # type: ignore[assignment]
    if numbering is not None and hasattr(numbering, "number_next"):
        doc_type = f"wf.{key}"[:30]
        try:
            if hasattr(numbering, "register_series"):
                registered = _REGISTRY.get(key)
                prefix = case_prefix(registered) if registered else key.upper().replace("_", "")[:12]
                numbering.register_series(doc_type, prefix=prefix, width=5, label=case.definition.name)
            return str(numbering.number_next(doc_type, date=timezone.localdate()))
        except (LookupError, ValueError, TypeError):
            pass
    return f"{key.upper()}-{timezone.localdate().year}-{case.pk}"


def today() -> dt.date:
    return timezone.localdate()


# ---------------------------------------------------------------------------------------------------------------
# Tasks


def _assignees(sv: SpecView, case: Case, state_key: str) -> list[Any]:
    py = sv.py_state(state_key)
    if py is not None and py.assignee is not None:
        got = py.assignee(case)
        if got is None:
            return []
        if isinstance(got, list | tuple | set):
            return [u for u in got if u is not None]
        return [got]
    return []


def _open_tasks(case: Case, state_key: str, actor: Any | None) -> None:
    sv = spec_view(case.definition_version)
    state = sv.state(state_key)
    if state is None or state["final"]:
        return
    now = timezone.now()
    due = (
        deadline_for(timezone.localtime(now).date(), state["deadline_days"])
        if state["deadline_days"]
        else None
    )
    case.state_due = due
    has_cosign = any(t["cosign"] for t in sv.transitions_from(state_key))
    kind = TaskKind.COSIGN if has_cosign else TaskKind.ACTION
    title = f"{case.title}：{state['label']}"[:300]
    users = _assignees(sv, case, state_key)
    if users:
        Task.objects.bulk_create(
            [
                Task(
                    case=case,
                    kind=kind,
                    case_state=state_key,
                    title=title,
                    assignee=u,
                    due=due,
                    created_at=now,
                    department=case.department,
                )
                for u in {u.pk: u for u in users}.values()
            ]
        )
    elif state["assignee_role"]:
        Task.objects.create(
            case=case,
            kind=kind,
            case_state=state_key,
            title=title,
            assignee_role=state["assignee_role"],
            department=case.department if state["department_limited"] else None,
            due=due,
            created_at=now,
        )
    else:
        Task.objects.create(
            case=case,
            kind=kind,
            case_state=state_key,
            title=title,
            assignee=case.opened_by,
            due=due,
            created_at=now,
            department=case.department,
        )


def task_copy(*, case: Case, title: str, assignee: Any = None, assignee_role: str = "") -> Task:
    """An informational copy (抄送) in someone's inbox; they close it by acknowledging."""
    return Task.objects.create(
        case=case,
        kind=TaskKind.COPY,
        case_state=case.state,
        title=title[:300],
        assignee=assignee,
        assignee_role=assignee_role,
        created_at=timezone.now(),
    )


def _role_q(user: Any) -> Q:
    """Role tasks this user may take (holding the role; within the task's department when it names one)."""
    codes = list(user.role_codes())
    if not codes:
        return Q(pk__in=[])
    q = Q(assignee__isnull=True, assignee_role__in=codes)
    dept_ok = Q(department__isnull=True)
    if user.department_id:
        from kehu.core.models import Department

        path = Department.objects.filter(pk=user.department_id).values_list("path", flat=True).first() or ""
        ancestors = [int(x) for x in path.strip("/").split("/") if x]
        dept_ok |= Q(department_id__in=ancestors)
    return q & dept_ok


def absent_principals(user: Any, at: dt.datetime | None = None) -> list[int]:
    """Ids of the people whose tasks ``user`` receives at ``at`` as their AB backup (they are absent; the backup is
    active and present)."""
    from kehu.core.org import users_backed_by

    return list(users_backed_by(user, at).values_list("pk", flat=True))


def acting_task(case: Case, user: Any, tasks: Sequence[Task] | None = None) -> tuple[Task | None, Any]:
    """The open task of ``case`` this user may act on, and whom they act for (None: themselves)."""
    if tasks is None:
        tasks = list(
            case.tasks.filter(
                state=TaskState.OPEN, kind__in=[TaskKind.ACTION, TaskKind.COSIGN]
            ).select_related("assignee")
        )
    if not tasks or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None, None
    for t in tasks:
        if t.assignee_id == user.pk:
            return t, None
    roles = user.role_codes()
    user_path = None
    for t in tasks:
        if t.assignee_id is None and t.assignee_role in roles:
            if t.department_id is None:
                return t, None
            if user_path is None:
                from kehu.core.models import Department

                user_path = (
                    Department.objects.filter(pk=user.department_id).values_list("path", flat=True).first()
                )
            if user_path and f"/{t.department_id}/" in user_path:
                return t, None
    principals = [t.assignee_id for t in tasks if t.assignee_id]
    if principals:
        absent = set(absent_principals(user))
        for t in tasks:
            if t.assignee_id in absent:
                return t, t.assignee
    return None, None


# ---------------------------------------------------------------------------------------------------------------
# Services


def _validate_subject(subject: models.Model | None) -> tuple[ContentType | None, str]:
    if subject is None:
        return None, ""
    if subject.pk is None:
        raise ValidationFailed(_("流程对象尚未保存。"), field="subject", rule="saved")
    return ContentType.objects.get_for_model(type(subject)), str(subject.pk)


@transaction.atomic
def case_open(
    *,
    actor: User,
    definition_key: str,
    subject: models.Model | None = None,
    title: str = "",
    data: dict[str, Any] | None = None,
    department: Any = None,
) -> Case:
    """Start a case of ``definition_key`` in its initial state (task to the initial state's assignee)."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied()
    definition = get_definition(definition_key)
    version = current_version(definition_key)
    title = (title or "").strip() or str(definition.name)
    subject_type, subject_id = _validate_subject(subject)
    now = timezone.now()
    case = Case(
        number=f"~{now.timestamp()}-{actor.pk}-{threading.get_ident()}",
        definition_id=version.definition_id,
        definition_version=version,
        state=version.spec["initial"],
        state_entered_at=now,
        subject_type=subject_type,
        subject_id=subject_id,
        title=title[:300],
        data=audit.jsonable(data or {}),
        department=department if department is not None else actor.department,
        opened_by=actor,
        opened_at=now,
    )
    case.save(force_insert=True)
    case.number = _case_number(definition_key, case)
    _open_tasks(case, case.state, actor)
    case.save(update_fields=["number", "state_due"])
    audit.record(
        actor=actor,
        action="create",
        obj=case,
        changes={
            "state": [None, case.state],
            "definition_version": [None, version.number],
            "subject": [None, f"{subject_type.model if subject_type else ''}:{subject_id}"],
        },
    )
    return case


def _checklist_answers(t: Transition, answers: dict[str, Any]) -> dict[str, str]:
    clean: dict[str, str] = {}
    for item in t.checklist:
        value = str(answers.get(item.key, "") or "").strip().lower()
        if value and value not in ANSWERS:
            raise ValidationFailed(
                _("检查项“%(item)s”的回答无效。") % {"item": item.label},
                field=f"checklist.{item.key}",
                rule="choices",
            )
        if item.mandatory and value != "yes":
            if not value:
                msg = _("必填检查项“%(item)s”尚未回答。")
            else:
                msg = _("必填检查项“%(item)s”必须确认为“是”才能继续。")
            raise ValidationFailed(
                msg % {"item": item.label}, field=f"checklist.{item.key}", rule="mandatory"
            )
        if value:
            clean[item.key] = value
    return clean


def _check_attachments(case: Case, ids: Sequence[Any]) -> list[int]:
    from kehu.core.models import Attachment

    try:
        wanted = sorted({int(x) for x in ids})
    except (TypeError, ValueError):
        raise ValidationFailed(_("附件编号无效。"), field="attachments", rule="invalid") from None
    if not wanted:
        return []
    ct = ContentType.objects.get_for_model(Case)
    found = set(
        Attachment.objects.filter(pk__in=wanted, content_type=ct, object_id=str(case.pk)).values_list(
            "pk", flat=True
        )
    )
    if found != set(wanted):
        raise ValidationFailed(_("附件不存在或不属于本流程。"), field="attachments", rule="invalid")
    return wanted


def can_view_case(user: Any, case: Case) -> bool:
    return access.can(user, "workflow.case.view") and access.in_scope(user, "workflow.case.view", case)


@transaction.atomic
def case_transition(
    *,
    actor: User,
    case_id: int,
    transition: str,
    comment: str = "",
    checklist: dict[str, Any] | None = None,
    attachments: Sequence[Any] = (),
    data: dict[str, Any] | None = None,
    expected_state: str | None = None,
) -> Case:
    """Take ``transition`` on the case. ``expected_state`` (from the page the user saw) turns a stale form into a
    Conflict; a transition whose source is no longer the case's state is a Conflict too."""
    try:
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("definition_version", "definition", "opened_by")
            .get(pk=case_id)
        )
    except (Case.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    sv = spec_view(case.definition_version)
    tspec = sv.transition(transition)
    if tspec is None:
        if not can_view_case(actor, case):
            raise NotFound()
        raise ValidationFailed(_("该流程没有此操作。"), field="transition", rule="unknown")
    t = _transition_obj(sv, tspec)
    task, acting_for = acting_task(case, actor)
    if task is None:
        if not can_view_case(actor, case):
            raise NotFound()
        if case.is_closed or case.state not in t.sources or (expected_state and expected_state != case.state):
            raise Conflict(_("流程状态已变化，请刷新后重试。"), detail={"state": case.state})
        raise PermissionDenied(_("该事项当前不由您办理。"))
    if case.is_closed or case.state not in t.sources or (expected_state and expected_state != case.state):
        raise Conflict(_("流程状态已变化，请刷新后重试。"), detail={"state": case.state})
    if t.roles and not (
        actor.has_role(*t.roles) or (acting_for is not None and acting_for.has_role(*t.roles))
    ):
        raise PermissionDenied(_("您的角色不能执行“%(action)s”。") % {"action": t.label})
    comment = (comment or "").strip()
    if t.comment_required and not comment:
        raise ValidationFailed(
            _("“%(action)s”须填写意见。") % {"action": t.label}, field="comment", rule="required"
        )
    if len(comment) > 4000:
        raise ValidationFailed(_("意见不能超过4000字。"), field="comment", rule="max_length")
    answers = _checklist_answers(t, checklist or {})
    attachment_ids = _check_attachments(case, attachments)
    if t.attachments_required and not attachment_ids:
        raise ValidationFailed(
            _("“%(action)s”须上传附件。") % {"action": t.label}, field="attachments", rule="required"
        )
    token = _acting_for_ctx.set(acting_for.pk if acting_for is not None else None)
    try:
        for guard in t.guards:
            message = guard(case, actor)
            if message:
                raise ValidationFailed(message, field="transition", rule="guard")
    finally:
        _acting_for_ctx.reset(token)

    now = timezone.now()
    from_state = case.state
    overdue = bool(case.state_due and timezone.localtime(now).date() > case.state_due)
    moves = True
    task.state, task.closed_at, task.closed_by = TaskState.DONE, now, actor
    task.save(update_fields=["state", "closed_at", "closed_by"])
    if t.cosign:
        moves = not case.tasks.filter(
            state=TaskState.OPEN, kind=TaskKind.COSIGN, case_state=from_state
        ).exists()
    to_state = t.target if moves else from_state
    case.event_count += 1
    CaseEvent.objects.create(
        case=case,
        seq=case.event_count,
        transition=t.key,
        transition_label=str(t.label)[:100],
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        acting_for=acting_for,
        at=now,
        comment=comment,
        checklist=answers,
        attachment_ids=attachment_ids,
        send_back=t.send_back,
        overdue=overdue,
    )
    if data:
        case.data = {**(case.data or {}), **audit.jsonable(data)}
    if moves:
        case.tasks.filter(state=TaskState.OPEN, kind__in=[TaskKind.ACTION, TaskKind.COSIGN]).update(
            state=TaskState.CANCELLED, closed_at=now
        )
        case.tasks.filter(state=TaskState.OPEN, kind=TaskKind.ESCALATION).update(
            state=TaskState.DONE, closed_at=now
        )
        case.state = to_state
        case.state_entered_at = now
        case.state_due = None
        target = sv.state(to_state)
        if target is not None and target["final"]:
            case.closed_at = now
            case.tasks.filter(state=TaskState.OPEN).update(state=TaskState.CANCELLED, closed_at=now)
        else:
            _open_tasks(case, to_state, actor)
    case.save(update_fields=["state", "state_entered_at", "state_due", "closed_at", "event_count", "data"])
    effect_data = {
        **(data or {}),
        "comment": comment,
        "checklist": answers,
        "attachments": attachment_ids,
        "transition": t.key,
        "acting_for": acting_for.pk if acting_for is not None else None,
        "moved": moves,
    }
    if moves:
        # audit entries written by the effects carry the same "acting for" as the transition itself
        token = audit.current_acting_for.set(acting_for)
        try:
            for effect in t.effects:
                effect(case, actor, effect_data)
        finally:
            audit.current_acting_for.reset(token)
    audit.record(
        actor=actor,
        action="transition",
        obj=case,
        changes={
            "state": [from_state, to_state],
            "transition": t.key,
            **({"checklist": answers} if answers else {}),
            **({"attachments": attachment_ids} if attachment_ids else {}),
            **({"send_back": True} if t.send_back else {}),
        },
        reason=comment,
        acting_for=acting_for,
    )
    return case


@transaction.atomic
def case_withdraw(*, actor: Any, case_id: int, state: str, reason: str = "") -> Case:
    """Close an open case in the final ``state`` from its module (the record it serves was changed or cancelled
    there): its open tasks are cancelled and one event recorded; no guard or effect runs."""
    case = Case.objects.select_for_update(of=("self",)).select_related("definition_version").get(pk=case_id)
    target = spec_view(case.definition_version).state(state)
    if target is None or not target["final"]:
        raise ValueError(f"{state!r} is not a final state")
    if case.is_closed:
        return case
    now = timezone.now()
    from_state = case.state
    case.event_count += 1
    CaseEvent.objects.create(
        case=case,
        seq=case.event_count,
        transition="withdraw",
        transition_label=str(gettext_lazy(target["label"]))[:100],
        from_state=from_state,
        to_state=state,
        actor=actor,
        at=now,
        comment=reason,
    )
    case.tasks.filter(state=TaskState.OPEN).update(state=TaskState.CANCELLED, closed_at=now)
    case.state, case.state_entered_at, case.state_due, case.closed_at = state, now, None, now
    case.save(update_fields=["state", "state_entered_at", "state_due", "closed_at", "event_count"])
    audit.record(
        actor=actor, action="transition", obj=case, changes={"state": [from_state, state]}, reason=reason
    )
    return case


@transaction.atomic
def task_create(
    *,
    target: models.Model,
    title: str,
    assignee: Any = None,
    assignee_role: str = "",
    department: Any = None,
    due: dt.date | None = None,
    actor: Any = None,
) -> Task:
    """A task outside any case (a module's own to-do on one of its records); closed with :func:`task_close`."""
    if assignee is None and not assignee_role:
        raise ValidationFailed(_("待办须指定处理人或处理角色。"), field="assignee", rule="required")
    task = Task.objects.create(
        target_type=ContentType.objects.get_for_model(type(target)),
        target_id=str(target.pk),
        kind=TaskKind.ACTION,
        title=title[:300],
        assignee=assignee,
        assignee_role=assignee_role,
        department=department,
        due=due,
        created_at=timezone.now(),
    )
    audit.record(actor=actor, action="create", obj=task, changes={"title": [None, task.title]})
    return task


@transaction.atomic
def task_close(*, target: models.Model, actor: Any = None) -> int:
    """Close the open tasks of ``target`` (the module's record was handled). Returns how many were closed."""
    ct = ContentType.objects.get_for_model(type(target))
    qs = Task.objects.filter(target_type=ct, target_id=str(target.pk), state=TaskState.OPEN)
    ids = list(qs.values_list("pk", flat=True))
    if ids:
        Task.objects.filter(pk__in=ids).update(
            state=TaskState.DONE, closed_at=timezone.now(), closed_by=actor if actor is not None else None
        )
        audit.record(
            actor=actor, action="update", obj=target, changes={"tasks_closed": ids}, reason=_("待办已办结")
        )
    return len(ids)


@transaction.atomic
def task_acknowledge(*, actor: User, task_id: int) -> Task:
    """Close an informational copy (抄送) or a supervision task (督办) from the inbox."""
    from kehu.workflow.selectors import inbox_tasks

    try:
        task = inbox_tasks(actor).select_for_update(of=("self",)).get(pk=task_id)
    except (Task.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if task.kind not in (TaskKind.COPY, TaskKind.ESCALATION):
        raise ValidationFailed(_("待处理事项须在流程页面办理。"), field="task", rule="kind")
    task.state, task.closed_at, task.closed_by = TaskState.DONE, timezone.now(), actor
    task.save(update_fields=["state", "closed_at", "closed_by"])
    audit.record(actor=actor, action="update", obj=task, changes={"state": [TaskState.OPEN, TaskState.DONE]})
    return task


def case_get(*, actor: User, case_id: int | str) -> Case:
    """One case the actor may see (404 otherwise)."""
    qs = Case.objects.select_related(
        "definition_version", "definition", "opened_by", "subject_type", "department"
    )
    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    case = qs.filter(pk=pk).first()
    if case is None:
        raise NotFound()
    task, _acting = acting_task(case, actor)
    if task is not None:
        return case
    return access.get_scoped(actor, "workflow.case.view", restrict_confidential(actor, qs), pk=pk)


def restrict_confidential(user: Any, qs: QuerySet[Case]) -> QuerySet[Case]:
    """Leave out the cases of confidential processes (``Definition.visible_to``) the user may not see."""
    for definition in _REGISTRY.values():
        if definition.visible_to is not None:
            qs = qs.filter(~Q(definition__key=definition.key) | definition.visible_to(user))
    return qs


def allowed_transitions(case: Case, user: Any) -> list[Transition]:
    """The transitions this user may take on the case now (assignment, role and guards checked)."""
    if case.is_closed:
        return []
    task, acting_for = acting_task(case, user)
    if task is None:
        return []
    sv = spec_view(case.definition_version)
    out = []
    token = _acting_for_ctx.set(acting_for.pk if acting_for is not None else None)
    try:
        for tspec in sv.transitions_from(case.state):
            t = _transition_obj(sv, tspec)
            if t.roles and not (
                user.has_role(*t.roles) or (acting_for is not None and acting_for.has_role(*t.roles))
            ):
                continue
            if any(g(case, user) for g in t.guards):
                continue
            out.append(t)
    finally:
        _acting_for_ctx.reset(token)
    return out


def refusals(case: Case, user: Any) -> dict[str, str]:
    """Guard messages for the transitions the user holds by role but a guard refuses (shown on the case page)."""
    task, acting_for = acting_task(case, user)
    if task is None or case.is_closed:
        return {}
    sv = spec_view(case.definition_version)
    out: dict[str, str] = {}
    token = _acting_for_ctx.set(acting_for.pk if acting_for is not None else None)
    try:
        for tspec in sv.transitions_from(case.state):
            t = _transition_obj(sv, tspec)
            if t.roles and not (
                user.has_role(*t.roles) or (acting_for is not None and acting_for.has_role(*t.roles))
            ):
                continue
            for g in t.guards:
                msg = g(case, user)
                if msg:
                    out[str(t.label)] = msg
                    break
    finally:
        _acting_for_ctx.reset(token)
    return out
