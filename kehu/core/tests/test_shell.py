"""The UI shell: sign-in and sign-out, password change, home page by role, language, health check, static files."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from kehu.core.models import AuditEntry, User
from kehu.core.models.org import RoleCode
from kehu.core.tests.factories import PASSWORD, user_with

pytestmark = pytest.mark.django_db


def _lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "page has no <html lang>"
    return match.group(1)


def _login(client: Client, user, **extra) -> None:
    response = client.post("/login/", {"username": user.username, "password": PASSWORD}, **extra)
    assert response.status_code == 302, response.content.decode()[:500]


# --- sign in and out --------------------------------------------------------------------------------------------


def test_login_page_renders(client):
    response = client.get("/login/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in page and 'name="password"' in page and "csrfmiddlewaretoken" in page
    assert _lang(response) == "zh-Hans" and response["Content-Language"] == "zh-hans"


def test_pages_need_sign_in(client):
    response = client.get("/account/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=/account/")


def test_wrong_password_shows_a_message_and_keeps_the_user_name(client):
    user = user_with(RoleCode.SALES_REP)
    response = client.post("/login/", {"username": user.username, "password": "wrong-password"})
    page = response.content.decode()
    assert response.status_code == 200 and "用户名或密码错误" in page
    assert f'value="{user.username}"' in page and "wrong-password" not in page
    assert "_auth_user_id" not in client.session


def test_empty_form_shows_field_errors(client):
    response = client.post("/login/", {"username": "", "password": ""})
    assert response.status_code == 200 and "is-invalid" in response.content.decode()


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/account/", "/account/"),
        ("/account/tokens/?sort=name", "/account/tokens/?sort=name"),
        ("https://evil.example.com/", "/"),
        ("//evil.example.com/x", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_login_redirects_to_next_only_when_safe(client, next_url, expected):
    user = user_with(RoleCode.SALES_REP)
    response = client.post("/login/", {"username": user.username, "password": PASSWORD, "next": next_url})
    assert response.status_code == 302 and response["Location"] == expected


def test_signed_in_user_visiting_login_goes_home(client):
    client.force_login(user_with(RoleCode.SALES_REP))
    assert client.get("/login/")["Location"] == "/"


def test_logout_is_post_only_and_audited(client):
    user = user_with(RoleCode.SALES_REP)
    client.force_login(user)
    assert client.get("/logout/").status_code == 405
    assert client.session.get("_auth_user_id") == str(user.pk)
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="logout", object_id=str(user.pk)).exists()


def test_logout_needs_csrf():
    user = user_with(RoleCode.SALES_REP)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/logout/").status_code == 403
    assert client.session.get("_auth_user_id") == str(user.pk)


# --- password change --------------------------------------------------------------------------------------------


def test_password_change_wrong_old_password_is_shown_inline(client):
    user = user_with(RoleCode.SALES_REP)
    client.force_login(user)
    response = client.post(
        "/account/password/",
        {
            "old_password": "not-it",
            "new_password1": "Neu-Kennwort-2026",
            "new_password2": "Neu-Kennwort-2026",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200 and "is-invalid" in page
    assert re.search(r'name="old_password"[^>]*is-invalid|is-invalid[^>]*name="old_password"', page)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_mismatch_and_weak_password_rejected(client):
    user = user_with(RoleCode.SALES_REP)
    client.force_login(user)
    for new1, new2 in (("Neu-Kennwort-2026", "Neu-Kennwort-2027"), ("12345678", "12345678")):
        response = client.post(
            "/account/password/", {"old_password": PASSWORD, "new_password1": new1, "new_password2": new2}
        )
        assert response.status_code == 200 and "is-invalid" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_success_is_audited_and_keeps_the_session(client):
    user = user_with(RoleCode.SALES_REP)
    client.force_login(user)
    response = client.post(
        "/account/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "Neu-Kennwort-2026",
            "new_password2": "Neu-Kennwort-2026",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/account/"
    user.refresh_from_db()
    assert user.check_password("Neu-Kennwort-2026")
    entry = AuditEntry.objects.filter(object_id=str(user.pk), action="update").latest("seq")
    assert entry.changes == {"password": ["***", "***"]}
    assert "Neu-Kennwort" not in str(entry.changes)
    assert client.get("/account/").status_code == 200  # still signed in
    fresh = Client()
    assert (
        fresh.post("/login/", {"username": user.username, "password": "Neu-Kennwort-2026"}).status_code == 302
    )


# --- home page, navigation, every page of the shell -------------------------------------------------------------


def _modules(response) -> set[str]:
    return set(re.findall(r'data-module="([^"]+)"', response.content.decode()))


def _urls(*names: str) -> list[str]:
    out = []
    for name in names:
        try:
            out.append(reverse(name))
        except NoReverseMatch:
            continue
    return out


ADMIN_ONLY = ("org_department_list", "org_region_list", "access_matrix", "audit_search", "audit_verify")


def test_home_shows_only_the_modules_the_user_may_open(client):
    sales = user_with(RoleCode.SALES_REP, username="sales1")
    client.force_login(sales)
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "home" in _modules(response) and "audit" not in _modules(response)
    assert 'data-home-module="audit"' not in page
    for url in _urls(*ADMIN_ONLY):
        assert f'href="{url}"' not in page, url

    admin = user_with([RoleCode.SYSADMIN, RoleCode.AUDITOR], username="admin1")
    client.force_login(admin)
    response = client.get("/")
    page = response.content.decode()
    assert {"home", "audit", "system"} <= _modules(response)
    assert 'data-home-module="system"' in page and 'data-home-module="audit"' in page
    for url in _urls(*ADMIN_ONLY):
        assert f'href="{url}"' in page, url


SHELL_PAGES = ["/", "/account/", "/account/password/", "/account/tokens/"]


@pytest.mark.parametrize("url", SHELL_PAGES)
def test_every_shell_page_has_lang_navbar_and_breadcrumb(client, url):
    client.force_login(user_with(RoleCode.SALES_REP))
    response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert _lang(response) == "zh-Hans"
    assert 'class="navbar' in page and "kehu-topbar" in page
    assert 'aria-label="breadcrumb"' in page and "breadcrumb-item" in page
    assert 'id="lang-form"' in page and 'id="logout"' in page


def test_static_files_are_served_locally(client):
    client.force_login(user_with(RoleCode.SALES_REP))
    page = client.get("/").content.decode()
    refs = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert "/static/vendor/bootstrap/bootstrap.min.css" in refs
    assert "/static/vendor/htmx/htmx.min.js" in refs
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)
    for ref in (
        "/static/vendor/bootstrap/bootstrap.min.css",
        "/static/vendor/htmx/htmx.min.js",
        "/static/core/kehu.css",
    ):
        response = client.get(ref)
        assert response.status_code == 200, ref
        b"".join(response.streaming_content) if response.streaming else response.content


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "database": "ok"}


# --- language ---------------------------------------------------------------------------------------------------


def test_default_is_chinese_whatever_the_browser_asks(client):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert _lang(response) == "zh-Hans" and response["Content-Language"] == "zh-hans"


def test_anonymous_switch_uses_the_cookie(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.cookies["kehu_language"].value == "en"
    response = client.get("/login/")
    assert _lang(response) == "en" and response["Content-Language"] == "en"


def test_set_language_rejects_unknown_languages_and_unsafe_next(client):
    response = client.post("/i18n/setlang/", {"language": "xx", "next": "https://evil.example.com/"})
    assert response["Location"] == "/" and "kehu_language" not in client.cookies
    assert client.get("/i18n/setlang/").status_code == 405


def test_switch_persists_on_the_user_and_follows_them_to_a_new_browser(client):
    user = user_with(RoleCode.SALES_REP)
    _login(client, user)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/account/"})
    assert response["Location"] == "/account/"
    user.refresh_from_db()
    assert user.language == "en"
    response = client.get("/account/")
    assert _lang(response) == "en" and response["Content-Language"] == "en"

    fresh = Client()  # no cookie: the language comes with the user
    assert _lang(fresh.get("/login/")) == "zh-Hans"
    _login(fresh, user)
    response = fresh.get("/")
    assert _lang(response) == "en" and response["Content-Language"] == "en"
    # after signing out, this browser keeps showing the user's language
    fresh.post("/logout/")
    assert _lang(fresh.get("/login/")) == "en"


def test_users_language_wins_over_the_cookie(client):
    user = user_with(RoleCode.SALES_REP, language="zh-hans")
    client.cookies["kehu_language"] = "en"
    client.force_login(user)
    assert _lang(client.get("/")) == "zh-Hans"


def test_account_form_saves_the_language(client):
    user = user_with(RoleCode.SALES_REP)
    client.force_login(user)
    response = client.post(
        "/account/", {"display_name": "王五", "email": "w@example.com", "phone": "", "language": "en"}
    )
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).language == "en"
    assert _lang(client.get("/account/")) == "en"
