from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConfidentialConfig(AppConfig):
    name = "kehu.confidential"
    label = "confidential"
    verbose_name = _("保密档案查阅")

    def ready(self) -> None:
        from kehu.confidential import access_rules, gates, policies, workflow  # noqa: F401
        from kehu.confidential.demo import load_confidential
        from kehu.confidential.sections import render_credit_access
        from kehu.core.demo import register_loader
        from kehu.core.navigation import MenuItem, register_module
        from kehu.customers.archive import ArchiveCategory, register_section

        policies.register()
        workflow.register()
        gates.register()
        register_section(
            ArchiveCategory.CREDIT, "confidential.credit", _("保密内容查阅"), render_credit_access, order=5
        )
        register_module(
            "archive",
            _("档案"),
            "bi-archive",
            170,
            [
                MenuItem(_("我的查阅申请"), "confidential_requests", "confidential.request.create", "bi-key"),
                MenuItem(
                    _("待我审批的查阅申请"),
                    "confidential_to_approve",
                    "confidential.grant.revoke",
                    "bi-inbox",
                ),
                MenuItem(
                    _("全部查阅申请"), "confidential_requests_all", "confidential.readlog.view", "bi-list-ul"
                ),
                MenuItem(_("有效授权"), "confidential_grants", "confidential.grant.view", "bi-shield-check"),
                MenuItem(
                    _("查阅日志"), "confidential_readlog", "confidential.readlog.view", "bi-journal-text"
                ),
                MenuItem(
                    _("异常查阅"),
                    "confidential_unusual",
                    "confidential.unusual.view",
                    "bi-exclamation-diamond",
                ),
                MenuItem(
                    _("原件借阅"),
                    "confidential_lendings",
                    "confidential.lending.view",
                    "bi-box-arrow-up-right",
                ),
            ],
        )
        register_loader(70, "confidential", load_confidential)
