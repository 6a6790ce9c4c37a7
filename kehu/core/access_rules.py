"""The platform's role x action matrix (R-PLT-02). Other apps declare theirs in their own access_rules.py."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.access import Scope, department_q, register, register_scope
from kehu.core.models import Absence, ApiToken, User
from kehu.core.models.org import RoleCode as R

ALL, DEPT, OWN = Scope.ALL, Scope.DEPARTMENT, Scope.OWN
EVERY_ROLE = list(R)

register(
    {
        # Organisation
        "org.user.view": {
            R.SYSADMIN: ALL,
            R.GENERAL_MANAGER: ALL,
            R.AUDITOR: ALL,
            R.PMO: ALL,
            R.SALES_MANAGER: DEPT,
            R.CREDIT_MANAGER: DEPT,
            **{
                r: OWN
                for r in EVERY_ROLE
                if r
                not in {R.SYSADMIN, R.GENERAL_MANAGER, R.AUDITOR, R.PMO, R.SALES_MANAGER, R.CREDIT_MANAGER}
            },
        },
        "org.user.manage": {R.SYSADMIN: ALL},
        "org.user.import": {R.SYSADMIN: ALL},
        "org.department.manage": {R.SYSADMIN: ALL},
        "org.region.manage": {R.SYSADMIN: ALL},
        "org.absence.view": {
            R.SYSADMIN: ALL,
            R.GENERAL_MANAGER: ALL,
            R.AUDITOR: ALL,
            R.SALES_MANAGER: DEPT,
            R.CREDIT_MANAGER: DEPT,
            **{
                r: OWN
                for r in EVERY_ROLE
                if r not in {R.SYSADMIN, R.GENERAL_MANAGER, R.AUDITOR, R.SALES_MANAGER, R.CREDIT_MANAGER}
            },
        },
        "org.absence.manage": {
            R.SYSADMIN: ALL,
            R.SALES_MANAGER: DEPT,
            R.CREDIT_MANAGER: DEPT,
            **{
                r: OWN
                for r in EVERY_ROLE
                if r not in {R.SYSADMIN, R.SALES_MANAGER, R.CREDIT_MANAGER, R.AUDITOR}
            },
        },
        # Audit trail
        "audit.view": {R.SYSADMIN: ALL, R.AUDITOR: ALL, R.GENERAL_MANAGER: ALL, R.PMO: ALL},
        "audit.export": {R.SYSADMIN: ALL, R.AUDITOR: ALL, R.GENERAL_MANAGER: ALL},
        "audit.verify": {R.SYSADMIN: ALL, R.AUDITOR: ALL},
        # API tokens: everyone manages their own; the administrator sees and revokes all.
        "token.manage": {r: (ALL if r == R.SYSADMIN else OWN) for r in EVERY_ROLE},
        # Working-day calendar
        "calendar.view": dict.fromkeys(EVERY_ROLE, ALL),
        "calendar.manage": {R.SYSADMIN: ALL, R.PMO: ALL},
        # Numbering series (read-only page for administrators)
        "numbering.view": {R.SYSADMIN: ALL, R.AUDITOR: ALL},
        # The access matrix itself
        "access.view": {R.SYSADMIN: ALL, R.AUDITOR: ALL, R.PMO: ALL},
    },
    descriptions={
        "org.user.view": _("查看用户"),
        "org.user.manage": _("管理用户"),
        "org.user.import": _("导入用户"),
        "org.department.manage": _("管理部门"),
        "org.region.manage": _("管理区域"),
        "org.absence.view": _("查看缺岗"),
        "org.absence.manage": _("登记缺岗"),
        "audit.view": _("查看审计记录"),
        "audit.export": _("导出审计记录"),
        "audit.verify": _("校验审计链"),
        "token.manage": _("管理API令牌"),
        "calendar.view": _("查看工作日历"),
        "calendar.manage": _("维护节假日"),
        "numbering.view": _("查看编号序列"),
        "access.view": _("查看权限矩阵"),
    },
)

register_scope(
    User,
    own=lambda u: Q(pk=u.pk),
    department=lambda u: department_q(u, "department__", region_field="region_id"),
)
register_scope(
    Absence,
    own=lambda u: Q(user_id=u.pk),
    department=lambda u: department_q(u, "user__department__", region_field="user__region_id"),
)
register_scope(
    ApiToken,
    own=lambda u: Q(user_id=u.pk),
    department=lambda u: Q(user_id=u.pk),
)
