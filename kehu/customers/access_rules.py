"""The customer module's actions (R-PLT-02) and what "own" and "department" mean for a customer."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.access import Scope, department_q, register, register_scope
from kehu.core.models import User
from kehu.core.models.org import RoleCode as R
from kehu.customers.models import ContactLog, Customer

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
        # Import from Excel (R-PLT-10): the owners in the file must lie within the importer's scope.
        "customer.import": {R.SALES_MANAGER: DEPT, R.SYSADMIN: ALL},
        # Editing master data, contacts and staff: the owner (OWN), the sales manager for the department.
        "customer.edit": {R.SALES_REP: OWN, R.SALES_MANAGER: DEPT, R.GENERAL_MANAGER: ALL, R.SYSADMIN: ALL},
        # Activation, suspension, ending and reactivation.
        "customer.lifecycle": {
            R.SALES_MANAGER: DEPT,
            R.CREDIT_MANAGER: ALL,
            R.GENERAL_MANAGER: ALL,
            R.SYSADMIN: ALL,
        },
        # Hand-over and reassignment of customers (R-CUS-10); merging dossiers (R-CUS-11).
        "customer.handover": {R.SALES_MANAGER: DEPT, R.GENERAL_MANAGER: ALL, R.SYSADMIN: ALL},
        "customer.merge.request": {
            R.SALES_REP: OWN,
            R.SALES_MANAGER: DEPT,
            R.GENERAL_MANAGER: ALL,
            R.SYSADMIN: ALL,
        },
        "customer.merge.approve": {R.GENERAL_MANAGER: ALL, R.SYSADMIN: ALL},
        # Logging contacts (R-CUS-12): the owner and assigned staff, the sales manager for the department.
        "customer.contact_log": {R.SALES_REP: OWN, R.SALES_MANAGER: DEPT, R.GENERAL_MANAGER: ALL},
    },
    descriptions={
        "customer.view": _("查看客户档案"),
        "customer.export": _("导出客户一览表"),
        "customer.create": _("新建客户"),
        "customer.import": _("从 Excel 导入客户及联系人"),
        "customer.edit": _("修改客户资料、联系人和跟进人员"),
        "customer.lifecycle": _("客户启用、暂停、终止与恢复"),
        "customer.contact_log": _("记录和更正客户联系记录"),
        "customer.handover": _("工作交接与更换客户负责人"),
        "customer.merge.request": _("申请合并客户档案"),
        "customer.merge.approve": _("批准合并客户档案"),
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

register_scope(
    ContactLog,  # a contact log is within scope when its customer is
    own=lambda u: (
        Q(customer__owner_id=u.pk or 0)
        | Q(customer_id__in=Customer.staff.through.objects.filter(user_id=u.pk or 0).values("customer_id"))
    ),
    department=lambda u: department_q(u, "customer__department__", region_field="customer__region_id"),
)
