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
