"""Pages of the workflow: the inbox, cases (with the transition form), definitions and process monitoring."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core import access
from kehu.core.errors import KehuError
from kehu.core.excel import xlsx_response
from kehu.core.forms import KehuForm
from kehu.core.listing import Column, ListPage
from kehu.workflow import engine, selectors
from kehu.workflow.definitions import definition_version_submit, trial_status
from kehu.workflow.models import Case, DefinitionVersion, ProcessDefinition, Task, VersionStatus

STATE_CSS = {"open": "bg-primary-subtle", "done": "bg-success-subtle", "cancelled": "bg-secondary-subtle"}
VERSION_CSS: dict[str, str] = {
    VersionStatus.DRAFT: "bg-secondary-subtle",
    VersionStatus.PENDING: "bg-warning-subtle",
    VersionStatus.TRIAL: "bg-info-subtle",
    VersionStatus.FORMAL: "bg-success-subtle",
    VersionStatus.RETIRED: "bg-secondary-subtle",
}


def _user(request: HttpRequest) -> Any:
    return request.user


def _not_found(exc: KehuError) -> None:
    if exc.status == 404:
        raise Http404(str(exc.message))


def state_label(case: Case) -> str:
    for s in case.definition_version.spec.get("states", []):
        if s["key"] == case.state:
            return gettext(str(s["label"]))
    return case.state


def subject_url(case: Case) -> str | None:
    obj = case.subject if case.subject_type_id else None
    if obj is None:
        return None
    getter = getattr(obj, "get_absolute_url", None)
    if getter is not None:
        try:
            return str(getter())
        except NoReverseMatch:
            return None
    return None


# ---------------------------------------------------------------------------------------------------------------
# Inbox (R-PLT-08)


class InboxFilter(KehuForm):
    q = forms.CharField(label=gettext_lazy("关键词"), required=False)
    kind = forms.ChoiceField(
        label=gettext_lazy("来源"),
        required=False,
        choices=[
            ("", gettext_lazy("全部")),
            ("mine", gettext_lazy("指派给我")),
            ("role", gettext_lazy("我的角色")),
            ("acting", gettext_lazy("代他人办理")),
        ],
    )
    due = forms.ChoiceField(
        label=gettext_lazy("期限"),
        required=False,
        choices=[
            ("", gettext_lazy("全部")),
            ("overdue", gettext_lazy("已超期")),
            ("week", gettext_lazy("7天内到期")),
        ],
    )
    definition = forms.ModelChoiceField(
        label=gettext_lazy("流程"), required=False, queryset=ProcessDefinition.objects.all()
    )


def _inbox_filters(user: Any) -> Any:
    def apply(qs: QuerySet[Task], data: dict[str, Any]) -> QuerySet[Task]:
        if q := data.get("q"):
            qs = qs.filter(Q(title__icontains=q) | Q(case__number__icontains=q))
        kind = data.get("kind")
        if kind == "mine":
            qs = qs.filter(assignee_id=user.pk)
        elif kind == "role":
            qs = qs.filter(assignee__isnull=True)
        elif kind == "acting":
            qs = qs.filter(assignee__isnull=False).exclude(assignee_id=user.pk)
        today = timezone.localdate()
        if data.get("due") == "overdue":
            qs = qs.filter(due__lt=today)
        elif data.get("due") == "week":
            qs = qs.filter(due__gte=today, due__lte=today + dt.timedelta(days=7))
        if d := data.get("definition"):
            qs = qs.filter(case__definition=d)
        return qs

    return apply


def _role_label(code: str) -> str:
    from kehu.workflow.templatetags.workflow_tags import role_label

    return role_label(code)


def _department_kinds(kinds: list[str]) -> str:
    from kehu.workflow.templatetags.workflow_tags import department_kinds

    return department_kinds(kinds)


def _task_link(task: Task) -> str:
    return task.url()


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    access.require(user, "workflow.inbox.view")
    today = timezone.localdate()
    columns = [
        Column(
            "title", _("事项"), sort="title", link=_task_link, template="workflow/partials/_task_title.html"
        ),
        Column("case__number", _("编号"), sort="case__number"),
        Column("kind", _("类型"), sort="kind", value=lambda t: t.get_kind_display()),
        Column(
            "case__definition__name",
            _("流程"),
            sort="case__definition__name",
            value=lambda t: gettext(t.case.definition.name) if t.case_id else "",
        ),
        Column(
            "assignee",
            _("处理人"),
            value=lambda t: str(t.assignee) if t.assignee_id else _role_label(t.assignee_role),
            template="workflow/partials/_task_assignee.html",
        ),
        Column("created_at", _("收到时间"), sort="created_at"),
        Column("due", _("期限"), sort="due", template="workflow/partials/_task_due.html"),
        Column("actions", "", template="workflow/partials/_task_actions.html", export=False, css="text-end"),
    ]
    page = ListPage(
        request,
        selectors.inbox_tasks(user),
        columns=columns,
        filter_form=InboxFilter,
        apply_filters=_inbox_filters(user),
        default_sort="due",
    )
    if page.wants_export:
        return page.export("inbox")
    return render(
        request,
        "workflow/inbox.html",
        {"page": page, "today": today, "overdue": selectors.inbox_overdue_count(user)},
    )


@login_required
@require_POST
def task_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        engine.task_acknowledge(actor=_user(request), task_id=pk)
    except KehuError as exc:
        _not_found(exc)
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已办结。"))
    return redirect("workflow_inbox")


# ---------------------------------------------------------------------------------------------------------------
# Cases


class CaseFilter(KehuForm):
    q = forms.CharField(label=gettext_lazy("关键词"), required=False)
    definition = forms.ModelChoiceField(
        label=gettext_lazy("流程"), required=False, queryset=ProcessDefinition.objects.all()
    )
    status = forms.ChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        choices=[
            ("", gettext_lazy("全部")),
            ("open", gettext_lazy("进行中")),
            ("closed", gettext_lazy("已结束")),
        ],
    )


def _case_filters(qs: QuerySet[Case], data: dict[str, Any]) -> QuerySet[Case]:
    if q := data.get("q"):
        qs = qs.filter(Q(title__icontains=q) | Q(number__icontains=q))
    if d := data.get("definition"):
        qs = qs.filter(definition=d)
    if data.get("status") == "open":
        qs = qs.filter(closed_at__isnull=True)
    elif data.get("status") == "closed":
        qs = qs.filter(closed_at__isnull=False)
    return qs


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    access.require(user, "workflow.case.view")
    columns = [
        Column(
            "number", _("编号"), sort="number", link=lambda c: reverse("workflow_case_detail", args=[c.pk])
        ),
        Column("title", _("标题"), sort="title"),
        Column(
            "definition__name", _("流程"), sort="definition__name", value=lambda c: gettext(c.definition.name)
        ),
        Column(
            "state", _("状态"), sort="state", value=state_label, template="workflow/partials/_case_state.html"
        ),
        Column("opened_by", _("发起人"), sort="opened_by__username"),
        Column("opened_at", _("发起时间"), sort="opened_at"),
        Column("closed_at", _("结束时间"), sort="closed_at"),
    ]
    page = ListPage(
        request,
        selectors.cases_visible(user),
        columns=columns,
        filter_form=CaseFilter,
        apply_filters=_case_filters,
        default_sort="-opened_at",
    )
    return page.respond("workflow/case_list.html", export_name="cases")


class TransitionForm(KehuForm):
    comment = forms.CharField(
        label=gettext_lazy("意见"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    file = forms.FileField(label=gettext_lazy("附件"), required=False)

    def __init__(self, *args: Any, transition: engine.Transition, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transition = transition
        if transition.comment_required:
            self.fields["comment"].label = _("意见（必填）")
        if transition.attachments_required:
            self.fields["file"].label = _("附件（必传）")
        for item in transition.checklist:
            self.fields[f"check_{item.key}"] = forms.ChoiceField(
                label=f"{item.label}{'（必选）' if item.mandatory else ''}",
                required=False,
                choices=[("yes", _("是")), ("no", _("否")), ("na", _("不适用"))],
                widget=forms.RadioSelect,
            )
        self._errors = None  # the base form validated before the checklist fields existed
        self._style()
        for name, field in self.fields.items():
            if name.startswith("check_"):
                invalid = " is-invalid" if self.is_bound and self.errors.get(name) else ""
                field.widget.attrs["class"] = "form-check-input" + invalid

    def checklist(self) -> dict[str, str]:
        return {
            item.key: self.cleaned_data.get(f"check_{item.key}") or "" for item in self.transition.checklist
        }


def _service_field(field: str | None) -> str | None:
    if not field:
        return None
    if field.startswith("checklist."):
        return "check_" + field.split(".", 1)[1]
    return {"attachments": "file"}.get(field, field if field in ("comment",) else None)


@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    try:
        case = engine.case_get(actor=user, case_id=pk)
    except KehuError as exc:
        _not_found(exc)
        raise
    return _render_case(request, case)


def _render_case(
    request: HttpRequest, case: Case, form: TransitionForm | None = None, chosen: str | None = None
) -> HttpResponse:
    user = _user(request)
    allowed = engine.allowed_transitions(case, user)
    _task, acting_for = engine.acting_task(case, user)
    forms_by_key = {
        t.key: (form if form is not None and t.key == chosen else TransitionForm(transition=t, prefix=t.key))
        for t in allowed
    }
    events = list(case.events.select_related("actor", "acting_for").order_by("seq"))
    states = {s["key"]: gettext(s["label"]) for s in case.definition_version.spec.get("states", [])}
    open_tasks = list(case.tasks.filter(state="open").select_related("assignee").order_by("pk"))
    from kehu.core.attachments import attachment_list

    try:
        files = {a.pk: a for a in attachment_list(actor=user, target=case)}
    except KehuError:
        files = {}
    history = [
        {
            "event": e,
            "from": states.get(e.from_state, e.from_state),
            "to": states.get(e.to_state, e.to_state),
            "files": [files[i] for i in e.attachment_ids if i in files],
        }
        for e in events
    ]
    return render(
        request,
        "workflow/case_detail.html",
        {
            "case": case,
            "state_label": state_label(case),
            "subject_url": subject_url(case),
            "subject": case.subject if case.subject_type_id else None,
            "transitions": [(t, forms_by_key[t.key]) for t in allowed],
            "chosen": chosen,
            "refusals": engine.refusals(case, user),
            "acting_for": acting_for,
            "history": history,
            "open_tasks": open_tasks,
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
@require_POST
def case_transition(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    user = _user(request)
    try:
        case = engine.case_get(actor=user, case_id=pk)
    except KehuError as exc:
        _not_found(exc)
        raise
    sv = engine.spec_view(case.definition_version)
    tspec = sv.transition(key)
    if tspec is None:
        raise Http404()
    t = engine._transition_obj(sv, tspec)
    form = TransitionForm(request.POST, request.FILES, transition=t, prefix=key)
    if form.is_valid():
        try:
            with transaction.atomic():
                ids: list[int] = []
                upload = form.cleaned_data.get("file")
                if upload:
                    from kehu.core.attachments import attachment_add

                    ids.append(
                        attachment_add(
                            actor=user, target=case, upload=upload, doc_type="other", title=str(t.label)
                        ).pk
                    )
                engine.case_transition(
                    actor=user,
                    case_id=case.pk,
                    transition=key,
                    comment=form.cleaned_data.get("comment") or "",
                    checklist=form.checklist(),
                    attachments=ids,
                    expected_state=request.POST.get("expected_state"),
                )
        except KehuError as exc:
            _not_found(exc)
            if exc.status == 409:
                messages.error(request, str(exc.message))
                return redirect("workflow_case_detail", pk=case.pk)
            if exc.status == 403:
                raise
            target = _service_field(exc.field)
            form.add_error(target, str(exc.message))
        else:
            messages.success(request, _("已办理：%(action)s") % {"action": t.label})
            return redirect("workflow_case_detail", pk=case.pk)
    case.refresh_from_db()
    return _render_case(request, case, form=form, chosen=key)


# ---------------------------------------------------------------------------------------------------------------
# Definitions


@login_required
def definition_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    for d in engine.registered():
        engine.sync_definition(d.key)
    qs = selectors.definitions_visible(user)
    columns = [
        Column(
            "key", _("代码"), sort="key", link=lambda d: reverse("workflow_definition_detail", args=[d.key])
        ),
        Column("name", _("名称"), sort="name", value=lambda d: gettext(d.name)),
        Column("level", _("层级"), sort="level", value=lambda d: d.get_level_display()),
        Column("owner_role", _("所有者"), value=lambda d: str(d.owner_user or _role_label(d.owner_role))),
        Column("departments", _("参与部门"), value=lambda d: _department_kinds(d.departments)),
    ]
    page = ListPage(request, qs.select_related("owner_user"), columns=columns, default_sort="key")
    return page.respond("workflow/definition_list.html", export_name="process-definitions")


@login_required
def definition_detail(request: HttpRequest, key: str) -> HttpResponse:
    user = _user(request)
    qs = selectors.definitions_visible(user)
    try:
        pd = qs.select_related("owner_user").get(key=key)
    except ObjectDoesNotExist:
        raise Http404() from None
    versions = list(selectors.definition_versions(pd))
    rows = [
        {
            "v": v,
            "trial": trial_status(v) if v.status == VersionStatus.TRIAL else None,
            "css": VERSION_CSS.get(v.status, ""),
        }
        for v in versions
    ]
    shown = versions[0] if versions else None
    if shown is not None and (n := request.GET.get("v")):
        shown = next((v for v in versions if str(v.number) == n), shown)
    approvals = Case.objects.filter(
        definition__key="process_definition_approval", subject_id__in=[str(v.pk) for v in versions]
    ).order_by("-opened_at")
    return render(
        request,
        "workflow/definition_detail.html",
        {
            "pd": pd,
            "versions": rows,
            "shown": shown,
            "approvals": approvals,
            "can_manage": access.can(user, "workflow.definition.manage"),
        },
    )


@login_required
@require_POST
def definition_version_request(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    version = DefinitionVersion.objects.select_related("definition").filter(pk=pk).first()
    if version is None:
        raise Http404()
    try:
        case = definition_version_submit(actor=user, version_id=pk, comment=request.POST.get("comment", ""))
    except KehuError as exc:
        _not_found(exc)
        if exc.status == 403:
            raise
        messages.error(request, str(exc.message))
        return redirect("workflow_definition_detail", key=version.definition.key)
    messages.success(request, _("已提交转正审批。"))
    return redirect("workflow_case_detail", pk=case.pk)


# ---------------------------------------------------------------------------------------------------------------
# Monitoring (R-PLT-13)


class MonitoringFilter(KehuForm):
    definition = forms.ModelChoiceField(
        label=gettext_lazy("流程"), queryset=ProcessDefinition.objects.all(), required=False
    )
    start = forms.DateField(
        label=gettext_lazy("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=gettext_lazy("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", _("结束日期不能早于开始日期。"))
        return data


@login_required
def monitoring_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    access.require(user, "workflow.monitoring.view")
    form = MonitoringFilter(request.GET or None)
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=90), today
    definitions = list(ProcessDefinition.objects.order_by("key"))
    chosen: list[ProcessDefinition] = definitions
    if form.is_bound and form.is_valid():
        start = form.cleaned_data.get("start") or start
        end = form.cleaned_data.get("end") or end
        if form.cleaned_data.get("definition"):
            chosen = [form.cleaned_data["definition"]]
    figures = [selectors.monitoring(actor=user, definition=d, start=start, end=end) for d in chosen]
    if request.GET.get("export") == "xlsx":
        rows: list[list[Any]] = []
        for f in figures:
            base = [
                f.definition.key,
                gettext(f.definition.name),
                f.opened,
                f.closed,
                f.events,
                f.overdue_rate,
                f.send_back_rate,
            ]
            if not f.states:
                rows.append([*base, "", "", "", ""])
            for s in f.states:
                rows.append([*base, s.label, s.exits, s.avg_hours, s.overdue])
        headers = [
            _("流程代码"),
            _("流程"),
            _("新建"),
            _("结束"),
            _("办理次数"),
            _("超期率"),
            _("退回率"),
            _("环节"),
            _("环节办理次数"),
            _("平均停留（小时）"),
            _("超期次数"),
        ]
        return xlsx_response(f"process-monitoring-{start}-{end}", headers, rows)
    chart = {
        "definitions": [gettext(f.definition.name) for f in figures],
        "opened": [f.opened for f in figures],
        "closed": [f.closed for f in figures],
        "overdue": [round(f.overdue_rate * 100, 1) for f in figures],
        "send_back": [round(f.send_back_rate * 100, 1) for f in figures],
        "labels": {
            "opened": _("新建"),
            "closed": _("结束"),
            "overdue": _("超期率%"),
            "send_back": _("退回率%"),
        },
    }
    params = request.GET.copy()
    params["export"] = "xlsx"
    return render(
        request,
        "workflow/monitoring.html",
        {
            "form": form if form.is_bound else MonitoringFilter(initial={"start": start, "end": end}),
            "figures": figures,
            "start": start,
            "end": end,
            "chart": chart,
            "export_qs": params.urlencode(),
        },
    )
