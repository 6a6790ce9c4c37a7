"""The demo data set that ``make run`` loads once: the organisation with one user per role.

Apps add their own demo data with :func:`register_loader`; loaders run in order inside one transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from kehu.core import audit
from kehu.core.models import Department, Region, Role, User
from kehu.core.models.org import DepartmentKind as K
from kehu.core.models.org import RoleCode
from kehu.core.models.org import RoleCode as R
from kehu.core.org import department_path

DEMO_PASSWORD = "kehu-demo-2026"  # noqa: S105  (demo only; printed by make run)

_LOADERS: list[tuple[int, str, Callable[[], None]]] = []


def register_loader(order: int, name: str, loader: Callable[[], None]) -> None:
    _LOADERS.append((order, name, loader))


REGIONS = [
    ("EC", "华东"),
    ("SC", "华南"),
    ("NC", "华北"),
    ("CC", "华中"),
    ("SW", "西南"),
    ("NW", "西北"),
    ("NE", "东北"),
]

# code, name, kind, parent code
DEPARTMENTS = [
    ("HQ", "总经理室", K.MANAGEMENT, None),
    ("MKT", "营销部", K.SALES, "HQ"),
    ("MKT-EC", "华东销售部", K.SALES, "MKT"),
    ("MKT-SC", "华南销售部", K.SALES, "MKT"),
    ("CRM", "信用管理部", K.CREDIT, "HQ"),
    ("FIN", "财务部", K.FINANCE, "HQ"),
    ("QA", "质量部", K.QUALITY, "HQ"),
    ("TEC", "技术部", K.TECHNICAL, "HQ"),
    ("ENG", "工程部", K.ENGINEERING, "HQ"),
    ("PUR", "采购部", K.PURCHASING, "HQ"),
    ("LOG", "物流部", K.LOGISTICS, "HQ"),
    ("WH", "仓库", K.WAREHOUSE, "LOG"),
    ("OFC", "办公室", K.OFFICE, "HQ"),
    ("ARC", "档案室", K.ARCHIVE, "OFC"),
]

# username, name, department, region, roles, heads department
USERS = [
    ("admin", "系统管理员", "OFC", None, [R.SYSADMIN], None),
    ("gm", "王建国", "HQ", None, [R.GENERAL_MANAGER], "HQ"),
    ("salesmgr", "李明", "MKT", "EC", [R.SALES_MANAGER], "MKT"),
    ("sales1", "张伟", "MKT-EC", "EC", [R.SALES_REP], None),
    ("sales2", "刘洋", "MKT-SC", "SC", [R.SALES_REP], "MKT-SC"),
    ("credit1", "陈静", "CRM", None, [R.CREDIT_OFFICER], None),
    ("creditmgr", "赵磊", "CRM", None, [R.CREDIT_MANAGER, R.CREDIT_COMMITTEE], "CRM"),
    ("finance1", "孙丽", "FIN", None, [R.FINANCE], "FIN"),
    ("quality1", "周强", "QA", None, [R.QUALITY_ENGINEER], "QA"),
    ("reviewer1", "吴敏", "QA", None, [R.REVIEWER], None),
    ("archivist", "郑红", "ARC", None, [R.ARCHIVIST], "ARC"),
    ("pmo", "何平", "OFC", None, [R.PMO], "OFC"),
    ("auditor", "冯雪", "OFC", None, [R.AUDITOR], None),
]

# Who backs up whom (R-PLT-03).
BACKUPS = [
    ("sales1", "sales2"),
    ("sales2", "sales1"),
    ("credit1", "creditmgr"),
    ("reviewer1", "quality1"),
    ("salesmgr", "gm"),
    ("archivist", "pmo"),
]


def is_loaded() -> bool:
    return User.objects.filter(username="admin").exists()


@transaction.atomic
def load_org() -> None:
    regions = {
        code: Region.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in REGIONS
    }
    depts: dict[str, Department] = {}
    for code, name, kind, parent in DEPARTMENTS:
        dept = Department.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "parent": depts.get(parent) if parent else None}
        )[0]
        department_path(dept)
        depts[code] = dept
    roles = {c: Role.objects.get_or_create(code=c)[0] for c in RoleCode.values}
    users: dict[str, User] = {}
    for username, name, dept_code, region, role_codes, heads in USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(
                username=username,
                display_name=name,
                email=f"{username}@demo.kehu.local",
                department=depts[dept_code],
                region=regions.get(region) if region else None,
                is_staff=username == "admin",
                is_superuser=username == "admin",
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.roles.set([roles[c] for c in role_codes])
            audit.record(
                actor=None,
                action="create",
                obj=user,
                reason="demo data",
                changes={"username": [None, username], "roles": [None, sorted(role_codes)]},
            )
        users[username] = user
        if heads:
            Department.objects.filter(code=heads).update(head=user)
    for owner, backup in BACKUPS:
        User.objects.filter(username=owner).update(backup=users[backup])


def load_examples() -> None:
    """A few things in flight, so that the inbox, the policy pages and the AB backup show real content."""
    import datetime as dt

    from django.utils import timezone

    from kehu.core.models import Absence
    from kehu.core.policies.services import policy_propose

    admin = User.objects.get(username="admin")
    reviewer = User.objects.get(username="reviewer1")
    now = timezone.now()
    # reviewer1 is away this week: quality1 (the backup) receives and may act on reviewer1's tasks (R-PLT-03)
    absence = Absence.objects.create(
        user=reviewer,
        start=now - dt.timedelta(hours=1),
        end=now + dt.timedelta(days=5),
        reason="外出培训",
        created_by=admin,
    )
    audit.record(actor=admin, action="create", obj=absence, reason="demo data")
    # a policy change waiting for the process office's review (PMO's inbox)
    policy_propose(
        actor=admin,
        key="workflow.reminders",
        values={"remind_days_before": 2, "escalate_after_days": 1},
        effective_from=timezone.localdate() + dt.timedelta(days=30),
        reason="提醒提前到期限前两个工作日，减少逾期。",
    )


register_loader(50, "examples", load_examples)


def load_all() -> list[str]:
    """Load the organisation and every app's demo data once. Returns the names of the loaders that ran."""
    if is_loaded():
        return []
    ran = ["org"]
    with transaction.atomic():
        load_org()
        for _order, name, loader in sorted(_LOADERS, key=lambda item: item[0]):
            loader()
            ran.append(name)
    return ran


def logins() -> list[tuple[str, str, str]]:
    """(username, name, roles) of the demo users, for ``make run`` to print."""
    return [(u, n, ", ".join(str(R(c).label) for c in roles)) for u, n, _d, _r, roles, _h in USERS]
