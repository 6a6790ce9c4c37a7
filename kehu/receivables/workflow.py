"""The write-off approval (坏账核销审批, R-CRD-11) on the workflow engine.

The preparer submits the request to the approval state of the role its amount band requires (policy
``receivables.write_off``); only that role may approve, never the preparer (``not_preparer``). Approval posts the
write-off entry to the ledger in the same transaction; rejection needs a comment.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kehu.receivables.policies import APPROVER_CHOICES
from kehu.workflow.engine import Definition, State, Transition, not_preparer, register_definition

KEY = "receivables_write_off"
ROLE_LABELS = {
    "credit_manager": _("信用经理审批"),
    "finance": _("财务审批"),
    "general_manager": _("总经理审批"),
    "credit_committee": _("授信额度管理小组审批"),
}


def _band(role: str) -> Any:
    def guard(case: Any, user: Any) -> str | None:
        if case.data.get("approver_role") != role:
            return gettext("核销金额对应的审批角色不是该角色。")
        return None

    guard.guard_name = f"band:{role}"  # type: ignore[attr-defined]
    return guard


def _holds_band_role(case: Any, user: Any) -> str | None:
    role = case.data.get("approver_role", "")
    if not user.has_role(role):
        return gettext("按核销金额，须由该金额段的审批角色批准。")
    return None


_holds_band_role.guard_name = "band_role"  # type: ignore[attr-defined]


def _approve(case: Any, actor: Any, data: Any) -> None:
    from kehu.receivables.writeoff import write_off_approved

    write_off_approved(case=case, actor=actor)


def _reject(case: Any, actor: Any, data: Any) -> None:
    from kehu.receivables.writeoff import write_off_rejected

    write_off_rejected(case=case, actor=actor)


def _visible(user: Any) -> Q:
    from kehu.core.access import can

    return Q() if can(user, "receivables.writeoff.view") else Q(pk__in=[])


def register() -> None:
    approvals = [f"approval_{r}" for r in APPROVER_CHOICES]
    register_definition(
        Definition(
            key=KEY,
            name=_("坏账核销审批"),
            level="L3",
            owner_role="credit_manager",
            departments=["credit", "finance"],
            initial="prepared",
            key_control_points=[_("按金额分段审批"), _("经办人不得审批")],
            kpis=[_("核销审批周期")],
            visible_to=_visible,
            states=[
                State("prepared", _("经办")),
                *[
                    State(f"approval_{r}", ROLE_LABELS[r], assignee_role=r, deadline_days=5)
                    for r in APPROVER_CHOICES
                ],
                State("approved", _("已核销"), final=True),
                State("rejected", _("已驳回"), final=True),
            ],
            transitions=[
                *[
                    Transition(
                        f"submit_{r}",
                        _("提交审批"),
                        source="prepared",
                        target=f"approval_{r}",
                        guards=[_band(r)],
                    )
                    for r in APPROVER_CHOICES
                ],
                Transition(
                    "approve",
                    _("批准核销"),
                    source=approvals,
                    target="approved",
                    roles=list(APPROVER_CHOICES),
                    guards=[not_preparer(), _holds_band_role],
                    effects=[_approve],
                ),
                Transition(
                    "reject",
                    _("驳回"),
                    source=approvals,
                    target="rejected",
                    roles=list(APPROVER_CHOICES),
                    guards=[_holds_band_role],
                    effects=[_reject],
                    comment_required=True,
                ),
            ],
        )
    )
