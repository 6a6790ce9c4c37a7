"""The access test matrix (R-PLT-02): role x action x scope, on the rules, the pages and the API."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from python_calamine import CalamineWorkbook

from kehu.core import access
from kehu.core.access import Scope
from kehu.core.models import Department, User
from kehu.core.models.org import RoleCode as R
from kehu.core.tests.factories import DepartmentFactory, RegionFactory, all_role_codes, user_with

pytestmark = pytest.mark.django_db

A, D, S = Scope.ALL, Scope.DEPARTMENT, Scope.OWN  # all / department subtree or region / self
N = None

# The expected matrix, written out independently of kehu/core/access_rules.py (role order as in ROLES).
# fmt: off
ROLES = [
    R.SALES_REP, R.SALES_MANAGER, R.CREDIT_OFFICER, R.CREDIT_MANAGER, R.CREDIT_COMMITTEE, R.FINANCE,
    R.QUALITY_ENGINEER, R.REVIEWER, R.ARCHIVIST, R.GENERAL_MANAGER, R.PMO, R.SYSADMIN, R.AUDITOR,
]
EXPECTED: dict[str, list[Scope | None]] = {
    #                        rep mgr co  cm  cc  fin qe  rev arc gm  pmo adm aud
    "org.user.view":         [S, D, S, D, S, S, S, S, S, A, A, A, A],
    "org.user.manage":       [N, N, N, N, N, N, N, N, N, N, N, A, N],
    "org.user.import":       [N, N, N, N, N, N, N, N, N, N, N, A, N],
    "org.department.manage": [N, N, N, N, N, N, N, N, N, N, N, A, N],
    "org.region.manage":     [N, N, N, N, N, N, N, N, N, N, N, A, N],
    "org.absence.view":      [S, D, S, D, S, S, S, S, S, A, S, A, A],
    "org.absence.manage":    [S, D, S, D, S, S, S, S, S, S, S, A, N],
    "audit.view":            [N, N, N, N, N, N, N, N, N, A, A, A, A],
    "audit.export":          [N, N, N, N, N, N, N, N, N, A, N, A, A],
    "audit.verify":          [N, N, N, N, N, N, N, N, N, N, N, A, A],
    "calendar.manage":       [N, N, N, N, N, N, N, N, N, N, A, A, N],
    "token.manage":          [S, S, S, S, S, S, S, S, S, S, S, A, S],
    "access.view":           [N, N, N, N, N, N, N, N, N, N, A, A, A],
}
# fmt: on

# Pages and endpoints of the organisation area, each guarded by exactly one action.
PAGES = {
    "org.user.view": ["/system/users/", "/api/v1/org/users"],
    "org.user.manage": ["/system/users/new/"],
    "org.user.import": ["/system/users/import/", "/system/users/import/template/"],
    "org.department.manage": ["/system/departments/", "/system/departments/new/"],
    "org.region.manage": ["/system/regions/", "/system/regions/new/"],
    "org.absence.view": ["/system/absences/", "/api/v1/org/absences"],
    "access.view": ["/system/access/"],
}


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


CASES = [(role, action) for action in EXPECTED for role in ROLES]


def test_expected_matrix_covers_every_role():
    assert sorted(ROLES) == sorted(all_role_codes())


@pytest.mark.parametrize(("role", "action"), CASES, ids=[f"{r}-{a}" for r, a in CASES])
def test_rule_matches_declared_matrix(role, action):
    user = user_with(role)
    expected = EXPECTED[action][ROLES.index(role)]
    assert access.scope_for(user, action) == expected
    assert access.can(user, action) is (expected is not None)
    assert access.actions()[action].get(str(role)) == expected


PAGE_CASES = [(role, action, url) for action, urls in PAGES.items() for url in urls for role in ROLES]


@pytest.mark.parametrize(("role", "action", "url"), PAGE_CASES, ids=[f"{r}-{u}" for r, a, u in PAGE_CASES])
def test_pages_answer_by_matrix(client, role, action, url):
    user = user_with(role)
    client.force_login(user)
    allowed = EXPECTED[action][ROLES.index(role)] is not None
    response = client.get(url)
    assert response.status_code == (200 if allowed else 403), (role, url)


def test_inactive_or_anonymous_users_hold_nothing(client):
    admin = user_with(R.SYSADMIN, is_active=False)
    assert access.scope_for(admin, "org.user.view") is None
    assert client.get("/system/users/").status_code == 302
    assert client.get("/api/v1/org/users").status_code == 401


# ------------------------------------------------------------------------------------------------------------
# Record scope: own / department subtree or region / all
# ------------------------------------------------------------------------------------------------------------


@dataclass
class Org:
    hq: Department
    mkt: Department
    ec: Department
    north: Department
    crm: Department
    admin: User
    gm: User
    salesmgr: User
    sales1: User
    sales2: User
    sales3: User
    credit1: User
    creditmgr: User
    regional: User


def build_org() -> Org:
    hq = DepartmentFactory(code="HQ", name="公司")
    mkt = DepartmentFactory(code="MKT", name="营销部", kind="sales", parent=hq)
    ec = DepartmentFactory(code="MKT-EC", name="电商组", kind="sales", parent=mkt)
    north = DepartmentFactory(code="MKT-N", name="北方组", kind="sales", parent=mkt)
    crm = DepartmentFactory(code="CRM", name="信用管理部", kind="credit", parent=hq)
    east = RegionFactory(code="EAST", name="华东")
    west = RegionFactory(code="WEST", name="华西")
    return Org(
        hq=hq,
        mkt=mkt,
        ec=ec,
        north=north,
        crm=crm,
        admin=user_with(R.SYSADMIN, username="admin", department=hq),
        gm=user_with(R.GENERAL_MANAGER, username="gm", department=hq),
        salesmgr=user_with(R.SALES_MANAGER, username="salesmgr", department=mkt),
        sales1=user_with(R.SALES_REP, username="sales1", department=ec, region=east),
        sales2=user_with(R.SALES_REP, username="sales2", department=ec, region=east),
        sales3=user_with(R.SALES_REP, username="sales3", department=north, region=west),
        credit1=user_with(R.CREDIT_OFFICER, username="credit1", department=crm),
        creditmgr=user_with(R.CREDIT_MANAGER, username="creditmgr", department=crm),
        regional=user_with(R.SALES_MANAGER, username="regional", region=west),
    )


@pytest.fixture
def org_tree() -> Org:
    return build_org()


def test_sales_rep_reads_another_reps_record_gets_404(client, org_tree):
    o = org_tree
    client.force_login(o.sales1)
    assert client.get(f"/system/users/{o.sales1.pk}/").status_code == 200
    assert client.get(f"/api/v1/org/users/{o.sales1.pk}").status_code == 200
    # same department, but a sales rep's scope is their own record: 404, not 403, so ids do not leak
    assert client.get(f"/system/users/{o.sales2.pk}/").status_code == 404
    response = client.get(f"/api/v1/org/users/{o.sales2.pk}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    # a missing id answers the same
    assert client.get("/system/users/999999/").status_code == 404
    assert client.get("/api/v1/org/users/999999").status_code == 404
    # the list shows only the rep themself
    names = [u["username"] for u in client.get("/api/v1/org/users").json()["items"]]
    assert names == ["sales1"]


def test_sales_manager_sees_department_subtree_not_other_departments(client, org_tree):
    o = org_tree
    client.force_login(o.salesmgr)
    names = {u["username"] for u in client.get("/api/v1/org/users?page_size=100").json()["items"]}
    assert names == {"salesmgr", "sales1", "sales2", "sales3"}
    assert client.get(f"/system/users/{o.sales3.pk}/").status_code == 200
    assert client.get(f"/system/users/{o.credit1.pk}/").status_code == 404
    assert client.get(f"/api/v1/org/users/{o.creditmgr.pk}").status_code == 404
    assert client.get(f"/system/users/{o.admin.pk}/").status_code == 404


def test_credit_manager_sees_own_department(org_tree):
    o = org_tree
    names = set(
        access.restrict(o.creditmgr, "org.user.view", User.objects.all()).values_list("username", flat=True)
    )
    assert names == {"credit1", "creditmgr"}


def test_region_scope_for_manager_without_department(org_tree):
    o = org_tree
    names = set(
        access.restrict(o.regional, "org.user.view", User.objects.all()).values_list("username", flat=True)
    )
    assert names == {"regional", "sales3"}


@pytest.mark.parametrize("who", ["admin", "gm"])
def test_all_scope_sees_everyone(client, org_tree, who):
    client.force_login(getattr(org_tree, who))
    data = client.get("/api/v1/org/users?page_size=100").json()
    assert data["count"] == User.objects.count()
    assert client.get(f"/system/users/{org_tree.credit1.pk}/").status_code == 200


def test_export_by_sales_manager_contains_only_scope(client, org_tree):
    client.force_login(org_tree.salesmgr)
    response = client.get("/system/users/?export=xlsx")
    assert response.status_code == 200
    table = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert {row[0] for row in table[1:]} == {"salesmgr", "sales1", "sales2", "sales3"}


def test_manage_actions_out_of_scope_are_403_or_404(client, org_tree):
    o = org_tree
    client.force_login(o.salesmgr)
    # without the action: 403
    assert client.get(f"/system/users/{o.sales1.pk}/edit/").status_code == 403
    response = client.patch(
        f"/api/v1/org/users/{o.sales1.pk}", {"display_name": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
    # absences: a manager registers for their subtree; another department looks missing
    ok = client.post(
        "/api/v1/org/absences",
        {"user": "sales1", "start": "2026-12-01T09:00:00+08:00", "end": "2026-12-02T09:00:00+08:00"},
        content_type="application/json",
    )
    assert ok.status_code == 201, ok.content
    response = client.post(
        "/api/v1/org/absences",
        {"user": "credit1", "start": "2026-12-01T09:00:00+08:00", "end": "2026-12-02T09:00:00+08:00"},
        content_type="application/json",
    )
    assert response.status_code == 404
    # a sales rep registers their own absence only
    client.force_login(o.sales1)
    response = client.post(
        "/api/v1/org/absences",
        {"user": "sales2", "start": "2026-12-05T09:00:00+08:00", "end": "2026-12-06T09:00:00+08:00"},
        content_type="application/json",
    )
    assert response.status_code == 404
    response = client.post(
        "/api/v1/org/absences",
        {"start": "2026-12-05T09:00:00+08:00", "end": "2026-12-06T09:00:00+08:00"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert {a["user"] for a in client.get("/api/v1/org/absences").json()["items"]} == {"sales1"}
