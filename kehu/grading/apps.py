from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GradingConfig(AppConfig):
    name = "kehu.grading"
    label = "grading"
    verbose_name = _("客户分级")

    def ready(self) -> None:
        from kehu.core.navigation import MenuItem, register_module
        from kehu.customers.archive import ArchiveCategory, register_section
        from kehu.grading import access_rules, columns, policies  # noqa: F401
        from kehu.grading.views import render_section

        policies.register()
        columns.register()
        register_section(
            ArchiveCategory.SERVICE, "grading.history", _("客户等级与评分"), render_section, order=5
        )
        register_module(
            "grading",
            _("分级"),
            "bi-bar-chart-steps",
            160,
            [MenuItem(_("客户分级运行"), "grading_run_list", "grading.run.view", "bi-list-ol")],
        )
