"""Sign-in security: throttling and lock-out (web and API), password hashing, production settings."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from kehu.core import security
from kehu.core.errors import Unauthenticated
from kehu.core.models import AuditEntry, LoginAttempt
from kehu.core.models.org import RoleCode
from kehu.core.tests.factories import PASSWORD, user_with

BASE_DIR = Path(settings.BASE_DIR)
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(monkeypatch):
    """Moves ``timezone.now`` for the code under test: ``clock.at(minutes)`` sets T0 + minutes."""

    class Clock:
        now = T0

        def at(self, minutes: float) -> dt.datetime:
            self.now = T0 + dt.timedelta(minutes=minutes)
            return self.now

    c = Clock()
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


@pytest.fixture
def limits(settings):
    settings.KEHU_LOGIN_MAX_FAILURES = 3
    settings.KEHU_LOGIN_WINDOW_MINUTES = 10
    settings.KEHU_LOGIN_LOCKOUT_MINUTES = 15
    return settings


def _fail(username: str, ip: str = "10.0.0.1") -> None:
    with pytest.raises(Unauthenticated):
        security.sign_in(None, username, "wrong-password", ip=ip)


# --- lock_for ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lock_after_max_failures_within_the_window(limits, clock):
    user = user_with(RoleCode.SALES_REP)
    for minute in (0, 4, 8):
        clock.at(minute)
        _fail(user.username)
        assert (security.lock_for(user.username, None, clock.now) is not None) == (minute == 8)
    lock = security.lock_for(
        user.username.upper(), None, clock.at(9)
    )  # user names compare case-insensitively
    assert lock is not None and lock.until == T0 + dt.timedelta(minutes=8 + 15)


@pytest.mark.django_db
def test_failures_spread_wider_than_the_window_do_not_lock(limits, clock):
    user = user_with(RoleCode.SALES_REP)
    for minute in (0, 6, 12):  # first and third are 12 minutes apart: window is 10
        clock.at(minute)
        _fail(user.username)
    assert security.lock_for(user.username, None, clock.now) is None
    clock.at(13)
    _fail(user.username)  # 6, 12, 13 are within 10 minutes
    assert security.lock_for(user.username, None, clock.now) is not None


@pytest.mark.django_db
def test_lock_ends_after_the_lockout_period_from_the_last_failure(limits, clock):
    user = user_with(RoleCode.SALES_REP)
    for minute in (0, 1, 2):
        clock.at(minute)
        _fail(user.username)
    assert security.lock_for(user.username, None, T0 + dt.timedelta(minutes=16, seconds=59)) is not None
    assert security.lock_for(user.username, None, T0 + dt.timedelta(minutes=17)) is None
    clock.at(17)
    assert security.sign_in(None, user.username, PASSWORD, ip="10.0.0.1") == user


@pytest.mark.django_db
def test_refused_attempts_while_locked_do_not_extend_the_lock(limits, clock):
    user = user_with(RoleCode.SALES_REP)
    for minute in (0, 1, 2):
        clock.at(minute)
        _fail(user.username)
    clock.at(10)
    with pytest.raises(security.LockedOut):
        security.sign_in(None, user.username, "wrong-password", ip="10.0.0.1")
    assert LoginAttempt.objects.count() == 3
    clock.at(17)
    assert security.sign_in(None, user.username, PASSWORD, ip="10.0.0.1") == user


@pytest.mark.django_db
def test_a_success_resets_the_count(limits, clock):
    user = user_with(RoleCode.SALES_REP)
    clock.at(0)
    _fail(user.username)
    clock.at(1)
    _fail(user.username)
    clock.at(2)
    security.sign_in(None, user.username, PASSWORD, ip="10.0.0.1")
    clock.at(3)
    _fail(user.username)
    clock.at(4)
    _fail(user.username)
    assert security.lock_for(user.username, None, clock.now) is None
    clock.at(5)
    _fail(user.username)
    assert security.lock_for(user.username, None, clock.now) is not None


@pytest.mark.django_db
def test_locked_user_is_refused_even_with_the_right_password(limits, clock):
    user = user_with(RoleCode.SALES_REP)
    for minute in (0, 1, 2):
        clock.at(minute)
        _fail(user.username)
    clock.at(5)
    with pytest.raises(security.LockedOut) as err:
        security.sign_in(None, user.username, PASSWORD, ip="10.0.0.2")
    assert err.value.status == 429 and err.value.code == "locked_out"
    assert "12 分钟" in str(err.value.message)  # 2 + 15 - 5
    assert err.value.as_dict()["detail"]["minutes"] == 12


@pytest.mark.django_db
def test_minutes_left_rounds_up():
    lock = security.Lock(until=T0 + dt.timedelta(minutes=3, seconds=1))
    assert security.minutes_left(lock, T0) == 4
    assert security.minutes_left(security.Lock(until=T0 + dt.timedelta(minutes=3)), T0) == 3
    assert security.minutes_left(security.Lock(until=T0 + dt.timedelta(seconds=5)), T0) == 1


@pytest.mark.django_db
def test_per_address_lock_uses_a_higher_threshold(limits, clock):
    limits.KEHU_LOGIN_MAX_FAILURES_PER_ADDRESS = threshold = 12
    clock.at(0)
    for n in range(threshold - 1):
        _fail(f"guess{n}", ip="10.9.9.9")  # a different name each time: no name is locked
    assert security.lock_for("someone", "10.9.9.9", clock.now) is None
    _fail("guess-last", ip="10.9.9.9")
    assert security.lock_for("someone", "10.9.9.9", clock.now) is not None
    assert security.lock_for("someone", "10.9.9.8", clock.now) is None  # other addresses are unaffected
    user = user_with(RoleCode.SALES_REP)
    with pytest.raises(security.LockedOut):
        security.sign_in(None, user.username, PASSWORD, ip="10.9.9.9")
    assert security.lock_for("someone", "10.9.9.9", clock.at(16)) is None


@pytest.mark.django_db
def test_failures_and_successes_are_audited(limits, clock):
    user = user_with(RoleCode.SALES_REP)
    _fail(user.username)
    security.sign_in(None, user.username, PASSWORD, ip="10.0.0.1", channel="api")
    actions = list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-2:] == ["login_failed", "login"]


# --- web and API both -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_web_login_locks_and_shows_minutes_left(limits, clock):
    user = user_with(RoleCode.SALES_REP)
    client = Client()
    for minute in (0, 1, 2):
        clock.at(minute)
        response = client.post("/login/", {"username": user.username, "password": "wrong-password"})
        assert response.status_code == 200 and "用户名或密码错误" in response.content.decode()
    clock.at(7)
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    page = response.content.decode()
    assert response.status_code == 200 and "账户已临时锁定" in page and "10 分钟" in page
    assert "_auth_user_id" not in client.session
    clock.at(18)
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.django_db
def test_api_token_endpoint_locks_with_429(limits, clock):
    user = user_with(RoleCode.SALES_REP)
    client = Client()

    def post(password: str):
        return client.post(
            "/api/v1/auth/tokens",
            data=json.dumps({"username": user.username, "password": password}),
            content_type="application/json",
        )

    for minute in (0, 1, 2):
        clock.at(minute)
        assert post("wrong-password").status_code == 401
    clock.at(3)
    response = post(PASSWORD)
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"code", "message", "detail"} and body["code"] == "locked_out"
    assert body["detail"]["minutes"] == 14 and body["detail"]["rule"] == "login_throttle"
    clock.at(17)
    assert post(PASSWORD).status_code == 201


@pytest.mark.django_db
def test_web_and_api_failures_count_together(limits, clock):
    user = user_with(RoleCode.SALES_REP)
    client = Client()
    client.post("/login/", {"username": user.username, "password": "x1"})
    client.post(
        "/api/v1/auth/tokens",
        data=json.dumps({"username": user.username, "password": "x2"}),
        content_type="application/json",
    )
    client.post("/login/", {"username": user.username, "password": "x3"})
    assert set(LoginAttempt.objects.values_list("channel", flat=True)) == {"web", "api"}
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert "账户已临时锁定" in response.content.decode()


# --- hashing, secrets, production settings ----------------------------------------------------------------------


def _settings_subprocess(
    env_extra: dict[str, str], code: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEHU_", "DATABASE_URL", "DJANGO_"))}
    env.update(
        {"KEHU_VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "kehu.settings", **env_extra}
    )
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def _production_env() -> dict[str, str]:
    return {
        "KEHU_ENV": "production",
        "KEHU_SECRET_KEY": secrets.token_urlsafe(60),
        "KEHU_ALLOWED_HOSTS": "kehu.example.com",
    }


def test_production_passes_check_deploy(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEHU_", "DATABASE_URL", "DJANGO_"))}
    env.update({"KEHU_VAR_DIR": str(tmp_path / "var"), **_production_env()})
    result = subprocess.run(
        [sys.executable, "-m", "kehu", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings(tmp_path):
    code = (
        "import json; from django.conf import settings as s; print(json.dumps({"
        "'hashers': s.PASSWORD_HASHERS, 'debug': s.DEBUG, 'secure_cookies': [s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_HTTPONLY, s.SESSION_COOKIE_HTTPONLY], 'hsts': s.SECURE_HSTS_SECONDS,"
        "'ssl': s.SECURE_SSL_REDIRECT, 'hosts': s.ALLOWED_HOSTS}))"
    )
    result = _settings_subprocess(_production_env(), code, tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["hashers"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert not any("MD5" in h for h in data["hashers"])
    assert data["debug"] is False and all(data["secure_cookies"]) and data["hsts"] >= 31536000
    assert data["ssl"] is True and data["hosts"] == ["kehu.example.com"]


def test_argon2_is_the_default_outside_tests(tmp_path):
    code = "from django.conf import settings as s; print(s.PASSWORD_HASHERS[0])"
    result = _settings_subprocess({"KEHU_ENV": "development"}, code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("Argon2PasswordHasher")


def test_argon2_hashes_and_verifies():
    from django.contrib.auth.hashers import check_password, make_password

    encoded = make_password("kehu-Pass-2026", hasher="argon2")
    assert encoded.startswith("argon2$") and check_password("kehu-Pass-2026", encoded)


def test_secret_key_is_generated_into_var_when_unset(tmp_path):
    code = "from django.conf import settings as s; print(len(s.SECRET_KEY))"
    result = _settings_subprocess({"KEHU_ENV": "development"}, code, tmp_path)
    assert result.returncode == 0, result.stderr
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert int(result.stdout.strip().splitlines()[-1]) >= 50
    again = _settings_subprocess(
        {"KEHU_ENV": "development"}, "from django.conf import settings as s; print(s.SECRET_KEY)", tmp_path
    )
    assert again.stdout.strip().splitlines()[-1] == key_file.read_text().strip()


def test_no_secret_in_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=BASE_DIR, capture_output=True, text=True)  # noqa: S607
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    files = tracked.stdout.splitlines()
    assert not [f for f in files if f.endswith("secret_key") or f.startswith("var/")]
    ignored = subprocess.run(["git", "check-ignore", "-q", "var/secret_key"], cwd=BASE_DIR)  # noqa: S607
    assert ignored.returncode == 0
    assert "SECRET_KEY = _secret_key()" in (BASE_DIR / "kehu" / "settings.py").read_text()


def test_client_address_behind_a_trusted_proxy(settings):
    from django.test import RequestFactory

    from kehu.core.middleware import client_ip

    settings.KEHU_TRUSTED_PROXIES = ["127.0.0.1"]
    rf = RequestFactory()
    # nginx on the same host forwards the real client
    req = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_ip(req) == "203.0.113.9"
    # a client prepending its own claim cannot choose its address: the last untrusted hop counts
    req = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    assert client_ip(req) == "203.0.113.9"
    # without a trusted proxy in front the header is ignored
    req = rf.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(req) == "198.51.100.7"


@pytest.mark.django_db
def test_concurrent_attempts_count_against_each_other(limits, clock, monkeypatch):
    """Two guesses in flight at once: the second to be recorded sees the first, so a burst cannot slip past the
    check together (limit 3: two earlier failures + one concurrent guess leave no attempt for this request)."""
    user = user_with(RoleCode.SALES_REP)
    clock.at(0)
    _fail(user.username)
    _fail(user.username)
    real_create = LoginAttempt.objects.create

    def create_with_a_concurrent_guess(**kwargs):
        monkeypatch.setattr(LoginAttempt.objects, "create", real_create)
        real_create(**{**kwargs, "succeeded": False})  # another request recorded its guess meanwhile
        return real_create(**kwargs)

    monkeypatch.setattr(LoginAttempt.objects, "create", create_with_a_concurrent_guess)
    with pytest.raises(security.LockedOut):
        security.sign_in(None, user.username, PASSWORD, ip="10.0.0.1")
