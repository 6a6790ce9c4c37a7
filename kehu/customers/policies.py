"""Policy values of the customer dossier: staffing (R-CUS-03), duplicates (R-CUS-11), information-group deadlines
(R-CUS-04), documents (R-CUS-05) and contact frequency (R-CUS-12)."""

from __future__ import annotations

from typing import TypeVar

from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from pydantic import BaseModel, Field, field_validator

M = TypeVar("M", bound=BaseModel)

STAFFING = "customers.staffing"
DUPLICATES = "customers.duplicates"
GROUPS = "customers.groups"
DOCUMENTS = "customers.documents"
CONTACT = "customers.contact"


class StaffingPolicy(BaseModel):
    min_staff_important: int = Field(
        default=2,
        ge=1,
        le=20,
        title=gettext_noop("重要客户最少跟进人员"),
        description=gettext_noop("核心及重要客户至少分配的跟进人员数（含负责人）。"),
    )


class DuplicatePolicy(BaseModel):
    name_similarity: int = Field(
        default=90,
        ge=85,
        le=100,
        title=gettext_noop("名称近似度阈值"),
        description=gettext_noop("规范化后的客户名称相似度达到该值即提示疑似重复（R-CUS-11）。"),
        json_schema_extra={"unit": "%"},
    )


class GroupDeadlines(BaseModel):
    """Working days after a customer is created by which each information group must be complete."""

    identification: int = Field(
        default=2,
        ge=1,
        le=60,
        title=gettext_noop("识别信息"),
        json_schema_extra={"unit": gettext_noop("工作日")},
    )
    basic: int = Field(
        default=15,
        ge=1,
        le=60,
        title=gettext_noop("基本信息"),
        json_schema_extra={"unit": gettext_noop("工作日")},
    )
    business: int = Field(
        default=3,
        ge=1,
        le=60,
        title=gettext_noop("业务信息"),
        json_schema_extra={"unit": gettext_noop("工作日")},
    )
    operating: int = Field(
        default=15,
        ge=1,
        le=60,
        title=gettext_noop("经营信息"),
        json_schema_extra={"unit": gettext_noop("工作日")},
    )
    compliance: int = Field(
        default=15,
        ge=1,
        le=60,
        title=gettext_noop("守法信息"),
        json_schema_extra={"unit": gettext_noop("工作日")},
    )
    image: int = Field(
        default=15,
        ge=1,
        le=60,
        title=gettext_noop("形象信息"),
        json_schema_extra={"unit": gettext_noop("工作日")},
    )


class GroupsPolicy(BaseModel):
    deadlines: GroupDeadlines = Field(default_factory=GroupDeadlines, title=gettext_noop("信息组完成期限"))


class DocumentsPolicy(BaseModel):
    warn_days: list[int] = Field(
        default=[60, 30, 7],
        min_length=1,
        max_length=6,
        title=gettext_noop("到期提醒提前天数"),
        description=gettext_noop("证照在到期前这些天数各提醒负责人一次（R-CUS-05）。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    required_types: list[str] = Field(
        default=["business_licence"],
        max_length=12,
        title=gettext_noop("必备证照类别"),
        description=gettext_noop("法人客户必须具备且在有效期内的证照类别（附件类别代码）。"),
    )

    @field_validator("warn_days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(d < 1 or d > 365 for d in value):
            raise ValueError(_gettext("每个提前天数须在 1 到 365 之间"))
        return sorted(set(value), reverse=True)

    @field_validator("required_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        from kehu.core.models.attachments import DocumentType

        unknown = [v for v in value if v not in DocumentType.values]
        if unknown:
            raise ValueError(_gettext("未知的证照类别：%(codes)s") % {"codes": "、".join(unknown)})
        return value


class ContactPolicy(BaseModel):
    core_days: int = Field(
        default=30,
        ge=0,
        le=365,
        title=gettext_noop("核心客户最长联系间隔"),
        description=gettext_noop("超过该天数未联系即提醒负责人；0 表示不要求。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    important_days: int = Field(
        default=30,
        ge=0,
        le=365,
        title=gettext_noop("重要客户最长联系间隔"),
        description=gettext_noop("超过该天数未联系即提醒负责人；0 表示不要求。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    general_days: int = Field(
        default=90,
        ge=0,
        le=365,
        title=gettext_noop("一般客户最长联系间隔"),
        description=gettext_noop("超过该天数未联系即提醒负责人；0 表示不要求。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )


def register() -> None:
    try:
        from kehu.core.policies import register_policy_type
    except ImportError:
        return
    register_policy_type(
        STAFFING,
        label=_("客户跟进人员"),
        schema=StaffingPolicy,
        default=StaffingPolicy(),
        allows_trial=False,
        approver_roles=("general_manager",),
        description=_("核心及重要客户的跟进人员最少人数。"),
    )
    register_policy_type(
        DUPLICATES,
        label=_("客户查重"),
        schema=DuplicatePolicy,
        default=DuplicatePolicy(),
        allows_trial=True,
        approver_roles=("general_manager",),
        description=_("新建客户时提示疑似重复的名称近似度。"),
    )
    register_policy_type(
        GROUPS,
        label=_("客户信息组完成期限"),
        schema=GroupsPolicy,
        default=GroupsPolicy(),
        allows_trial=False,
        approver_roles=("general_manager",),
        description=_("新客户各信息组须在建档后若干工作日内填写完整（R-CUS-04）。"),
    )
    register_policy_type(
        DOCUMENTS,
        label=_("客户证照"),
        schema=DocumentsPolicy,
        default=DocumentsPolicy(),
        allows_trial=False,
        approver_roles=("general_manager",),
        description=_("必备证照类别与到期提醒的提前天数（R-CUS-05）。"),
    )
    register_policy_type(
        CONTACT,
        label=_("客户联系频率"),
        schema=ContactPolicy,
        default=ContactPolicy(),
        allows_trial=False,
        approver_roles=("general_manager",),
        description=_("各类客户的最长联系间隔，超过即生成待办（R-CUS-12）。"),
    )


def _in_force(key: str, model: type[M]) -> tuple[M, int | None]:
    """The policy in force for ``key`` as ``model`` and its version id (None when only the built-in default applies)."""
    from kehu.core.policies import policy_values

    return policy_values(key, model)


def staffing() -> tuple[StaffingPolicy, int | None]:
    return _in_force(STAFFING, StaffingPolicy)


def duplicates() -> tuple[DuplicatePolicy, int | None]:
    return _in_force(DUPLICATES, DuplicatePolicy)


def groups() -> tuple[GroupsPolicy, int | None]:
    return _in_force(GROUPS, GroupsPolicy)


def documents() -> tuple[DocumentsPolicy, int | None]:
    return _in_force(DOCUMENTS, DocumentsPolicy)


def contact() -> tuple[ContactPolicy, int | None]:
    return _in_force(CONTACT, ContactPolicy)
