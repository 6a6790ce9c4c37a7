"""ListPage.respond: one list view's response, the page or its xlsx export (R-PLT-10)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import RequestFactory
from python_calamine import CalamineWorkbook

from kehu.core import listing
from kehu.core.errors import PermissionDenied
from kehu.core.listing import Column, ListPage
from kehu.core.models import User
from kehu.core.models.org import RoleCode
from kehu.core.tests.factories import UserFactory, user_with

pytestmark = pytest.mark.django_db

TEMPLATE = "core/partials/_list.html"


def _page(user: User, params: dict[str, str]) -> ListPage:
    request = RequestFactory().get("/x/", params)
    request.user = user
    return ListPage(
        request,
        User.objects.filter(username__startswith="row"),
        columns=[Column("username", "用户名", sort="username")],
        default_sort="username",
    )


def _exported(response: Any) -> list[str]:
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    return [r[0] for r in rows[1:]]


@pytest.fixture
def rows() -> None:
    for i in range(3):
        UserFactory(username=f"row{i}")


def test_respond_renders_the_page_with_the_context(rows, monkeypatch):
    seen: dict[str, Any] = {}
    real = listing.render

    def spy(request: Any, template: str, context: dict[str, Any]) -> Any:
        seen.update(template=template, context=context)
        return real(request, template, context)

    monkeypatch.setattr(listing, "render", spy)
    calls: list[int] = []
    page = _page(user_with(RoleCode.SALES_REP), {})
    response = page.respond(
        TEMPLATE,
        {"title": "T"},
        export_name="rows",
        export_action="audit.export",
        on_export=lambda: calls.append(1),
    )
    assert response.status_code == 200
    assert "row0" in response.content.decode() and "row2" in response.content.decode()
    assert seen == {"template": TEMPLATE, "context": {"page": page, "title": "T"}}
    assert calls == []  # neither the export permission nor the export hook concern the page


def test_respond_exports_with_the_export_permission_and_runs_the_hook_once_after(rows):
    calls: list[int] = []

    def logged() -> None:
        calls.append(1)
        UserFactory(username="row9")  # written after the workbook was built: not among its rows

    page = _page(user_with(RoleCode.SYSADMIN), {"export": "xlsx"})
    response = page.respond(TEMPLATE, export_name="rows", export_action="audit.export", on_export=logged)
    assert (
        response["Content-Disposition"].startswith("attachment")
        and 'rows.xlsx"' in response["Content-Disposition"]
    )
    assert _exported(response) == ["row0", "row1", "row2"]
    assert calls == [1]


def test_respond_refuses_the_export_without_the_export_permission(rows):
    calls: list[int] = []
    page = _page(user_with(RoleCode.SALES_REP), {"export": "xlsx"})
    with pytest.raises(PermissionDenied):
        page.respond(
            TEMPLATE, export_name="rows", export_action="audit.export", on_export=lambda: calls.append(1)
        )
    assert calls == []


def test_respond_exports_without_a_permission_when_none_is_named(rows):
    page = _page(user_with(RoleCode.SALES_REP), {"export": "xlsx"})
    response = page.respond(TEMPLATE, {"title": "T"}, export_name="rows")
    assert _exported(response) == ["row0", "row1", "row2"]
