"""The platform's own policy types."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from pydantic import BaseModel, Field

from kehu.core.policies.registry import register_policy_type


class Retention(BaseModel):
    audit_years: int = Field(
        default=10,
        ge=1,
        title=gettext_noop("审计记录保存年限"),
        description=gettext_noop("审计记录至少保存的年数。"),
        json_schema_extra={"unit": gettext_noop("年")},
    )


register_policy_type(
    "platform.retention",
    label=_("记录保存期限"),
    schema=Retention,
    default=Retention(),
    allows_trial=False,
    description=_("审计记录等平台记录的最短保存期限。"),
    approver_roles=("general_manager",),
)


class Documents(BaseModel):
    expiring_days: int = Field(
        default=30,
        ge=1,
        le=365,
        title=gettext_noop("证照即将到期提示天数"),
        description=gettext_noop("附件（证照、证书）在有效期截止前该天数内标为“即将到期”（R-CUS-05）。"),
        json_schema_extra={"unit": gettext_noop("天")},
    )


register_policy_type(
    "platform.documents",
    label=_("证照有效期提示"),
    schema=Documents,
    default=Documents(),
    allows_trial=False,
    description=_("附件有效期状态的判定。"),
    approver_roles=("general_manager",),
)
