"""Background job runs (what ran, with which arguments, how far it got, how it ended) and the periodic ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("运行中")
    SUCCEEDED = "succeeded", _("成功")
    FAILED = "failed", _("失败")


class JobRun(models.Model):
    """One run of a job function. A retry is a new run pointing at the run it retries."""

    name = models.CharField(_("任务"), max_length=200, db_index=True)  # dotted path of the function
    kwargs = models.JSONField(_("参数"), default=dict, blank=True)
    state = models.CharField(
        _("状态"), max_length=10, choices=JobState.choices, default=JobState.QUEUED, db_index=True
    )
    backend = models.CharField(_("队列后端"), max_length=32, blank=True)
    task_result_id = models.CharField(_("队列任务号"), max_length=64, blank=True, db_index=True)
    progress_done = models.PositiveIntegerField(_("已完成"), default=0)
    progress_total = models.PositiveIntegerField(_("总量"), default=0)
    progress_message = models.CharField(_("进度说明"), max_length=300, blank=True)
    error = models.TextField(_("错误"), blank=True)
    traceback = models.TextField(_("错误详情"), blank=True)
    result = models.JSONField(_("结果"), null=True, blank=True)
    periodic_key = models.CharField(_("周期"), max_length=40, blank=True)
    enqueued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("提交人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    retried_from = models.ForeignKey(
        "self",
        verbose_name=_("重试自"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="retries",
    )
    attempt = models.PositiveIntegerField(_("第几次运行"), default=1)
    enqueued_at = models.DateTimeField(_("提交时间"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        ordering = ["-enqueued_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"

    @property
    def percent(self) -> int:
        if self.state == JobState.SUCCEEDED:
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(self.progress_done * 100 / self.progress_total))

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


class PeriodicRun(models.Model):
    """The ledger of periodic jobs: one row per job and period. The unique constraint makes the enqueue happen
    exactly once per period however many schedulers run."""

    name = models.CharField(_("周期任务"), max_length=200)
    period_key = models.CharField(_("周期"), max_length=40)
    run = models.ForeignKey(
        JobRun, verbose_name=_("运行"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("周期任务记录")
        verbose_name_plural = _("周期任务记录")
        constraints = [
            models.UniqueConstraint(fields=["name", "period_key"], name="periodic_run_once_per_period")
        ]
        indexes = [models.Index(fields=["name", "-created_at"], name="periodic_run_name_idx")]

    def __str__(self) -> str:
        return f"{self.name} @ {self.period_key}"
