"""Wiring of the limits app (called from LimitsConfig.ready): policies, numbering, the workflow, attachments,
navigation, the dossier's credit section, the onboarding hook and the demo loader."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def ready() -> None:
    from kehu.core.attachments import register_attachable
    from kehu.core.demo import register_loader
    from kehu.core.navigation import MenuItem, register_module
    from kehu.customers.archive import ArchiveCategory, register_section
    from kehu.limits import access_rules, columns, policies, services, workflow  # noqa: F401
    from kehu.limits.demo import load_limits
    from kehu.limits.models import CreditApplication
    from kehu.limits.sections import render_credit_section
    from kehu.onboarding.hooks import register_on_approved

    policies.register()
    columns.register()
    services.register_series()
    workflow.register()
    register_attachable(
        CreditApplication,
        view_action="limits.investigation.view",
        change_action="limits.investigation.edit",
        scope_action="limits.investigation.view",
    )
    register_on_approved(services.on_customer_approved)
    register_section(ArchiveCategory.CREDIT, "limits", _("信用额度"), render_credit_section, order=20)
    register_module(
        "credit",
        _("信用"),
        "bi-shield-check",
        150,
        [
            MenuItem(_("信用总览"), "credit_overview", "limits.limit.view", "bi-speedometer2", position=0),
            MenuItem(_("授信申请"), "limits_applications", "limits.application.view", "bi-file-earmark-text"),
            MenuItem(_("信用额度"), "limits_list", "limits.limit.view", "bi-cash-stack"),
            MenuItem(_("信用复查"), "limits_reviews", "limits.review.view", "bi-arrow-repeat"),
        ],
    )
    register_loader(45, "limits", load_limits)
