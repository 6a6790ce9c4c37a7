from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "kehu.customers"
    label = "customers"
    verbose_name = _("客户")

    def ready(self) -> None:
        from kehu.core.attachments import register_attachable
        from kehu.core.demo import register_loader
        from kehu.core.navigation import MenuItem, register_module
        from kehu.customers import access_rules, policies  # noqa: F401
        from kehu.customers.demo import load_customers
        from kehu.customers.models import Customer

        policies.register()
        register_attachable(
            Customer, view_action="customer.view", change_action="customer.edit", scope_action="customer.view"
        )
        register_module(
            "customers",
            _("客户"),
            "bi-buildings",
            100,
            [
                MenuItem(_("客户一览表"), "customer_list", "customer.view", "bi-list-ul"),
                MenuItem(_("新建客户"), "customer_create", "customer.create", "bi-plus-lg"),
            ],
        )
        register_loader(20, "customers", load_customers)
