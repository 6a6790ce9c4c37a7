"""Policy ``confidential.levels`` (R-ARC-01, R-ARC-02, R-PLT-02): the confidentiality level of every item kind
(dossier sections, attachment categories, credit items), the roles that see each level by default, the periods of
access requests, the unusual-reading threshold and which dossier statuses count as archived (R-ARC-03)."""

from __future__ import annotations

from typing import Literal

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

KEY = "confidential.levels"

# The dossier sections whose whole content the section gate and the file clearance control, with the action a user
# needs to see the section at all (even under a grant): the dossier's files other than licences. Their rows are
# hidden on the dossier and every download of their files (page, API) is held to the section's level. The other
# sections show records that their own module's pages and API show too (the ledger, the contact log, the limits,
# the licences, the status history...): raising them would hide nothing, so the policy may not (R-ARC-01).
GATED_SECTIONS: dict[str, str] = {
    "customers.attachments": "customer.view",
    "customers.contracts": "customer.view",
}
# The credit file's section follows the credit module's own access matrix (the level listed is informative).
CREDIT_SECTION = "credit.file"
RAISED: tuple[str, ...] = ("confidential", "secret")

LevelCode = Literal["open", "internal", "confidential", "secret"]
Status = Literal["prospect", "review", "active", "suspended", "ended"]
RoleName = Literal[
    "sales_rep",
    "sales_manager",
    "credit_officer",
    "credit_manager",
    "credit_committee",
    "finance",
    "quality_engineer",
    "reviewer",
    "archivist",
    "general_manager",
    "pmo",
    "sysadmin",
    "auditor",
]
EVERY_ROLE: list[RoleName] = list(RoleName.__args__)  # type: ignore[attr-defined]
# The readers of the credit file in the access matrix (kehu/credit/access_rules.py) and the archive office.
CONFIDENTIAL_ROLES: list[RoleName] = [
    "credit_officer",
    "credit_manager",
    "credit_committee",
    "finance",
    "general_manager",
    "archivist",
]
SECRET_ROLES: list[RoleName] = ["credit_manager", "general_manager"]


class LevelRoles(BaseModel):
    open: list[RoleName] = Field(default_factory=lambda: list(EVERY_ROLE), title=gettext_noop("公开"))
    internal: list[RoleName] = Field(default_factory=lambda: list(EVERY_ROLE), title=gettext_noop("内部"))
    confidential: list[RoleName] = Field(
        default_factory=lambda: list(CONFIDENTIAL_ROLES), title=gettext_noop("保密")
    )
    secret: list[RoleName] = Field(default_factory=lambda: list(SECRET_ROLES), title=gettext_noop("机密"))


def _sections() -> dict[str, LevelCode]:
    return {
        "customers.documents": "internal",
        "customers.attachments": "internal",
        "customers.contracts": "internal",
        "customers.lifecycle": "internal",
        "credit.file": "confidential",
        "limits": "internal",
    }


def _categories() -> dict[str, LevelCode]:
    return {
        "business_licence": "open",
        "tax_registration": "open",
        "organisation_code": "open",
        "qualification": "open",
        "permit": "open",
        "certification": "open",
        "honour": "open",
        "contract": "internal",
        "report": "internal",
        "photo": "internal",
        "signed_form": "internal",
        "statement": "confidential",
        "other": "internal",
    }


def _credit_items() -> dict[str, LevelCode]:
    return {
        "credit.file": "confidential",
        "credit.statements": "confidential",
        "credit.ratings": "confidential",
    }


class LevelsPolicy(BaseModel):
    sections: dict[str, LevelCode] = Field(
        default_factory=_sections,
        title=gettext_noop("档案栏目密级"),
        description=gettext_noop(
            "客户档案各栏目（栏目代码）的密级；未列出的栏目为“内部”。只有“资料附件”（customers.attachments）和"
            "“合同与协议”（customers.contracts）可定为保密或机密：栏目只向该密级的角色显示，其他人看到“申请查阅”，"
            "栏目中的文件按栏目与文件类别中较高的密级下载。信用档案栏目（credit.file）由信用模块的权限控制。"
        ),
    )
    attachment_categories: dict[str, LevelCode] = Field(
        default_factory=_categories,
        title=gettext_noop("附件类别密级"),
        description=gettext_noop(
            "客户档案附件按文件类别的密级；标记为“保密”的附件至少为“保密”。保密及以上的附件下载须有角色或查阅授权，"
            "每次下载记入查阅日志。"
        ),
    )
    credit_items: dict[str, LevelCode] = Field(
        default_factory=_credit_items,
        title=gettext_noop("信用档案各项密级"),
        description=gettext_noop(
            "信用档案、财务报表、信用评级的密级。谁能查看由信用模块的权限矩阵决定；“机密”项目的查阅申请须经总经理批准。"
        ),
    )
    level_roles: LevelRoles = Field(default_factory=LevelRoles, title=gettext_noop("各密级默认可见角色"))
    default_period_days: int = Field(
        default=7,
        ge=1,
        le=365,
        title=gettext_noop("默认查阅期限"),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    max_period_days: int = Field(
        default=30,
        ge=1,
        le=365,
        title=gettext_noop("最长查阅期限"),
        description=gettext_noop("申请和批准的查阅期限不得超过该天数。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    approval_days: int = Field(
        default=2,
        ge=1,
        le=30,
        title=gettext_noop("审批时限"),
        json_schema_extra={"unit": gettext_noop("工作日")},
    )
    unusual_daily_customers: int = Field(
        default=20,
        ge=1,
        le=10000,
        title=gettext_noop("异常查阅阈值"),
        description=gettext_noop(
            "一人一天内查阅信用档案（含报表、评级）的客户数超过该值即列为异常，供信用经理核查。"
        ),
        json_schema_extra={"unit": gettext_noop("户/天")},
    )
    archived_statuses: list[Status] = Field(
        default_factory=lambda: list[Status](["ended"]),
        title=gettext_noop("归档状态"),
        description=gettext_noop(
            "处于这些状态的客户档案已归档：其文件只读，不能新增或修改；更正须上传新版本并注明原因（R-ARC-03）。"
        ),
    )

    @field_validator("sections")
    @classmethod
    def _gated_sections_only(cls, value: dict[str, LevelCode]) -> dict[str, LevelCode]:
        """Only sections whose content the gate fully controls may be raised to confidential or secret."""
        from django.utils.translation import gettext

        for key, level in value.items():
            if level in RAISED and key not in GATED_SECTIONS and key != CREDIT_SECTION:
                raise PydanticCustomError(
                    "section_not_gated",
                    gettext(
                        "栏目“%(key)s”的内容在其所属模块的页面和接口中同样可见，定为保密不能隐藏它；"
                        "只有 %(allowed)s 可定为保密或机密。"
                    )
                    % {"key": key, "allowed": "、".join(GATED_SECTIONS)},
                )
        return value

    @model_validator(mode="after")
    def _periods(self) -> LevelsPolicy:
        if self.default_period_days > self.max_period_days:
            from django.utils.translation import gettext

            raise ValueError(gettext("默认查阅期限不能超过最长查阅期限。"))
        return self


def register() -> None:
    from kehu.core.policies import register_policy_type

    register_policy_type(
        KEY,
        label=_("保密档案密级与查阅"),
        schema=LevelsPolicy,
        default=LevelsPolicy(),
        allows_trial=False,
        approver_roles=("general_manager",),
        description=_(
            "档案栏目、附件类别与信用档案各项的密级，各密级可见角色，查阅期限与异常查阅阈值（R-ARC-01、R-ARC-02）。"
        ),
    )


def levels() -> tuple[LevelsPolicy, int | None]:
    from kehu.core.policies import policy_values

    return policy_values(KEY, LevelsPolicy)
