"""Credit limits and payment terms (R-CRD-02, R-CRD-04, R-CRD-08, R-CRD-09).

A :class:`CreditApplication` is the request for a limit and term (申请), its investigation (:class:`Finding` per
channel plus the analysis conclusion) and its decision; the approval runs as a case of the workflow engine, routed
by the authority matrix of policy ``limits.credit``. The approval writes :class:`CreditLimit` (one in force per
customer, earlier rows kept as history) and numbers the notification letter. :class:`CreditReview` is a periodic or
event-triggered review; :class:`TermsDowngrade` records an R-CRD-09 downgrade with its evidence;
:class:`LitigationFlag` is a recorded litigation event.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

TERMS_LEVELS = ("A", "B", "C", "D")


class CreditClass(models.TextChoices):
    A = "A", _("A类")
    B = "B", _("B类")
    C = "C", _("C类")
    D = "D", _("D类")


class AppStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    INVESTIGATION = "investigation", _("信用调查")
    APPROVAL = "approval", _("审批中")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已否决")
    WITHDRAWN = "withdrawn", _("已撤回")


class AppSource(models.TextChoices):
    SALES = "sales", _("销售申请")
    ONBOARDING = "onboarding", _("客户审核通过")
    REVIEW = "review", _("信用复查")


class Channel(models.TextChoices):
    BANK = "bank", _("银行")
    PUBLIC_RECORDS = "public_records", _("公开信息")
    SITE_VISIT = "site_visit", _("实地考察")
    TRADE_REFERENCE = "trade_reference", _("同业调查")


class CreditApplication(models.Model):
    number = models.CharField(_("申请编号"), max_length=40, blank=True, db_index=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("客户"),
        on_delete=models.PROTECT,
        related_name="credit_applications",
    )
    case = models.OneToOneField(
        "workflow.Case",
        verbose_name=_("流程"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_application",
    )
    source = models.CharField(_("来源"), max_length=12, choices=AppSource.choices, default=AppSource.SALES)
    status = models.CharField(_("状态"), max_length=16, choices=AppStatus.choices, default=AppStatus.DRAFT)
    requested_amount = models.DecimalField(
        _("申请额度"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    requested_term_days = models.PositiveIntegerField(_("申请账期（天）"), null=True, blank=True)
    expected_sales = models.DecimalField(
        _("账期内预计销售额"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    reason = models.TextField(_("申请理由"), blank=True)
    credit_class = models.CharField(_("信用类别"), max_length=1, choices=CreditClass.choices, blank=True)
    rating_id = models.IntegerField(_("评级编号"), null=True, blank=True)
    override = models.BooleanField(_("授权越级"), default=False)
    override_reason = models.TextField(_("越级理由"), blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("越级授权人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approver_role = models.CharField(_("审批权限"), max_length=30, blank=True)
    conclusion = models.TextField(_("分析结论"), blank=True)
    approved_amount = models.DecimalField(
        _("批准额度"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    approved_term_days = models.PositiveIntegerField(_("批准账期（天）"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审批人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_comment = models.TextField(_("审批意见"), blank=True)
    policy_version_id = models.IntegerField(_("制度版本"), null=True, blank=True)
    review = models.ForeignKey(
        "CreditReview",
        verbose_name=_("信用复查"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="applications",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("授信申请")
        verbose_name_plural = _("授信申请")
        indexes = [models.Index(fields=["status", "customer"], name="creditapp_status_customer")]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("limits_application", args=[self.pk])


class Finding(models.Model):
    """One investigation channel's findings (R-CRD-02)."""

    application = models.ForeignKey(
        CreditApplication, verbose_name=_("授信申请"), on_delete=models.CASCADE, related_name="findings"
    )
    channel = models.CharField(_("调查渠道"), max_length=20, choices=Channel.choices)
    findings = models.TextField(_("调查结果"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("调查人"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("调查记录")
        verbose_name_plural = _("调查记录")
        constraints = [
            models.UniqueConstraint(fields=["application", "channel"], name="finding_one_per_channel")
        ]

    def __str__(self) -> str:
        return self.get_channel_display()


class LimitStatus(models.TextChoices):
    IN_FORCE = "in_force", _("生效")
    SUPERSEDED = "superseded", _("已替代")
    SUSPENDED = "suspended", _("已暂停")


class CreditLimit(models.Model):
    """The limit table: one row in force per customer; replaced rows stay as history (valid_to set)."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="credit_limits"
    )
    amount = models.DecimalField(_("信用额度"), max_digits=16, decimal_places=2)
    currency = models.CharField(_("币种"), max_length=3, default="CNY")
    term_days = models.PositiveIntegerField(_("账期（天）"))
    credit_class = models.CharField(_("信用类别"), max_length=1, choices=CreditClass.choices)
    terms_level = models.CharField(_("付款条件等级"), max_length=1, choices=CreditClass.choices)
    status = models.CharField(
        _("状态"), max_length=12, choices=LimitStatus.choices, default=LimitStatus.IN_FORCE
    )
    valid_from = models.DateField(_("生效日期"))
    valid_to = models.DateField(_("失效日期"), null=True, blank=True)
    application = models.ForeignKey(
        CreditApplication,
        verbose_name=_("授信申请"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="limits",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("批准人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    letter_number = models.CharField(_("通知书编号"), max_length=40, blank=True)
    policy_version_id = models.IntegerField(_("制度版本"), null=True, blank=True)
    next_review_on = models.DateField(_("下次复查日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("信用额度")
        verbose_name_plural = _("信用额度")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(status="in_force"), name="creditlimit_one_in_force"
            )
        ]
        indexes = [models.Index(fields=["status", "next_review_on"], name="creditlimit_status_review")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.amount} {self.currency}"

    def get_absolute_url(self) -> str:
        return reverse("limits_letter", args=[self.pk])


class ReviewTrigger(models.TextChoices):
    PERIODIC = "periodic", _("定期复查")
    OVERDUE = "overdue", _("逾期激增")
    LITIGATION = "litigation", _("涉诉")
    OWNERSHIP = "ownership", _("股权/法人变更")
    MANUAL = "manual", _("人工发起")


class ReviewDecision(models.TextChoices):
    KEEP = "keep", _("维持额度")
    CHANGE = "change", _("调整额度")
    SUSPEND = "suspend", _("暂停授信")


class CreditReview(models.Model):
    """A periodic or event-triggered review of a customer's limit (R-CRD-08)."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="credit_reviews"
    )
    trigger = models.CharField(_("触发原因"), max_length=12, choices=ReviewTrigger.choices)
    trigger_key = models.CharField(_("触发标识"), max_length=60)
    reason = models.TextField(_("说明"), blank=True)
    context = models.JSONField(_("复查资料"), default=dict, blank=True)
    limit = models.ForeignKey(
        CreditLimit,
        verbose_name=_("复查时额度"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("发起时间"), auto_now_add=True)
    due = models.DateField(_("完成期限"))
    decision = models.CharField(_("复查结论"), max_length=10, choices=ReviewDecision.choices, blank=True)
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
    policy_version_id = models.IntegerField(_("制度版本"), null=True, blank=True)

    class Meta:
        verbose_name = _("信用复查")
        verbose_name_plural = _("信用复查")
        constraints = [
            models.UniqueConstraint(fields=["customer", "trigger", "trigger_key"], name="creditreview_once")
        ]
        indexes = [models.Index(fields=["decision", "due"], name="creditreview_open_due")]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} {self.customer_id}"

    def get_absolute_url(self) -> str:
        return reverse("limits_review", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return not self.decision


class LitigationFlag(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("客户"),
        on_delete=models.PROTECT,
        related_name="litigation_flags",
    )
    description = models.TextField(_("诉讼情况"))
    occurred_on = models.DateField(_("发生日期"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("记录人"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("涉诉记录")
        verbose_name_plural = _("涉诉记录")

    def __str__(self) -> str:
        return self.description[:40]


class TermsDowngrade(models.Model):
    """R-CRD-09: late payments within one calendar quarter dropped the payment terms one level."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("客户"),
        on_delete=models.PROTECT,
        related_name="terms_downgrades",
    )
    quarter_start = models.DateField(_("季度起始"))
    from_level = models.CharField(_("原等级"), max_length=1, choices=CreditClass.choices)
    to_level = models.CharField(_("新等级"), max_length=1, choices=CreditClass.choices)
    evidence = models.JSONField(_("逾期付款证据"), default=list)
    policy_version_id = models.IntegerField(_("制度版本"), null=True, blank=True)
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("付款条件降级")
        verbose_name_plural = _("付款条件降级")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "quarter_start"], name="termsdowngrade_once_per_quarter"
            )
        ]

    def __str__(self) -> str:
        return f"{self.from_level}→{self.to_level}"
