"""Policy values of the customer dossier: how many staff an important or core customer needs (R-CUS-03)."""

from __future__ import annotations

from typing import TypeVar

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from pydantic import BaseModel, Field

M = TypeVar("M", bound=BaseModel)

STAFFING = "customers.staffing"
DUPLICATES = "customers.duplicates"


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


def _in_force(key: str, model: type[M]) -> tuple[M, int | None]:
    """The policy in force for ``key`` as ``model`` and its version id (None when only the built-in default applies)."""
    try:
        from kehu.core.policies import policy_get
    except ImportError:
        return model(), None
    try:
        value = policy_get(key)
    except LookupError:
        return model(), None
    values = value.values
    if not isinstance(values, model):
        values = model.model_validate(values if isinstance(values, dict) else values.model_dump())
    return values, value.version_id


def staffing() -> tuple[StaffingPolicy, int | None]:
    return _in_force(STAFFING, StaffingPolicy)


def duplicates() -> tuple[DuplicatePolicy, int | None]:
    return _in_force(DUPLICATES, DuplicatePolicy)
