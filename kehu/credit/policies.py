"""Policy values of credit rating and financial statements (R-CRD-03): the scorecard of each industry category
(weights and scoring bands of every indicator), the grade bands on the 15-step scale, the credit classes by grade,
who approves and who may override, the review interval; for statements the balance tolerance, the required lines
and the lines that may not be negative."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from typing import Literal, TypeVar

from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from pydantic import BaseModel, Field, field_validator, model_validator

M = TypeVar("M", bound=BaseModel)

RATING = "credit.rating"
STATEMENTS = "credit.statements"

GRADES: tuple[str, ...] = (
    "AAA",
    "AA",
    "A",
    "BBB+",
    "BBB",
    "BBB-",
    "BB+",
    "BB",
    "BB-",
    "B+",
    "B-",
    "CCC",
    "CC",
    "C",
    "D",
)
CLASSES: tuple[str, ...] = ("A", "B", "C", "D")

CATEGORIES: tuple[tuple[str, str], ...] = (
    ("industrial", gettext_noop("工业类")),
    ("agricultural", gettext_noop("农业类")),
    ("trade", gettext_noop("商贸类")),
    ("transport", gettext_noop("交通运输类")),
    ("real_estate", gettext_noop("房地产类")),
    ("construction", gettext_noop("建筑安装类")),
    ("public_utilities", gettext_noop("公用事业类")),
    ("general", gettext_noop("综合类")),
)
Category = Literal[
    "industrial",
    "agricultural",
    "trade",
    "transport",
    "real_estate",
    "construction",
    "public_utilities",
    "general",
]

# (key, label, kind): "quantitative" indicators come from the latest statements, "qualitative" ones from the analyst
INDICATORS: tuple[tuple[str, str, str], ...] = (
    ("current_ratio", gettext_noop("流动比率（偿债能力）"), "quantitative"),
    ("debt_to_asset", gettext_noop("资产负债率（杠杆）"), "quantitative"),
    ("net_margin", gettext_noop("净利率（盈利能力）"), "quantitative"),
    ("ocf_to_debt", gettext_noop("经营现金流负债比（现金流）"), "quantitative"),
    ("total_assets", gettext_noop("资产规模（万元）"), "quantitative"),
    ("payment_history", gettext_noop("付款记录"), "qualitative"),
    ("years_of_trade", gettext_noop("往来年限（年）"), "qualitative"),
    ("industry_outlook", gettext_noop("行业前景"), "qualitative"),
    ("management", gettext_noop("经营管理"), "qualitative"),
    ("litigation", gettext_noop("涉诉情况"), "qualitative"),
)


class Band(BaseModel):
    """A value v falls in the band when (min is empty or v >= min) and (max is empty or v < max); the first band
    of the list that matches gives its points."""

    min: Decimal | None = None
    max: Decimal | None = None
    points: int = Field(ge=0, le=100)


def _bands(*spec: tuple[str | None, str | None, int]) -> list[Band]:
    return [Band(min=Decimal(a) if a else None, max=Decimal(b) if b else None, points=p) for a, b, p in spec]


def _higher(edges: tuple[str, str, str, str, str]) -> list[Band]:
    """Five edges, highest first: >= e1 → 100, >= e2 → 80, >= e3 → 60, >= e4 → 40, >= e5 → 20, else 0."""
    pts = (100, 80, 60, 40, 20)
    return [*_bands(*((e, None, p) for e, p in zip(edges, pts, strict=True))), Band(points=0)]


def _lower(edges: tuple[str, str, str, str, str]) -> list[Band]:
    """Five edges, lowest first: < e1 → 100, < e2 → 80, < e3 → 60, < e4 → 40, < e5 → 20, else 0."""
    pts = (100, 80, 60, 40, 20)
    return [*_bands(*((None, e, p) for e, p in zip(edges, pts, strict=True))), Band(points=0)]


LEVEL_BANDS = _bands(("5", None, 100), ("4", None, 80), ("3", None, 60), ("2", None, 30), (None, None, 0))


class IndicatorRule(BaseModel):
    weight: int = Field(ge=0, le=100, title=gettext_noop("权重"), json_schema_extra={"unit": "%"})
    bands: list[Band] = Field(min_length=1, max_length=12, title=gettext_noop("计分区间"))


def _rule(weight: int, bands: list[Band]) -> IndicatorRule:
    return IndicatorRule(weight=weight, bands=[b.model_copy() for b in bands])


class Scorecard(BaseModel):
    """The weights (summing to 100) and scoring bands of the ten indicators of one industry category."""

    current_ratio: IndicatorRule = Field(title=gettext_noop("流动比率（偿债能力）"))
    debt_to_asset: IndicatorRule = Field(title=gettext_noop("资产负债率（杠杆）"))
    net_margin: IndicatorRule = Field(title=gettext_noop("净利率（盈利能力）"))
    ocf_to_debt: IndicatorRule = Field(title=gettext_noop("经营现金流负债比（现金流）"))
    total_assets: IndicatorRule = Field(title=gettext_noop("资产规模（万元）"))
    payment_history: IndicatorRule = Field(title=gettext_noop("付款记录"))
    years_of_trade: IndicatorRule = Field(title=gettext_noop("往来年限（年）"))
    industry_outlook: IndicatorRule = Field(title=gettext_noop("行业前景"))
    management: IndicatorRule = Field(title=gettext_noop("经营管理"))
    litigation: IndicatorRule = Field(title=gettext_noop("涉诉情况"))

    @model_validator(mode="after")
    def _weights(self) -> Scorecard:
        total = sum(getattr(self, key).weight for key, _l, _k in INDICATORS)
        if total != 100:
            raise ValueError(_gettext("各指标权重之和应为 100，现为 %(total)s") % {"total": total})
        return self


def scorecard(
    weights: tuple[int, ...], *, leverage: tuple[str, str, str, str, str] = ("50", "60", "70", "80", "90")
) -> Scorecard:
    bands = {
        "current_ratio": _higher(("2", "1.5", "1.2", "1", "0.8")),
        "debt_to_asset": _lower(leverage),
        "net_margin": _higher(("10", "6", "3", "1", "0")),
        "ocf_to_debt": _higher(("30", "20", "10", "5", "0")),
        "total_assets": _higher(("50000", "10000", "2000", "500", "100")),
        "payment_history": LEVEL_BANDS,
        "years_of_trade": _bands(
            ("10", None, 100), ("5", None, 80), ("3", None, 60), ("1", None, 40), (None, None, 20)
        ),
        "industry_outlook": LEVEL_BANDS,
        "management": LEVEL_BANDS,
        "litigation": LEVEL_BANDS,
    }
    keys = [k for k, _l, _k in INDICATORS]
    return Scorecard(**{k: _rule(w, bands[k]) for k, w in zip(keys, weights, strict=True)})


HEAVY = ("60", "70", "80", "85", "90")  # real estate and construction carry more debt as a rule


class Scorecards(BaseModel):
    industrial: Scorecard = Field(
        default_factory=lambda: scorecard((12, 12, 12, 10, 8, 16, 8, 8, 8, 6)), title=gettext_noop("工业类")
    )
    agricultural: Scorecard = Field(
        default_factory=lambda: scorecard((10, 10, 10, 10, 8, 18, 8, 10, 8, 8)), title=gettext_noop("农业类")
    )
    trade: Scorecard = Field(
        default_factory=lambda: scorecard((14, 10, 10, 12, 6, 18, 10, 6, 8, 6)), title=gettext_noop("商贸类")
    )
    transport: Scorecard = Field(
        default_factory=lambda: scorecard((10, 14, 10, 12, 8, 16, 8, 8, 8, 6)),
        title=gettext_noop("交通运输类"),
    )
    real_estate: Scorecard = Field(
        default_factory=lambda: scorecard((8, 18, 10, 12, 8, 16, 6, 8, 8, 6), leverage=HEAVY),
        title=gettext_noop("房地产类"),
    )
    construction: Scorecard = Field(
        default_factory=lambda: scorecard((10, 16, 10, 12, 8, 16, 6, 8, 8, 6), leverage=HEAVY),
        title=gettext_noop("建筑安装类"),
    )
    public_utilities: Scorecard = Field(
        default_factory=lambda: scorecard((10, 12, 8, 12, 10, 16, 8, 8, 8, 8)),
        title=gettext_noop("公用事业类"),
    )
    general: Scorecard = Field(
        default_factory=lambda: scorecard((12, 12, 12, 10, 8, 16, 8, 8, 8, 6)), title=gettext_noop("综合类")
    )


class GradeBand(BaseModel):
    grade: str
    min_score: Decimal = Field(ge=0, le=100)


DEFAULT_GRADE_MINS = (90, 85, 80, 75, 70, 65, 60, 55, 50, 45, 40, 30, 20, 10, 0)
DEFAULT_INDUSTRY_MAP: dict[str, Category] = {
    "machinery": "industrial",
    "electronics": "industrial",
    "automotive": "industrial",
    "chemicals": "industrial",
    "construction": "construction",
    "energy": "public_utilities",
    "trade": "trade",
    "medical": "public_utilities",
    "it": "general",
    "finance": "general",
    "other": "general",
}


class RatingPolicy(BaseModel):
    scorecards: Scorecards = Field(default_factory=Scorecards, title=gettext_noop("各行业类别评分卡"))
    industry_map: dict[str, Category] = Field(
        default_factory=lambda: dict(DEFAULT_INDUSTRY_MAP),
        title=gettext_noop("行业 → 评级行业类别"),
        description=gettext_noop("客户档案的行业代码对应的评级行业类别；未列出的行业按综合类评级。"),
    )
    grade_bands: list[GradeBand] = Field(
        default_factory=lambda: [
            GradeBand(grade=g, min_score=Decimal(m)) for g, m in zip(GRADES, DEFAULT_GRADE_MINS, strict=True)
        ],
        title=gettext_noop("等级分数线"),
        description=gettext_noop("得分不低于分数线即得该等级；按 AAA 到 D 的顺序，分数线递减，D 为 0。"),
    )
    class_a: list[str] = Field(default=["AAA", "AA", "A"], title=gettext_noop("A 类信用等级"))
    class_b: list[str] = Field(default=["BBB+", "BBB", "BBB-"], title=gettext_noop("B 类信用等级"))
    class_c: list[str] = Field(default=["BB+", "BB", "BB-", "B+", "B-"], title=gettext_noop("C 类信用等级"))
    class_d: list[str] = Field(default=["CCC", "CC", "C", "D"], title=gettext_noop("D 类信用等级"))
    approver_roles: list[str] = Field(
        default=["credit_manager", "credit_committee"],
        min_length=1,
        title=gettext_noop("评级审批角色"),
        description=gettext_noop("可批准评级的角色；评级人本人不得批准。"),
    )
    override_roles: list[str] = Field(
        default=["credit_manager", "credit_committee"],
        min_length=1,
        title=gettext_noop("可调整等级的角色"),
        description=gettext_noop("调整计算等级须由这些角色提出并写明理由；评级人本人不得调整。"),
    )
    valid_months: int = Field(
        default=12,
        ge=1,
        le=36,
        title=gettext_noop("复评间隔"),
        json_schema_extra={"unit": gettext_noop("月")},
    )

    @field_validator("grade_bands")
    @classmethod
    def _grades(cls, value: list[GradeBand]) -> list[GradeBand]:
        if [b.grade for b in value] != list(GRADES):
            raise ValueError(_gettext("等级须依次为 %(grades)s") % {"grades": "、".join(GRADES)})
        mins = [b.min_score for b in value]
        if any(a <= b for a, b in pairwise(mins)):
            raise ValueError(_gettext("分数线须从 AAA 到 D 逐级递减"))
        if mins[-1] != 0:
            raise ValueError(_gettext("D 级分数线须为 0"))
        return value

    @model_validator(mode="after")
    def _classes(self) -> RatingPolicy:
        groups = [self.class_a, self.class_b, self.class_c, self.class_d]
        flat = [g for group in groups for g in group]
        if flat != list(GRADES):
            raise ValueError(_gettext("A、B、C、D 四类须按顺序恰好覆盖全部 15 个等级"))
        return self

    def category_for(self, industry: str) -> str:
        return self.industry_map.get(industry or "", "general")

    def grade_for(self, score: Decimal) -> str:
        for band in self.grade_bands:
            if score >= band.min_score:
                return band.grade
        return GRADES[-1]

    def class_for(self, grade: str) -> str:
        for cls, group in zip(CLASSES, (self.class_a, self.class_b, self.class_c, self.class_d), strict=True):
            if grade in group:
                return cls
        raise ValueError(grade)


LINES = (
    "cash",
    "receivables",
    "inventory",
    "current_assets",
    "fixed_assets",
    "total_assets",
    "current_liabilities",
    "total_liabilities",
    "equity",
    "revenue",
    "cost_of_sales",
    "operating_profit",
    "interest_expense",
    "net_profit",
    "operating_cash_flow",
    "investing_cash_flow",
    "financing_cash_flow",
)


class StatementsPolicy(BaseModel):
    balance_tolerance: Decimal = Field(
        default=Decimal("1.00"),
        ge=0,
        le=10000,
        title=gettext_noop("资产负债平衡容差"),
        description=gettext_noop(
            "资产总计与负债合计加所有者权益合计之差不超过该金额即视为平衡（四舍五入误差）。"
        ),
        json_schema_extra={"unit": gettext_noop("元")},
    )
    required_lines: list[str] = Field(
        default=[
            "current_assets",
            "total_assets",
            "current_liabilities",
            "total_liabilities",
            "equity",
            "revenue",
            "net_profit",
            "operating_cash_flow",
        ],
        title=gettext_noop("必填项目"),
    )
    non_negative_lines: list[str] = Field(
        default=[
            "cash",
            "receivables",
            "inventory",
            "current_assets",
            "fixed_assets",
            "total_assets",
            "current_liabilities",
            "total_liabilities",
            "revenue",
            "cost_of_sales",
            "interest_expense",
        ],
        title=gettext_noop("不得为负数的项目"),
    )

    @field_validator("required_lines", "non_negative_lines")
    @classmethod
    def _lines(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in LINES]
        if unknown:
            raise ValueError(_gettext("未知的报表项目：%(codes)s") % {"codes": "、".join(unknown)})
        return value


def register() -> None:
    from kehu.core.policies import register_policy_type

    register_policy_type(
        RATING,
        label=_("信用评级"),
        schema=RatingPolicy,
        default=RatingPolicy(),
        allows_trial=True,
        approver_roles=("general_manager",),
        description=_("各行业类别评分卡的权重与计分区间、等级分数线、信用类别、审批与调整角色（R-CRD-03）。"),
    )
    register_policy_type(
        STATEMENTS,
        label=_("财务报表校验"),
        schema=StatementsPolicy,
        default=StatementsPolicy(),
        allows_trial=False,
        approver_roles=("general_manager",),
        description=_("资产负债平衡容差、必填项目与不得为负数的项目。"),
    )


def _in_force(key: str, model: type[M]) -> tuple[M, int | None]:
    from kehu.core.policies import policy_values

    return policy_values(key, model)


def rating() -> tuple[RatingPolicy, int | None]:
    return _in_force(RATING, RatingPolicy)


def statements() -> tuple[StatementsPolicy, int | None]:
    return _in_force(STATEMENTS, StatementsPolicy)
