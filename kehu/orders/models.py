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
        ]
        constraints = [
            models.CheckConstraint(condition=Q(counted_amount__gte=0), name="order_counted_not_negative"),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("orders_detail", args=[self.pk])


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
