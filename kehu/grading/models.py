"""Grading records (R-GRD-01, R-GRD-02): inputs entered by sales, grading runs and their per-customer results.
Ledger data is read through the receivables interface; only customers and users are foreign-key targets."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class InputEntry(models.Model):
    """One value of an entered scorecard item. Rows are appended, never changed: the latest row per customer and
    item is the value in use, and the rows before it are who entered what and when."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", verbose_name=_("客户")
    )
    item = models.CharField(_("评分项"), max_length=30)
    value = models.CharField(_("录入值"), max_length=30)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("录入人")
    )
    entered_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        ordering = ["customer_id", "item", "-entered_at", "-id"]
        verbose_name = _("分级录入项")
        verbose_name_plural = _("分级录入项")
        indexes = [models.Index(fields=["customer", "item", "-entered_at"], name="grd_input_cust_item")]

    def __str__(self) -> str:
        return f"{self.item}={self.value}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    COMPUTED = "computed", _("待批准")
    APPROVED = "approved", _("已生效")
    FAILED = "failed", _("失败")


class GradingRun(models.Model):
    period_start = models.DateField(_("期间起"))
    period_end = models.DateField(_("期间止"))
    policy_version_id = models.IntegerField(_("政策版本"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("发起人")
    )
    started_at = models.DateTimeField(_("发起时间"), auto_now_add=True)
    computed_at = models.DateTimeField(_("计算完成时间"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("批准人"),
    )
    approved_at = models.DateTimeField(_("批准时间"), null=True, blank=True)
    effective_on = models.DateField(_("生效日期"), null=True, blank=True)
    customer_count = models.IntegerField(_("客户数"), default=0)
    distribution = models.JSONField(_("等级分布"), default=dict, blank=True)
    job_run_id = models.IntegerField(_("后台任务"), null=True, blank=True)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("分级运行")
        verbose_name_plural = _("分级运行")
        indexes = [models.Index(fields=["status", "effective_on"], name="grd_run_status_eff")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.period_start}–{self.period_end}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("grading_run_detail", args=[self.pk])


class GradingResult(models.Model):
    run = models.ForeignKey(
        GradingRun, on_delete=models.CASCADE, related_name="results", verbose_name=_("运行")
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", verbose_name=_("客户")
    )
    score = models.DecimalField(_("得分"), max_digits=8, decimal_places=2)
    rank = models.IntegerField(_("排名"))
    grade = models.CharField(_("等级"), max_length=20)
    breakdown = models.JSONField(_("评分明细"), default=list)
    missing = models.IntegerField(_("缺失项数"), default=0)

    class Meta:
        ordering = ["run_id", "rank", "customer_id"]
        verbose_name = _("分级结果")
        verbose_name_plural = _("分级结果")
        constraints = [models.UniqueConstraint(fields=["run", "customer"], name="grd_result_run_customer")]
        indexes = [models.Index(fields=["customer", "run"], name="grd_result_customer_run")]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.grade}"


class OverrideStatus(models.TextChoices):
    PENDING = "pending", _("待批准")
    APPROVED = "approved", _("已生效")
    REJECTED = "rejected", _("已驳回")
    WITHDRAWN = "withdrawn", _("已撤回")


class GradeOverride(models.Model):
    """A manager's move of one customer's grade away from the run in force, with reason and approval (R-GRD-04).
    Once approved it holds until a later run takes effect; that run reports it."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", verbose_name=_("客户")
    )
    run = models.ForeignKey(
        GradingRun, on_delete=models.PROTECT, related_name="overrides", verbose_name=_("所调整的分级运行")
    )
    from_grade = models.CharField(_("原等级"), max_length=20)
    to_grade = models.CharField(_("调整后等级"), max_length=20)
    reason = models.TextField(_("调整理由"))
    status = models.CharField(
        _("状态"), max_length=10, choices=OverrideStatus.choices, default=OverrideStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("申请人")
    )
    requested_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("审批人"),
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_comment = models.TextField(_("审批意见"), blank=True)
    effective_on = models.DateField(_("生效日期"), null=True, blank=True)
    policy_version_id = models.IntegerField(_("政策版本"), null=True, blank=True)  # the scheme of the request

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("等级调整")
        verbose_name_plural = _("等级调整")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(status="pending"),
                name="grd_override_one_pending",
            )
        ]
        indexes = [models.Index(fields=["customer", "status", "effective_on"], name="grd_override_cust")]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.from_grade}→{self.to_grade}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("grading_override_detail", args=[self.pk])


class QuarterVisit(models.Model):
    """The visit a customer's grade calls for in one quarter (R-GRD-03): the target of the owner's inbox task, at
    most one per customer and quarter; done by a visit recorded in the contact log within the quarter."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", verbose_name=_("客户")
    )
    quarter = models.CharField(_("季度"), max_length=7)  # e.g. 2026Q4
    grade = models.CharField(_("等级"), max_length=20)
    due_on = models.DateField(_("应拜访日期"))
    raised_at = models.DateTimeField(_("提醒时间"))
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        ordering = ["-quarter", "customer_id"]
        verbose_name = _("季度拜访")
        verbose_name_plural = _("季度拜访")
        constraints = [
            models.UniqueConstraint(fields=["customer", "quarter"], name="grd_visit_customer_quarter")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.quarter}"

    def get_absolute_url(self) -> str:
        return self.customer.get_absolute_url()
