"""The access request process (查阅申请单, R-ARC-01) on the workflow engine.

draft (the requester; submitted at once) → review by the office head (credit items: the credit office head, role
credit manager; dossier files and sections: the archive office head, role archivist) → approved (a grant for the
period set by the approver) / rejected (with a reason). A request for an original, or for an item at the "secret"
level, goes on from the office head to the general manager (R-ARC-01: originals only with general-manager
approval). Nobody approves their own request (``not_preparer``). The deadline of each review is a policy value.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.workflow.engine import Definition, State, Transition, not_preparer, register_definition

KEY = "confidential_access"
HEADS = ["credit_manager", "archivist"]
REVIEW_STATES = {"credit_review": "credit_manager", "archive_review": "archivist"}
OVERSIGHT = ("credit_manager", "archivist", "general_manager", "auditor")


def _svc() -> Any:
    from kehu.confidential import services

    return services


def _credit_office(case: Any, user: Any) -> str | None:
    return _svc().guard_office(case, "credit")


def _archive_office(case: Any, user: Any) -> str | None:
    return _svc().guard_office(case, "archive")


def _needs_gm(case: Any, user: Any) -> str | None:
    return _svc().guard_needs_gm(case, True)


def _no_gm(case: Any, user: Any) -> str | None:
    return _svc().guard_needs_gm(case, False)


def _moved(case: Any, actor: Any, data: dict[str, Any]) -> None:
    _svc().on_case_moved(case, actor, data)


def _grant(case: Any, actor: Any, data: dict[str, Any]) -> None:
    _svc().on_approved(case, actor, data)


_credit_office.guard_name = "信用档案由信用管理部审批"  # type: ignore[attr-defined]
_archive_office.guard_name = "归档文件由档案室审批"  # type: ignore[attr-defined]
_needs_gm.guard_name = "原件或机密须总经理批准"  # type: ignore[attr-defined]
_no_gm.guard_name = "复印件且非机密"  # type: ignore[attr-defined]
_moved.guard_name = "同步申请状态"  # type: ignore[attr-defined]
_grant.guard_name = "授予查阅权限"  # type: ignore[attr-defined]


def _visible(user: Any) -> Q:
    """The engine's own pages show these cases to the requester and to the offices that approve and oversee them
    (a task holder sees the case while holding it)."""
    if user.has_role(*OVERSIGHT):
        return Q(pk__isnull=False)
    return Q(opened_by_id=user.pk or 0)


def definition() -> Definition:
    reviews = list(REVIEW_STATES)
    return Definition(
        key=KEY,
        name=_("保密档案查阅申请"),
        number_prefix="CYSQ",
        visible_to=_visible,
        level="L3",
        owner_role="archivist",
        departments=["archive", "credit"],
        key_control_points=[
            _("信用档案由信用管理部负责人审批，归档文件由档案室负责人审批"),
            _("原件借阅须经总经理批准"),
            _("授权限于所申请的文件与期限，到期自动失效"),
        ],
        kpis=[_("审批周期（工作日）"), _("批准率")],
        initial="draft",
        states=[
            State("draft", _("填写申请")),
            State("credit_review", _("信用管理部负责人审批"), assignee_role="credit_manager"),
            State("archive_review", _("档案室负责人审批"), assignee_role="archivist"),
            State("gm_review", _("总经理审批"), assignee_role="general_manager"),
            State("approved", _("已批准"), final=True),
            State("rejected", _("已驳回"), final=True),
        ],
        transitions=[
            Transition(
                "submit_credit",
                _("提交信用管理部审批"),
                source="draft",
                target="credit_review",
                guards=[_credit_office],
                effects=[_moved],
            ),
            Transition(
                "submit_archive",
                _("提交档案室审批"),
                source="draft",
                target="archive_review",
                guards=[_archive_office],
                effects=[_moved],
            ),
            Transition(
                "approve",
                _("批准"),
                source=reviews,
                target="approved",
                roles=HEADS,
                guards=[not_preparer(), _no_gm],
                effects=[_grant, _moved],
            ),
            Transition(
                "forward_gm",
                _("同意，报总经理批准"),
                source=reviews,
                target="gm_review",
                roles=HEADS,
                guards=[not_preparer(), _needs_gm],
                effects=[_moved],
            ),
            Transition(
                "approve_gm",
                _("总经理批准"),
                source="gm_review",
                target="approved",
                roles=["general_manager"],
                guards=[not_preparer()],
                effects=[_grant, _moved],
            ),
            Transition(
                "reject",
                _("驳回"),
                source=[*reviews, "gm_review"],
                target="rejected",
                roles=[*HEADS, "general_manager"],
                comment_required=True,
                effects=[_moved],
            ),
        ],
    )


def register() -> None:
    register_definition(definition())
