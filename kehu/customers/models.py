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
    MERGED = "merged", _("并入其他档案")


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

    # Kept current by the services (documents, contact log, merge) so that the list filters cheaply at 100k rows.
    documents_expiry = models.DateField(_("证照最早到期日"), null=True, blank=True)
    documents_missing = models.BooleanField(_("缺少必备证照"), default=True)
    last_contact_at = models.DateTimeField(_("最近联系时间"), null=True, blank=True)
    # Lower-cased text of names, former names, pinyin initials, number, codes, addresses and contacts: one column
    # to search (R-CUS-13), trigram-indexed on PostgreSQL; rebuilt by kehu.customers.search on every change.
    search_text = models.TextField(_("检索文本"), blank=True, default="", editable=False)
    merged_into = models.ForeignKey(
        "self", verbose_name=_("并入档案"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

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
            models.Index(fields=["documents_expiry"], name="customer_documents_expiry"),
            models.Index(fields=["last_contact_at"], name="customer_last_contact"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("customer_detail", args=[self.pk])

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
    MERGE = "merge", _("档案合并")
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


class InfoGroup(models.TextChoices):
    """The six information groups of a dossier (R-CUS-04)."""

    IDENTIFICATION = "identification", _("识别信息")
    BASIC = "basic", _("基本信息")
    BUSINESS = "business", _("业务信息")
    OPERATING = "operating", _("经营信息")
    COMPLIANCE = "compliance", _("守法信息")
    IMAGE = "image", _("形象信息")


class GroupDeadline(models.Model):
    """When a new customer's information group must be complete (R-CUS-04); fixed when the customer is created,
    from the policy version then in force. ``task_raised_at`` marks the overdue task, so it is raised once."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="group_deadlines"
    )
    group = models.CharField(_("信息组"), max_length=20, choices=InfoGroup.choices)
    due_on = models.DateField(_("完成期限"))
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    task_raised_at = models.DateTimeField(_("逾期待办时间"), null=True, blank=True)
    policy_version_id = models.IntegerField(_("政策版本"), null=True, blank=True)

    class Meta:
        verbose_name = _("信息组期限")
        verbose_name_plural = _("信息组期限")
        constraints = [models.UniqueConstraint(fields=["customer", "group"], name="groupdeadline_unique")]
        indexes = [models.Index(fields=["completed_at", "due_on"], name="groupdeadline_open_due")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.get_group_display()} {self.due_on}"

    def get_absolute_url(self) -> str:
        return self.customer.get_absolute_url()


class DocumentWarning(models.Model):
    """One expiry warning raised for one document version at one lead time (R-CUS-05): the target of its inbox
    task, unique so that a warning is raised once."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="document_warnings"
    )
    attachment = models.ForeignKey(
        "core.Attachment", verbose_name=_("证照"), on_delete=models.PROTECT, related_name="+"
    )
    lead_days = models.PositiveSmallIntegerField(_("提前天数"))
    valid_to = models.DateField(_("有效期至"))
    raised_at = models.DateTimeField(_("提醒时间"))
    resolved_at = models.DateTimeField(_("解除时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("证照到期提醒")
        verbose_name_plural = _("证照到期提醒")
        constraints = [
            models.UniqueConstraint(fields=["attachment", "lead_days"], name="documentwarning_unique")
        ]
        indexes = [models.Index(fields=["customer", "resolved_at"], name="documentwarning_customer_open")]

    def __str__(self) -> str:
        return f"{self.attachment_id} -{self.lead_days}d"

    def get_absolute_url(self) -> str:
        return self.customer.get_absolute_url()


class ContactChannel(models.TextChoices):
    VISIT = "visit", _("拜访")
    CALL = "call", _("电话")
    LETTER = "letter", _("信函")
    FAX = "fax", _("传真")
    EMAIL = "email", _("邮件")
    MEETING = "meeting", _("会议")
    OTHER = "other", _("其他")


class ContactLog(models.Model):
    """One contact with the customer (R-CUS-12): who on our side, whom, when, how, what, and the next step."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="contact_logs"
    )
    channel = models.CharField(_("方式"), max_length=10, choices=ContactChannel.choices)
    contacted_at = models.DateTimeField(_("联系时间"))
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("我方人员"), on_delete=models.PROTECT, related_name="+"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("客户联系人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    contact_name = models.CharField(_("对方人员"), max_length=100, blank=True)
    summary = models.TextField(_("内容摘要"))
    next_step = models.CharField(_("下一步"), max_length=300, blank=True)
    next_step_due = models.DateField(_("下一步期限"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("记录人"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("联系记录")
        verbose_name_plural = _("联系记录")
        indexes = [
            models.Index(fields=["customer", "contacted_at"], name="contactlog_customer_at"),
            models.Index(fields=["staff", "contacted_at"], name="contactlog_staff_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.contacted_at:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("customer_contact_log_detail", args=[self.customer_id, self.pk])


class ContactGap(models.Model):
    """A customer not contacted within the policy's interval (R-CUS-12): the target of the owner's inbox task;
    at most one open gap per customer, closed by the next contact."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="contact_gaps"
    )
    last_contact_on = models.DateField(_("上次联系日期"), null=True, blank=True)
    due_on = models.DateField(_("应联系日期"))
    interval_days = models.PositiveSmallIntegerField(_("间隔天数"))
    raised_at = models.DateTimeField(_("提醒时间"))
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("联系间断")
        verbose_name_plural = _("联系间断")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(closed_at__isnull=True), name="contactgap_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.due_on}"

    def get_absolute_url(self) -> str:
        return self.customer.get_absolute_url()


class HandOver(models.Model):
    """A hand-over of a rep's customers, open tasks and contact history to a successor (R-CUS-10)."""

    number = models.CharField(_("交接单号"), max_length=30, unique=True)
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("移交人"), on_delete=models.PROTECT, related_name="+"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("交接原因"))
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("经办人"), on_delete=models.PROTECT, related_name="+"
    )
    performed_at = models.DateTimeField(_("交接时间"))
    customers_moved = models.PositiveIntegerField(_("移交客户数"), default=0)
    staff_replaced = models.PositiveIntegerField(_("替换跟进人员数"), default=0)
    tasks_moved = models.PositiveIntegerField(_("移交待办数"), default=0)
    contact_logs_moved = models.PositiveIntegerField(_("移交联系记录数"), default=0)
    summary = models.JSONField(_("交接明细"), default=dict, blank=True)

    class Meta:
        verbose_name = _("工作交接")
        verbose_name_plural = _("工作交接")
        indexes = [models.Index(fields=["from_user", "performed_at"], name="handover_from_at")]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("customer_handover_detail", args=[self.pk])


class HandOverItem(models.Model):
    """One customer moved by a hand-over: the target of the successor's task to inform the customer's contacts."""

    handover = models.ForeignKey(
        HandOver, verbose_name=_("交接单"), on_delete=models.CASCADE, related_name="items"
    )
    customer = models.ForeignKey(Customer, verbose_name=_("客户"), on_delete=models.PROTECT, related_name="+")
    contacts_informed_at = models.DateTimeField(_("已告知联系人"), null=True, blank=True)

    class Meta:
        verbose_name = _("交接客户")
        verbose_name_plural = _("交接客户")
        constraints = [models.UniqueConstraint(fields=["handover", "customer"], name="handoveritem_unique")]

    def __str__(self) -> str:
        return f"{self.handover_id}/{self.customer_id}"

    def get_absolute_url(self) -> str:
        return self.customer.get_absolute_url()


class MergeState(models.TextChoices):
    PENDING = "pending", _("待审批")
    DONE = "done", _("已合并")
    REJECTED = "rejected", _("已驳回")


class CustomerMerge(models.Model):
    """A request to merge a duplicate dossier into another (R-CUS-11), decided on the workflow engine; the merged
    dossier ends with reason "merged" and keeps its own history; everything movable moves to the survivor."""

    survivor = models.ForeignKey(
        Customer, verbose_name=_("保留档案"), on_delete=models.PROTECT, related_name="merges_in"
    )
    merged = models.ForeignKey(
        Customer, verbose_name=_("并入档案"), on_delete=models.PROTECT, related_name="merges_out"
    )
    reason = models.TextField(_("合并原因"))
    state = models.CharField(_("状态"), max_length=10, choices=MergeState.choices, default=MergeState.PENDING)
    case = models.OneToOneField(
        "workflow.Case",
        verbose_name=_("审批流程"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("申请时间"))
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    moved = models.JSONField(_("移动明细"), default=dict, blank=True)

    class Meta:
        verbose_name = _("档案合并")
        verbose_name_plural = _("档案合并")
        constraints = [
            models.UniqueConstraint(
                fields=["merged"], condition=Q(state="pending"), name="customermerge_one_pending"
            ),
            models.CheckConstraint(condition=~Q(survivor=models.F("merged")), name="customermerge_distinct"),
        ]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id}"

    def get_absolute_url(self) -> str:
        return self.survivor.get_absolute_url()
