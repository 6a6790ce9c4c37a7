"""Organisation services, pages and API (R-PLT-01, R-PLT-03, R-PLT-10)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from python_calamine import CalamineWorkbook

from kehu.core import audit, org
from kehu.core.errors import NotFound, PermissionDenied, ValidationFailed
from kehu.core.excel import write_xlsx
from kehu.core.models import Absence, Department, Region, User
from kehu.core.models.org import RoleCode as R
from kehu.core.tests.factories import UserFactory
from kehu.core.tests.test_access_matrix import build_org

pytestmark = pytest.mark.django_db

IMPORT_HEADERS = [
    "用户名",
    "姓名",
    "邮箱",
    "电话",
    "部门代码",
    "区域代码",
    "角色",
    "备岗人用户名",
    "初始密码",
]


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def o():
    return build_org()


def _at(days: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


# ------------------------------------------------------------------------------------------------------------
# Users
# ------------------------------------------------------------------------------------------------------------


def test_user_create_and_update_are_audited(o):
    u = org.user_create(
        actor=o.admin,
        username="new1",
        display_name="新人",
        department=o.ec,
        roles=[R.SALES_REP],
        password="Another-pass-2026",
    )
    assert u.check_password("Another-pass-2026") and u.role_codes() == {R.SALES_REP}
    created = audit.history(u).first()
    assert created.action == "create" and created.changes["roles"] == [None, ["sales_rep"]]
    org.user_update(
        actor=o.admin, user_id=u.pk, roles=[R.SALES_REP, R.FINANCE], backup=o.sales1, department=o.north
    )
    entry = audit.history(u).first()
    assert entry.action == "update"
    assert set(entry.changes) == {"roles", "backup", "department"}
    assert entry.changes["roles"] == [["sales_rep"], ["finance", "sales_rep"]]
    # nothing changed -> no entry
    n = audit.history(u).count()
    org.user_update(actor=o.admin, user_id=u.pk, display_name="新人")
    assert audit.history(u).count() == n


def test_user_create_refuses_bad_input(o):
    with pytest.raises(ValidationFailed) as exc:
        org.user_create(actor=o.admin, username="sales1")
    assert exc.value.field == "username" and exc.value.rule == "unique"
    with pytest.raises(ValidationFailed) as exc:
        org.user_create(actor=o.admin, username="bad name!")
    assert exc.value.rule == "format"
    with pytest.raises(ValidationFailed) as exc:
        org.user_create(actor=o.admin, username="x1", roles=["wizard"])
    assert exc.value.field == "roles"
    with pytest.raises(ValidationFailed) as exc:
        org.user_create(actor=o.admin, username="x2", password="123")
    assert exc.value.field == "password"
    with pytest.raises(PermissionDenied):
        org.user_create(actor=o.salesmgr, username="x3")
    assert not User.objects.filter(username__startswith="x").exists()


def test_backup_refuses_self_and_inactive(o):
    with pytest.raises(ValidationFailed) as exc:
        org.user_update(actor=o.admin, user_id=o.sales1.pk, backup=o.sales1)
    assert exc.value.rule == "not_self"
    gone = UserFactory(username="gone", is_active=False)
    with pytest.raises(ValidationFailed) as exc:
        org.user_update(actor=o.admin, user_id=o.sales1.pk, backup=gone)
    assert exc.value.rule == "active"


def test_deactivate_refused_while_heading_a_department(o):
    Department.objects.filter(pk=o.mkt.pk).update(head=o.salesmgr)
    with pytest.raises(ValidationFailed) as exc:
        org.user_deactivate(actor=o.admin, user_id=o.salesmgr.pk)
    assert "营销部" in str(exc.value.message) and exc.value.rule == "heads_department"
    u = org.user_deactivate(actor=o.admin, user_id=o.sales2.pk, reason="离职")
    assert not u.is_active and u.left_at is not None
    assert audit.history(u).first().reason == "离职"
    with pytest.raises(ValidationFailed):
        org.user_deactivate(actor=o.admin, user_id=o.admin.pk)


def test_admin_password_reset(o):
    org.user_set_password(actor=o.admin, user_id=o.sales1.pk, password="Reset-pass-2026")
    o.sales1.refresh_from_db()
    assert o.sales1.check_password("Reset-pass-2026")
    assert "Reset" not in str(audit.history(o.sales1).first().changes)
    with pytest.raises(PermissionDenied):
        org.user_set_password(actor=o.salesmgr, user_id=o.sales1.pk, password="Reset-pass-2026")


def test_user_list_filters(o):
    names = lambda **f: set(org.user_list(actor=o.admin, filters=f).values_list("username", flat=True))  # noqa: E731
    assert names(department=o.mkt.pk) == {"salesmgr", "sales1", "sales2", "sales3"}
    assert names(q="sales", role=R.SALES_REP) == {"sales1", "sales2", "sales3"}
    assert names(region=o.sales3.region_id) == {"sales3", "regional"}
    User.objects.filter(pk=o.sales2.pk).update(is_active=False)
    assert "sales2" not in names(active="1") and names(active="0") == {"sales2"}


# ------------------------------------------------------------------------------------------------------------
# Departments and regions
# ------------------------------------------------------------------------------------------------------------


def test_department_tree_move_keeps_paths(o):
    d = org.department_create(actor=o.admin, code="MKT-EC-1", name="一组", parent=o.ec)
    assert d.path == f"{o.ec.path}{d.pk}/"
    org.department_update(actor=o.admin, department_id=o.ec.pk, parent=o.crm)
    d.refresh_from_db()
    o.ec.refresh_from_db()
    assert o.ec.path == f"{o.crm.path}{o.ec.pk}/" and d.path == f"{o.ec.path}{d.pk}/"
    entry = audit.history(o.ec).first()
    assert entry.changes["parent"][1] == o.crm.pk
    with pytest.raises(ValidationFailed) as exc:
        org.department_update(actor=o.admin, department_id=o.crm.pk, parent=d)
    assert exc.value.rule == "tree_cycle"
    with pytest.raises(ValidationFailed):
        org.department_update(actor=o.admin, department_id=o.crm.pk, parent=o.crm)
    with pytest.raises(ValidationFailed) as exc:
        org.department_create(actor=o.admin, code="mkt", name="重复")
    assert exc.value.rule == "unique"
    with pytest.raises(NotFound):
        org.department_update(actor=o.admin, department_id=999999, name="x")
    with pytest.raises(PermissionDenied):
        org.department_create(actor=o.salesmgr, code="Z", name="z")


def test_region_create_update(o):
    r = org.region_create(actor=o.admin, code="SOUTH", name="华南")
    org.region_update(actor=o.admin, region_id=r.pk, name="华南区", active=False)
    r.refresh_from_db()
    assert r.name == "华南区" and not r.active
    assert audit.history(r).first().changes == {"name": ["华南", "华南区"], "active": [True, False]}
    with pytest.raises(ValidationFailed):
        org.region_create(actor=o.admin, code="east", name="x")


# ------------------------------------------------------------------------------------------------------------
# Absences and AB backup
# ------------------------------------------------------------------------------------------------------------


def test_absence_rules_and_acting_backup(o):
    org.user_update(actor=o.admin, user_id=o.sales1.pk, backup=o.sales2)
    o.sales1.refresh_from_db()
    with pytest.raises(ValidationFailed) as exc:
        org.absence_create(actor=o.sales1, user=o.sales1, start=_at(1), end=_at(0.5))
    assert exc.value.rule == "after_start"
    a = org.absence_create(actor=o.sales1, user=o.sales1, start=_at(-1), end=_at(2), reason="年假")
    with pytest.raises(ValidationFailed) as exc:
        org.absence_create(actor=o.sales1, user=o.sales1, start=_at(1), end=_at(3))
    assert exc.value.rule == "overlap"
    assert org.acting_backup(o.sales1) == o.sales2
    assert list(org.users_backed_by(o.sales2)) == [o.sales1]
    assert org.acting_backup(o.sales1, _at(5)) is None  # after the absence
    assert org.acting_backup(o.sales2) is None  # present
    # the backup absent as well: nobody to hand over to
    org.absence_create(actor=o.admin, user=o.sales2, start=_at(-0.5), end=_at(0.5))
    assert org.acting_backup(o.sales1) is None
    assert list(org.users_backed_by(o.sales2)) == []
    org.absence_cancel(actor=o.sales1, absence_id=a.pk)
    assert org.acting_backup(o.sales1) is None
    with pytest.raises(ValidationFailed):
        org.absence_cancel(actor=o.sales1, absence_id=a.pk)
    # a cancelled absence no longer blocks a new one
    org.absence_create(actor=o.sales1, user=o.sales1, start=_at(1), end=_at(3))


def test_absence_scope(o):
    org.absence_create(actor=o.salesmgr, user=o.sales3, start=_at(1), end=_at(2))
    with pytest.raises(NotFound):
        org.absence_create(actor=o.salesmgr, user=o.credit1, start=_at(1), end=_at(2))
    with pytest.raises(NotFound):
        org.absence_create(actor=o.sales1, user=o.sales2, start=_at(1), end=_at(2))
    other = Absence.objects.get(user=o.sales3)
    with pytest.raises(NotFound):
        org.absence_cancel(actor=o.sales1, absence_id=other.pk)
    assert org.absence_list(actor=o.sales1).count() == 0
    assert org.absence_list(actor=o.salesmgr).count() == 1


# ------------------------------------------------------------------------------------------------------------
# Import users
# ------------------------------------------------------------------------------------------------------------


def _xlsx(rows, headers=IMPORT_HEADERS, name="users.xlsx"):
    return SimpleUploadedFile(name, write_xlsx(headers, rows))


def test_import_users_success_with_generated_passwords(o):
    rows = [
        ["imp1", "导入一", "imp1@example.com", "", "MKT-EC", "EAST", "sales_rep", "imp2", ""],
        ["imp2", "导入二", "", "138", "mkt-ec", "", "销售代表, 财务", "", "Given-pass-2026"],
    ]
    report = org.user_import(actor=o.admin, file=_xlsx(rows))
    assert report.ok, [r.errors for r in report.rows]
    assert report.created == 2
    imp1 = User.objects.get(username="imp1")
    imp2 = User.objects.get(username="imp2")
    assert imp1.department == o.ec and imp1.region.code == "EAST" and imp1.backup == imp2
    assert imp2.role_codes() == {"sales_rep", "finance"} and imp2.check_password("Given-pass-2026")
    generated = {r.raw["用户名"]: r.note for r in report.rows if r.note}
    assert set(generated) == {"imp1"} and imp1.check_password(generated["imp1"])


def test_import_users_one_bad_row_imports_nothing(o):
    rows = [
        ["ok1", "正常", "", "", "MKT", "", "sales_rep", "", ""],
        ["sales1", "已存在", "", "", "", "", "", "", ""],
        ["ok2", "", "", "", "NOPE", "", "巫师", "", ""],
        ["ok1", "重复", "", "", "", "", "", "", ""],
        ["ok3", "备岗", "", "", "", "", "", "nobody", ""],
    ]
    report = org.user_import(actor=o.admin, file=_xlsx(rows))
    assert not report.ok
    assert not User.objects.filter(username__startswith="ok").exists()
    errors = {r.number: r.errors for r in report.rows}
    assert errors[2] == []
    assert errors[3][0][0] == "用户名" and "已存在" in errors[3][0][1]
    cols = {c for c, _m in errors[4]}
    assert cols == {"姓名", "部门代码", "角色"}
    assert errors[5] == [("用户名", "与第 2 行重复")]
    table = CalamineWorkbook.from_filelike(io.BytesIO(report.report_xlsx())).get_sheet_by_index(0).to_python()
    assert table[0][-1] == "错误" and table[1][-1] == "" and "已存在" in table[2][-1]


def test_import_missing_backup_is_a_row_error(o):
    report = org.user_import(actor=o.admin, file=_xlsx([["ok3", "备岗", "", "", "", "", "", "nobody", ""]]))
    assert not report.ok and report.rows[0].errors[0][0] == "备岗人用户名"
    assert not User.objects.filter(username="ok3").exists()


def test_import_page_flow(client, o):
    client.force_login(o.admin)
    response = client.get("/system/users/import/template/")
    table = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert table[0] == IMPORT_HEADERS
    # wrong file type: a clear message, nothing else
    response = client.post("/system/users/import/", {"file": SimpleUploadedFile("u.csv", b"a,b")})
    assert response.status_code == 200 and "xlsx" in response.content.decode()
    # bad rows: the report is downloadable
    bad = _xlsx([["sales1", "重复", "", "", "", "", "", "", ""]])
    response = client.post("/system/users/import/", {"file": bad})
    assert "import-failed" in response.content.decode()
    report = client.get("/system/users/import/?report=xlsx")
    assert report.status_code == 200 and report.content[:2] == b"PK"
    # success: generated passwords shown once
    good = _xlsx([["pg1", "页面导入", "", "", "MKT", "", "sales_rep", "", ""]])
    response = client.post("/system/users/import/", {"file": good})
    body = response.content.decode()
    assert "import-ok" in body
    assert User.objects.filter(username="pg1").exists()
    assert client.get("/system/users/import/?report=xlsx").status_code == 404


# ------------------------------------------------------------------------------------------------------------
# Pages and API
# ------------------------------------------------------------------------------------------------------------


def test_user_pages_end_to_end(client, o):
    client.force_login(o.admin)
    response = client.post(
        "/system/users/new/",
        {
            "username": "web1",
            "display_name": "网页",
            "roles": ["sales_rep"],
            "department": o.ec.pk,
            "email": "web1@example.com",
        },
    )
    assert response.status_code == 302
    web1 = User.objects.get(username="web1")
    # a service error shows on the form and keeps the input
    response = client.post("/system/users/new/", {"username": "web1", "display_name": "再来"})
    assert response.status_code == 200 and "已存在" in response.content.decode()
    response = client.post(
        f"/system/users/{web1.pk}/edit/",
        {
            "display_name": "网页用户",
            "roles": ["sales_rep", "finance"],
            "department": o.north.pk,
            "backup": o.sales1.pk,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    web1.refresh_from_db()
    assert web1.backup == o.sales1 and web1.department == o.north
    response = client.post(
        f"/system/users/{web1.pk}/edit/", {"display_name": "x", "backup": web1.pk, "is_active": "on"}
    )
    assert response.status_code == 200  # self is not offered as a choice
    detail = client.get(f"/system/users/{web1.pk}/")
    body = detail.content.decode()
    assert detail.status_code == 200 and "网页用户" in body and "变更历史" in body
    response = client.post(f"/system/users/{web1.pk}/password/", {"password": "Web-reset-2026"})
    assert response.status_code == 302
    web1.refresh_from_db()
    assert web1.check_password("Web-reset-2026")
    client.post(f"/system/users/{web1.pk}/deactivate/")
    web1.refresh_from_db()
    assert not web1.is_active


def test_department_and_region_pages(client, o):
    client.force_login(o.admin)
    response = client.get("/system/departments/")
    body = response.content.decode()
    assert body.index("营销部") < body.index("电商组") < body.index("北方组")
    response = client.post(
        "/system/departments/new/",
        {"code": "QA", "name": "质量部", "kind": "quality", "parent": o.hq.pk, "active": "on"},
    )
    assert response.status_code == 302
    qa = Department.objects.get(code="QA")
    assert qa.path == f"{o.hq.path}{qa.pk}/"
    response = client.post(
        f"/system/departments/{o.mkt.pk}/edit/",
        {"code": "MKT", "name": "营销部", "kind": "sales", "parent": o.ec.pk, "active": "on"},
    )
    assert response.status_code == 200  # own subtree not offered / refused
    assert client.get("/system/departments/999999/edit/").status_code == 404
    response = client.post("/system/regions/new/", {"code": "SOUTH", "name": "华南", "active": "on"})
    assert response.status_code == 302
    r = Region.objects.get(code="SOUTH")
    assert client.get(f"/system/regions/{r.pk}/edit/").status_code == 200
    assert client.get("/system/regions/?export=xlsx").status_code == 200
    assert client.get("/system/departments/?export=xlsx").status_code == 200


def test_absence_page_shows_acting_backup(client, o):
    org.user_update(actor=o.admin, user_id=o.sales1.pk, backup=o.sales2)
    client.force_login(o.sales1)
    fmt = "%Y-%m-%dT%H:%M"
    start, end = timezone.localtime(_at(-1)), timezone.localtime(_at(1))
    response = client.post(
        "/system/absences/new/",
        {"user": o.sales1.pk, "start": start.strftime(fmt), "end": end.strftime(fmt), "reason": "出差"},
    )
    assert response.status_code == 302
    body = client.get("/system/absences/").content.decode()
    assert "由 sales2 代理" in body or f"由 {o.sales2.label} 代理" in body
    # overlapping: error on the form
    response = client.post(
        "/system/absences/new/", {"user": o.sales1.pk, "start": start.strftime(fmt), "end": end.strftime(fmt)}
    )
    assert response.status_code == 200 and "重叠" in response.content.decode()
    a = Absence.objects.get(user=o.sales1)
    client.force_login(o.sales3)
    assert client.post(f"/system/absences/{a.pk}/cancel/").status_code == 404
    client.force_login(o.sales1)
    assert client.post(f"/system/absences/{a.pk}/cancel/").status_code == 302
    a.refresh_from_db()
    assert a.cancelled


def test_access_matrix_page(client, o):
    client.force_login(o.admin)
    body = client.get("/system/access/").content.decode()
    assert "org.user.view" in body and 'data-scope="department"' in body
    assert client.get("/system/access/?export=xlsx").status_code == 200


def test_api_users_and_me(client, o):
    client.force_login(o.admin)
    response = client.post(
        "/api/v1/org/users",
        {
            "username": "api1",
            "display_name": "接口",
            "department": "MKT-EC",
            "roles": ["sales_rep"],
            "backup": "sales1",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["department"] == "MKT-EC" and data["backup"] == "sales1" and data["roles"] == ["sales_rep"]
    response = client.patch(
        f"/api/v1/org/users/{data['id']}", {"region": "EAST", "backup": ""}, content_type="application/json"
    )
    assert (
        response.status_code == 200
        and response.json()["region"] == "EAST"
        and response.json()["backup"] is None
    )
    response = client.patch(
        f"/api/v1/org/users/{data['id']}", {"department": "NOPE"}, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["detail"]["field"] == "department"
    response = client.post("/api/v1/org/users", {"username": "api1"}, content_type="application/json")
    assert response.status_code == 400
    assert client.get(f"/api/v1/org/users?department={o.mkt.pk}&role=sales_rep").json()["count"] == 4
    assert len(client.get("/api/v1/org/departments").json()) == 5
    assert len(client.get("/api/v1/org/regions").json()) == 2
    client.force_login(o.sales1)
    me = client.get("/api/v1/org/me").json()
    assert me["username"] == "sales1" and "org.user.manage" not in me["actions"] and me["acting_for"] == []


@pytest.mark.parametrize("n", [5, 50])
def test_list_and_detail_query_counts_bounded(client, o, django_assert_max_num_queries, n):
    """The same bound for 5 and 50 rows: no query per row."""
    for i in range(n):
        u = UserFactory(username=f"bulk{i:03d}", department=o.ec, roles=["sales_rep"], backup=o.sales1)
        Absence.objects.create(user=u, start=_at(i), end=_at(i + 0.5))
        org.user_update(actor=o.admin, user_id=o.sales1.pk, display_name=f"改名{i}")
    for actor in (o.admin, o.salesmgr):
        client.force_login(actor)
        with django_assert_max_num_queries(10):  # + the inbox count of the navigation bar
            assert client.get("/system/users/?size=50").status_code == 200
        with django_assert_max_num_queries(7):
            assert client.get("/system/users/?export=xlsx").status_code == 200
        with django_assert_max_num_queries(8):
            assert client.get("/system/absences/?size=50").status_code == 200
    client.force_login(o.admin)
    with django_assert_max_num_queries(15):  # profile, absences, history, attachments panel, inbox count
        assert client.get(f"/system/users/{o.sales1.pk}/").status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get("/system/departments/").status_code == 200


def test_user_detail_shows_the_attachments_panel_with_upload_for_managers(client):
    from kehu.core.models.org import RoleCode
    from kehu.core.tests.factories import PASSWORD, user_with

    admin = user_with(RoleCode.SYSADMIN, username="adm_att")
    reviewer = user_with(RoleCode.REVIEWER, username="rev_att")
    client.login(username=admin.username, password=PASSWORD)
    html = client.get(f"/system/users/{reviewer.pk}/").content.decode()
    assert "/attachments/upload/core/user/" in html
    client.logout()
    client.login(username=reviewer.username, password=PASSWORD)
    html = client.get(f"/system/users/{reviewer.pk}/").content.decode()
    assert "/attachments/upload/core/user/" not in html  # sees own record, may not upload to it


def test_an_administrator_cannot_deactivate_themself_through_an_update(o):
    from kehu.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as err:
        org.user_update(actor=o.admin, user_id=o.admin.pk, is_active=False)
    assert err.value.field == "is_active" and err.value.rule == "not_self"
