"""Organisation (R-PLT-01, R-PLT-03): departments (a tree), regions, users, roles, AB backup, absences."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RoleCode(models.TextChoices):
    """The roles of R-PLT-01. Codes are stable identifiers used in the access matrix."""

    SALES_REP = "sales_rep", _("销售代表")
    SALES_MANAGER = "sales_manager", _("销售经理/总监")
    CREDIT_OFFICER = "credit_officer", _("信用专员")
    CREDIT_MANAGER = "credit_manager", _("信用经理")
    CREDIT_COMMITTEE = "credit_committee", _("授信额度管理小组")
    FINANCE = "finance", _("财务")
    QUALITY_ENGINEER = "quality_engineer", _("质量工程师")
    REVIEWER = "reviewer", _("审核员")
    ARCHIVIST = "archivist", _("档案管理员")
    GENERAL_MANAGER = "general_manager", _("总经理")
    PMO = "pmo", _("流程管理办公室")
    SYSADMIN = "sysadmin", _("系统管理员")
    AUDITOR = "auditor", _("只读审计员")


class DepartmentKind(models.TextChoices):
    SALES = "sales", _("营销部")
    CREDIT = "credit", _("信用管理部")
    FINANCE = "finance", _("财务部")
    QUALITY = "quality", _("质量部")
    TECHNICAL = "technical", _("技术部")
    ENGINEERING = "engineering", _("工程部")
    PURCHASING = "purchasing", _("采购部")
    LOGISTICS = "logistics", _("物流部")
    WAREHOUSE = "warehouse", _("仓库")
    OFFICE = "office", _("办公室")
    ARCHIVE = "archive", _("档案室")
    MANAGEMENT = "management", _("总经理")
    OTHER = "other", _("其他")


class Role(models.Model):
    code = models.CharField(_("代码"), max_length=40, unique=True, choices=RoleCode.choices)
    description = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("角色")
        verbose_name_plural = _("角色")

    def __str__(self) -> str:
        return str(RoleCode(self.code).label) if self.code in RoleCode.values else self.code


class Region(models.Model):
    code = models.CharField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("区域")
        verbose_name_plural = _("区域")

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    """A node of the department tree. ``path`` is the materialised path of ids (``/1/4/9/``) for subtree queries."""

    code = models.CharField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(
        _("类型"), max_length=20, choices=DepartmentKind.choices, default=DepartmentKind.OTHER
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    head = models.ForeignKey(
        "core.User",
        verbose_name=_("部门负责人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="headed_departments",
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="/")
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("部门")
        verbose_name_plural = _("部门")

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return max(self.path.count("/") - 2, 0)

    def subtree_q(self, prefix: str = "") -> Q:
        """``Q`` matching this department and all below it, on a field path such as ``department__``."""
        return Q(**{f"{prefix}path__startswith": self.path})


class KehuUserManager(UserManager["User"]):
    pass


class User(AbstractUser):
    """A person who signs in. Roles, department and region drive the access layer (kehu.core.access)."""

    display_name = models.CharField(_("姓名"), max_length=60, blank=True)
    employee_no = models.CharField(_("工号"), max_length=30, blank=True)
    phone = models.CharField(_("电话"), max_length=30, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("区域"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    roles = models.ManyToManyField(Role, verbose_name=_("角色"), blank=True, related_name="users")
    backup = models.ForeignKey(
        "self",
        verbose_name=_("AB岗备岗人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="backing_for",
        help_text=_("本人缺岗期间，由备岗人接收并处理本人的待办（R-PLT-03）。"),
    )
    language = models.CharField(_("界面语言"), max_length=10, blank=True, default="")
    left_at = models.DateTimeField(_("离职时间"), null=True, blank=True)

    objects: KehuUserManager = KehuUserManager()  # type: ignore[misc]

    class Meta:
        ordering = ["username"]
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def label(self) -> str:
        return f"{self} ({self.username})" if self.display_name else self.username

    def role_codes(self) -> frozenset[str]:
        """Role codes of this user, cached on the instance (one query per request at most)."""
        cached: frozenset[str] | None = getattr(self, "_role_codes", None)
        if cached is None:
            if not self.pk or not self.is_active:
                cached = frozenset()
            else:
                cached = frozenset(self.roles.values_list("code", flat=True))
            self._role_codes = cached
        return cached

    def has_role(self, *codes: str) -> bool:
        return bool(self.role_codes().intersection(codes))

    def is_absent(self, at: dt.datetime | None = None) -> bool:
        at = at or timezone.now()
        return self.absences.filter(start__lte=at, end__gt=at, cancelled=False).exists()


class Absence(models.Model):
    """A period in which a user is away; their backup receives and may act on their tasks (R-PLT-03)."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.PROTECT, related_name="absences")
    start = models.DateTimeField(_("开始"))
    end = models.DateTimeField(_("结束"))
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    cancelled = models.BooleanField(_("已取消"), default=False)
    created_by = models.ForeignKey(
        User, verbose_name=_("登记人"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        ordering = ["-start"]
        verbose_name = _("缺岗")
        verbose_name_plural = _("缺岗")
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="absence_end_after_start")
        ]
        indexes = [models.Index(fields=["user", "start", "end"])]

    def __str__(self) -> str:
        return f"{self.user} {self.start:%Y-%m-%d}–{self.end:%Y-%m-%d}"
