"""Who may see background jobs and retry them: administrators see all runs, everyone else the runs they started."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.access import Scope, register, register_scope
from kehu.core.jobs.models import JobRun
from kehu.core.models.org import RoleCode as R

_ALL = {R.SYSADMIN, R.AUDITOR, R.PMO}

register(
    {
        "jobs.view": {r: (Scope.ALL if r in _ALL else Scope.OWN) for r in R},
        "jobs.retry": {R.SYSADMIN: Scope.ALL},
    },
    descriptions={"jobs.view": _("查看后台任务"), "jobs.retry": _("重试后台任务")},
)
register_scope(
    JobRun,
    own=lambda user: Q(enqueued_by=user),
    department=lambda user: Q(enqueued_by=user),
)
