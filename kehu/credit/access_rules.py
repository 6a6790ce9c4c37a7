"""The credit app's actions. Credit content is confidential (R-CRD-01): credit roles, finance and the general
manager see it; sales roles do not (they see limits and exposure in the limits and receivables apps)."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.access import Scope, register, register_scope
from kehu.core.models.org import RoleCode as R
from kehu.credit.models import CreditFile, FinancialStatement, Rating

ALL = Scope.ALL

READERS: dict[str, Scope] = {
    R.CREDIT_OFFICER: ALL,
    R.CREDIT_MANAGER: ALL,
    R.CREDIT_COMMITTEE: ALL,
    R.FINANCE: ALL,
    R.GENERAL_MANAGER: ALL,
}
ANALYSTS: dict[str, Scope] = {R.CREDIT_OFFICER: ALL, R.CREDIT_MANAGER: ALL}

register(
    {
        "credit.file.view": READERS,
        "credit.file.edit": {**ANALYSTS, R.FINANCE: ALL},
        "credit.statement.view": READERS,
        "credit.statement.edit": {**ANALYSTS, R.FINANCE: ALL},
        "credit.rating.view": READERS,
        "credit.rating.prepare": ANALYSTS,
        # approving and overriding also need the role named in the rating policy (approver_roles, override_roles)
        "credit.rating.decide": {R.CREDIT_MANAGER: ALL, R.CREDIT_COMMITTEE: ALL},
        "credit.export": READERS,
    },
    descriptions={
        "credit.file.view": _("查看信用档案（保密）"),
        "credit.file.edit": _("编辑信用档案、上传信用资料"),
        "credit.statement.view": _("查看客户财务报表（保密）"),
        "credit.statement.edit": _("录入和导入客户财务报表"),
        "credit.rating.view": _("查看信用评级（保密）"),
        "credit.rating.prepare": _("编制信用评级"),
        "credit.rating.decide": _("审批信用评级、调整等级"),
        "credit.export": _("导出评级和报表一览表"),
    },
)

# Every credit action grants ALL scope; the scope rules say what "own"/"department" would mean should a policy
# ever narrow them: the customer's scope.
for model in (CreditFile, FinancialStatement, Rating):
    register_scope(
        model,
        own=lambda u: Q(customer__owner_id=u.pk or 0),
        department=lambda u: (
            Q(customer__department__path__startswith=u.department.path)
            if u.department_id and u.department is not None
            else Q(pk__in=[])
        ),
    )
