from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "kehu.workflow"
    label = "workflow"
    verbose_name = _("流程")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from kehu.core.attachments import register_attachable
        from kehu.core.navigation import MenuItem, register_module
        from kehu.workflow import access_rules, definitions, panels, policies  # noqa: F401
        from kehu.workflow.models import Case

        policies.register()
        definitions.register()
        register_attachable(
            Case,
            view_action="workflow.case.view",
            change_action="workflow.case.attach",
            scope_action="workflow.case.view",
        )
        register_module(
            "workflow",
            _("待办"),
            "bi-inbox",
            10,
            [
                MenuItem(_("我的待办"), "workflow_inbox", "workflow.inbox.view", "bi-inbox"),
                MenuItem(_("流程实例"), "workflow_case_list", "workflow.case.view", "bi-kanban"),
                MenuItem(
                    _("流程定义"), "workflow_definition_list", "workflow.definition.view", "bi-diagram-2"
                ),
                MenuItem(_("流程监控"), "workflow_monitoring", "workflow.monitoring.view", "bi-bar-chart"),
            ],
        )
        post_migrate.connect(_sync_after_migrate, sender=self, dispatch_uid="workflow_sync_definitions")


def _sync_after_migrate(**kwargs: object) -> None:
    from django.db import connection

    from kehu.workflow.engine import sync_all

    if (
        "workflow_processdefinition" in connection.introspection.table_names()
        and "core_auditentry" in connection.introspection.table_names()
    ):
        try:
            sync_all()
        except Exception:
            return
