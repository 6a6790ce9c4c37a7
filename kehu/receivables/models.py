"""The receivables ledger (应收账款台账, R-CRD-06), exposure (R-CRD-05), deposits and guarantees (R-CRD-10),
collections (R-CRD-07) and write-offs (R-CRD-11).

Ledger entries are never edited: a wrong entry is corrected by a reversal entry. The only columns that change after
posting are the derived ``open_amount`` (what is still unpaid of a debit, or unapplied of a credit) and the
maintained exposure row; both are recomputed from the entries and allocations by ``python -m kehu receivables
check``."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0.00")


class EntryKind(models.TextChoices):
    INVOICE = "invoice", _("发票")
    RECEIPT = "receipt", _("收款")
    PREPAYMENT = "prepayment", _("预收款")
    CREDIT_NOTE = "credit_note", _("红字发票")
    WRITE_OFF = "write_off", _("核销")
    REVERSAL = "reversal", _("冲销")


# Debits raise what the customer owes; credits lower it. A reversal has the opposite direction of what it reverses.
DEBIT_KINDS = (EntryKind.INVOICE,)
CREDIT_KINDS = (EntryKind.RECEIPT, EntryKind.PREPAYMENT, EntryKind.CREDIT_NOTE, EntryKind.WRITE_OFF)


class SettlementMethod(models.TextChoices):
    CASH = "cash", _("现金")
    CHEQUE = "cheque", _("支票")
    BANK_DRAFT = "bank_draft", _("汇票")
    ACCEPTANCE = "acceptance", _("承兑汇票")
    WIRE = "wire", _("电汇")
    TRANSFER = "transfer", _("转账（预收款抵付）")
    PREPAID = "prepaid", _("预收")
    ON_CREDIT = "on_credit", _("欠款")


# Methods that bring new money in (the receipt's amount is their sum).
MONEY_METHODS = (
    SettlementMethod.CASH,
    SettlementMethod.CHEQUE,
    SettlementMethod.BANK_DRAFT,
    SettlementMethod.ACCEPTANCE,
    SettlementMethod.WIRE,
)


class Entry(models.Model):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="ledger_entries", verbose_name=_("客户")
    )
    kind = models.CharField(_("类别"), max_length=12, choices=EntryKind.choices)
    number = models.CharField(_("单据号"), max_length=40)
    entry_date = models.DateField(_("日期"))
    due_date = models.DateField(_("到期日"), null=True, blank=True)
    amount = models.DecimalField(_("金额"), max_digits=16, decimal_places=2)
    currency = models.CharField(_("币种"), max_length=3, default="CNY")
    # Derived: unpaid part of a debit, unapplied part of a credit; zero for reversals and reversed entries.
    open_amount = models.DecimalField(_("未清金额"), max_digits=16, decimal_places=2, default=ZERO)
    reverses = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
        verbose_name=_("冲销的分录"),
    )
    memo = models.CharField(_("摘要"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("记账时间"), auto_now_add=True)

    class Meta:
        ordering = ["customer_id", "entry_date", "id"]
        verbose_name = _("台账分录")
        verbose_name_plural = _("台账分录")
        indexes = [
            models.Index(fields=["customer", "entry_date"], name="rcv_entry_cust_date"),
            models.Index(
                fields=["customer", "due_date"],
                name="rcv_entry_open_debit",
                condition=Q(kind="invoice", open_amount__gt=0),
            ),
            models.Index(fields=["due_date"], name="rcv_entry_open_due", condition=Q(open_amount__gt=0)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="rcv_entry_amount_positive"),
            models.CheckConstraint(
                condition=Q(open_amount__gte=0) & Q(open_amount__lte=models.F("amount")),
                name="rcv_entry_open_within_amount",
            ),
            models.UniqueConstraint(fields=["customer", "kind", "number"], name="rcv_entry_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def get_absolute_url(self) -> str:
        return reverse("receivables_ledger", args=[self.customer_id]) + f"#e{self.pk}"

    @property
    def is_debit(self) -> bool:
        return self.kind in DEBIT_KINDS


class SettlementLine(models.Model):
    """One settlement method of a receipt or prepayment (mixed settlement: several lines, e.g. 现100欠56)."""

    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="lines")
    method = models.CharField(_("结算方式"), max_length=12, choices=SettlementMethod.choices)
    amount = models.DecimalField(_("金额"), max_digits=16, decimal_places=2)
    bill_number = models.CharField(_("票据号"), max_length=60, blank=True)
    bill_maturity = models.DateField(_("票据到期日"), null=True, blank=True)

    class Meta:
        ordering = ["entry_id", "id"]
        verbose_name = _("结算方式明细")
        verbose_name_plural = _("结算方式明细")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="rcv_line_amount_positive")]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount}"


class Allocation(models.Model):
    """Part of a credit applied to a debit. A reversal adds a negative allocation; rows are never changed."""

    credit = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="allocations_out")
    debit = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="allocations_in")
    # The document whose posting made this allocation (a receipt applying an older prepayment by 转账).
    via = models.ForeignKey(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("金额"), max_digits=16, decimal_places=2)
    applied_on = models.DateField(_("核销日期"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("核销分配")
        verbose_name_plural = _("核销分配")
        indexes = [
            models.Index(fields=["debit", "applied_on"], name="rcv_alloc_debit"),
            models.Index(fields=["credit"], name="rcv_alloc_credit"),
        ]

    def __str__(self) -> str:
        return f"{self.credit_id} → {self.debit_id}: {self.amount}"


class CustomerExposure(models.Model):
    """The maintained exposure of one customer (R-CRD-05), changed in the same transaction as every posting.
    Deposits and guarantees are read live (they expire by date) in the same query."""

    customer = models.OneToOneField(
        "customers.Customer", primary_key=True, on_delete=models.PROTECT, related_name="exposure"
    )
    open_receivables = models.DecimalField(_("未清应收"), max_digits=16, decimal_places=2, default=ZERO)
    unbilled_deliveries = models.DecimalField(
        _("已发货未开票"), max_digits=16, decimal_places=2, default=ZERO
    )
    approved_orders = models.DecimalField(
        _("已批准未发货订单"), max_digits=16, decimal_places=2, default=ZERO
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("信用占用")
        verbose_name_plural = _("信用占用")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.open_receivables}"


class ExposureKind(models.TextChoices):
    ORDER = "order", _("已批准订单")
    DELIVERY = "delivery", _("已发货未开票")


class ExposureMove(models.Model):
    """A change of the order or delivery part of the exposure (signed), kept so the part can be recomputed."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类别"), max_length=10, choices=ExposureKind.choices)
    amount = models.DecimalField(_("金额"), max_digits=16, decimal_places=2)
    ref = models.CharField(_("来源单据"), max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["customer", "kind"], name="rcv_move_cust_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.ref} {self.amount}"


class DepositKind(models.TextChoices):
    MARGIN = "margin", _("保证金")
    GUARANTEE = "guarantee", _("担保")
    COLLATERAL = "collateral", _("抵押物")
    INSURANCE = "insurance", _("信用保险")


class Deposit(models.Model):
    """A margin deposit, guarantee, collateral or credit insurance (R-CRD-10). Usable between its validity dates
    unless released; only the usable amount reduces the exposure."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="deposits", verbose_name=_("客户")
    )
    kind = models.CharField(_("类别"), max_length=12, choices=DepositKind.choices)
    reference = models.CharField(_("凭证/合同号"), max_length=80)
    provider = models.CharField(_("提供方"), max_length=200, blank=True)
    amount = models.DecimalField(_("金额"), max_digits=16, decimal_places=2)
    usable_amount = models.DecimalField(_("可抵用金额"), max_digits=16, decimal_places=2)
    valid_from = models.DateField(_("生效日"))
    valid_to = models.DateField(_("到期日"))
    released_on = models.DateField(_("解除日"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer_id", "valid_to", "id"]
        verbose_name = _("保证金与担保")
        verbose_name_plural = _("保证金与担保")
        indexes = [models.Index(fields=["customer", "valid_to"], name="rcv_deposit_cust_valid")]
        constraints = [
            models.CheckConstraint(
                condition=Q(usable_amount__gte=0) & Q(usable_amount__lte=models.F("amount")),
                name="rcv_deposit_usable_within_amount",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference}"

    def get_absolute_url(self) -> str:
        return reverse("receivables_ledger", args=[self.customer_id]) + "#deposits"


class CollectionKind(models.TextChoices):
    CALL = "call", _("电话催收")
    LETTER = "letter", _("催款函")
    VISIT = "visit", _("上门拜访")
    STATEMENT = "statement", _("寄送对账单")
    PROMISE = "promise", _("付款承诺")


class CollectionRecord(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="collection_records",
        verbose_name=_("客户"),
    )
    kind = models.CharField(_("方式"), max_length=10, choices=CollectionKind.choices)
    happened_on = models.DateField(_("日期"))
    note = models.TextField(_("情况说明"), blank=True)
    promise_date = models.DateField(_("承诺付款日"), null=True, blank=True)
    promise_amount = models.DecimalField(
        _("承诺金额"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-happened_on", "-id"]
        verbose_name = _("催收记录")
        verbose_name_plural = _("催收记录")
        indexes = [models.Index(fields=["kind", "promise_date"], name="rcv_collect_promise")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.happened_on}"

    def get_absolute_url(self) -> str:
        return reverse("receivables_collections", args=[self.customer_id])


class AlertKind(models.TextChoices):
    BROKEN_PROMISE = "broken_promise", _("付款承诺未兑现")
    OVERDUE = "overdue", _("账款逾期")


class CollectionAlert(models.Model):
    """A broken promise or an overdue invoice found by the daily job; the target of the inbox tasks. Unique per
    promise/invoice, so the job raises each alert once however often it runs."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类别"), max_length=16, choices=AlertKind.choices)
    source_id = models.IntegerField(_("来源记录"))
    amount = models.DecimalField(_("金额"), max_digits=16, decimal_places=2)
    raised_on = models.DateField(_("发现日期"))
    policy_version_id = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "source_id"], name="rcv_alert_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.source_id}"

    def get_absolute_url(self) -> str:
        return reverse("receivables_collections", args=[self.customer_id])


class ReportKind(models.TextChoices):
    ABNORMAL = "abnormal", _("收款异样报告表")
    PROBLEM = "problem", _("问题帐款报告书")


class CollectionReport(models.Model):
    """收款异样报告表 / 问题帐款报告书, kept in the credit file (R-CRD-07)."""

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="collection_reports",
        verbose_name=_("客户"),
    )
    kind = models.CharField(_("报告类别"), max_length=10, choices=ReportKind.choices)
    number = models.CharField(_("编号"), max_length=40, unique=True)
    report_date = models.DateField(_("报告日期"))
    amount = models.DecimalField(_("涉及金额"), max_digits=16, decimal_places=2)
    situation = models.TextField(_("异常情况"))
    cause = models.TextField(_("原因分析"), blank=True)
    measures = models.TextField(_("处理措施"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-report_date", "-id"]
        verbose_name = _("收款报告")
        verbose_name_plural = _("收款报告")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def get_absolute_url(self) -> str:
        return reverse("receivables_report", args=[self.pk])


class WriteOffStatus(models.TextChoices):
    PENDING = "pending", _("审批中")
    APPROVED = "approved", _("已核销")
    REJECTED = "rejected", _("已驳回")


class WriteOff(models.Model):
    """A request to write off uncollectible invoices (R-CRD-11), decided through a workflow case."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="write_offs", verbose_name=_("客户")
    )
    number = models.CharField(_("编号"), max_length=40, unique=True)
    invoice_ids = models.JSONField(_("核销发票"), default=list)
    amount = models.DecimalField(_("核销金额"), max_digits=16, decimal_places=2)
    reason = models.TextField(_("核销理由"))
    approver_role = models.CharField(_("审批角色"), max_length=40)
    status = models.CharField(_("状态"), max_length=10, choices=WriteOffStatus.choices, default="pending")
    case = models.ForeignKey("workflow.Case", null=True, on_delete=models.PROTECT, related_name="+")
    entry = models.ForeignKey(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    policy_version_id = models.IntegerField(null=True, blank=True)
    prepared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("坏账核销")
        verbose_name_plural = _("坏账核销")

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("receivables_writeoff", args=[self.pk])
