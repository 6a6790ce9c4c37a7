"""Onboarding review (客户审核) and periodic re-qualification (R-ONB-01..08).

A :class:`Review` is the application (客户审核申请表) and its decision; the steps run as a case of the workflow engine
(``Review.case``). Every send-back to the customer is a :class:`Rectification` round (R-ONB-04). Each active
customer has one :class:`Qualification` row with its next re-qualification date (R-ONB-08).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReviewKind(models.TextChoices):
    INITIAL = "initial", _("准入审核")
    REQUALIFICATION = "requalification", _("定期复审")


class ReviewTrigger(models.TextChoices):
    APPLICATION = "application", _("销售申请")
    DUE = "due", _("复审到期")
    DOCUMENTS = "documents", _("证照失效")
    MANUAL = "manual", _("提前复审")


class Decision(models.TextChoices):
    APPROVE = "approve", _("批准合作")
    DEFER = "defer", _("暂缓合作")
    REJECT = "reject", _("不予合作")
    WITHDRAW = "withdraw", _("撤回申请")
    KEEP = "keep", _("维持合作")
    DOWNGRADE = "downgrade", _("降低类别")
    SUSPEND = "suspend", _("暂停合作")


class Currency(models.TextChoices):
    CNY = "CNY", _("人民币")
    USD = "USD", _("美元")
    EUR = "EUR", _("欧元")


class Review(models.Model):
    number = models.CharField(_("审核编号"), max_length=40, blank=True, db_index=True)
    kind = models.CharField(_("类型"), max_length=20, choices=ReviewKind.choices, default=ReviewKind.INITIAL)
    trigger = models.CharField(
        _("发起原因"), max_length=20, choices=ReviewTrigger.choices, default=ReviewTrigger.APPLICATION
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="reviews"
    )
    case = models.OneToOneField(
        "workflow.Case",
        verbose_name=_("流程"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="onboarding_review",
    )
    # 客户审核申请表 (R-ONB-01)
    purpose = models.TextField(_("合作目的"), blank=True)
    expected_business = models.TextField(_("预期业务"), blank=True)
    products = models.CharField(_("产品/服务"), max_length=300, blank=True)
    expected_annual_volume = models.DecimalField(
        _("预计年交易额"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("币种"), max_length=3, choices=Currency.choices, default=Currency.CNY)
    requested_terms = models.CharField(_("申请交易条件"), max_length=300, blank=True)
    notes = models.TextField(_("备注"), blank=True)

    decision = models.CharField(_("审核结论"), max_length=12, choices=Decision.choices, blank=True)
    decision_reason = models.TextField(_("结论说明"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("决定人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    rereview_on = models.DateField(_("再审日期"), null=True, blank=True)
    new_class = models.CharField(_("调整后类别"), max_length=12, blank=True)
    policy_version_id = models.IntegerField(_("制度版本"), null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("客户审核")
        verbose_name_plural = _("客户审核")
        indexes = [
            models.Index(fields=["customer", "created_at"], name="onb_review_customer"),
            models.Index(fields=["kind", "decision"], name="onb_review_kind_decision"),
        ]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("onboarding_detail", args=[self.pk])


class Rectification(models.Model):
    """One round of 审核意见 → 整改 → 复核 (R-ONB-04)."""

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="rounds")
    round = models.PositiveIntegerField(_("轮次"))
    stage = models.CharField(_("退回环节"), max_length=40)
    findings = models.TextField(_("审核意见"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("提出人"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("退回时间"))
    due = models.DateField(_("整改期限"), null=True, blank=True)
    response = models.TextField(_("整改情况"), blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("整改登记人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    responded_at = models.DateTimeField(_("整改提交时间"), null=True, blank=True)
    rereviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("复核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    rereviewed_at = models.DateTimeField(_("复核时间"), null=True, blank=True)

    class Meta:
        ordering = ["review_id", "round"]
        verbose_name = _("整改轮次")
        verbose_name_plural = _("整改轮次")
        constraints = [models.UniqueConstraint(fields=["review", "round"], name="onb_round_unique")]

    def __str__(self) -> str:
        return f"{self.review} #{self.round}"


class Qualification(models.Model):
    """The re-qualification schedule of one customer (R-ONB-08)."""

    customer = models.OneToOneField(
        "customers.Customer", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="qualification"
    )
    customer_class = models.CharField(_("计算时类别"), max_length=12)
    last_review_on = models.DateField(_("上次审核日期"))
    interval_months = models.PositiveIntegerField(_("复审周期（月）"))
    next_review_on = models.DateField(_("下次复审日期"), db_index=True)
    policy_version_id = models.IntegerField(_("制度版本"), null=True, blank=True)
    last_meeting_on = models.DateField(_("最近会面日期"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("资质复审计划")
        verbose_name_plural = _("资质复审计划")

    def __str__(self) -> str:
        return f"{self.customer_id} → {self.next_review_on}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("onboarding_schedule") + f"?customer={self.customer_id}"


# --------------------------------------------------------------------------------------------------------------
# Reviewer management (R-ONB-07)
# --------------------------------------------------------------------------------------------------------------


class ReviewerQualificationKind(models.TextChoices):
    INTERNAL_AUDITOR = "internal_auditor", _("内审员")
    IATF_AUDITOR = "iatf_auditor", _("IATF 16949 审核员")
    CREDIT_ANALYST = "credit_analyst", _("信用分析师")
    OTHER = "other", _("其他资质")


class ReviewerQualification(models.Model):
    """A reviewer's qualification (审核员资质) with its certificate and validity (R-ONB-07)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人员"),
        on_delete=models.PROTECT,
        related_name="reviewer_qualifications",
    )
    kind = models.CharField(_("资质"), max_length=20, choices=ReviewerQualificationKind.choices)
    certificate_no = models.CharField(_("证书编号"), max_length=60)
    issued_by = models.CharField(_("发证机构"), max_length=120)
    valid_from = models.DateField(_("有效期自"))
    valid_to = models.DateField(_("有效期至"), db_index=True)
    notes = models.CharField(_("备注"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        ordering = ["user_id", "-valid_to"]
        verbose_name = _("审核员资质")
        verbose_name_plural = _("审核员资质")
        constraints = [
            models.UniqueConstraint(fields=["kind", "certificate_no"], name="onb_reviewer_cert_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.certificate_no}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("onboarding_reviewer", args=[self.user_id])


class TrainingResult(models.TextChoices):
    PASSED = "passed", _("合格")
    FAILED = "failed", _("不合格")
    ATTENDED = "attended", _("已参加")


class TrainingRecord(models.Model):
    """One training a reviewer took (培训记录, R-ONB-07)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人员"),
        on_delete=models.PROTECT,
        related_name="reviewer_trainings",
    )
    course = models.CharField(_("课程"), max_length=200)
    trained_on = models.DateField(_("培训日期"))
    hours = models.DecimalField(_("学时"), max_digits=5, decimal_places=1)
    result = models.CharField(_("结果"), max_length=10, choices=TrainingResult.choices)
    notes = models.CharField(_("备注"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        ordering = ["user_id", "-trained_on"]
        verbose_name = _("审核员培训记录")
        verbose_name_plural = _("审核员培训记录")

    def __str__(self) -> str:
        return f"{self.course} {self.trained_on}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("onboarding_reviewer", args=[self.user_id])


class ReviewerReport(models.Model):
    """A stored periodic reviewer performance report (quarterly, R-ONB-07)."""

    label = models.CharField(_("期间"), max_length=20)
    start = models.DateField(_("开始日期"))
    end = models.DateField(_("结束日期"))
    rows = models.JSONField(_("报表内容"), default=list)
    policy_version_id = models.IntegerField(_("制度版本"), null=True, blank=True)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)

    class Meta:
        ordering = ["-start"]
        verbose_name = _("审核员绩效报告")
        verbose_name_plural = _("审核员绩效报告")
        constraints = [models.UniqueConstraint(fields=["start", "end"], name="onb_reviewer_report_period")]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("onboarding_reviewer_report", args=[self.pk])
