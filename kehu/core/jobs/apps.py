from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "kehu.core.jobs"
    label = "jobs"
    verbose_name = _("后台任务")

    def ready(self) -> None:
        from kehu.core.jobs import access_rules  # noqa: F401  (the jobs actions)
        from kehu.core.navigation import MenuItem, register_module

        register_module(
            "jobs",
            _("后台任务"),
            "bi-hourglass-split",
            920,
            [
                MenuItem(_("任务运行"), "job_list", "jobs.view", "bi-list-task"),
                MenuItem(_("周期任务"), "job_periodic", "jobs.view", "bi-arrow-repeat"),
            ],
        )
