from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditConfig(AppConfig):
    name = "kehu.credit"
    label = "credit"
    verbose_name = _("信用评级与信用档案")

    def ready(self) -> None:
        from kehu.core.attachments import register_attachable
        from kehu.core.demo import register_loader
        from kehu.core.navigation import MenuItem, register_module
        from kehu.credit import access_rules, columns, policies  # noqa: F401
        from kehu.credit.demo import load_credit
        from kehu.credit.models import CreditFile
        from kehu.credit.services import on_attachment_change
        from kehu.credit.views import render_section
        from kehu.customers.archive import ArchiveCategory, register_section

        policies.register()
        columns.register()
        register_attachable(
            CreditFile,
            view_action="credit.file.view",
            change_action="credit.file.edit",
            scope_action="credit.file.view",
            on_change=on_attachment_change,
        )
        register_section(
            ArchiveCategory.CREDIT, "credit.file", _("信用档案与信用评级"), render_section, order=10
        )
        register_module(
            "credit",
            _("信用"),
            "bi-shield-check",
            150,
            [MenuItem(_("信用评级一览表"), "credit_rating_list", "credit.rating.view", "bi-clipboard-check")],
        )
        register_loader(40, "credit", load_credit)
