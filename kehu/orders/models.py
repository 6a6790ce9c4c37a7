"""Orders (R-ORD-01, R-ORD-02, R-CRD-05).

:class:`Product` is the small catalogue with the internal control price (内控价) and the product scope; an
:class:`Order` holds its :class:`OrderLine` rows, each submit stores one run of :class:`CheckResult` rows (one per
check, with the figures and the policy versions used), and an order failing the credit check gets a
:class:`CreditHold` until an approver of the required authority releases it.

``counted_amount`` is the part of the order that is in the customer's exposure (approved orders of the receivables
ledger): the whole total while the order is approved or waiting for its review, zero while it is a draft, on hold or
cancelled. Only the services change it, under the customer's exposure row lock.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0.00")


class Scope(models.TextChoices):
    STANDARD = "standard", _("标准产品")
    CUSTOM = "custom", _("定制产品")
    TRADED = "traded", _("外购转售")
    DISCONTINUED = "discontinued", _("停止经营")


class Product(models.Model):
    code = models.CharField(_("产品编码"), max_length=40, unique=True)
    name = models.CharField(_("产品名称"), max_length=120)
    spec = models.CharField(_("规格型号"), max_length=120, blank=True)
    unit = models.CharField(_("单位"), max_length=12)
    control_price = models.DecimalField(_("内控价"), max_digits=14, decimal_places=2)
    tax_rate = models.DecimalField(_("税率（%）"), max_digits=5, decimal_places=2, default=Decimal("13"))
    scope = models.CharField(_("产品范围"), max_length=20, choices=Scope.choices, default=Scope.STANDARD)
    active = models.BooleanField(_("在售"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("产品")
        verbose_name_plural = _("产品")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Channel(models.TextChoices):
    PHONE = "phone", _("电话")
    FAX = "fax", _("传真")
    EMAIL = "email", _("电子邮件")
    ON_SITE = "on_site", _("现场")
    PORTAL = "portal", _("客户门户")


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交")
    CREDIT_HOLD = "credit_hold", _("信用冻结")
    REVIEW_PENDING = "review_pending", _("待评审")
    APPROVED = "approved", _("已批准")
    EXECUTING = "executing", _("执行中")
    COMPLETED = "completed", _("已完成")
    CANCELLED = "cancelled", _("已取消")


class Order(models.Model):
    number = models.CharField(_("订单编号"), max_length=40, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="orders"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("负责人"), on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("接单渠道"), max_length=12, choices=Channel.choices)
    customer_ref = models.CharField(_("客户订单号"), max_length=60, blank=True)
    requested_date = models.DateField(_("要求交货日期"))
    payment_terms = models.CharField(_("付款条件"), max_length=30)
    non_standard = models.BooleanField(_("非标订单"), default=False)
    notes = models.TextField(_("备注"), blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.DRAFT, db_index=True
    )
    currency = models.CharField(_("币种"), max_length=3, default="CNY")
    net_amount = models.DecimalField(_("不含税金额"), max_digits=16, decimal_places=2, default=ZERO)
    tax_amount = models.DecimalField(_("税额"), max_digits=16, decimal_places=2, default=ZERO)
    total_amount = models.DecimalField(_("价税合计"), max_digits=16, decimal_places=2, default=ZERO)
    counted_amount = models.DecimalField(_("计入信用占用"), max_digits=16, decimal_places=2, default=ZERO)
    check_run = models.PositiveIntegerField(_("检查次数"), default=0)
    checks_passed = models.BooleanField(_("检查全部通过"), null=True, blank=True)
    on_hold = models.BooleanField(_("信用冻结中"), default=False, db_index=True)
    # execution (R-ORD-05): the responsible person named by the execution notice, what was delivered and invoiced,
    # and the part of the delivered amount still in the customer's unbilled deliveries
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("执行责任人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    delivered_amount = models.DecimalField(_("已发货金额"), max_digits=16, decimal_places=2, default=ZERO)
    invoiced_amount = models.DecimalField(_("已开票金额"), max_digits=16, decimal_places=2, default=ZERO)
    unbilled_amount = models.DecimalField(
        _("计入已发货未开票"), max_digits=16, decimal_places=2, default=ZERO
    )
    grade = models.CharField(_("客户等级"), max_length=2, blank=True)
    rush = models.BooleanField(_("急单"), default=False)
    priority = models.PositiveSmallIntegerField(_("优先级"), default=0)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    copied_from = models.ForeignKey(
        "self", verbose_name=_("复制自"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    approved_at = models.DateTimeField(_("批准时间"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("订单")
        verbose_name_plural = _("订单")
        indexes = [
            models.Index(fields=["customer", "status"], name="order_customer_status"),
            models.Index(fields=["owner", "status"], name="order_owner_status"),
            models.Index(fields=["status", "created_at"], name="order_status_created"),
            # the order list's default sort (newest first) and the owner filter with it
            models.Index(fields=["-created_at", "-id"], name="order_created_desc"),
            models.Index(fields=["owner", "-created_at"], name="order_owner_created"),
            models.Index(
                fields=["-priority", "requested_date"],
                name="order_open_priority",
                condition=Q(status__in=["approved", "executing"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(counted_amount__gte=0), name="order_counted_not_negative"),
            models.CheckConstraint(
                condition=Q(delivered_amount__gte=0)
                & Q(invoiced_amount__gte=0)
                & Q(invoiced_amount__lte=models.F("delivered_amount"))
                & Q(unbilled_amount__gte=0),
                name="order_execution_amounts",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("orders_detail", args=[self.pk])

    @property
    def open_amount(self) -> Decimal:
        """What is still to deliver (the order total less the deliveries)."""
        return self.total_amount - self.delivered_amount

    @property
    def unbilled(self) -> Decimal:
        """Delivered and not yet invoiced."""
        return self.delivered_amount - self.invoiced_amount


class OrderLine(models.Model):
    order = models.ForeignKey(Order, verbose_name=_("订单"), on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("行号"))
    product = models.ForeignKey(
        Product, verbose_name=_("产品"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    spec = models.CharField(_("规格型号"), max_length=120, blank=True)
    quantity = models.DecimalField(_("数量"), max_digits=14, decimal_places=3, null=True, blank=True)
    unit = models.CharField(_("单位"), max_length=12, blank=True)
    unit_price = models.DecimalField(
        _("单价（不含税）"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    discount = models.DecimalField(_("折扣（%）"), max_digits=5, decimal_places=2, default=ZERO)
    tax_rate = models.DecimalField(_("税率（%）"), max_digits=5, decimal_places=2, null=True, blank=True)
    net_amount = models.DecimalField(_("不含税金额"), max_digits=16, decimal_places=2, default=ZERO)
    tax_amount = models.DecimalField(_("税额"), max_digits=16, decimal_places=2, default=ZERO)
    amount = models.DecimalField(_("价税合计"), max_digits=16, decimal_places=2, default=ZERO)
    delivered_quantity = models.DecimalField(_("已发货数量"), max_digits=14, decimal_places=3, default=ZERO)
    delivered_amount = models.DecimalField(_("已发货金额"), max_digits=16, decimal_places=2, default=ZERO)

    class Meta:
        ordering = ["order", "position"]
        verbose_name = _("订单行")
        verbose_name_plural = _("订单行")

    def __str__(self) -> str:
        return f"{self.order_id}/{self.position}"


class CheckKey(models.TextChoices):
    CUSTOMER = "customer", _("客户状态与资格")
    DOCUMENTS = "documents", _("证照有效")
    SCOPE = "scope", _("产品在经营范围内")
    LINES = "lines", _("订单行完整")
    DISCOUNT = "discount", _("折扣在等级上限内")
    TERMS = "terms", _("付款条件符合等级与信用类别")
    LEAD_TIME = "lead_time", _("交期不短于等级标准交期")
    CREDIT = "credit", _("信用检查")


class CheckResult(models.Model):
    order = models.ForeignKey(Order, verbose_name=_("订单"), on_delete=models.CASCADE, related_name="checks")
    run = models.PositiveIntegerField(_("检查次数"))
    key = models.CharField(_("检查项"), max_length=20, choices=CheckKey.choices)
    passed = models.BooleanField(_("通过"))
    reason = models.TextField(_("说明"), blank=True)
    figures = models.JSONField(_("数据"), default=dict, blank=True)
    policy_versions = models.JSONField(_("制度版本"), default=dict, blank=True)
    checked_at = models.DateTimeField(_("检查时间"), auto_now_add=True)

    class Meta:
        ordering = ["order", "run", "pk"]
        verbose_name = _("自动检查结果")
        verbose_name_plural = _("自动检查结果")
        constraints = [models.UniqueConstraint(fields=["order", "run", "key"], name="checkresult_unique")]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.run} {self.key}"


class CreditHold(models.Model):
    order = models.ForeignKey(Order, verbose_name=_("订单"), on_delete=models.PROTECT, related_name="holds")
    run = models.PositiveIntegerField(_("检查次数"))
    excess = models.DecimalField(_("超额"), max_digits=16, decimal_places=2, default=ZERO)
    overdue_days = models.PositiveIntegerField(_("最长逾期天数"), default=0)
    required_role = models.CharField(_("所需审批权限"), max_length=30)
    reason = models.TextField(_("冻结原因"))
    created_at = models.DateTimeField(_("冻结时间"), auto_now_add=True)
    open = models.BooleanField(_("未解除"), default=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("解除人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    released_role = models.CharField(_("解除人权限"), max_length=30, blank=True)
    released_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    release_reason = models.TextField(_("解除理由"), blank=True)
    closed_reason = models.CharField(_("结束方式"), max_length=20, blank=True)
    policy_version_id = models.IntegerField(_("制度版本"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("信用冻结")
        verbose_name_plural = _("信用冻结")
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(open=True), name="credithold_one_open")
        ]

    def __str__(self) -> str:
        return f"{self.order_id} hold"


# ---------------------------------------------------------------------------------------------------------------
# Execution (R-ORD-05) and records (R-ORD-06, R-ORD-07)


class ExecutionNotice(models.Model):
    """执行通知: the responsible person, the delivery deadline and the quality requirements. A new notice for the
    same order supersedes the earlier one (a changed deadline or person); all are kept."""

    order = models.ForeignKey(Order, verbose_name=_("订单"), on_delete=models.PROTECT, related_name="notices")
    number = models.CharField(_("通知编号"), max_length=40, unique=True)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("执行责任人"), on_delete=models.PROTECT, related_name="+"
    )
    delivery_deadline = models.DateField(_("交付期限"))
    quality_requirements = models.TextField(_("质量要求"))
    production_plan = models.TextField(_("生产计划"), blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("下达人"), on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(_("下达时间"), auto_now_add=True)

    class Meta:
        ordering = ["order", "-issued_at", "-pk"]
        verbose_name = _("执行通知")
        verbose_name_plural = _("执行通知")

    def __str__(self) -> str:
        return self.number


class Delivery(models.Model):
    """A delivery note (发货单) of an order; partial deliveries are several notes."""

    order = models.ForeignKey(
        Order, verbose_name=_("订单"), on_delete=models.PROTECT, related_name="deliveries"
    )
    number = models.CharField(_("发货单号"), max_length=40, unique=True)
    delivered_on = models.DateField(_("发货日期"))
    amount = models.DecimalField(_("价税合计"), max_digits=16, decimal_places=2)
    note = models.TextField(_("备注"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        ordering = ["order", "delivered_on", "pk"]
        verbose_name = _("发货")
        verbose_name_plural = _("发货")
        # zero for lines given free of charge
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="delivery_amount_not_negative")
        ]

    def __str__(self) -> str:
        return self.number


class DeliveryLine(models.Model):
    delivery = models.ForeignKey(
        Delivery, verbose_name=_("发货"), on_delete=models.CASCADE, related_name="lines"
    )
    order_line = models.ForeignKey(
        OrderLine, verbose_name=_("订单行"), on_delete=models.PROTECT, related_name="delivery_lines"
    )
    quantity = models.DecimalField(_("数量"), max_digits=14, decimal_places=3)
    amount = models.DecimalField(_("价税合计"), max_digits=16, decimal_places=2)

    class Meta:
        ordering = ["delivery", "order_line__position"]
        verbose_name = _("发货行")
        verbose_name_plural = _("发货行")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="deliveryline_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id}/{self.order_line_id}"


class OrderInvoice(models.Model):
    """An invoice of an order's deliveries, posted to the receivables ledger (``entry_id``: the ledger entry)."""

    order = models.ForeignKey(
        Order, verbose_name=_("订单"), on_delete=models.PROTECT, related_name="invoices"
    )
    number = models.CharField(_("发票号"), max_length=40)
    invoiced_on = models.DateField(_("开票日期"))
    due_date = models.DateField(_("到期日"))
    amount = models.DecimalField(_("金额"), max_digits=16, decimal_places=2)
    entry_id = models.IntegerField(_("台账分录"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("开票人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        ordering = ["order", "invoiced_on", "pk"]
        verbose_name = _("订单发票")
        verbose_name_plural = _("订单发票")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="orderinvoice_amount_positive")]

    def __str__(self) -> str:
        return self.number


class AmendmentCause(models.TextChoices):
    CUSTOMER = "customer", _("客户变更")
    ERROR = "error", _("内部差错")


class OrderAmendment(models.Model):
    """An amendment of a submitted order (R-ORD-07): the reason, what changed and, for a change after approval,
    whether it corrects an internal error and which department (and person) answers for it."""

    order = models.ForeignKey(
        Order, verbose_name=_("订单"), on_delete=models.PROTECT, related_name="amendments"
    )
    status_before = models.CharField(_("变更前状态"), max_length=16, choices=OrderStatus.choices)
    after_approval = models.BooleanField(_("批准后变更"), default=False)
    cause = models.CharField(_("变更原因类别"), max_length=10, choices=AmendmentCause.choices, blank=True)
    department = models.ForeignKey(
        "core.Department",
        verbose_name=_("责任部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("责任人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.TextField(_("变更理由"))
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    total_before = models.DecimalField(_("变更前价税合计"), max_digits=16, decimal_places=2)
    total_after = models.DecimalField(_("变更后价税合计"), max_digits=16, decimal_places=2)
    amended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("变更人"), on_delete=models.PROTECT, related_name="+"
    )
    amended_at = models.DateTimeField(_("变更时间"), auto_now_add=True)

    class Meta:
        ordering = ["order", "amended_at", "pk"]
        verbose_name = _("订单变更")
        verbose_name_plural = _("订单变更")
        indexes = [models.Index(fields=["cause", "amended_at"], name="amendment_cause_at")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(cause="error") | Q(department__isnull=False), name="amendment_error_department"
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_id} amendment {self.pk}"


class FeedbackKind(models.TextChoices):
    QUALITY = "quality", _("产品质量")
    DELIVERY = "delivery", _("交期")
    SERVICE = "service", _("服务")
    OTHER = "other", _("其他")


class OrderFeedback(models.Model):
    """Customer feedback on an order's execution (R-ORD-05, evaluation and feedback; part of the order archive)."""

    order = models.ForeignKey(
        Order, verbose_name=_("订单"), on_delete=models.PROTECT, related_name="feedback"
    )
    kind = models.CharField(_("类别"), max_length=10, choices=FeedbackKind.choices)
    rating = models.PositiveSmallIntegerField(_("评分（1-5）"), null=True, blank=True)
    content = models.TextField(_("客户反馈"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("记录人"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        ordering = ["order", "recorded_at", "pk"]
        verbose_name = _("客户反馈")
        verbose_name_plural = _("客户反馈")
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="feedback_rating_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"
