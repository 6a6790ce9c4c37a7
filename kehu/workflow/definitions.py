"""The approval of a process definition version ("process_definition_approval"), routed by the definition's reach.

- single department (one participating department kind, or not L3): the head of that department approves; the
  PMO receives a copy (抄送) for information;
- cross-department L3: the heads of every participating department co-sign (all must sign), the PMO reviews, and
  the domain owner (the definition's owner person, else holders of its owner role) approves.

Approval promotes the version from trial to formal (retiring the previous formal version). The trial minimum of
policy "workflow.trial" must have passed when the case is opened and again when it is approved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import access, audit
from kehu.core.errors import Conflict, ValidationFailed
from kehu.workflow import engine
from kehu.workflow.engine import Check, Definition, State, Transition
from kehu.workflow.models import Case, DefinitionVersion, ProcessDefinition, VersionStatus
from kehu.workflow.policies import trial_policy

KEY = "process_definition_approval"


@dataclass(frozen=True)
class TrialStatus:
    days_run: int
    cases_run: int
    min_days: int
    min_cases: int
    earliest: dt.date | None  # first day the trial minimum can be met (None: waiting for cases)
    extended: bool  # the minimum days have passed but too few cases ran
    met: bool
    policy_version: int | None


def trial_status(version: DefinitionVersion, at: dt.datetime | None = None) -> TrialStatus:
    """How far the version's trial has come against policy "workflow.trial"."""
    policy, policy_version = trial_policy()
    at = at or timezone.now()
    started = version.trial_started_at or version.created_at
    days = max((at - started).days, 0)
    cases = version.cases.count()
    days_ok = days >= policy.min_trial_days
    cases_ok = cases >= policy.min_trial_cases
    earliest = (
        timezone.localtime(started).date() + dt.timedelta(days=policy.min_trial_days)
        if not cases_ok or not days_ok
        else None
    )
    if not cases_ok and days_ok:
        earliest = None
    return TrialStatus(
        days,
        cases,
        policy.min_trial_days,
        policy.min_trial_cases,
        earliest,
        extended=days_ok and not cases_ok,
        met=days_ok and cases_ok,
        policy_version=policy_version,
    )


def reach(pd: ProcessDefinition) -> str:
    """ "single" or "cross" (cross-department L3)."""
    return "cross" if pd.level == "L3" and len(set(pd.departments or [])) > 1 else "single"


def _department_heads(kinds: list[str]) -> list[Any]:
    from kehu.core.models import Department

    heads = []
    for kind in kinds:
        dept = (
            Department.objects.filter(kind=kind, active=True, head__isnull=False)
            .select_related("head")
            .order_by("path")
            .first()
        )
        if dept is not None and dept.head is not None:
            heads.append(dept.head)
    return heads


def _version_of(case: Case) -> DefinitionVersion:
    return DefinitionVersion.objects.select_related("definition").get(pk=int(case.subject_id))


def _single_head(case: Case) -> Any:
    pd = _version_of(case).definition
    heads = _department_heads(list(pd.departments or [])[:1])
    if heads:
        return heads[0]
    return case.department.head if case.department is not None and case.department.head_id else None


def _cosigners(case: Case) -> list[Any]:
    return _department_heads(list(dict.fromkeys(_version_of(case).definition.departments or [])))


def _domain_owner(case: Case) -> Any:
    """The definition's owner person, else every active holder of its owner role."""
    from kehu.core.models import User

    pd = _version_of(case).definition
    if pd.owner_user is not None:
        return pd.owner_user
    return list(
        User.objects.filter(roles__code=pd.owner_role or "general_manager", is_active=True).distinct()
    )


def _is_single(case: Case, user: Any) -> str | None:
    return None if reach(_version_of(case).definition) == "single" else _("跨部门三级流程须经会签。")


def _is_cross(case: Case, user: Any) -> str | None:
    return None if reach(_version_of(case).definition) == "cross" else _("单部门流程由部门负责人审批。")


def _trial_met(case: Case, user: Any) -> str | None:
    status = trial_status(_version_of(case))
    if status.met:
        return None
    return _(
        "试运行尚未满足最低要求（已运行%(days)s天/%(min_days)s天，%(cases)s个流程/%(min_cases)s个）。"
    ) % {
        "days": status.days_run,
        "min_days": status.min_days,
        "cases": status.cases_run,
        "min_cases": status.min_cases,
    }


_is_single.guard_name = "单部门流程"  # type: ignore[attr-defined]
_is_cross.guard_name = "跨部门三级流程"  # type: ignore[attr-defined]
_trial_met.guard_name = "试运行期满"  # type: ignore[attr-defined]
_single_head.guard_name = "部门负责人"  # type: ignore[attr-defined]
_cosigners.guard_name = "各参与部门负责人"  # type: ignore[attr-defined]
_domain_owner.guard_name = "领域所有者"  # type: ignore[attr-defined]


def _copy_pmo(case: Case, user: Any, data: dict[str, Any]) -> None:
    engine.task_copy(case=case, title=_("抄送：%(title)s") % {"title": case.title}, assignee_role="pmo")


def _promote(case: Case, user: Any, data: dict[str, Any]) -> None:
    version = DefinitionVersion.objects.select_for_update().get(pk=int(case.subject_id))
    if version.status != VersionStatus.TRIAL:
        raise Conflict(_("该版本不在试运行状态。"))
    now = timezone.now()
    previous = list(
        DefinitionVersion.objects.select_for_update()
        .filter(definition_id=version.definition_id, status=VersionStatus.FORMAL)
        .exclude(pk=version.pk)
    )
    for old in previous:
        old.status, old.retired_at = VersionStatus.RETIRED, now
        old.save(update_fields=["status", "retired_at"])
        audit.record(
            actor=user,
            action="update",
            obj=old,
            changes={"status": [VersionStatus.FORMAL, VersionStatus.RETIRED]},
        )
    version.status, version.formal_at, version.approved_by = VersionStatus.FORMAL, now, user
    version.save(update_fields=["status", "formal_at", "approved_by"])
    audit.record(
        actor=user,
        action="update",
        obj=version,
        changes={"status": [VersionStatus.TRIAL, VersionStatus.FORMAL]},
        policy_version=trial_status(version).policy_version,
    )


APPROVER_STATES = ["dept_approval", "pmo_review", "owner_approval"]

DEFINITION = Definition(
    key=KEY,
    name=gettext_lazy("流程定义审批"),
    level="SUB",
    owner_role="pmo",
    departments=["office"],
    key_control_points=[
        gettext_lazy("试运行期满方可转正"),
        gettext_lazy("跨部门流程须各参与部门负责人会签"),
        gettext_lazy("领域所有者最终批准"),
    ],
    kpis=[gettext_lazy("审批周期（工作日）"), gettext_lazy("退回率")],
    initial="draft",
    states=[
        State("draft", gettext_lazy("草稿"), assignee_role=None),
        State("dept_approval", gettext_lazy("部门负责人审批"), deadline_days=3, assignee=_single_head),
        State("cosign", gettext_lazy("参与部门会签"), deadline_days=3, assignee=_cosigners),
        State("pmo_review", gettext_lazy("流程办审核"), deadline_days=3, assignee_role="pmo"),
        State("owner_approval", gettext_lazy("领域所有者批准"), deadline_days=3, assignee=_domain_owner),
        State("approved", gettext_lazy("已批准"), final=True),
        State("rejected", gettext_lazy("已驳回"), final=True),
    ],
    transitions=[
        Transition(
            "submit",
            gettext_lazy("提交"),
            source="draft",
            target="dept_approval",
            guards=[_is_single, _trial_met],
            effects=[_copy_pmo],
        ),
        Transition(
            "submit_cosign",
            gettext_lazy("提交会签"),
            source="draft",
            target="cosign",
            guards=[_is_cross, _trial_met],
        ),
        Transition(
            "approve",
            gettext_lazy("批准"),
            source="dept_approval",
            target="approved",
            guards=[engine.not_preparer(), _trial_met],
            effects=[_promote],
            checklist=[Check("trial_reviewed", gettext_lazy("已审阅试运行情况"), mandatory=True)],
        ),
        Transition(
            "cosign",
            gettext_lazy("会签同意"),
            source="cosign",
            target="pmo_review",
            cosign=True,
            guards=[engine.not_preparer()],
        ),
        Transition(
            "review_pass",
            gettext_lazy("审核通过"),
            source="pmo_review",
            target="owner_approval",
            roles=["pmo"],
            guards=[engine.not_preparer()],
            checklist=[
                Check("controls", gettext_lazy("关键控制点完整"), mandatory=True),
                Check("kpis", gettext_lazy("绩效指标可度量"), mandatory=False),
            ],
        ),
        Transition(
            "owner_approve",
            gettext_lazy("批准"),
            source="owner_approval",
            target="approved",
            guards=[engine.not_preparer(), _trial_met],
            effects=[_promote],
        ),
        Transition(
            "send_back",
            gettext_lazy("退回修改"),
            source=[*APPROVER_STATES, "cosign"],
            target="draft",
            send_back=True,
            comment_required=True,
        ),
        Transition(
            "reject",
            gettext_lazy("驳回"),
            source=[*APPROVER_STATES, "cosign"],
            target="rejected",
            comment_required=True,
        ),
    ],
)


def register() -> None:
    engine.register_definition(DEFINITION)


@transaction.atomic
def definition_version_submit(*, actor: Any, version_id: int, comment: str = "") -> Case:
    """Open the approval case of a trial version and submit it on the route its reach gives."""
    access.require(actor, "workflow.definition.manage")
    try:
        version = (
            DefinitionVersion.objects.select_related("definition")
            .select_for_update(of=("self",))
            .get(pk=version_id)
        )
    except (DefinitionVersion.DoesNotExist, ValueError, TypeError):
        from kehu.core.errors import NotFound

        raise NotFound() from None
    if version.status != VersionStatus.TRIAL:
        raise ValidationFailed(_("只有试运行中的版本可以申请转正。"), field="version", rule="status")
    running = Case.objects.filter(definition__key=KEY, subject_id=str(version.pk), closed_at__isnull=True)
    if running.exists():
        raise Conflict(_("该版本已有进行中的转正审批。"))
    status = trial_status(version)
    if not status.met:
        raise ValidationFailed(_trial_met_message(status), field="version", rule="trial_minimum")
    case = engine.case_open(
        actor=actor,
        definition_key=KEY,
        subject=version,
        title=_("流程定义转正：%(name)s 第%(number)s版")
        % {"name": version.definition.name, "number": version.number},
        data={
            "definition": version.definition.key,
            "version": version.number,
            "reach": reach(version.definition),
        },
    )
    key = "submit_cosign" if reach(version.definition) == "cross" else "submit"
    return engine.case_transition(actor=actor, case_id=case.pk, transition=key, comment=comment)


def _trial_met_message(status: TrialStatus) -> str:
    return _(
        "试运行尚未满足最低要求（已运行%(days)s天/%(min_days)s天，%(cases)s个流程/%(min_cases)s个）。"
    ) % {
        "days": status.days_run,
        "min_days": status.min_days,
        "cases": status.cases_run,
        "min_cases": status.min_cases,
    }
