"""Workflow (R-PLT-12, R-PLT-08, R-PLT-13): process definitions and their versions, cases with their history,
and the tasks of the inbox."""

from __future__ import annotations

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    L1 = "L1", _("一级（领域）")
    L2 = "L2", _("二级")
    L3 = "L3", _("三级")
    SUB = "SUB", _("子流程")


class ProcessDefinition(models.Model):
    """A process as declared in code (``register_definition``); its versions hold the declaration's snapshot."""

    key = models.CharField(_("代码"), max_length=60, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    level = models.CharField(_("层级"), max_length=3, choices=Level.choices, default=Level.L3)
    owner_role = models.CharField(_("流程所有者角色"), max_length=40, blank=True)
    owner_user = models.ForeignKey(
        "core.User",
        verbose_name=_("流程所有者"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    departments = models.JSONField(_("参与部门类型"), default=list, blank=True)
    key_control_points = models.JSONField(_("关键控制点"), default=list, blank=True)
    kpis = models.JSONField(_("绩效指标"), default=list, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("流程定义")
        verbose_name_plural = _("流程定义")

    def __str__(self) -> str:
        return self.name


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("审批中")
    TRIAL = "trial", _("试运行")
    FORMAL = "formal", _("正式")
    RETIRED = "retired", _("已停用")


class DefinitionVersion(models.Model):
    definition = models.ForeignKey(
        ProcessDefinition, verbose_name=_("流程定义"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("版本号"))
    spec = models.JSONField(_("定义内容"))
    spec_hash = models.CharField(_("内容摘要"), max_length=64)
    status = models.CharField(
        _("状态"), max_length=10, choices=VersionStatus.choices, default=VersionStatus.TRIAL
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    trial_started_at = models.DateTimeField(_("试运行开始"), null=True, blank=True)
    formal_at = models.DateTimeField(_("转正时间"), null=True, blank=True)
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)
    approved_by = models.ForeignKey(
        "core.User",
        verbose_name=_("批准人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["definition_id", "-number"]
        verbose_name = _("流程定义版本")
        verbose_name_plural = _("流程定义版本")
        constraints = [
            models.UniqueConstraint(fields=["definition", "number"], name="wf_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.definition.key} v{self.number}"


class Case(models.Model):
    """One run of a process: its current state, its subject and its history (``events``)."""

    number = models.CharField(_("编号"), max_length=40, unique=True)
    definition = models.ForeignKey(
        ProcessDefinition, verbose_name=_("流程"), on_delete=models.PROTECT, related_name="cases"
    )
    definition_version = models.ForeignKey(
        DefinitionVersion, verbose_name=_("流程版本"), on_delete=models.PROTECT, related_name="cases"
    )
    state = models.CharField(_("状态"), max_length=40)
    state_entered_at = models.DateTimeField(_("进入当前状态"))
    state_due = models.DateField(_("当前状态期限"), null=True, blank=True)
    subject_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject_id = models.CharField(max_length=64, blank=True, default="")
    subject = GenericForeignKey("subject_type", "subject_id")
    title = models.CharField(_("标题"), max_length=300)
    data = models.JSONField(_("数据"), default=dict, blank=True)
    department = models.ForeignKey(
        "core.Department",
        verbose_name=_("部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    opened_by = models.ForeignKey(
        "core.User", verbose_name=_("发起人"), on_delete=models.PROTECT, related_name="opened_cases"
    )
    opened_at = models.DateTimeField(_("发起时间"))
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    event_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("流程实例")
        verbose_name_plural = _("流程实例")
        indexes = [
            models.Index(fields=["definition", "opened_at"], name="wf_case_def_opened"),
            models.Index(fields=["subject_type", "subject_id"], name="wf_case_subject"),
            models.Index(fields=["state"], name="wf_case_state"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class CaseEvent(models.Model):
    """One step of a case's history (append-only)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    transition = models.CharField(_("操作"), max_length=60)
    transition_label = models.CharField(_("操作名称"), max_length=100, blank=True)
    from_state = models.CharField(_("原状态"), max_length=40, blank=True)
    to_state = models.CharField(_("新状态"), max_length=40)
    actor = models.ForeignKey(
        "core.User", verbose_name=_("处理人"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    acting_for = models.ForeignKey(
        "core.User",
        verbose_name=_("代办对象"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("时间"))
    comment = models.TextField(_("意见"), blank=True)
    checklist = models.JSONField(_("检查项"), default=dict, blank=True)
    attachment_ids = models.JSONField(_("附件"), default=list, blank=True)
    send_back = models.BooleanField(_("退回"), default=False)
    overdue = models.BooleanField(_("超期"), default=False)

    class Meta:
        ordering = ["case_id", "seq"]
        verbose_name = _("流程记录")
        verbose_name_plural = _("流程记录")
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="wf_event_seq_unique")]
        indexes = [models.Index(fields=["at"], name="wf_event_at")]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.seq} {self.transition}"


class TaskState(models.TextChoices):
    OPEN = "open", _("待办")
    DONE = "done", _("已办")
    CANCELLED = "cancelled", _("已取消")


class TaskKind(models.TextChoices):
    ACTION = "action", _("待处理")
    COSIGN = "cosign", _("会签")
    COPY = "copy", _("抄送")
    ESCALATION = "escalation", _("督办")


class Task(models.Model):
    """An entry of the inbox: for a person, or for anyone holding a role (optionally within a department)."""

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="tasks")
    target_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target_id = models.CharField(max_length=64, blank=True, default="")
    target = GenericForeignKey("target_type", "target_id")
    kind = models.CharField(_("类型"), max_length=12, choices=TaskKind.choices, default=TaskKind.ACTION)
    case_state = models.CharField(_("环节"), max_length=40, blank=True)
    title = models.CharField(_("标题"), max_length=300)
    assignee = models.ForeignKey(
        "core.User",
        verbose_name=_("处理人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    assignee_role = models.CharField(_("处理角色"), max_length=40, blank=True, default="")
    department = models.ForeignKey(
        "core.Department",
        verbose_name=_("部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    due = models.DateField(_("期限"), null=True, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=TaskState.choices, default=TaskState.OPEN)
    created_at = models.DateTimeField(_("创建时间"))
    closed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        "core.User",
        verbose_name=_("完成人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reminded_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("督办时间"), null=True, blank=True)
    escalated_to = models.ForeignKey(
        "core.User",
        verbose_name=_("督办人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    escalation_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="escalations"
    )

    class Meta:
        ordering = ["due", "-created_at"]
        verbose_name = _("待办")
        verbose_name_plural = _("待办")
        indexes = [
            models.Index(fields=["assignee", "state", "due"], name="wf_task_assignee"),
            models.Index(fields=["assignee_role", "state", "due"], name="wf_task_role"),
            models.Index(fields=["state", "due"], name="wf_task_due"),
            models.Index(fields=["case", "state"], name="wf_task_case"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(assignee__isnull=False) | ~Q(assignee_role=""), name="wf_task_has_assignee"
            )
        ]

    def __str__(self) -> str:
        return self.title

    def url(self) -> str:
        """The page to open for this task: its case, else its target record's page."""
        from django.urls import NoReverseMatch, reverse

        if self.case_id:
            return reverse("workflow_case_detail", args=[self.case_id])
        target = self.target if self.target_type_id else None
        getter = getattr(target, "get_absolute_url", None)
        if getter is None:
            return ""
        try:
            return str(getter())
        except NoReverseMatch:
            return ""
