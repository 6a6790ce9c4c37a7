from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnboardingConfig(AppConfig):
    name = "kehu.onboarding"
    label = "onboarding"
    verbose_name = _("客户审核")

    def ready(self) -> None:
        from kehu.core.attachments import register_attachable
        from kehu.core.demo import register_loader
        from kehu.core.navigation import MenuItem, register_module
        from kehu.onboarding import access_rules, policies, workflow  # noqa: F401
        from kehu.onboarding.demo import load_reviews
        from kehu.onboarding.models import Review, ReviewerQualification
        from kehu.onboarding.reviewers import register_policy as register_reviewer_policy

        policies.register()
        register_reviewer_policy()
        workflow.register()
        register_attachable(
            Review,
            view_action="onboarding.review.view",
            change_action="onboarding.review.attach",
            scope_action="onboarding.review.view",
        )
        register_attachable(
            ReviewerQualification,
            view_action="onboarding.reviewer.view",
            change_action="onboarding.reviewer.manage",
            scope_action="onboarding.reviewer.view",
        )
        register_module(
            "onboarding",
            _("客户审核"),
            "bi-clipboard-check",
            110,
            [
                MenuItem(_("审核一览表"), "onboarding_list", "onboarding.review.view", "bi-list-check"),
                MenuItem(_("我的审核待办"), "onboarding_queue", "onboarding.review.view", "bi-inbox"),
                MenuItem(_("审核申请"), "onboarding_apply", "onboarding.review.apply", "bi-plus-lg"),
                MenuItem(_("复审计划"), "onboarding_schedule", "onboarding.review.view", "bi-calendar-check"),
                MenuItem(_("审核报表"), "onboarding_reports", "onboarding.report.view", "bi-bar-chart"),
                MenuItem(
                    _("审核员管理"), "onboarding_reviewers", "onboarding.reviewer.view", "bi-person-badge"
                ),
                MenuItem(
                    _("审核员绩效"),
                    "onboarding_reviewer_performance",
                    "onboarding.reviewer.report",
                    "bi-speedometer2",
                ),
            ],
        )
        register_loader(30, "onboarding", load_reviews)
