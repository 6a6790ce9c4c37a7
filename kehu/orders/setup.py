"""Wiring of the orders app (called from OrdersConfig.ready): policies, numbering, navigation, demo loader."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def ready() -> None:
    from kehu.core.demo import register_loader
    from kehu.core.navigation import MenuItem, register_module
    from kehu.orders import access_rules, policies, services  # noqa: F401
    from kehu.orders.demo import load_orders

    policies.register()
    services.register_series()
    register_module(
        "orders",
        _("订单"),
        "bi-cart-check",
        170,
        [
            MenuItem(_("订单"), "orders_list", "orders.order.view", "bi-receipt", position=0),
            MenuItem(_("新建订单"), "orders_new", "orders.order.edit", "bi-plus-square"),
            MenuItem(_("信用冻结"), "orders_holds", "orders.hold.release", "bi-lock"),
            MenuItem(_("产品目录"), "orders_products", "orders.product.view", "bi-box-seam"),
        ],
    )
    register_loader(70, "orders", load_orders)  # after grading (60): checks read grades
