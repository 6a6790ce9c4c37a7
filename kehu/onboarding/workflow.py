"""The onboarding review and re-qualification processes, declared on the workflow engine (R-ONB-02..05, 08).

Onboarding (``onboarding``): initial screening (sales) → qualification check (review team) → business
review (review team) → risk assessment (credit) → interview and negotiation (sales, with the review team) → final
approval (the general manager or the delegate roles of policy ``onboarding.review``) → approved / deferred /
rejected. Every stage can send the case back to the customer for rectification (客户整改); the rectification
returns it to the stage that sent it back for re-review (复核).

Re-qualification (``requal``): qualification re-check (review team) → credit re-check
(credit) → decision (approver roles) → keep / downgrade / suspend.

Deadlines are working days from the policy (``stage_days``), applied by the ``_deadline`` effect of every
transition; guards and effects call :mod:`kehu.onboarding.services`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.workflow.engine import Check, Definition, State, Transition, not_preparer, register_definition

REVIEW_KEY = "onboarding"
REQUAL_KEY = "requal"
SALES = ["sales_rep", "sales_manager"]
REVIEW_TEAM = ["reviewer"]
CREDIT = ["credit_officer", "credit_manager"]


def _svc() -> Any:
    from kehu.onboarding import services

    return services


# --- assignees, guards, effects (thin wrappers: the rules live in services) -------------------------------------


def _owner(case: Any) -> Any:
    return _svc().case_customer_owner(case)


def _approvers(case: Any) -> list[Any]:
    return list(_svc().approvers())


def _approver_guard(case: Any, user: Any) -> str | None:
    return _svc().guard_approver(case, user)


def _documents_guard(case: Any, user: Any) -> str | None:
    return _svc().guard_documents_valid(case)


def _stage_documents_guard(case: Any, user: Any) -> str | None:
    return _svc().guard_stage_documents(case)


def _reviewer_guard(case: Any, user: Any) -> str | None:
    """R-ONB-07: with policy ``onboarding.reviewers`` requiring it, only holders of a valid qualification."""
    from kehu.onboarding import reviewers

    return reviewers.guard_qualified(case, user)


def _returns_to(stage: str) -> Any:
    def guard(case: Any, user: Any) -> str | None:
        return _svc().guard_returns_to(case, stage)

    guard.guard_name = f"退回环节（{stage}）"  # type: ignore[attr-defined]
    return guard


def _deadline(case: Any, actor: Any, data: dict[str, Any]) -> None:
    _svc().apply_stage_deadline(case)


def _passed(case: Any, actor: Any, data: dict[str, Any]) -> None:
    _svc().on_stage_passed(case, actor, data)


def _sent_back(case: Any, actor: Any, data: dict[str, Any]) -> None:
    _svc().on_sent_back(case, actor, data)


def _rectified(case: Any, actor: Any, data: dict[str, Any]) -> None:
    _svc().on_rectified(case, actor, data)


def _decided(case: Any, actor: Any, data: dict[str, Any]) -> None:
    _svc().on_decided(case, actor, data)


_deadline.guard_name = "环节期限"  # type: ignore[attr-defined]
_passed.guard_name = "环节通过"  # type: ignore[attr-defined]
_sent_back.guard_name = "退回整改"  # type: ignore[attr-defined]
_rectified.guard_name = "整改复核"  # type: ignore[attr-defined]
_decided.guard_name = "审核结论"  # type: ignore[attr-defined]
_approver_guard.guard_name = "最终审批角色"  # type: ignore[attr-defined]
_documents_guard.guard_name = "证照齐全有效"  # type: ignore[attr-defined]
_stage_documents_guard.guard_name = "环节所需资料"  # type: ignore[attr-defined]
_reviewer_guard.guard_name = "审核员资质"  # type: ignore[attr-defined]


# --- checklists (R-ONB-05) ----------------------------------------------------------------------------------------

CHECKLISTS: dict[str, list[Check]] = {
    "screening": [
        Check("needs", _("客户需求明确"), mandatory=True),
        Check("reputation", _("合作信誉良好"), mandatory=True),
        Check("industry_position", _("行业地位已了解"), mandatory=True),
    ],
    "qualification": [
        Check("registration", _("注册信息已核实"), mandatory=True),
        Check("operating", _("经营状况正常"), mandatory=True),
        Check("licence", _("营业执照有效"), mandatory=True),
        Check("tax_registration", _("税务登记已核实")),
        Check("organisation_code", _("组织机构代码已核实")),
        Check("professional", _("专业资质符合要求"), mandatory=True),
    ],
    "business": [
        Check("compliance", _("业务合规"), mandatory=True),
        Check("authenticity", _("业务真实"), mandatory=True),
        Check("legality", _("业务合法"), mandatory=True),
    ],
    "risk": [
        Check("credit_record", _("信用记录已核查"), mandatory=True),
        Check("litigation", _("诉讼情况已核查"), mandatory=True),
        Check("industry", _("行业风险已评估"), mandatory=True),
        Check("history", _("历史交易已核查")),
        Check("site_visit", _("现场考察")),
        Check("third_party", _("第三方评估报告")),
    ],
    "interview": [
        Check("details", _("合作细节已商定"), mandatory=True),
        Check("review_team", _("审核团队已参与面谈"), mandatory=True),
        Check("nda", _("保密协议已签署"), mandatory=True),
        Check("integrity", _("合规与诚信已确认")),
    ],
    "check": [
        Check("registration", _("注册信息已核实"), mandatory=True),
        Check("operating", _("经营状况正常"), mandatory=True),
        Check("professional", _("专业资质仍然有效"), mandatory=True),
    ],
    "risk_check": [
        Check("credit_record", _("信用状况已复查"), mandatory=True),
        Check("litigation", _("诉讼情况已复查"), mandatory=True),
        Check("meeting", _("本年度已与客户会面"), mandatory=True),
    ],
}

STAGE_ROLES: dict[str, list[str]] = {
    "screening": SALES,
    "qualification": REVIEW_TEAM,
    "business": REVIEW_TEAM,
    "risk": CREDIT,
    "interview": SALES,
    "approval": [],  # the approver guard decides (policy roles)
    "check": REVIEW_TEAM,
    "risk_check": CREDIT,
    "decision": [],
}


def _stage_guards(stage: str) -> list[Any]:
    """R-ONB-07: sending back from a reviewed stage is taking that stage too."""
    return [_reviewer_guard] if stage in ("qualification", "business", "risk", "check", "risk_check") else []


def _send_back(stage: str) -> Transition:
    return Transition(
        f"send_back_{stage}",
        _("退回客户整改"),
        source=stage,
        target="rectification",
        roles=STAGE_ROLES[stage],
        guards=[_approver_guard] if stage in ("approval", "decision") else _stage_guards(stage),
        send_back=True,
        comment_required=True,
        effects=[_deadline, _sent_back],
    )


def _resubmit(stage: str, label: Any) -> Transition:
    return Transition(
        f"resubmit_{stage}",
        label,
        source="rectification",
        target=stage,
        roles=SALES,
        guards=[_returns_to(stage)],
        comment_required=True,
        effects=[_deadline, _rectified],
    )


REVIEW_LABELS = {
    "screening": _("初步筛选"),
    "qualification": _("资质核查"),
    "business": _("业务审核"),
    "risk": _("风险评估"),
    "interview": _("面谈洽谈"),
    "approval": _("最终审批"),
}
RESUBMIT_LABELS = {
    "screening": _("整改完成，提交复核（初步筛选）"),
    "qualification": _("整改完成，提交复核（资质核查）"),
    "business": _("整改完成，提交复核（业务审核）"),
    "risk": _("整改完成，提交复核（风险评估）"),
    "interview": _("整改完成，提交复核（面谈洽谈）"),
    "approval": _("整改完成，提交复核（最终审批）"),
    "check": _("整改完成，提交复核（资质复核）"),
    "risk_check": _("整改完成，提交复核（信用复核）"),
    "decision": _("整改完成，提交复核（复审决定）"),
}
REQUAL_LABELS = {"check": _("资质复核"), "risk_check": _("信用复核"), "decision": _("复审决定")}


def _decider_guards() -> list[Any]:
    """Nobody decides a case they prepared: the applicant and screener, the reviewers of each stage, the interview."""
    stages = ("qualification", "business", "risk", "interview")
    return [not_preparer(), *[not_preparer(of_state=s) for s in stages], _approver_guard]


def _review_cases_visible(user: Any) -> Q:
    """R-ONB-06 on the engine's own case pages: only the cases of reviews the user may read."""
    from kehu.core import access
    from kehu.onboarding.models import Review

    return Q(pk__in=access.restrict(user, "onboarding.review.view", Review.objects.all()).values("case_id"))


def review_definition() -> Definition:
    return Definition(
        key=REVIEW_KEY,
        name=_("客户审核"),
        visible_to=_review_cases_visible,
        level="L3",
        owner_role="general_manager",
        departments=["sales", "quality", "credit"],
        key_control_points=[
            _("必备证照齐全有效"),
            _("必填检查项逐项确认"),
            _("经办人不得审批本人经办的审核"),
            _("整改后须复核"),
        ],
        kpis=[_("审核周期（工作日）"), _("批准率"), _("退回整改率")],
        initial="screening",
        states=[
            State("screening", REVIEW_LABELS["screening"], assignee=_owner),
            State("qualification", REVIEW_LABELS["qualification"], assignee_role="reviewer"),
            State("business", REVIEW_LABELS["business"], assignee_role="reviewer"),
            State("risk", REVIEW_LABELS["risk"], assignee_role="credit_officer"),
            State("interview", REVIEW_LABELS["interview"], assignee=_owner),
            State(
                "approval", REVIEW_LABELS["approval"], assignee_role="general_manager", assignee=_approvers
            ),
            State("rectification", _("客户整改"), assignee=_owner),
            State("approved", _("批准合作"), final=True),
            State("deferred", _("暂缓合作"), final=True),
            State("rejected", _("不予合作"), final=True),
            State("withdrawn", _("已撤回"), final=True),
        ],
        transitions=[
            Transition(
                "submit",
                _("初筛通过，提交资质核查"),
                source="screening",
                target="qualification",
                roles=SALES,
                checklist=CHECKLISTS["screening"],
                guards=[_stage_documents_guard],
                effects=[_deadline, _passed],
            ),
            Transition(
                "qualify",
                _("资质核查通过"),
                source="qualification",
                target="business",
                roles=REVIEW_TEAM,
                checklist=CHECKLISTS["qualification"],
                guards=[not_preparer(), _documents_guard, _stage_documents_guard, _reviewer_guard],
                effects=[_deadline, _passed],
            ),
            Transition(
                "pass_business",
                _("业务审核通过"),
                source="business",
                target="risk",
                roles=REVIEW_TEAM,
                checklist=CHECKLISTS["business"],
                guards=[not_preparer(), _stage_documents_guard, _reviewer_guard],
                effects=[_deadline, _passed],
            ),
            Transition(
                "pass_risk",
                _("风险评估完成"),
                source="risk",
                target="interview",
                roles=CREDIT,
                checklist=CHECKLISTS["risk"],
                comment_required=True,
                guards=[not_preparer(), _stage_documents_guard, _reviewer_guard],
                effects=[_deadline, _passed],
            ),
            Transition(
                "pass_interview",
                _("面谈洽谈完成，报送审批"),
                source="interview",
                target="approval",
                roles=SALES,
                checklist=CHECKLISTS["interview"],
                guards=[_stage_documents_guard],
                effects=[_deadline, _passed],
            ),
            Transition(
                "approve",
                _("批准合作"),
                source="approval",
                target="approved",
                guards=_decider_guards(),
                effects=[_passed, _decided],
            ),
            Transition(
                "defer",
                _("暂缓合作"),
                source="approval",
                target="deferred",
                comment_required=True,
                guards=_decider_guards(),
                effects=[_decided],
            ),
            Transition(
                "reject",
                _("不予合作"),
                source="approval",
                target="rejected",
                comment_required=True,
                guards=_decider_guards(),
                effects=[_decided],
            ),
            Transition(
                "withdraw",
                _("撤回申请"),
                source="screening",
                target="withdrawn",
                roles=SALES,
                comment_required=True,
                effects=[_decided],
            ),
            *[_send_back(s) for s in REVIEW_LABELS],
            *[_resubmit(s, RESUBMIT_LABELS[s]) for s in REVIEW_LABELS],
        ],
    )


def requal_definition() -> Definition:
    return Definition(
        key=REQUAL_KEY,
        name=_("客户定期复审"),
        visible_to=_review_cases_visible,
        level="L3",
        owner_role="general_manager",
        departments=["quality", "credit", "sales"],
        key_control_points=[_("按类别周期复审"), _("证照失效即复审"), _("每年至少会面一次")],
        kpis=[_("复审按期完成率")],
        initial="check",
        states=[
            State("check", REQUAL_LABELS["check"], assignee_role="reviewer"),
            State("risk_check", REQUAL_LABELS["risk_check"], assignee_role="credit_officer"),
            State(
                "decision", REQUAL_LABELS["decision"], assignee_role="general_manager", assignee=_approvers
            ),
            State("rectification", _("客户整改"), assignee=_owner),
            State("kept", _("维持合作"), final=True),
            State("downgraded", _("降低类别"), final=True),
            State("suspended", _("暂停合作"), final=True),
        ],
        transitions=[
            Transition(
                "check_pass",
                _("资质复核完成"),
                source="check",
                target="risk_check",
                roles=REVIEW_TEAM,
                checklist=CHECKLISTS["check"],
                guards=[_reviewer_guard],
                effects=[_deadline, _passed],
            ),
            Transition(
                "risk_pass",
                _("信用复核完成，报送决定"),
                source="risk_check",
                target="decision",
                roles=CREDIT,
                checklist=CHECKLISTS["risk_check"],
                comment_required=True,
                guards=[not_preparer(of_state="check"), _reviewer_guard],
                effects=[_deadline, _passed],
            ),
            Transition(
                "keep",
                _("维持合作"),
                source="decision",
                target="kept",
                guards=[not_preparer(of_state="check"), not_preparer(of_state="risk_check"), _approver_guard],
                effects=[_passed, _decided],
            ),
            Transition(
                "downgrade",
                _("降低类别"),
                source="decision",
                target="downgraded",
                comment_required=True,
                guards=[not_preparer(of_state="check"), not_preparer(of_state="risk_check"), _approver_guard],
                effects=[_passed, _decided],
            ),
            Transition(
                "suspend",
                _("暂停合作"),
                source="decision",
                target="suspended",
                comment_required=True,
                guards=[not_preparer(of_state="check"), not_preparer(of_state="risk_check"), _approver_guard],
                effects=[_decided],
            ),
            *[_send_back(s) for s in REQUAL_LABELS],
            *[_resubmit(s, RESUBMIT_LABELS[s]) for s in REQUAL_LABELS],
        ],
    )


def register() -> None:
    register_definition(review_definition())
    register_definition(requal_definition())
