"""Who may do what in the confidential archive (R-ARC-01, R-ARC-02, R-PLT-02). Approving a request is not an
action of the matrix: it is the task of the office head the request is routed to (see :mod:`workflow`)."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.confidential.models import AccessRequest, Grant, Lending
from kehu.core.access import Scope, department_q, register, register_scope
from kehu.core.models.org import RoleCode as R

ALL, DEPT, OWN = Scope.ALL, Scope.DEPARTMENT, Scope.OWN
EVERY_ROLE = list(R)
OFFICES: dict[str, Scope] = {R.CREDIT_MANAGER: ALL, R.ARCHIVIST: ALL, R.GENERAL_MANAGER: ALL}
OVERSIGHT: dict[str, Scope] = {**OFFICES, R.AUDITOR: ALL}
MINE: dict[str, Scope] = dict.fromkeys(EVERY_ROLE, OWN)

register(
    {
        # Anyone may ask to read what their role does not show them, from where it is hidden.
        "confidential.request.create": {r: OWN for r in EVERY_ROLE if r != R.AUDITOR},
        # One's own requests and grants; the approving offices and oversight see all.
        "confidential.request.view": {**MINE, **OVERSIGHT},
        "confidential.grant.view": {**MINE, **OVERSIGHT},
        # Ending a grant early: the offices that approve (each its own office's grants) and the general manager.
        "confidential.grant.revoke": OFFICES,
        # The lending of physical files (originals): the archivist.
        "confidential.lending.manage": {R.ARCHIVIST: ALL},
        "confidential.lending.view": {R.ARCHIVIST: ALL, R.GENERAL_MANAGER: ALL, R.AUDITOR: ALL},
        # The read log of confidential content and its reports (R-ARC-02).
        "confidential.readlog.view": OVERSIGHT,
        "confidential.readlog.export": OVERSIGHT,
        # Unusual reading (many credit files in a day) for the credit office head.
        "confidential.unusual.view": {R.CREDIT_MANAGER: ALL, R.GENERAL_MANAGER: ALL, R.AUDITOR: ALL},
    },
    descriptions={
        "confidential.request.create": _("申请查阅保密档案"),
        "confidential.request.view": _("查看查阅申请"),
        "confidential.grant.view": _("查看查阅授权"),
        "confidential.grant.revoke": _("撤销查阅授权"),
        "confidential.lending.manage": _("登记原件借出与归还"),
        "confidential.lending.view": _("查看原件借阅"),
        "confidential.readlog.view": _("查看保密档案查阅日志"),
        "confidential.readlog.export": _("导出保密档案查阅日志"),
        "confidential.unusual.view": _("查看异常查阅"),
    },
)

register_scope(
    AccessRequest,
    own=lambda u: Q(requester_id=u.pk or 0),
    department=lambda u: department_q(u, "requester__department__"),
)
register_scope(
    Grant,
    own=lambda u: Q(user_id=u.pk or 0),
    department=lambda u: department_q(u, "user__department__"),
)
register_scope(
    Lending,
    own=lambda u: Q(request__requester_id=u.pk or 0),
    department=lambda u: department_q(u, "request__requester__department__"),
)
