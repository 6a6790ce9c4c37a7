"""Policy values of the receivables module: ageing buckets, payment terms, collections (R-CRD-06, R-CRD-07) and the
write-off authority (R-CRD-11)."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from typing import TypeVar

from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, Field, field_validator, model_validator

M = TypeVar("M", bound=BaseModel)

AGEING = "receivables.ageing"
COLLECTION = "receivables.collection"
WRITE_OFF = "receivables.write_off"

APPROVER_CHOICES = ("credit_manager", "finance", "general_manager", "credit_committee")


class AgeingPolicy(BaseModel):
    bucket_edges: list[int] = Field(
        default=[30, 60, 90, 180, 365],
        min_length=1,
        max_length=12,
        title=gettext_noop("账龄分段上限"),
        description=gettext_noop(
            "逾期天数分段的上限（天，递增）：默认 未到期、1–30、31–60、61–90、91–180、181–365、365天以上。"
        ),
    )
    default_terms_days: int = Field(
        default=30,
        ge=0,
        le=365,
        title=gettext_noop("默认付款期限"),
        description=gettext_noop("发票未填到期日时，按开票日加此天数确定到期日。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )

    @field_validator("bucket_edges")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if any(v < 1 for v in value) or any(b <= a for a, b in pairwise(value)):
            raise ValueError(gettext("分段上限须为递增的正整数。"))
        return value


class CollectionPolicy(BaseModel):
    overdue_task_days: int = Field(
        default=30,
        ge=1,
        le=365,
        title=gettext_noop("逾期生成待办天数"),
        description=gettext_noop("发票逾期超过此天数，为负责人和信用专员生成催收待办。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    overdue_tolerance_days: int = Field(
        default=30,
        ge=0,
        le=365,
        title=gettext_noop("逾期容忍天数"),
        description=gettext_noop("有逾期超过此天数的发票的客户列入信用占用异常名单。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    promise_tolerance_days: int = Field(
        default=3,
        ge=0,
        le=60,
        title=gettext_noop("付款承诺宽限天数"),
        description=gettext_noop("承诺付款日后此天数内仍未收足承诺金额，视为承诺未兑现。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    task_days: int = Field(
        default=5,
        ge=1,
        le=60,
        title=gettext_noop("催收待办期限"),
        json_schema_extra={"unit": gettext_noop("天")},
    )


class WriteOffBand(BaseModel):
    up_to: Decimal | None = Field(
        default=None, title=gettext_noop("金额上限（含）"), description=gettext_noop("空：不设上限")
    )
    role: str = Field(title=gettext_noop("审批角色"))

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        if value not in APPROVER_CHOICES:
            raise ValueError(gettext("未知的审批角色：%(role)s") % {"role": value})
        return value


class WriteOffPolicy(BaseModel):
    bands: list[WriteOffBand] = Field(
        default=[
            WriteOffBand(up_to=Decimal("10000"), role="credit_manager"),
            WriteOffBand(up_to=Decimal("100000"), role="general_manager"),
            WriteOffBand(up_to=None, role="credit_committee"),
        ],
        min_length=1,
        max_length=8,
        title=gettext_noop("核销审批权限"),
        description=gettext_noop("按核销金额分段确定审批角色；最后一段不设上限。"),
    )

    @model_validator(mode="after")
    def _ordered(self) -> WriteOffPolicy:
        limits = [b.up_to for b in self.bands]
        if limits[-1] is not None or any(x is None for x in limits[:-1]):
            raise ValueError(gettext("只有最后一段可以不设上限。"))
        numbers = [x for x in limits if x is not None]
        if any(b <= a for a, b in pairwise(numbers)):
            raise ValueError(gettext("金额上限须递增。"))
        return self

    def role_for(self, amount: Decimal) -> str:
        for band in self.bands:
            if band.up_to is None or amount <= band.up_to:
                return band.role
        return self.bands[-1].role


def register() -> None:
    from kehu.core.policies import register_policy_type

    register_policy_type(
        AGEING,
        label=_("账龄分段与付款期限"),
        schema=AgeingPolicy,
        default=AgeingPolicy(),
        allows_trial=False,
        approver_roles=("credit_manager", "general_manager"),
        description=_("账龄分析的逾期天数分段和默认付款期限（R-CRD-06）。"),
    )
    register_policy_type(
        COLLECTION,
        label=_("催收"),
        schema=CollectionPolicy,
        default=CollectionPolicy(),
        allows_trial=False,
        approver_roles=("credit_manager", "general_manager"),
        description=_("逾期与付款承诺未兑现生成待办的规则（R-CRD-07）。"),
    )
    register_policy_type(
        WRITE_OFF,
        label=_("坏账核销审批"),
        schema=WriteOffPolicy,
        default=WriteOffPolicy(),
        allows_trial=False,
        approver_roles=("general_manager",),
        description=_("按核销金额确定审批角色（R-CRD-11）。"),
    )


def _in_force(key: str, model: type[M]) -> tuple[M, int | None]:
    from kehu.core.policies import policy_values

    return policy_values(key, model)


def ageing() -> tuple[AgeingPolicy, int | None]:
    return _in_force(AGEING, AgeingPolicy)


def collection() -> tuple[CollectionPolicy, int | None]:
    return _in_force(COLLECTION, CollectionPolicy)


def write_off() -> tuple[WriteOffPolicy, int | None]:
    return _in_force(WRITE_OFF, WriteOffPolicy)
