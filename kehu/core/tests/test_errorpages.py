"""Service errors raised in web views become pages with the right status (R-PLT-02: 404, not 403, for records
outside one's scope), never a 500."""

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from kehu.core.errorpages import KehuErrorMiddleware
from kehu.core.errors import Conflict, NotFound, PermissionDenied
from kehu.core.models.org import RoleCode
from kehu.core.tests.factories import user_with

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("exc", "status"),
    [(PermissionDenied(), 403), (NotFound(), 404), (Conflict("已处理", field="x", rule="stale"), 409)],
)
def test_service_errors_render_pages_with_their_status(exc, status):
    request = RequestFactory().get("/x/")
    request.user = user_with(RoleCode.SALES_REP)
    middleware = KehuErrorMiddleware(lambda r: HttpResponse())
    response = middleware.process_exception(request, exc)
    assert response is not None and response.status_code == status
    assert str(exc.message) in response.content.decode()


def test_api_paths_and_other_exceptions_are_left_alone():
    middleware = KehuErrorMiddleware(lambda r: HttpResponse())
    api_request = RequestFactory().get("/api/v1/x")
    assert middleware.process_exception(api_request, NotFound()) is None
    assert middleware.process_exception(HttpRequest(), ValueError("x")) is None


def test_htmx_requests_get_a_fragment():
    request = RequestFactory().get("/x/", HTTP_HX_REQUEST="true")
    request.user = user_with(RoleCode.SALES_REP)
    response = KehuErrorMiddleware(lambda r: HttpResponse()).process_exception(request, NotFound())
    assert response is not None and response.status_code == 404
    assert "<html" not in response.content.decode()


def test_forms_show_corrections_inline_and_raise_refusals():
    from django import forms as djforms

    from kehu.core.errors import ValidationFailed
    from kehu.core.forms import KehuForm

    class F(KehuForm):
        name = djforms.CharField()

    form = F({"name": "x"})
    assert form.is_valid()
    form.add_service_error(ValidationFailed("名称重复", field="name", rule="unique"))
    assert form.errors["name"] == ["名称重复"] and "is-invalid" in form.fields["name"].widget.attrs["class"]
    for exc in (PermissionDenied(), NotFound()):
        with pytest.raises(type(exc)):
            form.add_service_error(exc)
    form.add_service_error(PermissionDenied("不能选此人", field="name"))  # a refusal the user can correct
    assert "不能选此人" in form.errors["name"]


def test_button_actions_show_errors_as_messages_and_raise_refusals():
    from django.contrib.messages import get_messages
    from django.contrib.messages.storage.fallback import FallbackStorage

    from kehu.core.errorpages import message_error

    request = RequestFactory().post("/x/")
    request.session = {}
    request._messages = FallbackStorage(request)
    message_error(request, Conflict("已处理", rule="stale"))
    assert [str(m) for m in get_messages(request)] == ["已处理"]
    with pytest.raises(NotFound):
        message_error(request, NotFound())
