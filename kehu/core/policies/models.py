"""Policy documents stored as versions (R-PLT-11)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PolicyStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("审批中")
    TRIAL = "trial", _("试行")
    FORMAL = "formal", _("正式")
    RETIRED = "retired", _("已废止")


class PolicyVersion(models.Model):
    """One version of a policy document. Version 1 of every type is its declared default (author: system)."""

    type_key = models.CharField(_("制度类型"), max_length=100, db_index=True)
    number = models.PositiveIntegerField(_("版本号"))
    values = models.JSONField(_("内容"), default=dict)
    effective_from = models.DateField(_("生效日期"))
    status = models.CharField(
        _("状态"), max_length=10, choices=PolicyStatus.choices, default=PolicyStatus.DRAFT
    )
    requested_trial = models.BooleanField(_("申请试行"), default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("提出人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("批准人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.TextField(_("变更理由"), blank=True)
    retire_reason = models.TextField(_("废止理由"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    approved_at = models.DateTimeField(_("批准时间"), null=True, blank=True)
    retired_at = models.DateTimeField(_("废止时间"), null=True, blank=True)
    case_id = models.BigIntegerField(_("审批流程"), null=True, blank=True)

    class Meta:
        verbose_name = _("制度版本")
        verbose_name_plural = _("制度版本")
        ordering = ["type_key", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["type_key", "number"], name="policy_version_type_number_uniq"),
        ]
        indexes = [
            models.Index(fields=["type_key", "status", "effective_from"], name="policy_version_lookup_idx")
        ]

    def __str__(self) -> str:
        return f"{self.type_key} v{self.number}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("policy_version", args=[self.type_key, self.number])
