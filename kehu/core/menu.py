"""The platform's modules in the top navigation."""

from django.utils.translation import gettext_lazy as _

from kehu.core.navigation import MenuItem, register_module

register_module("home", _("工作台"), "bi-speedometer2", 0, [MenuItem(_("首页"), "home", icon="bi-house")])
register_module(
    "system",
    _("系统管理"),
    "bi-gear",
    900,
    [
        MenuItem(_("用户"), "org_user_list", "org.user.view", "bi-people"),
        MenuItem(_("部门"), "org_department_list", "org.department.manage", "bi-diagram-3"),
        MenuItem(_("区域"), "org_region_list", "org.region.manage", "bi-geo-alt"),
        MenuItem(_("缺岗与AB岗"), "org_absence_list", "org.absence.view", "bi-person-dash"),
        MenuItem(_("工作日历"), "calendar_year_list", "calendar.view", "bi-calendar3"),
        MenuItem(_("编号序列"), "numbering_list", "numbering.view", "bi-123"),
        MenuItem(_("权限矩阵"), "access_matrix", "access.view", "bi-shield-lock"),
    ],
)
register_module(
    "audit",
    _("审计"),
    "bi-journal-check",
    950,
    [
        MenuItem(_("审计记录"), "audit_search", "audit.view", "bi-search"),
        MenuItem(_("审计链校验"), "audit_verify", "audit.verify", "bi-link-45deg"),
    ],
)
