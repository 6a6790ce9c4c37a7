"""The shared base: list pages (filter, sort, page, export), the module menu, the demo loader, the access layer's
own rules (R-PLT-02, R-PLT-10)."""

from __future__ import annotations

import io

import pytest
from django import forms
from django.test import RequestFactory
from django.utils import timezone
from python_calamine import CalamineWorkbook

from kehu.core import access, demo
from kehu.core.listing import Column, ListPage
from kehu.core.models import AuditEntry, Department, User
from kehu.core.models.org import RoleCode
from kehu.core.navigation import menu_for
from kehu.core.tests.factories import DepartmentFactory, UserFactory, user_with

pytestmark = pytest.mark.django_db


class NameFilter(forms.Form):
    q = forms.CharField(required=False)


def _page(params: dict, n_users: int = 0, per_page: int = 20) -> ListPage:
    for i in range(n_users):
        UserFactory(username=f"u{i:03d}", display_name=f"姓名{i:03d}")
    request = RequestFactory().get("/x/", params)
    return ListPage(
        request,
        User.objects.all(),
        columns=[
            Column("username", "用户名", sort="username"),
            Column("display_name", "姓名", sort="display_name"),
            Column("email", "邮箱"),
        ],
        filter_form=NameFilter,
        apply_filters=lambda qs, f: qs.filter(username__icontains=f["q"]) if "q" in f else qs,
        default_sort="username",
        per_page=per_page,
    )


def test_list_sorts_only_on_declared_columns():
    page = _page({"sort": "-username"}, n_users=3)
    assert [u.username for u in page.page.object_list] == ["u002", "u001", "u000"]
    # email is not sortable and an unknown field must not reach order_by
    page = _page({"sort": "password"})
    assert page.sort == "username"
    page = _page({"sort": "email"})
    assert page.sort == "username"


def test_list_filters_and_pages():
    page = _page({"q": "u01", "page": "1"}, n_users=25)
    assert page.paginator.count == 10
    page = _page({"page": "2"}, per_page=20)
    assert page.page.number == 2 and len(page.page.object_list) == 5
    assert "page" not in page.base_qs
    page = _page({"page": "999"})
    assert page.page.number == page.paginator.num_pages  # out of range falls back to the last page


def test_list_export_has_the_filtered_rows_in_order():
    page = _page({"q": "u00", "sort": "-username", "export": "xlsx"}, n_users=12)
    assert page.wants_export
    response = page.export("users")
    assert response["Content-Disposition"].startswith("attachment")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert rows[0] == ["用户名", "姓名", "邮箱"]
    assert [r[0] for r in rows[1:]] == [f"u00{i}" for i in range(9, -1, -1)]


def test_menu_shows_only_items_the_user_may_open():
    admin = user_with(RoleCode.SYSADMIN)
    rep = user_with(RoleCode.SALES_REP)
    admin_keys = {m["key"] for m in menu_for(admin)}
    rep_keys = {m["key"] for m in menu_for(rep)}
    assert "system" in admin_keys
    assert "audit" not in rep_keys
    rep_system = next((m for m in menu_for(rep) if m["key"] == "system"), None)
    if rep_system is not None:  # a rep may see their own profile, never the admin pages
        assert all("departments" not in i["url"] and "access" not in i["url"] for i in rep_system["items"])


def test_demo_loads_once_with_a_user_per_role():
    ran = demo.load_all()
    assert ran and ran[0] == "org"
    codes = set(User.objects.filter(roles__isnull=False).values_list("roles__code", flat=True))
    assert codes == set(RoleCode.values)
    assert demo.load_all() == []  # second run does nothing
    sales1 = User.objects.get(username="sales1")
    assert sales1.check_password(demo.DEMO_PASSWORD)
    assert sales1.backup is not None and sales1.backup.username == "sales2"
    mkt = Department.objects.get(code="MKT")
    assert Department.objects.get(code="MKT-EC").path.startswith(mkt.path)
    assert AuditEntry.objects.filter(object_type="core.user", action="create").count() == len(demo.USERS)
    # things in flight: a policy change in the process office's inbox, reviewer1 away with a backup
    from kehu.core.org import acting_backup
    from kehu.workflow.selectors import inbox_count

    assert inbox_count(User.objects.get(username="pmo")) == 1
    assert acting_backup(User.objects.get(username="reviewer1"), timezone.now()).username == "quality1"


def test_access_scope_widest_role_wins_and_unknown_action_is_an_error():
    dept = DepartmentFactory(code="S1")
    both = user_with([RoleCode.SALES_REP, RoleCode.SALES_MANAGER], department=dept)
    assert access.scope_for(both, "org.user.view") == access.Scope.DEPARTMENT
    with pytest.raises(KeyError):
        access.scope_for(both, "no.such.action")
    with pytest.raises(ValueError, match="declared twice"):
        access.register({"org.user.view": {}})


def test_inactive_or_anonymous_users_have_no_access():
    from django.contrib.auth.models import AnonymousUser

    u = user_with(RoleCode.SYSADMIN)
    assert access.can(u, "org.user.manage")
    u.is_active = False
    assert not access.can(u, "org.user.manage")
    assert not access.can(AnonymousUser(), "org.user.view")
    with pytest.raises(access.PermissionDenied):
        access.require(AnonymousUser(), "org.user.view")


def test_get_scoped_hides_out_of_scope_rows_as_not_found():
    a = DepartmentFactory(code="A1")
    b = DepartmentFactory(code="B1")
    rep = user_with(RoleCode.SALES_REP, department=a)
    other = user_with(RoleCode.SALES_REP, department=b)
    assert access.get_scoped(rep, "org.user.view", User.objects.all(), pk=rep.pk) == rep
    with pytest.raises(access.NotFound):
        access.get_scoped(rep, "org.user.view", User.objects.all(), pk=other.pk)
    with pytest.raises(access.NotFound):
        access.get_scoped(rep, "org.user.view", User.objects.all(), pk="not-a-number")


def test_createadmin_creates_an_audited_sysadmin(monkeypatch):
    from django.core.management import CommandError, call_command

    from kehu.core.models import AuditEntry

    monkeypatch.setenv("KEHU_ADMIN_PASSWORD", "short")
    with pytest.raises(CommandError):  # the password rules apply
        call_command("createadmin", "boss")
    assert not User.objects.filter(username="boss").exists()
    monkeypatch.setenv("KEHU_ADMIN_PASSWORD", "a-long-enough-Passw0rd")
    call_command("createadmin", "boss", "--name", "老板")
    boss = User.objects.get(username="boss")
    assert boss.has_role(RoleCode.SYSADMIN) and boss.check_password("a-long-enough-Passw0rd")
    assert AuditEntry.objects.filter(
        object_type="core.user", object_id=str(boss.pk), action="create"
    ).exists()
    rep = user_with(RoleCode.SALES_REP)
    call_command("createadmin", rep.username)  # promotes an existing user, password untouched
    rep = User.objects.get(pk=rep.pk)
    assert rep.has_role(RoleCode.SYSADMIN, RoleCode.SALES_REP)


def test_home_system_panel_warns_about_missing_holiday_data(client, monkeypatch):
    import datetime as dt

    from kehu.core import panels
    from kehu.core.tests.factories import PASSWORD

    monkeypatch.setattr(panels.timezone, "localdate", lambda: dt.date(2026, 11, 25))
    admin = user_with(RoleCode.SYSADMIN, username="adm_panel")
    client.login(username=admin.username, password=PASSWORD)
    html = client.get("/").content.decode()
    assert 'data-panel="system"' in html and "2027" in html  # 2027 is past the bundled data
    rep = user_with(RoleCode.SALES_REP, username="rep_panel")
    client.logout()
    client.login(username=rep.username, password=PASSWORD)
    assert 'data-panel="system"' not in client.get("/").content.decode()
