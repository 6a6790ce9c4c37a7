"""Policy types used by the tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from kehu.core.policies import register_policy_type


class Limits(BaseModel):
    max_amount: Decimal = Field(
        default=Decimal("100000.00"), ge=0, title="最高金额", json_schema_extra={"unit": "元"}
    )
    days: int = Field(default=30, ge=1, le=365, title="天数", json_schema_extra={"unit": "天"})


class Sample(BaseModel):
    review_days: int = Field(
        default=5,
        ge=1,
        title="审核时限",
        description="审核应在此工作日数内完成。",
        json_schema_extra={"unit": "工作日"},
    )
    ratio: float = Field(default=0.5, ge=0, le=1, title="比例")
    enabled: bool = Field(default=True, title="启用")
    level: Literal["low", "mid", "high"] = Field(default="mid", title="级别")
    start: dt.date = Field(default=dt.date(2026, 1, 1), title="起算日")
    note: str = Field(default="", title="说明")
    limits: Limits = Field(default_factory=lambda: Limits(), title="额度")
    grades: list[str] = Field(default_factory=lambda: ["A", "B"], title="等级")


TRIAL = register_policy_type(
    "test.sample",
    label="测试制度",
    schema=Sample,
    default=Sample(),
    allows_trial=True,
    approver_roles=("general_manager",),
)
NOTRIAL = register_policy_type(
    "test.notrial",
    label="不允许试行的测试制度",
    schema=Sample,
    default=Sample(),
    allows_trial=False,
    approver_roles=("general_manager",),
)
