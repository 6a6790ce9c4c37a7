"""The customer module's actions (R-PLT-02) and what "own" and "department" mean for a customer."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.access import Scope, department_q, register, register_scope
from kehu.core.models import User
from kehu.core.models.org import RoleCode as R
from kehu.customers.models import Customer

ALL, DEPT, OWN = Scope.ALL, Scope.DEPARTMENT, Scope.OWN

READ_ALL: dict[str, Scope] = {
    R.CREDIT_OFFICER: ALL,
    R.CREDIT_MANAGER: ALL,
    R.CREDIT_COMMITTEE: ALL,
    R.FINANCE: ALL,
    R.GENERAL_MANAGER: ALL,
    R.AUDITOR: ALL,
    R.SYSADMIN: ALL,
    R.ARCHIVIST: ALL,
}

register(
    {
        "customer.view": {R.SALES_REP: OWN, R.SALES_MANAGER: DEPT, **READ_ALL},
        "customer.export": {R.SALES_REP: OWN, R.SALES_MANAGER: DEPT, **READ_ALL},
        "customer.create": {R.SALES_REP: OWN, R.SALES_MANAGER: DEPT, R.SYSADMIN: ALL},
        # Editing master data, contacts and staff: the owner (OWN), the sales manager for the department.
        "customer.edit": {R.SALES_REP: OWN, R.SALES_MANAGER: DEPT, R.GENERAL_MANAGER: ALL, R.SYSADMIN: ALL},
        # Activation, suspension, ending and reactivation.
        "customer.lifecycle": {
            R.SALES_MANAGER: DEPT,
            R.CREDIT_MANAGER: ALL,
            R.GENERAL_MANAGER: ALL,
            R.SYSADMIN: ALL,
        },
    },
    descriptions={
        "customer.view": _("查看客户档案"),
        "customer.export": _("导出客户一览表"),
        "customer.create": _("新建客户"),
        "customer.edit": _("修改客户资料、联系人和跟进人员"),
        "customer.lifecycle": _("客户启用、暂停、终止与恢复"),
    },
)


def _own(user: User) -> Q:
    pk = user.pk or 0
    return Q(owner_id=pk) | Q(pk__in=Customer.staff.through.objects.filter(user_id=pk).values("customer_id"))


register_scope(
    Customer,
    own=_own,  # the owner or one of the assigned staff
    department=lambda u: department_q(u, "department__", region_field="region_id"),
)
