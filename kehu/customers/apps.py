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
        from kehu.customers import (  # noqa: F401
            access_rules,
            contactlog,
            policies,
            sections,
            views_documents,
        )
        from kehu.customers.demo import load_customers
        from kehu.customers.documents import on_attachment_change
        from kehu.customers.models import Customer

        policies.register()
        sections.register()
        views_documents.register()
        contactlog.register()
        register_attachable(
            Customer,
            view_action="customer.view",
            change_action="customer.edit",
            scope_action="customer.view",
            on_change=on_attachment_change,
        )
        register_module(
            "customers",
            _("客户"),
            "bi-buildings",
            100,
            [
                MenuItem(_("客户一览表"), "customer_list", "customer.view", "bi-list-ul"),
                MenuItem(_("新建客户"), "customer_create", "customer.create", "bi-plus-lg"),
                MenuItem(_("导入客户"), "customer_import", "customer.import", "bi-file-earmark-arrow-up"),
                MenuItem(_("工作交接"), "customer_handover_list", "customer.handover", "bi-arrow-left-right"),
                MenuItem(_("联系记录"), "contact_log_list", "customer.view", "bi-chat-left-text"),
                MenuItem(_("待联系客户"), "contact_gap_list", "customer.view", "bi-alarm"),
            ],
        )
        register_loader(20, "customers", load_customers)
        from kehu.customers.merge import ensure_registered

        ensure_registered()
