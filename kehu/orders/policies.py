"""Policy values of orders (R-ORD-02, R-ORD-03, R-CRD-05): ``orders.checks`` (what the automatic checks accept,
and the largest order amount taken in) and ``orders.release_bands`` (who may release a credit hold, by the excess
over the limit).

Release bands are ordered by ``up_to``; an excess goes to the first band with ``excess <= up_to`` (the upper edge
is inclusive); the last band has no ``up_to``. A hold for overdue receivables needs at least
``overdue_role``. A user with a higher role in :data:`ROLE_ORDER` may release what a lower one may.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, Field, field_validator, model_validator

CHECKS = "orders.checks"
BANDS = "orders.release_bands"
ROLE_ORDER = ("sales_manager", "credit_manager", "general_manager")
TERMS = ("after_delivery_90", "net_30", "cash_on_delivery", "no_deferral", "prepayment")
# the largest amount the money columns of orders hold (16 digits, 2 decimal places)
MAX_AMOUNT = Decimal("99999999999999.99")
# the largest quantity an order line holds (14 digits, 3 decimal places)
MAX_QUANTITY = Decimal("99999999999.999")


def _default_terms_by_level() -> dict[str, list[str]]:
    return {
        "A": ["after_delivery_90", "net_30", "cash_on_delivery", "no_deferral", "prepayment"],
        "B": ["net_30", "cash_on_delivery", "no_deferral", "prepayment"],
        "C": ["cash_on_delivery", "no_deferral", "prepayment"],
        "D": ["no_deferral", "prepayment"],
    }


class ChecksPolicy(BaseModel):
    overdue_tolerance_days: int = Field(
        default=30,
        ge=0,
        le=365,
        title=gettext_noop("逾期容忍天数"),
        description=gettext_noop("客户最早一笔逾期应收超过该天数时，订单进入信用冻结。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    review_threshold: Decimal = Field(
        default=Decimal("500000"),
        ge=0,
        title=gettext_noop("订单评审金额线"),
        description=gettext_noop("价税合计超过该金额的订单须经订单评审。"),
        json_schema_extra={"unit": gettext_noop("元")},
    )
    failed_check_action: str = Field(
        default="review",
        title=gettext_noop("非信用检查未通过时"),
        description=gettext_noop("review：转订单评审；block：退回草稿，修改后重新提交。"),
    )
    in_scope: list[str] = Field(
        default=["standard", "custom", "traded"], min_length=1, title=gettext_noop("经营范围内的产品范围")
    )
    terms_by_level: dict[str, list[str]] = Field(
        default_factory=_default_terms_by_level, title=gettext_noop("各付款条件等级允许的付款条件")
    )
    exempt_terms: list[str] = Field(
        default=["prepayment"],
        title=gettext_noop("不占用信用额度的付款条件"),
        description=gettext_noop("这些付款条件的订单不计入信用占用，只检查逾期。"),
    )
    max_order_amount: Decimal = Field(
        default=Decimal("100000000"),
        gt=0,
        le=MAX_AMOUNT,
        title=gettext_noop("单张订单金额上限"),
        description=gettext_noop("订单行或整张订单的价税合计超过该金额时不予受理（录入、接口与导入）。"),
        json_schema_extra={"unit": gettext_noop("元")},
    )

    @field_validator("failed_check_action")
    @classmethod
    def _action(cls, value: str) -> str:
        if value not in ("review", "block"):
            raise ValueError(gettext("只能是 review 或 block"))
        return value

    @model_validator(mode="after")
    def _terms(self) -> ChecksPolicy:
        used = set(self.exempt_terms) | {t for v in self.terms_by_level.values() for t in v}
        if used - set(TERMS):
            raise ValueError(
                gettext("未知的付款条件：%(codes)s") % {"codes": "、".join(sorted(used - set(TERMS)))}
            )
        if set(self.terms_by_level) - {"A", "B", "C", "D"}:
            raise ValueError(gettext("付款条件等级只能是 A、B、C、D"))
        return self


class Band(BaseModel):
    up_to: Decimal | None = Field(
        default=None,
        ge=0,
        title=gettext_noop("超额上限（含）"),
        json_schema_extra={"unit": gettext_noop("元")},
    )
    role: str = Field(title=gettext_noop("解除权限"))

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        if value not in ROLE_ORDER:
            raise ValueError(gettext("解除权限只能是 %(ok)s") % {"ok": "、".join(ROLE_ORDER)})
        return value


def _default_bands() -> list[Band]:
    return [
        Band(up_to=Decimal("50000"), role="sales_manager"),
        Band(up_to=Decimal("300000"), role="credit_manager"),
        Band(up_to=None, role="general_manager"),
    ]


class BandsPolicy(BaseModel):
    bands: list[Band] = Field(
        default_factory=_default_bands, min_length=1, title=gettext_noop("超额解除权限")
    )
    overdue_role: str = Field(default="credit_manager", title=gettext_noop("逾期冻结的最低解除权限"))

    @field_validator("overdue_role")
    @classmethod
    def _role(cls, value: str) -> str:
        if value not in ROLE_ORDER:
            raise ValueError(gettext("解除权限只能是 %(ok)s") % {"ok": "、".join(ROLE_ORDER)})
        return value

    @model_validator(mode="after")
    def _bands(self) -> BandsPolicy:
        edges = [b.up_to for b in self.bands]
        if edges[-1] is not None or any(e is None for e in edges[:-1]):
            raise ValueError(gettext("超额解除权限：只有最后一档不设上限。"))
        known = [e for e in edges if e is not None]
        if known != sorted(known) or len(set(known)) != len(known):
            raise ValueError(gettext("超额解除权限：超额上限须逐档递增。"))
        return self

    def role_for(self, excess: Decimal, overdue: bool) -> str:
        """The lowest role that may release a hold with this excess (and overdue receivables)."""
        role = self.bands[-1].role
        for band in self.bands:
            if band.up_to is None or excess <= band.up_to:
                role = band.role
                break
        if overdue and rank(self.overdue_role) > rank(role):
            role = self.overdue_role
        return role


REVIEW = "orders.review"
# the review steps in their order (R-ORD-03, R-ORD-04)
REVIEW_STEPS = ("content", "sales", "purchasing", "logistics", "finance", "management")


def _default_step_roles() -> dict[str, str]:
    # no purchasing or logistics role exists: the review group (reviewer) records those opinions by default
    return {
        "content": "reviewer",
        "sales": "sales_manager",
        "purchasing": "reviewer",
        "logistics": "reviewer",
        "finance": "finance",
        "management": "general_manager",
    }


def _default_step_days() -> dict[str, int]:
    return {"content": 2, "sales": 1, "purchasing": 1, "logistics": 1, "finance": 1, "management": 2}


class ReviewPolicy(BaseModel):
    step_roles: dict[str, str] = Field(
        default_factory=_default_step_roles,
        title=gettext_noop("各评审环节的办理角色"),
        description=gettext_noop(
            "content 内容与可行性评审、sales 销售、purchasing 采购、logistics 物流、finance 财务、"
            "management 管理层审批。"
        ),
    )
    step_days: dict[str, int] = Field(
        default_factory=_default_step_days,
        title=gettext_noop("各评审环节期限"),
        json_schema_extra={"unit": gettext_noop("工作日")},
    )

    @model_validator(mode="after")
    def _steps(self) -> ReviewPolicy:
        from kehu.core.models.org import RoleCode

        if set(self.step_roles) != set(REVIEW_STEPS):
            raise ValueError(gettext("评审环节须为：%(s)s") % {"s": "、".join(REVIEW_STEPS)})
        bad = sorted(set(self.step_roles.values()) - set(RoleCode.values))
        if bad:
            raise ValueError(gettext("未知的角色：%(codes)s") % {"codes": "、".join(bad)})
        if set(self.step_days) - set(REVIEW_STEPS) or any(d < 1 or d > 60 for d in self.step_days.values()):
            raise ValueError(gettext("评审环节期限须为 1 至 60 个工作日。"))
        return self

    def role(self, step: str) -> str:
        return self.step_roles.get(step, "")


def rank(role: str) -> int:
    return ROLE_ORDER.index(role) if role in ROLE_ORDER else -1


def register() -> None:
    from kehu.core.policies import register_policy_type

    register_policy_type(
        CHECKS,
        label=_("订单自动检查"),
        schema=ChecksPolicy,
        default=ChecksPolicy(),
        allows_trial=False,
        approver_roles=("general_manager",),
        description=_(
            "逾期容忍天数、订单评审金额线、检查未通过的处理、经营范围、付款条件与单张订单金额上限（R-ORD-02、R-CRD-05）。"
        ),
    )
    register_policy_type(
        BANDS,
        label=_("信用冻结解除权限"),
        schema=BandsPolicy,
        default=BandsPolicy(),
        allows_trial=False,
        approver_roles=("general_manager",),
        description=_("按超出信用额度的金额确定解除信用冻结所需的权限（R-CRD-05）。"),
    )

    register_policy_type(
        REVIEW,
        label=_("订单评审"),
        schema=ReviewPolicy,
        default=ReviewPolicy(),
        allows_trial=False,
        approver_roles=("general_manager",),
        description=_("订单评审各环节的办理角色与期限（工作日）（R-ORD-03、R-ORD-04）。"),
    )
    register_policy_type(
        EXECUTION,
        label=_("订单执行与记录"),
        schema=ExecutionPolicy,
        default=ExecutionPolicy(),
        allows_trial=False,
        approver_roles=("general_manager",),
        description=_("开票账期、订单档案保存年限与差错统计（R-ORD-05、R-ORD-06、R-ORD-07）。"),
    )


EXECUTION = "orders.execution"


def _default_terms_days() -> dict[str, int]:
    return {"after_delivery_90": 90, "net_30": 30, "cash_on_delivery": 0, "no_deferral": 0, "prepayment": 0}


class ExecutionPolicy(BaseModel):
    terms_days: dict[str, int] = Field(
        default_factory=_default_terms_days,
        title=gettext_noop("各付款条件的账期（天）"),
        description=gettext_noop("订单开票时，到期日 = 开票日期 + 该付款条件的天数。"),
    )
    retention_years: int = Field(
        default=1,
        ge=1,
        le=30,
        title=gettext_noop("订单评审记录保存年限"),
        description=gettext_noop("订单结束（完成或取消）后，订单档案与评审记录至少保存的年数。"),
        json_schema_extra={"unit": gettext_noop("年")},
    )
    error_window_days: int = Field(
        default=365,
        ge=30,
        le=3650,
        title=gettext_noop("差错统计期间"),
        description=gettext_noop("差错报告统计最近多少天内批准后变更的内部差错。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    repeat_errors: int = Field(
        default=3,
        ge=2,
        le=100,
        title=gettext_noop("多次差错次数"),
        description=gettext_noop("统计期间内内部差错达到该次数的部门列为多次差错，须培训或调整人员。"),
        json_schema_extra={"unit": gettext_noop("次")},
    )

    @model_validator(mode="after")
    def _terms(self) -> ExecutionPolicy:
        if set(TERMS) - set(self.terms_days):
            raise ValueError(
                gettext("缺少付款条件的账期：%(codes)s")
                % {"codes": "、".join(sorted(set(TERMS) - set(self.terms_days)))}
            )
        if set(self.terms_days) - set(TERMS):
            raise ValueError(
                gettext("未知的付款条件：%(codes)s")
                % {"codes": "、".join(sorted(set(self.terms_days) - set(TERMS)))}
            )
        if any(d < 0 or d > 3650 for d in self.terms_days.values()):
            raise ValueError(gettext("账期须在0到3650天之间。"))
        return self


def execution() -> tuple[ExecutionPolicy, int | None]:
    from kehu.core.policies import policy_values

    return policy_values(EXECUTION, ExecutionPolicy)


def review() -> tuple[ReviewPolicy, int | None]:
    from kehu.core.policies import policy_values

    return policy_values(REVIEW, ReviewPolicy)


def checks() -> tuple[ChecksPolicy, int | None]:
    from kehu.core.policies import policy_values

    return policy_values(CHECKS, ChecksPolicy)


def bands() -> tuple[BandsPolicy, int | None]:
    from kehu.core.policies import policy_values

    return policy_values(BANDS, BandsPolicy)
