"""The one rule for a service's error on a form posted from a record's page (errorpages.form_error_or_back)."""

from __future__ import annotations

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from kehu.core.errorpages import form_error_or_back
from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.forms import KehuForm


class _Form(KehuForm):
    comment = forms.CharField(required=False)


def _request():
    request = RequestFactory().post("/x/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_conflict_is_a_message_and_a_redirect_to_the_record():
    request, form = _request(), _Form({"comment": "x"})
    assert form.is_valid()
    response = form_error_or_back(request, form, Conflict("已被他人办理。"), "/records/7/")
    assert response is not None and response.status_code == 302 and response["Location"] == "/records/7/"
    assert [str(m) for m in get_messages(request)] == ["已被他人办理。"] and not form.errors


def test_bad_input_goes_on_the_named_field_and_the_form_is_shown_again():
    request, form = _request(), _Form({"comment": "x"})
    assert form.is_valid()
    exc = ValidationFailed("意见：必填。", field="comment", rule="required")
    assert form_error_or_back(request, form, exc, "/records/7/") is None
    assert form.errors["comment"] == ["意见：必填。"]


@pytest.mark.parametrize("exc", [NotFound(), PermissionDenied("无权办理。")])
def test_out_of_reach_or_refused_becomes_the_error_page(exc):
    request, form = _request(), _Form({"comment": "x"})
    assert form.is_valid()
    with pytest.raises(type(exc)):
        form_error_or_back(request, form, exc, "/records/7/")
