from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "kehu.core"
    label = "core"
    verbose_name = _("平台")

    def ready(self) -> None:
        from kehu.core import access_rules, menu, panels  # noqa: F401  (access matrix, menu, home panels)
