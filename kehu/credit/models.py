"""Credit file, financial statements and credit ratings (R-CRD-01, R-CRD-03).

All three are confidential: credit roles, finance and the general manager see them; the owning sales rep does not.
Records of the limits and receivables apps are referred to by plain ids, never by foreign keys.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class CreditFile(models.Model):
    """The customer's credit file (信用档案, R-CRD-01): the written surveys and conclusions; the files attached to it
    (confidential attachments) are filed under the items of :class:`FileItem`."""

    customer = models.OneToOneField(
        "customers.Customer", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="credit_file"
    )
    site_survey = models.TextField(_("实地调查"), blank=True)
    related_party_survey = models.TextField(_("关联方调查"), blank=True)
    analysis_conclusion = models.TextField(_("资信调查报告 / 分析结论"), blank=True)
    public_materials = models.TextField(_("公开资料"), blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("更新人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("信用档案")
        verbose_name_plural = _("信用档案")

    def __str__(self) -> str:
        return str(_("信用档案")) + f" {self.customer_id}"

    def get_absolute_url(self) -> str:
        return reverse("credit_file", args=[self.customer_id])


class FileItem(models.TextChoices):
    """The items of a credit file (R-CRD-01) under which files are filed."""

    BASIC = "basic", _("基本资料")
    APPLICATION = "application", _("信用申请表")
    SITE_SURVEY = "site_survey", _("实地调查")
    RELATED_PARTY = "related_party", _("关联方调查")
    INVESTIGATION = "investigation", _("资信调查报告 / 分析结论")
    STATEMENTS = "statements", _("财务报表")
    APPROVAL = "approval", _("审批资料（额度表、通知书）")
    POST_CREDIT = "post_credit", _("授信后记录")
    PUBLIC = "public", _("公开资料")


class CreditDocument(models.Model):
    """Which item of the credit file an attachment (version 1 of its chain) belongs to."""

    credit_file = models.ForeignKey(CreditFile, on_delete=models.PROTECT, related_name="documents")
    item = models.CharField(_("档案项目"), max_length=20, choices=FileItem.choices)
    attachment = models.OneToOneField("core.Attachment", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("信用档案文件")
        verbose_name_plural = _("信用档案文件")

    def __str__(self) -> str:
        return f"{self.item} {self.attachment_id}"


class PeriodType(models.TextChoices):
    YEAR = "year", _("年报")
    QUARTER = "quarter", _("季报")


class StatementSource(models.TextChoices):
    FORM = "form", _("表单录入")
    IMPORT = "import", _("Excel 导入")


def _money(label: Any) -> Any:
    return models.DecimalField(label, max_digits=18, decimal_places=2, null=True, blank=True)


class FinancialStatement(models.Model):
    """One period's balance sheet, income statement and cash-flow statement (amounts in yuan)."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="statements"
    )
    period_end = models.DateField(_("报告期末"))
    period_type = models.CharField(_("报表类型"), max_length=10, choices=PeriodType.choices)
    source = models.CharField(_("来源"), max_length=10, choices=StatementSource.choices, default="form")
    # balance sheet
    cash = _money(_("货币资金"))
    receivables = _money(_("应收账款"))
    inventory = _money(_("存货"))
    current_assets = _money(_("流动资产合计"))
    fixed_assets = _money(_("固定资产"))
    total_assets = _money(_("资产总计"))
    current_liabilities = _money(_("流动负债合计"))
    total_liabilities = _money(_("负债合计"))
    equity = _money(_("所有者权益合计"))
    # income statement
    revenue = _money(_("营业收入"))
    cost_of_sales = _money(_("营业成本"))
    operating_profit = _money(_("营业利润"))
    interest_expense = _money(_("利息费用"))
    net_profit = _money(_("净利润"))
    # cash-flow statement
    operating_cash_flow = _money(_("经营活动现金流量净额"))
    investing_cash_flow = _money(_("投资活动现金流量净额"))
    financing_cash_flow = _money(_("筹资活动现金流量净额"))
    note = models.CharField(_("说明"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    policy_version_id = models.IntegerField(_("政策版本"), null=True, blank=True)

    class Meta:
        verbose_name = _("财务报表")
        verbose_name_plural = _("财务报表")
        constraints = [
            models.UniqueConstraint(fields=["customer", "period_end"], name="credit_statement_one_per_period")
        ]
        indexes = [models.Index(fields=["customer", "-period_end"], name="credit_stmt_customer_period")]

    def __str__(self) -> str:
        return f"{self.period_end:%Y-%m-%d} {self.get_period_type_display()}"

    def get_absolute_url(self) -> str:
        return reverse("credit_statement_detail", args=[self.pk])


class RatingStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("生效")
    SUPERSEDED = "superseded", _("已被替代")
    REJECTED = "rejected", _("已否决")


class Rating(models.Model):
    """A credit rating (R-CRD-03). An analyst prepares it (draft → pending), a credit manager who is not the preparer
    approves it; the approved rating is the one in force and supersedes the previous one."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="ratings"
    )
    status = models.CharField(_("状态"), max_length=12, choices=RatingStatus.choices, default="draft")
    category = models.CharField(_("行业类别"), max_length=20)
    statement = models.ForeignKey(
        FinancialStatement,
        verbose_name=_("依据报表"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # qualitative inputs of the analyst: levels 1 (poor) .. 5 (excellent); years of trade in years
    payment_history = models.PositiveSmallIntegerField(_("付款记录"))
    years_of_trade = models.DecimalField(_("往来年限"), max_digits=5, decimal_places=1)
    industry_outlook = models.PositiveSmallIntegerField(_("行业前景"))
    management = models.PositiveSmallIntegerField(_("经营管理"))
    litigation = models.PositiveSmallIntegerField(_("涉诉情况"))
    # result
    score = models.DecimalField(_("得分"), max_digits=5, decimal_places=2)
    computed_grade = models.CharField(_("计算等级"), max_length=4)
    grade = models.CharField(_("信用等级"), max_length=4)
    credit_class = models.CharField(_("信用类别"), max_length=1)
    details = models.JSONField(_("指标明细"), default=list)
    policy_version_id = models.IntegerField(_("政策版本"), null=True, blank=True)
    overridden = models.BooleanField(_("已调整等级"), default=False)
    override_reason = models.TextField(_("调整理由"), blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("调整人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("分析意见"), blank=True)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("评级人"), on_delete=models.PROTECT, related_name="+"
    )
    prepared_at = models.DateTimeField(_("编制时间"), auto_now_add=True)
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
    rated_on = models.DateField(_("评级日期"), null=True, blank=True)
    review_due = models.DateField(_("复评到期日"), null=True, blank=True)

    class Meta:
        verbose_name = _("信用评级")
        verbose_name_plural = _("信用评级")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(status="approved"), name="credit_rating_one_in_force"
            )
        ]
        indexes = [models.Index(fields=["status", "review_due"], name="credit_rating_status_due")]

    def __str__(self) -> str:
        return f"{self.grade} ({self.score})"

    def get_absolute_url(self) -> str:
        return reverse("credit_rating_detail", args=[self.pk])
