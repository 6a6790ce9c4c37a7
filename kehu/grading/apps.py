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
        from kehu.core.demo import register_loader
        from kehu.grading import visits
        from kehu.grading.demo import load_grading

        visits.register()  # R-GRD-03: the grade's contact frequency and quarterly visits
        register_loader(60, "grading", load_grading)  # after the receivables (50): grades need the ledger
        register_section(
            ArchiveCategory.SERVICE, "grading.history", _("客户等级与评分"), render_section, order=5
        )
        register_module(
            "grading",
            _("分级"),
            "bi-bar-chart-steps",
            160,
            [
                MenuItem(_("客户分级运行"), "grading_run_list", "grading.run.view", "bi-list-ol"),
                MenuItem(_("等级调整"), "grading_override_list", "grading.override.view", "bi-sliders"),
                MenuItem(_("分级模拟"), "grading_simulation", "grading.simulation.run", "bi-shuffle"),
            ],
        )
