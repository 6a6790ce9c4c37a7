"""Policy values of the workflow engine: the trial minimum of a new definition version and the reminder and
escalation timing of tasks. Declared with the policy register when it is available; otherwise the defaults apply."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from pydantic import BaseModel, Field


class TrialPolicy(BaseModel):
    min_trial_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        title=gettext_noop("最短试运行天数"),
        description=gettext_noop("新版本流程试运行满该天数后，方可申请转为正式。"),
    )
    min_trial_cases: int = Field(
        default=1,
        ge=0,
        le=10000,
        title=gettext_noop("最少试运行案例数"),
        description=gettext_noop("试运行期间至少运行的流程数；不足时试运行期顺延。"),
    )


class ReminderPolicy(BaseModel):
    remind_days_before: int = Field(
        default=1,
        ge=0,
        le=60,
        title=gettext_noop("到期前提醒（工作日）"),
        description=gettext_noop("待办到期前该数量的工作日内提醒处理人。"),
    )
    escalate_after_days: int = Field(
        default=1,
        ge=0,
        le=60,
        title=gettext_noop("超期后督办（工作日）"),
        description=gettext_noop("待办超期该数量的工作日后，督办给处理人的部门负责人。"),
    )


TRIAL = "workflow.trial"
REMINDERS = "workflow.reminders"


def register() -> None:
    try:
        from kehu.core.policies import register_policy_type
    except ImportError:
        return
    register_policy_type(
        TRIAL,
        label=_("流程试运行"),
        schema=TrialPolicy,
        default=TrialPolicy(),
        allows_trial=False,
        approver_roles=("general_manager", "pmo"),
        description=_("新版本流程定义的最短试运行期。"),
    )
    register_policy_type(
        REMINDERS,
        label=_("待办提醒与督办"),
        schema=ReminderPolicy,
        default=ReminderPolicy(),
        allows_trial=True,
        approver_roles=("general_manager", "pmo"),
        description=_("待办到期前的提醒和超期后的督办。"),
    )


def _get(key: str, default: BaseModel) -> tuple[Any, int | None]:
    try:
        from kehu.core.policies import policy_get
    except ImportError:
        return default, None
    try:
        value = policy_get(key)
    except LookupError:
        return default, None
    values = value.values
    if not isinstance(values, type(default)):
        values = type(default).model_validate(values if isinstance(values, dict) else values.model_dump())
    return values, value.version_id


def trial_policy() -> tuple[TrialPolicy, int | None]:
    """The trial policy in force and its version id (None when the defaults apply)."""
    return _get(TRIAL, TrialPolicy())


def reminder_policy() -> tuple[ReminderPolicy, int | None]:
    return _get(REMINDERS, ReminderPolicy())
