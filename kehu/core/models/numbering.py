"""Numbering (R-PLT-06): gap-free yearly serials per document type and (optionally) department."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class NumberSeries(models.Model):
    """The last number issued for (doc_type, department, year). Rows are locked to take the next number, so a
    number is consumed only when the caller's transaction commits (a rollback gives it back: no gap)."""

    doc_type = models.CharField(max_length=30)
    department = models.ForeignKey("core.Department", null=True, blank=True, on_delete=models.PROTECT)
    scope_key = models.CharField(
        max_length=40, default="-", help_text="department code or '-' when company-wide"
    )
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("编号序列")
        verbose_name_plural = _("编号序列")
        constraints = [
            models.UniqueConstraint(fields=["doc_type", "scope_key", "year"], name="number_series_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.doc_type}/{self.scope_key}/{self.year}: {self.last}"
