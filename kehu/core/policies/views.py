"""Policy pages: types with the version in force, a type's versions, one version, a diff, propose, retire."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.core import access
from kehu.core.errors import KehuError, NotFound, PermissionDenied
from kehu.core.forms import KehuForm
from kehu.core.listing import Column, ListPage
from kehu.core.policies import display, selectors, services
from kehu.core.policies.forms import META_FIELDS, ProposeForm
from kehu.core.policies.models import PolicyStatus, PolicyVersion


def http_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Show the access layer's refusals as the 403 and 404 pages."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(str(exc.message)) from None
        except NotFound as exc:
            raise Http404(str(exc.message)) from None

    return wrapper


CASE_URL_NAMES = ("workflow_case_detail", "case_detail", "workflow:case_detail")


def case_url(case_id: int | None) -> str:
    """The page of the approval case, when the workflow pages exist."""
    if not case_id:
        return ""
    for name in CASE_URL_NAMES:
        try:
            return reverse(name, args=[case_id])
        except NoReverseMatch:
            continue
    return ""


STATUS_CSS = {
    PolicyStatus.DRAFT: "bg-secondary-subtle text-secondary-emphasis",
    PolicyStatus.PENDING: "bg-warning-subtle text-warning-emphasis",
    PolicyStatus.TRIAL: "bg-info-subtle text-info-emphasis",
    PolicyStatus.FORMAL: "bg-success-subtle text-success-emphasis",
    PolicyStatus.RETIRED: "bg-light text-muted",
}


class VersionFilter(KehuForm):
    status = forms.ChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        choices=[("", gettext_lazy("全部")), *PolicyStatus.choices],
    )


def _filter(qs: Any, data: dict[str, Any]) -> Any:
    if data.get("status"):
        qs = qs.filter(status=data["status"])
    return qs


@login_required
@http_errors
def policy_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.policy_types_in_force(actor=request.user)  # type: ignore[arg-type]
    return render(request, "policies/list.html", {"rows": rows, "status_css": STATUS_CSS})


def _version_number(v: PolicyVersion) -> str:
    return f"v{v.number}"


@login_required
@http_errors
def policy_detail(request: HttpRequest, key: str) -> HttpResponse:
    user: Any = request.user
    ptype = selectors.policy_type_for(actor=user, key=key)
    current = services.version_in_force(key)
    columns = [
        Column(
            "number",
            _("版本"),
            sort="number",
            value=_version_number,
            link=lambda v: reverse("policy_version", args=[key, v.number]),
        ),
        Column(
            "status",
            _("状态"),
            sort="status",
            template="policies/_status_cell.html",
            value=lambda v: v.get_status_display(),
        ),
        Column("effective_from", _("生效日期"), sort="effective_from"),
        Column("author", _("提出人"), value=lambda v: str(v.author) if v.author else _("系统")),
        Column("approver", _("批准人"), value=lambda v: str(v.approver) if v.approver else ""),
        Column("reason", _("变更理由")),
        Column("created_at", _("创建时间"), sort="created_at"),
    ]
    page = ListPage(
        request,
        selectors.policy_versions(actor=user, key=key),
        columns=columns,
        filter_form=VersionFilter,
        apply_filters=_filter,
        default_sort="-number",
    )
    return page.respond(
        "policies/detail.html",
        {
            "ptype": ptype,
            "current": current,
            "value_rows": display.rows(ptype, current.values),
            "status_css": STATUS_CSS,
            "can_propose": access.can(user, "policy.propose"),
        },
        export_name=f"policy-{key}",
    )


class RetireForm(KehuForm):
    reason = forms.CharField(label=gettext_lazy("废止理由"), widget=forms.Textarea(attrs={"rows": 2}))


@login_required
@http_errors
def policy_version(request: HttpRequest, key: str, number: int) -> HttpResponse:
    user: Any = request.user
    ptype = selectors.policy_type_for(actor=user, key=key)
    version = selectors.policy_version(actor=user, key=key, number=number)
    current = services.version_in_force(key)
    can_retire = (
        access.can(user, "policy.approve")
        and version.number != 1
        and version.status in (PolicyStatus.TRIAL, PolicyStatus.FORMAL)
    )
    return render(
        request,
        "policies/version.html",
        {
            "ptype": ptype,
            "version": version,
            "current": current,
            "value_rows": display.rows(ptype, version.values),
            "status_css": STATUS_CSS,
            "case_url": case_url(version.case_id),
            "can_retire": can_retire,
            "retire_form": RetireForm(),
            "case_panel": _case_panel(user, version),
        },
    )


def _case_panel(user: Any, version: PolicyVersion) -> dict[str, Any] | None:
    """The approval case of the version with the next actions this user may take (None without a case)."""
    engine = services._engine()
    if engine is None or not version.case_id:
        return None
    try:
        case = engine.case_get(actor=user, case_id=version.case_id)
    except KehuError:
        return None
    states = {s["key"]: s["label"] for s in case.definition_version.spec.get("states", [])}
    refusals = engine.refusals(case, user) if hasattr(engine, "refusals") else {}
    return {
        "case": case,
        "state_label": states.get(case.state, case.state),
        "transitions": engine.allowed_transitions(case, user),
        "refusals": refusals,
        "events": list(case.events.select_related("actor").order_by("seq")),
    }


@login_required
@http_errors
@require_POST
def policy_case_action(request: HttpRequest, key: str, number: int) -> HttpResponse:
    """Take a step of the version's approval case from the version page."""
    user: Any = request.user
    version = selectors.policy_version(actor=user, key=key, number=number)
    engine = services._engine()
    if engine is None or not version.case_id:
        raise NotFound()
    checklist = {k[len("check_") :]: "yes" for k in request.POST if k.startswith("check_")}
    try:
        engine.case_transition(
            actor=user,
            case_id=version.case_id,
            transition=request.POST.get("transition", ""),
            comment=request.POST.get("comment", ""),
            checklist=checklist,
            expected_state=request.POST.get("state") or None,
        )
    except KehuError as exc:
        if exc.status == 404:
            raise
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已办理。"))
    return redirect("policy_version", key=key, number=number)


@login_required
@http_errors
@require_POST
def policy_retire(request: HttpRequest, key: str, number: int) -> HttpResponse:
    user: Any = request.user
    version = selectors.policy_version(actor=user, key=key, number=number)
    form = RetireForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写废止理由。"))
    else:
        try:
            services.policy_retire(actor=user, version_id=version.pk, reason=form.cleaned_data["reason"])
        except KehuError as exc:
            if exc.status == 404:
                raise
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("第%(n)s版已废止。") % {"n": number})
    return redirect("policy_version", key=key, number=number)


@login_required
@http_errors
def policy_diff(request: HttpRequest, key: str) -> HttpResponse:
    user: Any = request.user
    ptype = selectors.policy_type_for(actor=user, key=key)
    versions = list(selectors.policy_versions(actor=user, key=key).order_by("-number"))
    by_number = {v.number: v for v in versions}
    current = services.version_in_force(key)

    def pick(param: str, fallback: int) -> PolicyVersion:
        raw = request.GET.get(param, "")
        try:
            return by_number[int(raw)] if raw else by_number[fallback]
        except (ValueError, KeyError):
            raise NotFound() from None

    newest = versions[0].number if versions else 1
    b = pick("b", newest)
    a = pick("a", current.number if current.number != b.number else max(1, b.number - 1))
    return render(
        request,
        "policies/diff.html",
        {
            "ptype": ptype,
            "a": a,
            "b": b,
            "versions": versions,
            "rows": display.diff_rows(ptype, a.values, b.values),
            "status_css": STATUS_CSS,
        },
    )


@login_required
@http_errors
def policy_propose(request: HttpRequest, key: str) -> HttpResponse:
    user: Any = request.user
    access.require(user, "policy.propose")
    ptype = selectors.policy_type_for(actor=user, key=key)
    current = services.version_in_force(key)
    initial_values = {**ptype.default_values(), **(current.values or {})}
    form = ProposeForm(ptype, initial_values, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.policy_propose(
                actor=user,
                key=key,
                values=form.values(),
                effective_from=form.cleaned_data["effective_from"],
                reason=form.cleaned_data["reason"],
                trial=bool(form.cleaned_data.get("trial")),
            )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已提出第%(n)s版变更，已进入审批流程。") % {"n": version.number})
            return redirect("policy_version", key=key, number=version.number)
    value_fields = [form[f.path] for f in form.flat]
    meta_fields = [form[name] for name in META_FIELDS if name in form.fields]
    return render(
        request,
        "policies/propose.html",
        {
            "ptype": ptype,
            "form": form,
            "current": current,
            "value_fields": value_fields,
            "meta_fields": meta_fields,
        },
    )
