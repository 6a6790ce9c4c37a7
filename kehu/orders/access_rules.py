"""Who may do what with orders (R-PLT-02, R-ORD-01, R-CRD-05).

Sales reps enter and submit orders of their own customers, sales managers those of their department; credit
holds are released by the sales manager (department), the credit manager or the general manager, each up to the
authority that policy ``orders.release_bands`` gives the role (checked by the service on the current excess).
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.access import Scope, department_q, register, register_scope
from kehu.core.models import User
from kehu.core.models.org import RoleCode as R
from kehu.orders.models import Order

ALL, DEPT, OWN = Scope.ALL, Scope.DEPARTMENT, Scope.OWN

READERS: dict[str, Scope] = {
    R.SALES_REP: OWN,
    R.SALES_MANAGER: DEPT,
    R.CREDIT_OFFICER: ALL,
    R.CREDIT_MANAGER: ALL,
    R.FINANCE: ALL,
    R.GENERAL_MANAGER: ALL,
    R.AUDITOR: ALL,
}
EDITORS: dict[str, Scope] = {R.SALES_REP: OWN, R.SALES_MANAGER: DEPT, R.GENERAL_MANAGER: ALL}

register(
    {
        # the review group reads the orders it reviews (R-ORD-03); other step holders see an order while its review
        # task is theirs
        "orders.order.view": {**READERS, R.REVIEWER: ALL},
        "orders.order.export": dict(READERS),
        "orders.order.edit": dict(EDITORS),
        "orders.order.import": {R.SALES_REP: OWN, R.SALES_MANAGER: DEPT},
        "orders.hold.release": {R.SALES_MANAGER: DEPT, R.CREDIT_MANAGER: ALL, R.GENERAL_MANAGER: ALL},
        "orders.product.view": {
            **dict.fromkeys(READERS, ALL),
            R.CREDIT_COMMITTEE: ALL,
            R.PMO: ALL,
            R.SYSADMIN: ALL,
        },
        "orders.product.edit": {R.SALES_MANAGER: ALL, R.GENERAL_MANAGER: ALL, R.SYSADMIN: ALL},
        # execution (R-ORD-05): management names the responsible person; deliveries are entered by the order's
        # editors (and its responsible person, checked by the service); finance invoices them
        "orders.order.assign": {R.SALES_MANAGER: DEPT, R.GENERAL_MANAGER: ALL},
        "orders.delivery.post": dict(EDITORS),
        "orders.invoice.post": {R.FINANCE: ALL},
        "orders.errors.view": {
            R.SALES_MANAGER: ALL,
            R.QUALITY_ENGINEER: ALL,
            R.GENERAL_MANAGER: ALL,
            R.AUDITOR: ALL,
        },
    },
    descriptions={
        "orders.order.view": _("查看订单"),
        "orders.order.export": _("导出订单一览表"),
        "orders.order.edit": _("录入、提交、修改、复制与取消订单"),
        "orders.order.import": _("导入订单"),
        "orders.hold.release": _("解除信用冻结"),
        "orders.product.view": _("查看产品目录"),
        "orders.product.edit": _("维护产品目录"),
        "orders.order.assign": _("下达订单执行通知（指定执行责任人）"),
        "orders.delivery.post": _("登记订单发货与客户反馈"),
        "orders.invoice.post": _("按订单发货开票（记入应收台账）"),
        "orders.errors.view": _("查看订单差错报告"),
    },
)


def _own(user: User) -> Q:
    return Q(customer__owner_id=user.pk or 0)


def _dept(user: User) -> Q:
    return department_q(user, "customer__department__", region_field="customer__region_id")


register_scope(Order, own=_own, department=_dept)
