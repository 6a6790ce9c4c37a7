"""Policy values of the onboarding review (R-ONB-02, R-ONB-03) and of re-qualification (R-ONB-08)."""

from __future__ import annotations

from typing import TypeVar

from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from pydantic import BaseModel, Field, field_validator

M = TypeVar("M", bound=BaseModel)

REVIEW = "onboarding.review"
REQUALIFICATION = "onboarding.requalification"

# Roles that may take the final decision (R-ONB-02: the general manager or a delegate named by the policy).
APPROVER_CHOICES = ("general_manager", "sales_manager", "credit_manager")
STAGES = ("screening", "qualification", "business", "risk", "interview", "approval")
REQUAL_STAGES = ("check", "risk_check", "decision")


def _days(title: str, default: int) -> int:
    return Field(
        default=default, ge=1, le=60, title=title, json_schema_extra={"unit": gettext_noop("工作日")}
    )


class StageDays(BaseModel):
    """Working days each stage may take (R-ONB-02)."""

    screening: int = _days(gettext_noop("初步筛选"), 2)
    qualification: int = _days(gettext_noop("资质核查"), 3)
    business: int = _days(gettext_noop("业务审核"), 3)
    risk: int = _days(gettext_noop("风险评估"), 5)
    interview: int = _days(gettext_noop("面谈洽谈"), 5)
    approval: int = _days(gettext_noop("最终审批"), 3)
    rectification: int = _days(gettext_noop("客户整改"), 10)
    check: int = _days(gettext_noop("资质复核"), 5)
    risk_check: int = _days(gettext_noop("信用复核"), 5)
    decision: int = _days(gettext_noop("复审决定"), 3)


class StageDocuments(BaseModel):
    """Document types (attachment categories) each stage requires in the dossier or on the review."""

    screening: list[str] = Field(default=["business_licence"], max_length=12, title=gettext_noop("初步筛选"))
    qualification: list[str] = Field(default=[], max_length=12, title=gettext_noop("资质核查"))
    business: list[str] = Field(default=[], max_length=12, title=gettext_noop("业务审核"))
    risk: list[str] = Field(default=[], max_length=12, title=gettext_noop("风险评估"))
    interview: list[str] = Field(default=[], max_length=12, title=gettext_noop("面谈洽谈"))

    @field_validator("*")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from kehu.core.models.attachments import DocumentType

        unknown = [v for v in value if v not in DocumentType.values]
        if unknown:
            raise ValueError(_gettext("未知的证照类别：%(codes)s") % {"codes": "、".join(unknown)})
        return value


class ReviewPolicy(BaseModel):
    stage_days: StageDays = Field(default_factory=StageDays, title=gettext_noop("各环节期限"))
    stage_documents: StageDocuments = Field(
        default_factory=StageDocuments, title=gettext_noop("各环节所需资料")
    )
    approver_roles: list[str] = Field(
        default=["general_manager"],
        min_length=1,
        max_length=3,
        title=gettext_noop("最终审批角色"),
        description=gettext_noop("可作出最终审批的角色：总经理，或制度授权的销售经理/信用经理。"),
    )

    @field_validator("approver_roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if v not in APPROVER_CHOICES]
        if bad:
            raise ValueError(
                _gettext("审批角色只能是 %(ok)s：%(bad)s")
                % {"ok": "、".join(APPROVER_CHOICES), "bad": "、".join(bad)}
            )
        return list(dict.fromkeys(value))


class RequalificationPolicy(BaseModel):
    """Re-qualification cycles per class within the ranges of R-ONB-08."""

    core_months: int = Field(
        default=12,
        ge=6,
        le=36,
        title=gettext_noop("核心客户复审周期"),
        description=gettext_noop("半年到三年。"),
        json_schema_extra={"unit": gettext_noop("月")},
    )
    important_months: int = Field(
        default=24,
        ge=12,
        le=36,
        title=gettext_noop("重要客户复审周期"),
        description=gettext_noop("一年到三年。"),
        json_schema_extra={"unit": gettext_noop("月")},
    )
    general_months: int = Field(
        default=24,
        ge=12,
        le=24,
        title=gettext_noop("一般客户复审周期"),
        description=gettext_noop("一年到两年。"),
        json_schema_extra={"unit": gettext_noop("月")},
    )
    lead_days: int = Field(
        default=30,
        ge=0,
        le=90,
        title=gettext_noop("提前发起天数"),
        description=gettext_noop("在下次复审日期前这些天发起复审。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    meeting_days: int = Field(
        default=365,
        ge=30,
        le=366,
        title=gettext_noop("会面间隔"),
        description=gettext_noop("复审周期内每年至少与客户会面一次：超过该天数未会面即生成待办。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )

    def months_for(self, customer_class: str) -> int:
        return int(getattr(self, f"{customer_class}_months", self.general_months))


def register() -> None:
    try:
        from kehu.core.policies import register_policy_type
    except ImportError:
        return
    register_policy_type(
        REVIEW,
        label=_("客户审核"),
        schema=ReviewPolicy,
        default=ReviewPolicy(),
        allows_trial=True,
        approver_roles=("general_manager",),
        description=_("客户审核各环节期限、所需资料与最终审批角色（R-ONB-02、R-ONB-03）。"),
    )
    register_policy_type(
        REQUALIFICATION,
        label=_("客户定期复审"),
        schema=RequalificationPolicy,
        default=RequalificationPolicy(),
        allows_trial=False,
        approver_roles=("general_manager",),
        description=_("各类客户的复审周期与年度会面要求（R-ONB-08）。"),
    )


def _in_force(key: str, model: type[M]) -> tuple[M, int | None]:
    """The policy in force for ``key`` as ``model`` and its version id (None when only the built-in default applies)."""
    from kehu.core.policies import policy_values

    return policy_values(key, model)


def review() -> tuple[ReviewPolicy, int | None]:
    return _in_force(REVIEW, ReviewPolicy)


def requalification() -> tuple[RequalificationPolicy, int | None]:
    return _in_force(REQUALIFICATION, RequalificationPolicy)
