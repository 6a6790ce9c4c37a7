"""The API: token sign-in, token list/revoke, who-am-I, CSRF for session calls, and the error format."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from kehu.core.models import ApiToken, LoginAttempt
from kehu.core.models.org import RoleCode
from kehu.core.tests.factories import PASSWORD, DepartmentFactory, UserFactory, user_with

pytestmark = pytest.mark.django_db

KEYS = {"code", "message", "detail"}


def _post(client: Client, url: str, body: object, **extra: str):
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


def _token(client: Client, user, name: str = "脚本") -> str:
    response = _post(
        client, "/api/v1/auth/tokens", {"username": user.username, "password": PASSWORD, "name": name}
    )
    assert response.status_code == 201, response.content
    return response.json()["token"]


def _bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == KEYS
    assert isinstance(body["message"], str) and body["message"]
    if code:
        assert body["code"] == code
    return body


# --- tokens ----------------------------------------------------------------------------------------------------


def test_create_token_with_password_then_use_it(client):
    user = user_with(RoleCode.SALES_REP, department=DepartmentFactory(name="华东销售部"), language="en")
    response = _post(
        client, "/api/v1/auth/tokens", {"username": user.username, "password": PASSWORD, "name": "ERP"}
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "id", "name"} and body["name"] == "ERP"
    assert body["token"].startswith("kehu_")
    row = ApiToken.objects.get(pk=body["id"])
    assert row.user == user and row.key_hash != body["token"]  # only the digest is stored
    attempt = LoginAttempt.objects.get()
    assert attempt.succeeded and attempt.channel == "api"

    me = Client().get("/api/v1/auth/me", **_bearer(body["token"]))
    assert me.status_code == 200
    data = me.json()
    assert data["username"] == user.username and data["language"] == "en"
    assert data["roles"] == [{"code": RoleCode.SALES_REP, "name": str(RoleCode.SALES_REP.label)}]
    assert data["department"]["name"] == "华东销售部"


def test_token_name_defaults_and_me_without_department(client):
    user = user_with(RoleCode.SALES_REP)
    response = _post(client, "/api/v1/auth/tokens", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 201 and response.json()["name"]
    me = Client().get("/api/v1/auth/me", **_bearer(response.json()["token"])).json()
    assert me["department"] is None and me["language"] == "zh-hans"


def test_wrong_password_is_401_and_recorded(client):
    user = user_with(RoleCode.SALES_REP)
    response = _post(client, "/api/v1/auth/tokens", {"username": user.username, "password": "nope"})
    body = _assert_error(response, 401, "unauthenticated")
    assert body["detail"] == {"field": "password", "rule": "credentials"}
    assert LoginAttempt.objects.filter(succeeded=False, channel="api").count() == 1
    assert not ApiToken.objects.exists()


def test_list_own_tokens_admin_sees_all(client):
    sales = user_with(RoleCode.SALES_REP)
    other = user_with(RoleCode.SALES_REP)
    admin = user_with(RoleCode.SYSADMIN)
    t_sales = _token(client, sales, "a")
    _token(client, other, "b")
    t_admin = _token(client, admin, "c")
    own = Client().get("/api/v1/auth/tokens", **_bearer(t_sales)).json()
    assert [t["name"] for t in own] == ["a"] and own[0]["user"] == sales.username
    assert "key_hash" not in own[0] and "token" not in own[0]
    everyone = Client().get("/api/v1/auth/tokens", **_bearer(t_admin)).json()
    assert {t["name"] for t in everyone} == {"a", "b", "c"}


def test_revoke_own_token_then_it_no_longer_works(client):
    user = user_with(RoleCode.SALES_REP)
    keep = _token(client, user, "keep")
    gone = _token(client, user, "gone")
    gone_id = ApiToken.objects.get(name="gone").pk
    response = Client().delete(f"/api/v1/auth/tokens/{gone_id}", **_bearer(keep))
    assert response.status_code == 200 and response.json()["revoked_at"]
    _assert_error(Client().get("/api/v1/auth/me", **_bearer(gone)), 401, "unauthenticated")
    assert Client().get("/api/v1/auth/me", **_bearer(keep)).status_code == 200


def test_revoke_twice_is_409(client):
    user = user_with(RoleCode.SALES_REP)
    keep = _token(client, user)
    row = ApiToken.objects.get()
    assert Client().delete(f"/api/v1/auth/tokens/{row.pk}", **_bearer(keep)).status_code == 200
    # the token is revoked: use a second one to try again
    again = _token(client, user, "second")
    body = _assert_error(Client().delete(f"/api/v1/auth/tokens/{row.pk}", **_bearer(again)), 409, "conflict")
    assert body["detail"] == {"field": "token", "rule": "already_revoked"}


def test_other_users_token_is_404(client):
    mine = _token(client, user_with(RoleCode.SALES_REP))
    _token(client, user_with(RoleCode.SALES_REP), "theirs")
    theirs = ApiToken.objects.get(name="theirs")
    _assert_error(Client().delete(f"/api/v1/auth/tokens/{theirs.pk}", **_bearer(mine)), 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_admin_revokes_anyones_token(client):
    _token(client, user_with(RoleCode.SALES_REP), "theirs")
    admin_token = _token(client, user_with(RoleCode.SYSADMIN))
    theirs = ApiToken.objects.get(name="theirs")
    assert Client().delete(f"/api/v1/auth/tokens/{theirs.pk}", **_bearer(admin_token)).status_code == 200


def test_inactive_users_token_is_refused(client):
    user = user_with(RoleCode.SALES_REP)
    token = _token(client, user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    _assert_error(Client().get("/api/v1/auth/me", **_bearer(token)), 401)


# --- session auth and CSRF --------------------------------------------------------------------------------------


def _csrf_client(user) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/").status_code == 200  # sets the CSRF cookie
    return client, client.cookies["csrftoken"].value


def test_session_get_works_without_csrf():
    user = user_with(RoleCode.SALES_REP)
    client, _csrf = _csrf_client(user)
    assert client.get("/api/v1/auth/me").json()["username"] == user.username


def test_session_unsafe_call_needs_csrf_token():
    user = user_with(RoleCode.SALES_REP)
    client, csrf = _csrf_client(user)
    row = ApiToken.objects.create(user=user, name="x", prefix="kehu_abc", key_hash="0" * 64)
    _assert_error(client.delete(f"/api/v1/auth/tokens/{row.pk}"), 403, "csrf_failed")
    row.refresh_from_db()
    assert row.revoked_at is None
    response = client.delete(f"/api/v1/auth/tokens/{row.pk}", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200


def test_bearer_unsafe_call_needs_no_csrf():
    user = user_with(RoleCode.SALES_REP)
    token = _token(Client(), user)
    row = ApiToken.objects.create(user=user, name="x", prefix="kehu_abc", key_hash="1" * 64)
    client = Client(enforce_csrf_checks=True)
    assert client.delete(f"/api/v1/auth/tokens/{row.pk}", **_bearer(token)).status_code == 200


def test_token_endpoint_needs_no_csrf():
    user = user_with(RoleCode.SALES_REP)
    client = Client(enforce_csrf_checks=True)
    response = _post(client, "/api/v1/auth/tokens", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 201


# --- the error format -------------------------------------------------------------------------------------------


def test_400_on_a_malformed_body(client):
    body = _assert_error(_post(client, "/api/v1/auth/tokens", {"username": "x"}), 400, "invalid")
    assert body["detail"]["errors"][0]["field"] == "password"
    _assert_error(client.post("/api/v1/auth/tokens", data="{not json", content_type="application/json"), 400)


def test_400_from_a_service_names_field_and_rule(client):
    user = user_with(RoleCode.SALES_REP)
    response = _post(
        client, "/api/v1/auth/tokens", {"username": user.username, "password": PASSWORD, "name": "x" * 101}
    )
    body = _assert_error(response, 400, "invalid")
    assert body["detail"] == {"field": "name", "rule": "max_length"}


def test_401_without_credentials(client):
    _assert_error(client.get("/api/v1/auth/me"), 401, "unauthenticated")
    _assert_error(
        client.get("/api/v1/auth/me", HTTP_AUTHORIZATION="Bearer kehu_wrong"), 401, "unauthenticated"
    )
    _assert_error(client.get("/api/v1/auth/tokens"), 401, "unauthenticated")


def test_403_when_the_action_is_not_allowed(client):
    roleless = UserFactory()
    response = _post(client, "/api/v1/auth/tokens", {"username": roleless.username, "password": PASSWORD})
    _assert_error(response, 403, "forbidden")


def test_404_for_unknown_api_urls(client):
    body = _assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert body["detail"] == {"path": "/api/v1/no-such-thing"}
    _assert_error(client.get("/api/v1/auth/tokens/x/y"), 404, "not_found")


def test_404_for_a_missing_record(client):
    token = _token(client, user_with(RoleCode.SALES_REP))
    _assert_error(Client().delete("/api/v1/auth/tokens/999999", **_bearer(token)), 404, "not_found")


def test_500_hides_the_trace(client, monkeypatch):
    from kehu.core.api import auth as auth_api

    def boom(**kwargs):
        raise RuntimeError("secret internals /srv/kehu/settings.py")

    monkeypatch.setattr(auth_api.tokens, "token_list", boom)
    token = _token(client, user_with(RoleCode.SALES_REP))
    response = Client(raise_request_exception=False).get("/api/v1/auth/tokens", **_bearer(token))
    body = _assert_error(response, 500, "server_error")
    assert (
        "secret internals" not in response.content.decode() and "Traceback" not in response.content.decode()
    )
    assert body["detail"] == {}


def test_openapi_docs_are_local(client):
    response = client.get("/api/docs")
    assert response.status_code == 302 and response["Location"] == "/api/v1/docs"
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    # the CSRF token in the page is random text: take it out before looking for CDN names
    html = re.sub(r'data-csrf-token="[^"]*"', "", page.content.decode()).lower()
    for external in ("cdn", "unpkg", "jsdelivr", "googleapis"):
        assert external not in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/auth/tokens" in schema["paths"] and "/api/v1/auth/me" in schema["paths"]
