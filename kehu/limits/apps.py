from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LimitsConfig(AppConfig):
    name = "kehu.limits"
    label = "limits"
    verbose_name = _("信用额度")

    def ready(self) -> None:
        from kehu.limits import setup

        setup.ready()
