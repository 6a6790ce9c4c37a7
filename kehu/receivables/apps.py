from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReceivablesConfig(AppConfig):
    name = "kehu.receivables"
    label = "receivables"
    verbose_name = _("应收账款")

    def ready(self) -> None:
        from kehu.core.demo import register_loader
        from kehu.core.navigation import MenuItem, register_module
        from kehu.receivables import access_rules, policies, sections, workflow  # noqa: F401
        from kehu.receivables.demo import load_receivables

        policies.register()
        workflow.register()
        sections.register()
        register_module(
            "credit",
            _("信用"),
            "bi-shield-check",
            150,
            [
                MenuItem(_("账龄分析"), "receivables_ageing", "receivables.ageing", "bi-hourglass-split"),
                MenuItem(_("信用占用"), "receivables_exposure", "receivables.exposure", "bi-speedometer"),
                MenuItem(_("催收"), "receivables_collections_all", "receivables.collect", "bi-telephone"),
                MenuItem(_("坏账核销"), "receivables_writeoffs", "receivables.writeoff.view", "bi-x-octagon"),
                MenuItem(_("台账导入"), "receivables_import", "receivables.import", "bi-upload"),
            ],
        )
        register_loader(50, "receivables", load_receivables)
