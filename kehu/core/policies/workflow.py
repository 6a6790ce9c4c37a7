"""The approval process of a policy change ("policy_change"): draft → PMO review → approval → in force.

The proposer cannot approve (segregation of duties); the approver must hold one of the policy type's approver
roles. Approval makes the version trial or formal; rejection retires the proposal.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

PROPOSER_ROLES = ["sysadmin", "pmo", "sales_manager", "credit_manager", "general_manager"]
REVIEWER_ROLES = ["pmo"]

_registered = False


def _version_id(case: Any) -> int:
    return int((case.data or {}).get("version_id") or case.subject_id)


def _approver_guard(case: Any, user: Any) -> str | None:
    from kehu.core.policies.models import PolicyVersion
    from kehu.core.policies.registry import get_type

    version = PolicyVersion.objects.filter(pk=_version_id(case)).only("type_key").first()
    if version is None:
        return str(_("制度版本不存在。"))
    try:
        roles = get_type(version.type_key).approver_roles
    except LookupError:
        return str(_("制度类型不存在。"))
    if not user.has_role(*roles):
        return str(_("您不是该制度的批准人。"))
    return None


def _approvers(case: Any) -> list[Any]:
    """Every active holder of one of the policy type's approver roles (one task each)."""
    from kehu.core.models import User
    from kehu.core.policies.models import PolicyVersion
    from kehu.core.policies.registry import get_type

    version = PolicyVersion.objects.filter(pk=_version_id(case)).only("type_key").first()
    try:
        roles = get_type(version.type_key).approver_roles if version else ("general_manager",)
    except LookupError:
        roles = ("general_manager",)
    return list(User.objects.filter(is_active=True, roles__code__in=roles).distinct())


def _on_submit(case: Any, user: Any, data: dict[str, Any]) -> None:
    from kehu.core.policies.services import mark_pending

    mark_pending(_version_id(case), actor=user)


def _on_send_back(case: Any, user: Any, data: dict[str, Any]) -> None:
    from kehu.core.policies.services import mark_draft

    mark_draft(_version_id(case), actor=user)


def _on_approve(case: Any, user: Any, data: dict[str, Any]) -> None:
    from kehu.core.policies.services import apply_approval

    apply_approval(approver=user, version_id=_version_id(case))


def _on_reject(case: Any, user: Any, data: dict[str, Any]) -> None:
    from kehu.core.policies.services import apply_rejection

    apply_rejection(actor=user, version_id=_version_id(case), reason=str((data or {}).get("comment", "")))


def ensure_registered() -> bool:
    """Declare the definition with the workflow engine (once); False while the engine is not available."""
    global _registered
    if _registered:
        return True
    try:
        from kehu.workflow.engine import (
            Check,
            Definition,
            State,
            Transition,
            not_preparer,
            register_definition,
        )
    except ImportError:
        return False
    register_definition(
        Definition(
            key="policy_change",
            name=_("制度变更审批"),
            level="L3",
            owner_role="pmo",
            departments=["office"],
            key_control_points=[
                _("变更内容经流程管理办公室审核"),
                _("提出人不得批准自己的变更"),
                _("批准人须为该制度的批准角色"),
            ],
            kpis=[_("变更审批周期（工作日）"), _("退回率")],
            initial="draft",
            states=[
                State("draft", _("草稿"), assignee_role=None),
                State("review", _("流程办审核"), deadline_days=3, assignee_role="pmo"),
                State(
                    "approval",
                    _("批准"),
                    deadline_days=3,
                    assignee_role="general_manager",
                    assignee=_approvers,
                ),
                State("approved", _("已批准"), final=True),
                State("rejected", _("已驳回"), final=True),
            ],
            transitions=[
                Transition(
                    "submit",
                    _("提交"),
                    source="draft",
                    target="review",
                    roles=PROPOSER_ROLES,
                    effects=[_on_submit],
                ),
                Transition(
                    "review_pass",
                    _("审核通过"),
                    source="review",
                    target="approval",
                    roles=REVIEWER_ROLES,
                    guards=[not_preparer()],  # the proposer does not review their own change
                    checklist=[Check("impact", _("已评估变更影响"), mandatory=True)],
                ),
                Transition(
                    "send_back",
                    _("退回修改"),
                    source="review",
                    target="draft",
                    roles=REVIEWER_ROLES,
                    send_back=True,
                    comment_required=True,
                    effects=[_on_send_back],
                ),
                Transition(
                    "approve",
                    _("批准"),
                    source="approval",
                    target="approved",
                    # neither the proposer nor the reviewer approves: three people, three control steps
                    guards=[not_preparer(), not_preparer(of_state="review"), _approver_guard],
                    effects=[_on_approve],
                ),
                Transition(
                    "send_back_approval",
                    _("退回修改"),
                    source="approval",
                    target="draft",
                    send_back=True,
                    comment_required=True,
                    effects=[_on_send_back],
                ),
                Transition(
                    "reject",
                    _("驳回"),
                    source="review",
                    target="rejected",
                    roles=REVIEWER_ROLES,
                    comment_required=True,
                    effects=[_on_reject],
                ),
                Transition(
                    "reject_approval",
                    _("驳回"),
                    source="approval",
                    target="rejected",
                    comment_required=True,
                    guards=[_approver_guard],
                    effects=[_on_reject],
                ),
            ],
        )
    )
    _registered = True
    return True
