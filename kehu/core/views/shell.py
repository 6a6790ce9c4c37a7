"""The UI shell: sign-in and sign-out, home page, account settings, language switch, health check."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.core import audit, security
from kehu.core.errors import KehuError
from kehu.core.forms import BootstrapMixin, KehuForm
from kehu.core.middleware import client_ip
from kehu.core.models.audit import AuditAction


class LoginForm(KehuForm):
    username = forms.CharField(
        label=gettext_lazy("用户名"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=gettext_lazy("密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = security.sign_in(
                request, form.cleaned_data["username"], form.cleaned_data["password"], ip=client_ip(request)
            )
        except KehuError as exc:
            form.add_error(None, str(exc.message))
        else:
            auth_login(request, user)
            if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
                next_url = reverse("home")
            response = HttpResponseRedirect(next_url or reverse("home"))
            if user.language:
                # The saved choice also shows on this browser's sign-in page after signing out.
                translation.activate(user.language)
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME, user.language, max_age=365 * 24 * 3600, samesite="Lax"
                )
            return response
    return render(request, "registration/login.html", {"form": form, "next": next_url}, status=200)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit.record(actor=request.user, action=AuditAction.LOGOUT, obj=request.user)
    auth_logout(request)
    return redirect("login")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    from kehu.core.home import home_context

    return render(request, "core/home.html", home_context(request.user))  # type: ignore[arg-type]


class AccountForm(KehuForm):
    display_name = forms.CharField(label=gettext_lazy("姓名"), max_length=60, required=False)
    email = forms.EmailField(label=gettext_lazy("电子邮箱"), required=False)
    phone = forms.CharField(label=gettext_lazy("电话"), max_length=30, required=False)
    language = forms.ChoiceField(label=gettext_lazy("界面语言"), choices=settings.LANGUAGES)


@login_required
def account(request: HttpRequest) -> HttpResponse:
    from kehu.core.org import user_update_self

    user: Any = request.user
    initial = {
        "display_name": user.display_name,
        "email": user.email,
        "phone": user.phone,
        "language": user.language or settings.LANGUAGE_CODE,
    }
    form = AccountForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            user_update_self(actor=user, **form.cleaned_data)
        except KehuError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            translation.activate(user.language)
            messages.success(request, _("已保存。"))
            return redirect("account")
    return render(request, "core/account.html", {"form": form})


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch language; for a signed-in user the choice is saved on the user and follows them (R-PLT-09)."""
    lang = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if lang not in dict(settings.LANGUAGES):
        return response
    if request.user.is_authenticated:
        from kehu.core.org import user_set_language

        user_set_language(actor=request.user, language=lang)
    translation.activate(lang)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, lang, max_age=365 * 24 * 3600, samesite="Lax")
    return response


def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        db = "ok"
    except Exception:
        db = "error"
    status = 200 if db == "ok" else 503
    return JsonResponse({"status": "ok" if db == "ok" else "error", "database": db}, status=status)


class PasswordChangeForm(BootstrapMixin, auth_forms.PasswordChangeForm):
    """Django's password change (old password checked, validators applied) with the shell's form styling."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()

    def full_clean(self) -> None:
        super().full_clean()
        self._style()


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    form_class = PasswordChangeForm

    @method_decorator(transaction.atomic)
    def form_valid(self, form: Any) -> HttpResponse:
        # the new password and its audit entry commit together
        response = super().form_valid(form)
        user: Any = self.request.user
        audit.record(
            actor=user,
            action="update",
            obj=user,
            changes={"password": ["***", "***"]},
            reason=_("用户修改密码"),
        )
        messages.success(self.request, _("密码已修改。"))
        return response


urlpatterns = [
    path("", home, name="home"),
    path("login/", login_view, name="login"),
    path("logout/", logout_view, name="logout"),
    path("account/", account, name="account"),
    path("account/password/", PasswordChangeView.as_view(success_url="/account/"), name="password_change"),
]
