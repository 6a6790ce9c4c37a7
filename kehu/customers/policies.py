"""Policy values of the customer dossier: how many staff an important or core customer needs (R-CUS-03)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop as N_
from pydantic import BaseModel, Field

STAFFING = "customers.staffing"


class StaffingPolicy(BaseModel):
    min_staff_important: int = Field(
        default=2,
        ge=1,
        le=20,
        title=N_("重要客户最少跟进人员"),
        description=N_("核心及重要客户至少分配的跟进人员数（含负责人）。"),
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


def staffing() -> tuple[StaffingPolicy, int | None]:
    """The staffing policy in force and its version id (None when only the built-in default applies)."""
    try:
        from kehu.core.policies import policy_get
    except ImportError:
        return StaffingPolicy(), None
    try:
        value = policy_get(STAFFING)
    except LookupError:
        return StaffingPolicy(), None
    values = value.values
    if not isinstance(values, StaffingPolicy):
        values = StaffingPolicy.model_validate(values if isinstance(values, dict) else values.model_dump())
    return values, value.version_id
