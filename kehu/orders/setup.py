"""Wiring of the orders app (called from OrdersConfig.ready): policies, numbering, navigation, demo loader."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def ready() -> None:
    from kehu.core.demo import register_loader
    from kehu.core.navigation import MenuItem, register_module
    from kehu.orders import access_rules, execution, policies, services, workflow  # noqa: F401
    from kehu.orders.demo import load_orders

    policies.register()
    services.register_series()
    execution.register_series()
    workflow.register()
    register_module(
        "orders",
        _("订单"),
        "bi-cart-check",
        170,
        [
            MenuItem(_("订单"), "orders_list", "orders.order.view", "bi-receipt", position=0),
            MenuItem(_("新建订单"), "orders_new", "orders.order.edit", "bi-plus-square"),
            MenuItem(_("在手订单"), "orders_open", "orders.order.view", "bi-truck"),
            MenuItem(_("信用冻结"), "orders_holds", "orders.hold.release", "bi-lock"),
            MenuItem(_("订单差错报告"), "orders_errors", "orders.errors.view", "bi-exclamation-triangle"),
            MenuItem(_("产品目录"), "orders_products", "orders.product.view", "bi-box-seam"),
        ],
    )
    register_loader(70, "orders", load_orders)  # after grading (60): checks read grades
    _register_change_labels()


def _register_change_labels() -> None:
    """Words for the keys and codes the order services write into the audit trail (history pages)."""
    from kehu.core.audit import register_change_labels
    from kehu.core.models.org import RoleCode
    from kehu.grading.policies import PAYMENT_TERMS
    from kehu.orders.models import AmendmentCause, Channel, CheckKey, FeedbackKind

    roles = dict(RoleCode.choices)
    register_change_labels(
        "orders.order",
        {
            "via": _("操作"),
            "run": _("检查次数"),
            "failed": _("未通过的检查"),
            "review": _("转评审原因"),
            "lines": _("订单行数"),
            "release": _("解除结果"),
            "excess": _("超额"),
            "required_role": _("所需审批权限"),
            "released_role": _("解除人权限"),
            "reopen": _("重新打开"),
            "amendment": _("变更"),
            "copied_from": _("复制自"),
            "case": _("评审流程"),
            "notice": _("执行通知"),
            "responsible": _("执行责任人"),
            "delivery_deadline": _("交付期限"),
            "supersedes": _("取代通知"),
            "delivery": _("发货单"),
            "delivered": _("本次发货金额"),
            "delivered_amount": _("已发货金额"),
            "invoice": _("发票"),
            "invoiced": _("本次开票金额"),
            "invoiced_amount": _("已开票金额"),
            "feedback": _("客户反馈"),
            "rating": _("评分"),
            "cause": _("变更原因类别"),
            "department": _("责任部门"),
        },
        values={
            "via": {"submit": _("提交"), "copy": _("复制后提交"), "amend": _("变更后重新检查")},
            "failed": dict(CheckKey.choices),
            "review": {
                "failed_check": _("检查未通过"),
                "threshold": _("超过评审金额阈值"),
                "non_standard": _("非标订单"),
                "strict_review": _("等级要求严格评审"),
                "approved": _("评审批准"),
                "returned": _("评审退回销售"),
                "review_rejected": _("评审否决"),
            },
            "release": {"released": _("已解除"), "blocked": _("退回草稿（其他检查未通过）")},
            "cause": dict(AmendmentCause.choices),
            "payment_terms": {k: _(label) for k, label in PAYMENT_TERMS},
            "channel": dict(Channel.choices),
            "feedback": dict(FeedbackKind.choices),
            "required_role": roles,
            "released_role": roles,
        },
    )
