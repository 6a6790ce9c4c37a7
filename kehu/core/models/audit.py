"""Audit trail (R-PLT-04): append-only, hash-chained entries written in the same transaction as the change."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    CREATE = "create", _("创建")
    UPDATE = "update", _("修改")
    DELETE_REQUEST = "delete_request", _("申请删除")
    DECISION = "decision", _("决定")
    TRANSITION = "transition", _("流转")
    READ = "read", _("查阅")
    DOWNLOAD = "download", _("下载")
    EXPORT = "export", _("导出")
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOGOUT = "logout", _("退出")
    IMPORT = "import", _("导入")
    OTHER = "other", _("其他")


class AuditEntry(models.Model):
    """One entry of the trail. ``seq`` is gap-free; ``hash`` covers every field and ``prev_hash``.

    Rows are never updated or deleted: on PostgreSQL a trigger refuses it; everywhere ``python -m kehu audit
    verify`` detects it.
    """

    seq = models.BigIntegerField(unique=True)
    timestamp = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    actor_label = models.CharField(max_length=200, blank=True)
    acting_for = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    action = models.CharField(max_length=40, db_index=True)
    object_type = models.CharField(max_length=100, db_index=True, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    policy_version = models.CharField(max_length=64, blank=True)
    confidential = models.BooleanField(default=False)
    ip = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        indexes = [
            models.Index(fields=["object_type", "object_id", "seq"]),
            models.Index(fields=["actor", "timestamp"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditHead(models.Model):
    """The single row that holds the last ``seq`` and ``hash``; writers lock it to append in order."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("审计链头")

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"
