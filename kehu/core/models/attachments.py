"""Attachments (R-PLT-05): files on any record, stored content-addressed, versioned, never silently replaced."""

from __future__ import annotations

import datetime as dt

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class FileBlob(models.Model):
    """The bytes of a file, named by their SHA-256. One blob serves every attachment with the same content."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("文件内容")

    def __str__(self) -> str:
        return self.sha256


class DocumentType(models.TextChoices):
    BUSINESS_LICENCE = "business_licence", _("营业执照")
    TAX_REGISTRATION = "tax_registration", _("税务登记证")
    ORGANISATION_CODE = "organisation_code", _("组织机构代码证")
    QUALIFICATION = "qualification", _("资质证书")
    PERMIT = "permit", _("许可证")
    CERTIFICATION = "certification", _("体系认证证书")
    HONOUR = "honour", _("荣誉证书")
    CONTRACT = "contract", _("合同")
    REPORT = "report", _("报告")
    PHOTO = "photo", _("照片")
    SIGNED_FORM = "signed_form", _("签字表单")
    STATEMENT = "statement", _("财务报表")
    OTHER = "other", _("其他")


class Attachment(models.Model):
    """One version of a file attached to a record.

    A replacement is a new row with ``version + 1`` and ``supersedes`` pointing at the old one; the old row keeps
    its file and is marked ``current=False``.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64)
    target = GenericForeignKey("content_type", "object_id")
    blob = models.ForeignKey(FileBlob, on_delete=models.PROTECT, related_name="attachments")
    filename = models.CharField(_("文件名"), max_length=255)
    mime_type = models.CharField(_("类型"), max_length=100)
    size = models.BigIntegerField(_("大小"))
    doc_type = models.CharField(
        _("文件类别"), max_length=40, choices=DocumentType.choices, default=DocumentType.OTHER
    )
    title = models.CharField(_("标题"), max_length=200, blank=True)
    number = models.CharField(_("证照编号"), max_length=100, blank=True)
    issuing_authority = models.CharField(_("发证机关"), max_length=200, blank=True)
    valid_from = models.DateField(_("有效期自"), null=True, blank=True)
    valid_to = models.DateField(_("有效期至"), null=True, blank=True)
    confidential = models.BooleanField(_("保密"), default=False)
    version = models.PositiveIntegerField(_("版本"), default=1)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    current = models.BooleanField(_("当前版本"), default=True)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    uploaded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        indexes = [
            models.Index(fields=["content_type", "object_id", "current"]),
            models.Index(fields=["valid_to"]),
        ]

    def __str__(self) -> str:
        return self.title or self.filename

    def is_valid_on(self, day: dt.date) -> bool:
        if self.valid_from and day < self.valid_from:
            return False
        return not (self.valid_to and day > self.valid_to)
