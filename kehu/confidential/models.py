"""The confidential archive (R-ARC-01..03, R-PLT-02): access requests (查阅申请单), the grants they give and the
lending of physical files.

An :class:`AccessRequest` names a customer, the items asked for (keys such as ``credit.file``,
``credit.statements``, ``credit.ratings``, ``attachment:<id>``, ``section:<key>``), the purpose, the period and
whether a copy or the original is wanted; its approval runs as a case of the workflow engine
(:mod:`kehu.confidential.workflow`). Approval creates one :class:`Grant`: read access to exactly those items of
that customer until ``valid_until`` (checked at read time), unless revoked earlier. A :class:`Lending` records the
archivist handing out and taking back a physical file.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    """Confidentiality levels (密级), lowest first."""

    OPEN = "open", _("公开")
    INTERNAL = "internal", _("内部")
    CONFIDENTIAL = "confidential", _("保密")
    SECRET = "secret", _("机密")


LEVEL_ORDER = {Level.OPEN: 0, Level.INTERNAL: 1, Level.CONFIDENTIAL: 2, Level.SECRET: 3}


class Office(models.TextChoices):
    """Who approves: the credit office head for credit files, the archive office head for archived files."""

    CREDIT = "credit", _("信用管理部")
    ARCHIVE = "archive", _("档案室")


class CopyForm(models.TextChoices):
    COPY = "copy", _("复印件（电子查阅）")
    ORIGINAL = "original", _("原件")


class RequestStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("待审批")
    GM = "gm", _("总经理审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已驳回")


class AccessRequest(models.Model):
    number = models.CharField(_("申请编号"), max_length=40, blank=True, db_index=True)
    case = models.OneToOneField(
        "workflow.Case",
        verbose_name=_("流程"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_request",
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="access_requests"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    items = models.JSONField(_("查阅内容"), default=list)
    purpose = models.TextField(_("查阅目的"))
    period_days = models.PositiveSmallIntegerField(_("申请期限（天）"))
    form = models.CharField(_("查阅方式"), max_length=10, choices=CopyForm.choices, default=CopyForm.COPY)
    office = models.CharField(_("审批部门"), max_length=10, choices=Office.choices)
    level = models.CharField(_("最高密级"), max_length=12, choices=Level.choices, default=Level.CONFIDENTIAL)
    status = models.CharField(
        _("状态"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.DRAFT
    )
    approved_days = models.PositiveSmallIntegerField(_("批准期限（天）"), null=True, blank=True)
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
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("查阅申请")
        verbose_name_plural = _("查阅申请")
        indexes = [
            models.Index(fields=["requester", "status"], name="conf_request_requester"),
            models.Index(fields=["customer", "status"], name="conf_request_customer"),
        ]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("confidential_request", args=[self.pk])


def in_force_q(at: Any = None) -> models.Q:
    """The grants in force at ``at`` (default: now): not revoked, started, not yet ended (``valid_until`` is
    exclusive). :meth:`Grant.is_active` is the same test on one grant."""
    at = at or timezone.now()
    return models.Q(revoked_at__isnull=True, valid_from__lte=at, valid_until__gt=at)


class Grant(models.Model):
    """Read access to ``items`` of ``customer`` for ``user`` from ``valid_from`` until ``valid_until`` (exclusive),
    ended early by ``revoked_at``."""

    request = models.OneToOneField(
        AccessRequest, verbose_name=_("查阅申请"), on_delete=models.PROTECT, related_name="grant"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("被授权人"), on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="+"
    )
    items = models.JSONField(_("授权内容"), default=list)
    valid_from = models.DateTimeField(_("生效时间"))
    valid_until = models.DateTimeField(_("截止时间"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("批准人"), on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("撤销人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    revoke_reason = models.TextField(_("撤销原因"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("查阅授权")
        verbose_name_plural = _("查阅授权")
        indexes = [models.Index(fields=["user", "customer", "valid_until"], name="conf_grant_lookup")]

    def __str__(self) -> str:
        return str(_("授权 #%(n)s") % {"n": self.pk})

    def get_absolute_url(self) -> str:
        return reverse("confidential_request", args=[self.request_id])

    def is_active(self, at: Any = None) -> bool:
        """Whether the grant is in force at ``at`` (default: now); the same test as :func:`in_force_q`."""
        at = at or timezone.now()
        return self.revoked_at is None and self.valid_from <= at < self.valid_until


class Lending(models.Model):
    """A physical file lent by the archivist (R-ARC-01): when, until when, when it came back."""

    request = models.ForeignKey(
        AccessRequest, verbose_name=_("查阅申请"), on_delete=models.PROTECT, related_name="lendings"
    )
    lent_at = models.DateTimeField(_("借出时间"))
    due_back = models.DateField(_("应还日期"))
    returned_at = models.DateTimeField(_("归还时间"), null=True, blank=True)
    lent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("借出经办"), on_delete=models.PROTECT, related_name="+"
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("归还经办"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.CharField(_("说明"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("原件借阅")
        verbose_name_plural = _("原件借阅")
        constraints = [
            models.UniqueConstraint(
                fields=["request"], condition=models.Q(returned_at__isnull=True), name="conf_one_open_lending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.request} {self.lent_at:%Y-%m-%d}"
