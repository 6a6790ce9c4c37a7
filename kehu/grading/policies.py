"""The grading scheme (R-GRD-01, R-GRD-02, R-GRD-03, R-GRD-06) as one policy type ``grading.scheme``: grade names
and quotas, the scorecard items with their weights and scoring rules, how a missing input scores, and per grade the
terms the customer is entitled to."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from pydantic import BaseModel, Field, model_validator

from kehu.customers.models import ContactChannel

SCHEME = "grading.scheme"

ItemKey = Literal[
    "sales_volume",
    "order_volume",
    "payment_reputation",
    "margin",
    "years_of_trade",
    "sales_model",
    "purchase_share",
    "industry_reputation",
]

# (key, label, source): "ledger"/"dossier" items are computed, "entered" items come from the entry form.
ITEMS: list[tuple[str, str, str]] = [
    ("sales_volume", gettext_noop("销售额"), "ledger"),
    ("order_volume", gettext_noop("订单量"), "ledger"),
    ("payment_reputation", gettext_noop("回款信誉"), "ledger"),
    ("margin", gettext_noop("产品毛利率"), "entered"),
    ("years_of_trade", gettext_noop("交易年限"), "ledger"),
    ("sales_model", gettext_noop("销售模式"), "entered"),
    ("purchase_share", gettext_noop("我司产品占其采购比例"), "entered"),
    ("industry_reputation", gettext_noop("行业信誉"), "entered"),
]
ENTERED = [k for k, _label, source in ITEMS if source == "entered"]

SALES_MODELS: list[tuple[str, str]] = [
    ("direct", gettext_noop("直销（终端用户）")),
    ("distributor", gettext_noop("经销商")),
    ("agent", gettext_noop("代理商")),
    ("trader", gettext_noop("贸易商")),
]

RushRule = Literal["jump_queue", "case_by_case", "queue", "strict_review"]
RUSH_RULES: list[tuple[str, str]] = [
    ("jump_queue", gettext_noop("急单可插单")),
    ("case_by_case", gettext_noop("急单视情况处理")),
    ("queue", gettext_noop("按序排产")),
    ("strict_review", gettext_noop("订单须严格评审")),
]
PaymentTerm = Literal["after_delivery_90", "cash_on_delivery", "net_30", "no_deferral", "prepayment"]
PAYMENT_TERMS: list[tuple[str, str]] = [
    ("after_delivery_90", gettext_noop("货到 3 个月内付款")),
    ("net_30", gettext_noop("货到 30 天内付款")),
    ("cash_on_delivery", gettext_noop("货到付款")),
    ("no_deferral", gettext_noop("不得赊销")),
    ("prepayment", gettext_noop("款到发货")),
]


class Grade(BaseModel):
    name: str = Field(min_length=1, max_length=20, title=gettext_noop("等级名称"))
    quota: int = Field(ge=0, le=100, title=gettext_noop("配额"), json_schema_extra={"unit": "%"})
    discount_cap: Decimal = Field(
        ge=Decimal("-50"),
        le=Decimal("50"),
        title=gettext_noop("价格折扣上限"),
        description=gettext_noop("可低于内控价的最大百分比；负数表示须高于内控价该百分比。"),
        json_schema_extra={"unit": "%"},
    )
    payment_terms: list[PaymentTerm] = Field(min_length=1, title=gettext_noop("允许的付款条件"))
    lead_time_days: int | None = Field(
        ge=1, le=365, title=gettext_noop("标准交期"), json_schema_extra={"unit": gettext_noop("工作日")}
    )
    rush_rule: RushRule = Field(title=gettext_noop("急单规则"))
    response_hours: int = Field(
        ge=1, le=720, title=gettext_noop("询价答复时限"), json_schema_extra={"unit": gettext_noop("小时")}
    )
    visit_every_days: int | None = Field(
        ge=1,
        le=730,
        title=gettext_noop("拜访或电话频率"),
        description=gettext_noop("留空表示不作要求。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )


class Item(BaseModel):
    key: ItemKey = Field(title=gettext_noop("评分项"))
    weight: int = Field(ge=0, le=1000, title=gettext_noop("分值"))


class Rules(BaseModel):
    """Scoring rules: each item earns a fraction (0–1) of its weight."""

    sales_full_at: Decimal = Field(
        default=Decimal("5000000"),
        gt=0,
        title=gettext_noop("销售额满分线"),
        description=gettext_noop("期间内开票金额达到该值得满分，以下按比例计分。"),
        json_schema_extra={"unit": gettext_noop("元")},
    )
    orders_full_at: int = Field(
        default=24,
        gt=0,
        title=gettext_noop("订单量满分线"),
        description=gettext_noop("期间内发票张数达到该值得满分，以下按比例计分。"),
        json_schema_extra={"unit": gettext_noop("张")},
    )
    late_zero_at_days: int = Field(
        default=90,
        gt=0,
        title=gettext_noop("回款信誉零分线"),
        description=gettext_noop(
            "期间内最长逾期天数（已付逾期或期末仍逾期）达到该值得零分，以下按比例扣分。"
        ),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    margin_full_at: Decimal = Field(
        default=Decimal("30"), gt=0, title=gettext_noop("毛利率满分线"), json_schema_extra={"unit": "%"}
    )
    years_full_at: int = Field(
        default=5, gt=0, title=gettext_noop("交易年限满分线"), json_schema_extra={"unit": gettext_noop("年")}
    )
    share_full_at: Decimal = Field(
        default=Decimal("50"), gt=0, title=gettext_noop("采购占比满分线"), json_schema_extra={"unit": "%"}
    )
    sales_model_percent: dict[str, int] = Field(
        default_factory=lambda: {"direct": 100, "distributor": 80, "agent": 60, "trader": 40},
        title=gettext_noop("销售模式得分比例"),
        json_schema_extra={"unit": "%"},
    )
    missing_percent: int = Field(
        default=0,
        ge=0,
        le=100,
        title=gettext_noop("缺失项得分比例"),
        description=gettext_noop("某项无数据也未录入时，按该项分值的此百分比计分。"),
        json_schema_extra={"unit": "%"},
    )


def _default_grades() -> list[Grade]:
    return [
        Grade(name="A", quota=20, discount_cap=Decimal("5"), payment_terms=["after_delivery_90", "net_30",
              "cash_on_delivery"], lead_time_days=20, rush_rule="jump_queue", response_hours=24,
              visit_every_days=90),
        Grade(name="B", quota=30, discount_cap=Decimal("3"), payment_terms=["net_30", "cash_on_delivery"],
              lead_time_days=30, rush_rule="case_by_case", response_hours=24, visit_every_days=None),
        Grade(name="C", quota=40, discount_cap=Decimal("0"), payment_terms=["no_deferral", "prepayment"],
              lead_time_days=40, rush_rule="queue", response_hours=24, visit_every_days=None),
        Grade(name="D", quota=10, discount_cap=Decimal("-5"), payment_terms=["prepayment"],
              lead_time_days=None, rush_rule="strict_review", response_hours=24, visit_every_days=None),
    ]  # fmt: skip


def _default_items() -> list[Item]:
    weights = {
        "sales_volume": 25,
        "payment_reputation": 20,
        "margin": 15,
        "order_volume": 10,
        "sales_model": 5,
        "purchase_share": 10,
        "years_of_trade": 5,
        "industry_reputation": 10,
    }
    return [Item(key=k, weight=weights[k]) for k, _label, _src in ITEMS]  # type: ignore[arg-type]


class SchemePolicy(BaseModel):
    period_months: int = Field(
        default=12,
        ge=1,
        le=36,
        title=gettext_noop("评分期间"),
        description=gettext_noop("分级运行统计截止日之前多少个月的数据。"),
        json_schema_extra={"unit": gettext_noop("个月")},
    )
    total_points: int = Field(default=100, ge=1, le=1000, title=gettext_noop("总分"))
    grades: list[Grade] = Field(
        default_factory=_default_grades,
        min_length=2,
        max_length=8,
        title=gettext_noop("等级（由高到低）"),
    )
    items: list[Item] = Field(
        default_factory=_default_items, min_length=8, max_length=8, title=gettext_noop("评分项")
    )
    rules: Rules = Field(default_factory=Rules, title=gettext_noop("计分规则"))
    # R-GRD-03 "A customers visited or called every quarter": the contact-log channels that count as the quarter's
    # contact. Added after the first versions were stored: a stored version without it takes the default.
    visit_channels: list[ContactChannel] = Field(
        default_factory=lambda: [ContactChannel.VISIT, ContactChannel.CALL],
        min_length=1,
        title=gettext_noop("季度拜访认可的联系方式"),
        description=gettext_noop(
            "每季度须拜访的等级，本季度有一条这些方式的联系记录即算完成；可选 visit（拜访）、call（电话）、"
            "letter（信函）、fax（传真）、email（邮件）、meeting（会议）、other（其他）。"
        ),
    )

    @model_validator(mode="after")
    def _sums(self) -> SchemePolicy:
        names = [g.name for g in self.grades]
        if len(set(names)) != len(names):
            raise ValueError(gettext_noop("等级名称不得重复。"))
        if sum(g.quota for g in self.grades) != 100:
            raise ValueError(gettext_noop("各等级配额之和必须等于 100%。"))
        keys = [i.key for i in self.items]
        if len(set(keys)) != len(keys):
            raise ValueError(gettext_noop("评分项不得重复。"))
        if sum(i.weight for i in self.items) != self.total_points:
            raise ValueError(gettext_noop("各评分项分值之和必须等于总分。"))
        known = {k for k, _label in SALES_MODELS}
        if set(self.rules.sales_model_percent) - known or not all(
            0 <= v <= 100 for v in self.rules.sales_model_percent.values()
        ):
            raise ValueError(gettext_noop("销售模式得分比例只能用于已知的销售模式，且须在 0 至 100 之间。"))
        return self

    def grade(self, name: str) -> Grade | None:
        return next((g for g in self.grades if g.name == name), None)

    def weight(self, key: str) -> int:
        return next((i.weight for i in self.items if i.key == key), 0)


def register() -> None:
    from kehu.core.policies import register_policy_type

    register_policy_type(
        SCHEME,
        label=_("客户分级方案"),
        schema=SchemePolicy,
        default=SchemePolicy(),
        allows_trial=False,
        approver_roles=("general_manager",),
        description=_(
            "等级名称与配额、评分项分值与计分规则、各等级的价格、付款、交期、急单、答复与拜访政策（R-GRD-01/02/03/06）。"
        ),
    )


def scheme(at: dt.date | None = None) -> tuple[SchemePolicy, int | None]:
    from kehu.core.policies import policy_values

    return policy_values(SCHEME, SchemePolicy, at)


def scheme_of_version(version_id: int | None) -> SchemePolicy:
    """The scheme stored in one version (the default scheme when the id is unknown)."""
    from kehu.core.policies.models import PolicyVersion

    if version_id is None:
        return SchemePolicy()
    values = PolicyVersion.objects.filter(pk=version_id).values_list("values", flat=True).first()
    return SchemePolicy.model_validate(values) if values else SchemePolicy()
