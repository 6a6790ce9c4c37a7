from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    name = "kehu.core.policies"
    label = "policies"
    verbose_name = _("制度")

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started
        from django.db.models.signals import post_delete, post_migrate, post_save

        from kehu.core.navigation import MenuItem, register_module
        from kehu.core.policies import access_rules, platform  # noqa: F401  (actions and platform types)
        from kehu.core.policies.models import PolicyVersion
        from kehu.core.policies.services import clear_cache, ensure_defaults
        from kehu.core.policies.workflow import ensure_registered

        register_module(
            "policies",
            _("制度"),
            "bi-journal-text",
            850,
            [MenuItem(_("制度与版本"), "policy_list", "policy.view", "bi-journal-text")],
        )
        post_migrate.connect(ensure_defaults, sender=self, dispatch_uid="policies_ensure_defaults")
        request_started.connect(clear_cache, dispatch_uid="policies_cache_request_started")
        request_finished.connect(clear_cache, dispatch_uid="policies_cache_request_finished")
        post_save.connect(clear_cache, sender=PolicyVersion, dispatch_uid="policies_cache_saved")
        post_delete.connect(clear_cache, sender=PolicyVersion, dispatch_uid="policies_cache_deleted")
        ensure_registered()
