"""API tokens page: list, create (the token is shown once), revoke."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.core import access, tokens
from kehu.core.errors import KehuError
from kehu.core.forms import KehuForm
from kehu.core.listing import Column, ListPage


class TokenForm(KehuForm):
    name = forms.CharField(
        label=gettext_lazy("令牌名称"),
        max_length=100,
        help_text=gettext_lazy("用于区分令牌的用途，例如“ERP对接”。"),
    )


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "token.manage")
    form = TokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            _row, new_token = tokens.token_create(actor=user, name=form.cleaned_data["name"])
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            form = TokenForm()
    columns = [
        Column("name", _("名称"), sort="name"),
        Column("prefix", _("前缀"), value=lambda t: f"{t.prefix}…"),
        Column("user", _("用户"), sort="user__username"),
        Column("created_at", _("创建时间"), sort="created_at"),
        Column("last_used_at", _("最近使用"), sort="last_used_at"),
        Column("revoked_at", _("撤销时间"), sort="revoked_at"),
        Column("actions", "", template="core/tokens/_revoke.html", export=False, css="text-end"),
    ]
    page = ListPage(request, tokens.token_list(actor=user), columns=columns, default_sort="-created_at")
    return page.respond(
        "core/tokens/list.html", {"form": form, "new_token": new_token}, export_name="api-tokens"
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        tokens.token_revoke(actor=request.user, token_id=pk)  # type: ignore[arg-type]
    except KehuError as exc:
        if exc.status == 404:
            raise
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("令牌已撤销。"))
    return redirect("token_list")


urlpatterns = [
    path("account/tokens/", token_list, name="token_list"),
    path("account/tokens/<int:pk>/revoke/", token_revoke, name="token_revoke"),
]
