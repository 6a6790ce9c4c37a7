"""Who may read, propose and approve policies (R-PLT-11)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from kehu.core.access import Scope, register
from kehu.core.models.org import RoleCode as R

register(
    {
        "policy.view": dict.fromkeys(list(R), Scope.ALL),
        "policy.propose": {
            R.SYSADMIN: Scope.ALL,
            R.PMO: Scope.ALL,
            R.GENERAL_MANAGER: Scope.ALL,
            R.SALES_MANAGER: Scope.ALL,
            R.CREDIT_MANAGER: Scope.ALL,
        },
        "policy.approve": {R.GENERAL_MANAGER: Scope.ALL, R.PMO: Scope.ALL},
    },
    descriptions={
        "policy.view": _("查看制度"),
        "policy.propose": _("提出制度变更"),
        "policy.approve": _("批准或废止制度版本"),
    },
)
