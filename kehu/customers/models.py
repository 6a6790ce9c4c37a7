"""The customer dossier (客户档案): master data, contacts, assigned staff and the change history (R-CUS-01..03,
R-CUS-07, R-CUS-09, R-CUS-14)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CustomerStatus(models.TextChoices):
    PROSPECT = "prospect", _("潜在客户")
    REVIEW = "review", _("审核中")
    ACTIVE = "active", _("交易中")
    SUSPENDED = "suspended", _("已暂停")
    ENDED = "ended", _("已终止")


class EndedReason(models.TextChoices):
    TRADE_SUSPENDED = "trade_suspended", _("交易中止")
    TRADE_PAST = "trade_past", _("交易过去")


class CustomerClass(models.TextChoices):
    CORE = "core", _("核心")
    IMPORTANT = "important", _("重要")
    GENERAL = "general", _("一般")


class CustomerKind(models.TextChoices):
    END_CUSTOMER = "end_customer", _("终端客户")
    DISTRIBUTOR = "distributor", _("经销商")
    AGENT = "agent", _("代理商")
    SUPPLIER = "supplier", _("供应商")
    LAW_FIRM = "law_firm", _("律师事务所")
    BANK = "bank", _("银行")
    INSURER = "insurer", _("保险公司")
    ADVISER = "adviser", _("咨询顾问")
    SERVICE_PROVIDER = "service_provider", _("其他服务商")


class Currency(models.TextChoices):
    CNY = "CNY", _("人民币")
    USD = "USD", _("美元")
    EUR = "EUR", _("欧元")
    HKD = "HKD", _("港元")
    JPY = "JPY", _("日元")


class Industry(models.TextChoices):
    MACHINERY = "machinery", _("机械制造")
    ELECTRONICS = "electronics", _("电子电气")
    AUTOMOTIVE = "automotive", _("汽车及零部件")
    CHEMICALS = "chemicals", _("化工")
    CONSTRUCTION = "construction", _("建筑工程")
    ENERGY = "energy", _("能源电力")
    TRADE = "trade", _("商贸流通")
    MEDICAL = "medical", _("医药医疗")
    IT = "it", _("信息技术")
    FINANCE = "finance", _("金融服务")
    OTHER = "other", _("其他")


class Customer(models.Model):
    number = models.CharField(_("客户编号"), max_length=30, unique=True)
    name = models.CharField(_("客户名称"), max_length=200)
    name_initials = models.CharField(_("名称拼音首字母"), max_length=200, blank=True, db_index=True)
    name_key = models.CharField(_("名称比对键"), max_length=200, blank=True, db_index=True)
    is_person = models.BooleanField(_("自然人客户"), default=False)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    kind = models.CharField(
        _("客户类型"), max_length=20, choices=CustomerKind.choices, default=CustomerKind.END_CUSTOMER
    )
    customer_class = models.CharField(
        _("客户类别"), max_length=12, choices=CustomerClass.choices, default=CustomerClass.GENERAL
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=CustomerStatus.choices, default=CustomerStatus.PROSPECT
    )
    ended_reason = models.CharField(_("终止原因"), max_length=20, choices=EndedReason.choices, blank=True)
    status_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("负责人"),
        on_delete=models.PROTECT,
        related_name="owned_customers",
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("跟进人员"), blank=True, related_name="assigned_customers"
    )
    department = models.ForeignKey(
        "core.Department", verbose_name=_("部门"), null=True, blank=True, on_delete=models.PROTECT
    )
    region = models.ForeignKey(
        "core.Region", verbose_name=_("区域"), null=True, blank=True, on_delete=models.PROTECT
    )

    # R-CUS-02 basic information
    enterprise_type = models.CharField(_("企业类型"), max_length=60, blank=True)
    legal_representative = models.CharField(_("法定代表人"), max_length=60, blank=True)
    chairman = models.CharField(_("董事长"), max_length=60, blank=True)
    general_manager = models.CharField(_("总经理"), max_length=60, blank=True)
    registered_capital = models.DecimalField(
        _("注册资本"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    capital_currency = models.CharField(
        _("注册资本币种"), max_length=3, choices=Currency.choices, default=Currency.CNY
    )
    founded_on = models.DateField(_("成立日期"), null=True, blank=True)
    operating_from = models.DateField(_("营业期限自"), null=True, blank=True)
    operating_to = models.DateField(_("营业期限至"), null=True, blank=True, help_text=_("留空表示长期"))
    licence_valid_until = models.DateField(_("营业执照有效期至"), null=True, blank=True)
    issuing_authority = models.CharField(_("登记机关"), max_length=100, blank=True)
    business_scope = models.TextField(_("经营范围"), blank=True)
    province = models.CharField(_("省份"), max_length=20, blank=True)
    city = models.CharField(_("城市"), max_length=30, blank=True)
    registered_address = models.CharField(_("注册地址"), max_length=200, blank=True)
    office_address = models.CharField(_("办公地址"), max_length=200, blank=True)
    postcode = models.CharField(_("邮政编码"), max_length=6, blank=True)
    phone = models.CharField(_("电话"), max_length=30, blank=True)
    fax = models.CharField(_("传真"), max_length=30, blank=True)
    website = models.URLField(_("网址"), max_length=200, blank=True)
    industry = models.CharField(_("行业"), max_length=20, choices=Industry.choices, blank=True)
    certifications = models.TextField(_("资质认证"), blank=True)
    bank_name = models.CharField(_("开户行"), max_length=100, blank=True)
    bank_account = models.CharField(_("银行账号"), max_length=40, blank=True)
    invoice_title = models.CharField(_("开票抬头"), max_length=200, blank=True)
    tax_number = models.CharField(_("纳税人识别号"), max_length=20, blank=True)
    notes = models.TextField(_("备注"), blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("客户")
        verbose_name_plural = _("客户")
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"], condition=~Q(credit_code=""), name="customer_credit_code_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "customer_class"], name="customer_status_class"),
            models.Index(fields=["owner", "status"], name="customer_owner_status"),
            models.Index(fields=["region", "status"], name="customer_region_status"),
            models.Index(fields=["department", "status"], name="customer_dept_status"),
            models.Index(fields=["industry"], name="customer_industry"),
            models.Index(fields=["name"], name="customer_name"),
            models.Index(fields=["credit_code"], name="customer_credit_code"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_important(self) -> bool:
        return self.customer_class in (CustomerClass.CORE, CustomerClass.IMPORTANT)


class ContactRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("决策人")
    PURCHASER = "purchaser", _("采购")
    FINANCE = "finance", _("财务")
    QUALITY = "quality", _("质量")
    TECHNICAL = "technical", _("技术")
    OTHER = "other", _("其他")


class Contact(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("姓名"), max_length=60)
    role = models.CharField(_("角色"), max_length=20, choices=ContactRole.choices, default=ContactRole.OTHER)
    title = models.CharField(_("职务"), max_length=60, blank=True)
    mobile = models.CharField(_("手机"), max_length=20, blank=True)
    phone = models.CharField(_("电话"), max_length=30, blank=True)
    email = models.EmailField(_("邮箱"), blank=True)
    is_signer = models.BooleanField(_("有效签单人员"), default=False)
    signer_valid_until = models.DateField(_("签单授权有效期至"), null=True, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("联系人")
        verbose_name_plural = _("联系人")
        indexes = [models.Index(fields=["customer", "active"], name="contact_customer_active")]

    def __str__(self) -> str:
        return self.name


class ChangeField(models.TextChoices):
    NAME = "name", _("名称")
    LEGAL_REPRESENTATIVE = "legal_representative", _("法定代表人")
    REGISTERED_CAPITAL = "registered_capital", _("注册资本")
    ADDRESS = "address", _("地址")
    OWNER = "owner", _("负责人")


class ChangeSource(models.TextChoices):
    MANUAL = "manual", _("人工录入")
    LICENCE = "licence", _("营业执照")
    REGISTRY = "registry", _("工商公示信息")
    CUSTOMER = "customer", _("客户告知")
    HANDOVER = "handover", _("工作交接")
    OTHER = "other", _("其他")


class CustomerChange(models.Model):
    """A significant change of the customer (R-CUS-09), shown as the dossier's timeline; former names are the
    ``old`` values of ``name`` rows."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="changes"
    )
    field = models.CharField(_("变更项"), max_length=30, choices=ChangeField.choices)
    old = models.CharField(_("变更前"), max_length=300, blank=True)
    new = models.CharField(_("变更后"), max_length=300, blank=True)
    changed_on = models.DateField(_("变更日期"))
    source = models.CharField(
        _("来源"), max_length=20, choices=ChangeSource.choices, default=ChangeSource.MANUAL
    )
    source_note = models.CharField(_("来源说明"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("客户变更")
        verbose_name_plural = _("客户变更")
        indexes = [
            models.Index(fields=["customer", "changed_on"], name="custchange_customer_date"),
            models.Index(fields=["field", "old"], name="custchange_field_old"),
        ]

    def __str__(self) -> str:
        return f"{self.get_field_display()}: {self.old} → {self.new}"
