"""The credit application process on the workflow engine (R-CRD-02).

draft (the customer's owner fills in the request) → investigation (credit officer: findings per channel and the
analysis conclusion) → approval by the authority of the amount band (policy ``limits.credit``: credit officer /
credit manager / credit committee) → approved (writes the limit and the notification letter) / rejected.

The investigation routes the case with one of three transitions; a guard lets through only the one whose band the
requested amount falls in, so the case always reaches the authority the matrix names; a limit change proposed by a
credit review goes to the credit committee whatever the amount (R-CRD-08). Nobody approves an
application they prepared or investigated (``not_preparer``). Deadlines are working days from the policy.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.workflow.engine import Definition, State, Transition, not_preparer, register_definition

KEY = "credit_application"
SALES = ["sales_rep", "sales_manager"]
INVESTIGATORS = ["credit_officer", "credit_manager"]
# approval state → the role of its band
APPROVAL_STATES = {
    "approve_officer": "credit_officer",
    "approve_manager": "credit_manager",
    "approve_committee": "credit_committee",
}
APPROVAL_LABELS = {
    "approve_officer": _("信用专员审批"),
    "approve_manager": _("信用经理审批"),
    "approve_committee": _("信用委员会审批"),
}
# R-CRD-08: a limit change proposed by a credit review goes to the credit committee whatever the amount
REVIEW_APPROVER = APPROVAL_STATES["approve_committee"]
ROUTE_LABELS = {
    "approve_officer": _("调查完成，报信用专员审批"),
    "approve_manager": _("调查完成，报信用经理审批"),
    "approve_committee": _("调查完成，报信用委员会审批"),
}


def _svc() -> Any:
    from kehu.limits import services

    return services


def _drafter(case: Any) -> Any:
    return _svc().case_drafter(case)


def _investigators(case: Any) -> Any:
    return _svc().case_investigators(case)


def _submittable(case: Any, user: Any) -> str | None:
    return _svc().guard_submittable(case)


def _investigated(case: Any, user: Any) -> str | None:
    return _svc().guard_investigated(case)


def _band(state: str) -> Any:
    def guard(case: Any, user: Any) -> str | None:
        return _svc().guard_band(case, APPROVAL_STATES[state])

    guard.guard_name = f"审批权限（{APPROVAL_STATES[state]}）"  # type: ignore[attr-defined]
    return guard


def _moved(case: Any, actor: Any, data: dict[str, Any]) -> None:
    _svc().on_case_moved(case, actor, data)


def _approved(case: Any, actor: Any, data: dict[str, Any]) -> None:
    _svc().on_approved(case, actor, data)


_submittable.guard_name = "申请完整且符合类别政策"  # type: ignore[attr-defined]
_investigated.guard_name = "调查完成"  # type: ignore[attr-defined]
_moved.guard_name = "同步申请状态"  # type: ignore[attr-defined]
_approved.guard_name = "写入额度与通知书"  # type: ignore[attr-defined]


def _investigation_visible(user: Any) -> Q:
    """On the engine's own case pages, lists and API, only those who may see the investigation (credit roles,
    finance, general manager) see these cases: their history carries the investigator's and the approvers'
    comments on the findings. The owner follows the application on its own page (a task holder still sees the
    case while holding it)."""
    from kehu.core import access
    from kehu.limits.models import CreditApplication

    return Q(
        pk__in=access.restrict(user, "limits.investigation.view", CreditApplication.objects.all())
        .filter(case__isnull=False)
        .values("case_id")
    )


def _decider_guards() -> list[Any]:
    return [not_preparer(), not_preparer(of_state="investigation")]


def definition() -> Definition:
    approval_transitions: list[Transition] = []
    for state, role in APPROVAL_STATES.items():
        approval_transitions += [
            Transition(
                f"approve_{role}",
                _("批准"),
                source=state,
                target="approved",
                roles=[role],
                guards=_decider_guards(),
                effects=[_approved, _moved],
            ),
            Transition(
                f"reject_{role}",
                _("否决"),
                source=state,
                target="rejected",
                roles=[role],
                comment_required=True,
                guards=_decider_guards(),
                effects=[_moved],
            ),
            Transition(
                f"return_{role}",
                _("退回补充调查"),
                source=state,
                target="investigation",
                roles=[role],
                send_back=True,
                comment_required=True,
                effects=[_moved],
            ),
        ]
    return Definition(
        key=KEY,
        name=_("授信申请"),
        visible_to=_investigation_visible,
        level="L3",
        owner_role="credit_manager",
        departments=["sales", "credit"],
        key_control_points=[
            _("按金额档位由相应权限审批"),
            _("信用类别政策"),
            _("经办人、调查人不得审批"),
        ],
        kpis=[_("授信审批周期（工作日）"), _("批准率")],
        initial="draft",
        states=[
            State("draft", _("填写申请"), assignee=_drafter),
            State("investigation", _("信用调查"), assignee_role="credit_officer", assignee=_investigators),
            *[State(s, APPROVAL_LABELS[s], assignee_role=r) for s, r in APPROVAL_STATES.items()],
            State("approved", _("已批准"), final=True),
            State("rejected", _("已否决"), final=True),
            State("withdrawn", _("已撤回"), final=True),
        ],
        transitions=[
            Transition(
                "submit",
                _("提交申请"),
                source="draft",
                target="investigation",
                guards=[_submittable],
                effects=[_moved],
            ),
            Transition(
                "withdraw",
                _("撤回申请"),
                source="draft",
                target="withdrawn",
                comment_required=True,
                effects=[_moved],
            ),
            Transition(
                "send_back",
                _("退回申请人补充"),
                source="investigation",
                target="draft",
                roles=INVESTIGATORS,
                send_back=True,
                comment_required=True,
                effects=[_moved],
            ),
            *[
                Transition(
                    f"route_{APPROVAL_STATES[s]}",
                    ROUTE_LABELS[s],
                    source="investigation",
                    target=s,
                    roles=INVESTIGATORS,
                    guards=[not_preparer(), _investigated, _band(s)],
                    effects=[_moved],
                )
                for s in APPROVAL_STATES
            ],
            *approval_transitions,
        ],
    )


def register() -> None:
    register_definition(definition())
