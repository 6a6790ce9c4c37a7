"""Test-wide settings: the test environment, a private files directory, browser tests only when asked."""

import os

os.environ["KEHU_ENV"] = "test"

import pytest


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    browser = os.environ.get("KEHU_BROWSER_TESTS") == "1"
    postgres = connection.vendor == "postgresql"
    skip_browser = pytest.mark.skip(reason="browser tests run with KEHU_BROWSER_TESTS=1")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (set KEHU_TEST_DATABASE_URL)")
    for item in items:
        if "browser" in item.keywords and not browser:
            item.add_marker(skip_browser)
        if "postgres" in item.keywords and not postgres:
            item.add_marker(skip_pg)


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.KEHU_FILES_DIR = tmp_path / "files"
    settings.KEHU_LOGIN_MAX_FAILURES = 5


@pytest.fixture(autouse=True)
def _default_language():
    """Requests in a test run in the test's thread and may leave a language active; each test starts and ends in
    the default language (zh-hans)."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database as pytest-django makes it; before it is dropped, other sessions still connected to it (the
    live server's request threads, threads of concurrency tests) are ended, so the drop succeeds on PostgreSQL
    instead of leaving the database behind with a warning."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
