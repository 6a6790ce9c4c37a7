"""Policy values of credit limits (R-CRD-02, R-CRD-04, R-CRD-08, R-CRD-09): the authority matrix, the class
policies, the review interval, the late-payment rule and the stage deadlines.

Authority matrix: the bands are ordered by ``up_to``; an amount goes to the first band with ``amount <= up_to``
(the upper edge is inclusive, so 100 000.00 is still the credit officer's and 100 000.01 the credit manager's); the
last band has no ``up_to`` and takes every larger amount.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from pydantic import BaseModel, Field, field_validator, model_validator

KEY = "limits.credit"
APPROVER_CHOICES = ("credit_officer", "credit_manager", "credit_committee", "general_manager")


class Band(BaseModel):
    up_to: Decimal | None = Field(
        default=None,
        ge=0,
        title=gettext_noop("额度上限（含）"),
        json_schema_extra={"unit": gettext_noop("元")},
    )
    role: str = Field(title=gettext_noop("审批角色"))

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        if value not in APPROVER_CHOICES:
            raise ValueError(_gettext("审批角色只能是 %(ok)s") % {"ok": "、".join(APPROVER_CHOICES)})
        return value


def _default_bands() -> list[Band]:
    return [
        Band(up_to=Decimal("100000"), role="credit_officer"),
        Band(up_to=Decimal("1000000"), role="credit_manager"),
        Band(up_to=None, role="credit_committee"),
    ]


class ClassRules(BaseModel):
    """What each credit class allows (R-CRD-04)."""

    a_max_term_days: int = Field(
        default=90,
        ge=0,
        le=365,
        title=gettext_noop("A类最长账期"),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    b_start_limit: Decimal = Field(
        default=Decimal("200000"),
        ge=0,
        title=gettext_noop("B类起始额度上限"),
        json_schema_extra={"unit": gettext_noop("元")},
    )
    b_step_pct: int = Field(
        default=30, ge=0, le=500, title=gettext_noop("B类每次复查最大增幅"), json_schema_extra={"unit": "%"}
    )
    b_max_term_days: int = Field(
        default=60,
        ge=0,
        le=365,
        title=gettext_noop("B类最长账期"),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    c_small_limit: Decimal = Field(
        default=Decimal("50000"),
        ge=0,
        title=gettext_noop("C类小额额度上限"),
        json_schema_extra={"unit": gettext_noop("元")},
    )
    c_max_term_days: int = Field(
        default=0,
        ge=0,
        le=90,
        title=gettext_noop("C类最长账期"),
        description=gettext_noop("0 表示货到付款。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    unrated_class: str = Field(default="C", title=gettext_noop("无评级时按此类别"))
    override_roles: list[str] = Field(
        default=["credit_manager", "general_manager"], min_length=1, title=gettext_noop("可授权越级的角色")
    )

    @field_validator("unrated_class")
    @classmethod
    def _cls(cls, value: str) -> str:
        if value not in ("A", "B", "C", "D"):
            raise ValueError(_gettext("类别只能是 A、B、C、D"))
        return value


class CreditPolicy(BaseModel):
    bands: list[Band] = Field(
        default_factory=_default_bands, min_length=1, title=gettext_noop("审批权限矩阵")
    )
    classes: ClassRules = Field(default_factory=ClassRules, title=gettext_noop("信用类别政策"))
    review_months: int = Field(
        default=12,
        ge=1,
        le=36,
        title=gettext_noop("定期复查间隔"),
        json_schema_extra={"unit": gettext_noop("月")},
    )
    review_days: int = Field(
        default=10,
        ge=1,
        le=60,
        title=gettext_noop("复查完成期限"),
        json_schema_extra={"unit": gettext_noop("工作日")},
    )
    investigation_days: int = Field(
        default=5,
        ge=1,
        le=60,
        title=gettext_noop("信用调查期限"),
        json_schema_extra={"unit": gettext_noop("工作日")},
    )
    approval_days: int = Field(
        default=3,
        ge=1,
        le=60,
        title=gettext_noop("审批期限"),
        json_schema_extra={"unit": gettext_noop("工作日")},
    )
    late_count: int = Field(
        default=2,
        ge=1,
        le=20,
        title=gettext_noop("季度内逾期付款次数"),
        description=gettext_noop("一个自然季度内逾期付款达到该次数，付款条件立即降一级。"),
    )
    overdue_spike_amount: Decimal = Field(
        default=Decimal("100000"),
        ge=0,
        title=gettext_noop("逾期激增金额"),
        json_schema_extra={"unit": gettext_noop("元")},
    )
    overdue_spike_days: int = Field(
        default=60,
        ge=1,
        le=365,
        title=gettext_noop("逾期激增天数"),
        description=gettext_noop("逾期金额或最长逾期天数达到任一值即发起复查。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )

    @model_validator(mode="after")
    def _bands(self) -> CreditPolicy:
        edges = [b.up_to for b in self.bands]
        if edges[-1] is not None or any(e is None for e in edges[:-1]):
            raise ValueError(_gettext("审批权限矩阵：只有最后一档不设上限。"))
        known = [e for e in edges if e is not None]
        if known != sorted(known) or len(set(known)) != len(known):
            raise ValueError(_gettext("审批权限矩阵：额度上限须逐档递增。"))
        return self


def register() -> None:
    from kehu.core.policies import register_policy_type

    register_policy_type(
        KEY,
        label=_("信用额度"),
        schema=CreditPolicy,
        default=CreditPolicy(),
        allows_trial=False,
        approver_roles=("general_manager",),
        description=_("授信审批权限、信用类别政策、定期复查与逾期付款降级（R-CRD-02、04、08、09）。"),
    )


def credit() -> tuple[CreditPolicy, int | None]:
    from kehu.core.policies import policy_values

    return policy_values(KEY, CreditPolicy)


def approver_role(policy: CreditPolicy, amount: Decimal) -> str:
    """The role that approves ``amount``: the first band whose inclusive upper edge is not below it."""
    for band in policy.bands:
        if band.up_to is None or amount <= band.up_to:
            return band.role
    return policy.bands[-1].role
