"""The Django admin is off by default; when on it is read-only and signs in through Kehu's throttled login."""

import pytest
from django.contrib import admin

from kehu.core.models import Region

pytestmark = pytest.mark.django_db


def test_admin_is_not_mounted_by_default(client):
    assert client.get("/django-admin/").status_code == 404


def test_admin_models_are_read_only_and_login_redirects():
    from django.test import RequestFactory

    from kehu.core.models.org import RoleCode
    from kehu.core.tests.factories import user_with

    request = RequestFactory().get("/django-admin/")
    request.user = user_with(RoleCode.SYSADMIN, is_superuser=True, is_staff=True)
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "core":
            continue
        assert not model_admin.has_add_permission(request), model
        assert not model_admin.has_change_permission(request), model
        assert not model_admin.has_delete_permission(request), model
    response = admin.site.login(RequestFactory().get("/django-admin/login/?next=/django-admin/"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert Region in admin.site._registry
