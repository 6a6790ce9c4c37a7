"""The order review on the workflow engine (R-ORD-03, R-ORD-04).

An order going to review (status review_pending) opens a case of ``orders_review`` in the same transaction:
content and feasibility review (the review group) → sales → purchasing → logistics → finance, each recording its
opinion (required), the reviewer and the time on the case → management approval → approved / rejected (the order
is cancelled, its exposure released) / sent back to sales (the order goes back to draft, its exposure released;
the next submit runs every check again). Every open step may send the order back.

Who handles each step and its deadline in working days come from policy ``orders.review``; guards, effects and
assignees call :mod:`kehu.orders.review`.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from kehu.workflow.engine import Definition, State, Transition, register_definition

KEY = "orders_review"
STEPS = ("content", "sales", "purchasing", "logistics", "finance", "management")
STEP_LABELS = {
    "content": _("内容与可行性评审"),
    "sales": _("销售部意见"),
    "purchasing": _("采购部意见"),
    "logistics": _("物流部意见"),
    "finance": _("财务部意见"),
    "management": _("管理层审批"),
}
# the role a step's task goes to when nobody holds the policy's role (the policy's default roles)
FALLBACK_ROLES = {
    "content": "reviewer",
    "sales": "sales_manager",
    "purchasing": "reviewer",
    "logistics": "reviewer",
    "finance": "finance",
    "management": "general_manager",
}
PASS_LABELS = {
    "content": _("评审通过，转销售部"),
    "sales": _("提交意见，转采购部"),
    "purchasing": _("提交意见，转物流部"),
    "logistics": _("提交意见，转财务部"),
    "finance": _("提交意见，报管理层审批"),
}


def _svc() -> Any:
    from kehu.orders import review

    return review


def _holders(step: str) -> Any:
    def assignee(case: Any) -> Any:
        return _svc().step_holders(case, step)

    assignee.guard_name = f"评审环节办理人（{step}）"  # type: ignore[attr-defined]
    return assignee


def _step_role(case: Any, user: Any) -> str | None:
    return _svc().guard_step_role(case, user)


def _not_submitter(case: Any, user: Any) -> str | None:
    return _svc().guard_not_submitter(case, user)


def _opinion(case: Any, actor: Any, data: dict[str, Any]) -> None:
    _svc().on_opinion(case, actor, data)


def _approved(case: Any, actor: Any, data: dict[str, Any]) -> None:
    _svc().on_approved(case, actor, data)


def _rejected(case: Any, actor: Any, data: dict[str, Any]) -> None:
    _svc().on_rejected(case, actor, data)


def _returned(case: Any, actor: Any, data: dict[str, Any]) -> None:
    _svc().on_returned(case, actor, data)


_step_role.guard_name = "评审环节角色"  # type: ignore[attr-defined]
_not_submitter.guard_name = "提交人不得审批"  # type: ignore[attr-defined]
_opinion.guard_name = "记录意见与期限"  # type: ignore[attr-defined]
_approved.guard_name = "订单批准"  # type: ignore[attr-defined]
_rejected.guard_name = "订单取消并释放信用占用"  # type: ignore[attr-defined]
_returned.guard_name = "订单退回草稿并释放信用占用"  # type: ignore[attr-defined]


def definition() -> Definition:
    passes = [
        Transition(
            f"{step}_pass",
            PASS_LABELS[step],
            source=step,
            target=STEPS[i + 1],
            comment_required=True,
            guards=[_step_role],
            effects=[_opinion],
        )
        for i, step in enumerate(STEPS[:-1])
    ]
    return Definition(
        key=KEY,
        name=_("订单评审"),
        number_prefix="DDPS",
        level="L3",
        owner_role="sales_manager",
        departments=["sales", "purchasing", "logistics", "finance", "management"],
        key_control_points=[
            _("未通过检查、超过评审金额线或非标的订单须经评审"),
            _("各部门依次记录意见、评审人与时间"),
            _("管理层审批，提交人不得审批"),
        ],
        kpis=[_("订单评审周期（工作日）"), _("超期环节数")],
        initial="content",
        states=[
            *[
                State(
                    s,
                    STEP_LABELS[s],
                    assignee_role=FALLBACK_ROLES[s],
                    assignee=_holders(s),
                    department_limited=s == "sales",
                )
                for s in STEPS
            ],
            State("approved", _("已批准"), final=True),
            State("rejected", _("已否决"), final=True),
            State("returned", _("已退回销售"), final=True),
            State("withdrawn", _("已撤销（订单变更或取消）"), final=True),
        ],
        transitions=[
            *passes,
            Transition(
                "approve",
                _("批准订单"),
                source="management",
                target="approved",
                guards=[_step_role, _not_submitter],
                effects=[_opinion, _approved],
            ),
            Transition(
                "reject",
                _("否决订单"),
                source="management",
                target="rejected",
                comment_required=True,
                guards=[_step_role, _not_submitter],
                effects=[_opinion, _rejected],
            ),
            Transition(
                "send_back",
                _("退回销售修改"),
                source=STEPS,
                target="returned",
                comment_required=True,
                send_back=True,
                guards=[_step_role],
                effects=[_opinion, _returned],
            ),
        ],
    )


def register() -> None:
    register_definition(definition())
