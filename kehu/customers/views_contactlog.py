"""Contact-log pages (R-CUS-12): log a contact from the dossier, one contact log with its attachments and
history, correction, the next step's "done" action, the cross-customer list 联系记录 (filters, xlsx export) and
the open contact gaps 待联系客户."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.core import access, audit
from kehu.core.attachments import attachment_panel
from kehu.core.errorpages import message_error
from kehu.core.errors import KehuError, PermissionDenied
from kehu.core.forms import KehuForm
from kehu.core.listing import Column, ListPage
from kehu.core.models import User
from kehu.customers import contactlog, selectors
from kehu.customers.models import Contact, ContactChannel, ContactLog, Customer, CustomerClass

ALL = [("", gettext_lazy("全部"))]
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]


class ContactLogForm(KehuForm):
    channel = forms.ChoiceField(label=gettext_lazy("联系方式"), choices=ContactChannel.choices)
    contacted_at = forms.DateTimeField(
        label=gettext_lazy("联系时间"),
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(format="%Y-%m-%dT%H:%M"),
    )
    staff = forms.ModelChoiceField(label=gettext_lazy("我方人员"), queryset=User.objects.none())
    contact = forms.ModelChoiceField(
        label=gettext_lazy("客户联系人"), queryset=Contact.objects.none(), required=False
    )
    contact_name = forms.CharField(
        label=gettext_lazy("对方人员（未建联系人时填写）"), max_length=100, required=False
    )
    summary = forms.CharField(label=gettext_lazy("内容摘要"), widget=forms.Textarea(attrs={"rows": 5}))
    next_step = forms.CharField(label=gettext_lazy("下一步"), max_length=300, required=False)
    next_step_due = forms.DateField(
        label=gettext_lazy("下一步期限"),
        required=False,
        widget=forms.DateInput(),
        help_text=gettext_lazy("填写期限后，下一步会作为待办发给我方人员。"),
    )

    def __init__(self, *args: Any, customer: Customer, actor: User, editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        staff_ids = contactlog._allowed_staff_ids(customer, actor)
        staff = self.fields["staff"]
        staff.queryset = User.objects.filter(pk__in=staff_ids, is_active=True).order_by("username")  # type: ignore[attr-defined]
        staff.label_from_instance = lambda u: u.label  # type: ignore[attr-defined]
        person = self.fields["contact"]
        person.queryset = Contact.objects.filter(customer=customer, active=True).order_by("name")  # type: ignore[attr-defined]
        person.label_from_instance = lambda p: f"{p.name}（{p.title or p.get_role_display()}）"  # type: ignore[attr-defined]
        if editing:
            self.fields["reason"] = forms.CharField(
                label=gettext_lazy("修改原因"), widget=forms.Textarea(attrs={"rows": 2})
            )
        if self.is_bound:  # validate again against the choices of this customer
            self._errors = None
            self.full_clean()
        else:
            self._style()


class ContactLogFilterForm(KehuForm):
    q = forms.CharField(
        label=gettext_lazy("客户"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("客户名称/编号")}),
    )
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput(), label="")
    staff = forms.ModelChoiceField(
        label=gettext_lazy("我方人员"), required=False, queryset=User.objects.none()
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("联系方式"), required=False, choices=ALL + ContactChannel.choices
    )
    date_from = forms.DateField(label=gettext_lazy("联系日期自"), required=False, widget=forms.DateInput())
    date_to = forms.DateField(label=gettext_lazy("联系日期至"), required=False, widget=forms.DateInput())
    open_next_step = forms.BooleanField(label=gettext_lazy("仅下一步未办结"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        staff = self.fields["staff"]
        staff.queryset = User.objects.filter(  # type: ignore[attr-defined]
            is_active=True, roles__code__in=["sales_rep", "sales_manager", "general_manager"]
        ).distinct()
        staff.label_from_instance = lambda u: u.label  # type: ignore[attr-defined]
        if self.is_bound:
            self.full_clean()


class GapFilterForm(KehuForm):
    q = forms.CharField(
        label=gettext_lazy("客户"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("客户名称/编号")}),
    )
    customer_class = forms.ChoiceField(
        label=gettext_lazy("客户类别"), required=False, choices=ALL + CustomerClass.choices
    )
    owner = forms.ModelChoiceField(label=gettext_lazy("负责人"), required=False, queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        owner.queryset = User.objects.filter(  # type: ignore[attr-defined]
            is_active=True, roles__code__in=["sales_rep", "sales_manager"]
        ).distinct()
        owner.label_from_instance = lambda u: u.label  # type: ignore[attr-defined]
        if self.is_bound:
            self.full_clean()


# --------------------------------------------------------------------------------------------------------------
# Pages of one customer
# --------------------------------------------------------------------------------------------------------------


def _log_url(log: ContactLog) -> str:
    return reverse("customer_contact_log_detail", args=[log.customer_id, log.pk])


@login_required
def contact_log_add(request: HttpRequest, pk: int) -> HttpResponse:
    actor: Any = request.user
    c = selectors.customer_get(actor=actor, pk=pk)
    access.require(actor, contactlog.LOG_ACTION)
    if not contactlog.can_log(actor, c):
        raise PermissionDenied(_("您不能记录该客户的联系。"))
    channel = request.GET.get("channel", "")
    initial = {
        "channel": channel if channel in ContactChannel.values else ContactChannel.CALL,
        "contacted_at": timezone.localtime().replace(second=0, microsecond=0),
        "staff": actor.pk,
    }
    form = ContactLogForm(request.POST or None, initial=initial, customer=c, actor=actor)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            log = contactlog.contact_log_create(actor=actor, customer_id=c.pk, **d)
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("联系记录已保存。"))
            if log.channel == ContactChannel.VISIT:
                return redirect(_log_url(log))  # attach the visit report and photos there
            return redirect(reverse("customer_detail", args=[c.pk]) + "?tab=5")
    return render(request, "customers/contactlog/form.html", {"form": form, "c": c, "log": None})


@login_required
def contact_log_detail(request: HttpRequest, pk: int, log_id: int) -> HttpResponse:
    actor: Any = request.user
    log = contactlog.contact_log_get(actor=actor, pk=log_id, customer_id=pk)
    contactlog.mark_next_step_state([log])
    can_correct = contactlog.can_correct(actor, log)
    ctx = {
        "log": log,
        "c": log.customer,
        "icon": contactlog.channel_icon(log.channel),
        "attachments": attachment_panel(actor=actor, target=log, next_url=request.get_full_path()),
        "can_correct": can_correct,
        "can_done": log.next_step_open  # type: ignore[attr-defined]
        and (actor.pk in (log.staff_id, log.recorded_by_id) or contactlog.can_log(actor, log.customer)),
        "entries": list(audit.history(log)[:50]),
    }
    return render(request, "customers/contactlog/detail.html", ctx)


@login_required
def contact_log_edit(request: HttpRequest, pk: int, log_id: int) -> HttpResponse:
    actor: Any = request.user
    log = contactlog.contact_log_get(actor=actor, pk=log_id, customer_id=pk)
    access.require(actor, contactlog.LOG_ACTION)
    if not contactlog.can_correct(actor, log):
        raise PermissionDenied(_("只有记录人或其主管可以修改联系记录。"))
    initial = {f: getattr(log, f) for f in contactlog.EDITABLE}
    initial["contacted_at"] = timezone.localtime(log.contacted_at)
    form = ContactLogForm(
        request.POST or None, initial=initial, customer=log.customer, actor=actor, editing=True
    )
    if request.method == "POST" and form.is_valid():
        d = dict(form.cleaned_data)
        reason = d.pop("reason")
        try:
            contactlog.contact_log_update(actor=actor, log_id=log.pk, customer_id=pk, reason=reason, **d)
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("联系记录已更正。"))
            return redirect(_log_url(log))
    return render(request, "customers/contactlog/form.html", {"form": form, "c": log.customer, "log": log})


@login_required
@require_POST
def contact_log_done(request: HttpRequest, pk: int, log_id: int) -> HttpResponse:
    actor: Any = request.user
    log = contactlog.contact_log_get(actor=actor, pk=log_id, customer_id=pk)
    try:
        contactlog.contact_log_next_step_done(
            actor=actor, log_id=log.pk, customer_id=pk, note=request.POST.get("note", "")
        )
    except KehuError as exc:
        message_error(request, exc)
    else:
        messages.success(request, _("下一步已办结。"))
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        return redirect(nxt)
    return redirect(_log_url(log))


# --------------------------------------------------------------------------------------------------------------
# Cross-customer pages
# --------------------------------------------------------------------------------------------------------------


def _local(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def log_columns() -> list[Column]:
    return [
        Column(
            "contacted_at",
            gettext_lazy("联系时间"),
            sort="contacted_at",
            value=lambda r: _local(r.contacted_at),
            link=_log_url,
        ),
        Column(
            "channel",
            gettext_lazy("方式"),
            sort="channel",
            value=lambda r: r.get_channel_display(),
            template="customers/contactlog/_channel_cell.html",
        ),
        Column("customer_number", gettext_lazy("客户编号"), value=lambda r: r.customer.number),
        Column(
            "customer",
            gettext_lazy("客户"),
            sort="customer__name",
            value=lambda r: r.customer.name,
            link=lambda r: reverse("customer_detail", args=[r.customer_id]) + "?tab=5",
        ),
        Column("staff", gettext_lazy("我方人员"), sort="staff__username", value=lambda r: r.staff.label),
        Column("contact_name", gettext_lazy("对方人员"), sort="contact_name"),
        Column("summary", gettext_lazy("内容摘要"), template="customers/contactlog/_summary_cell.html"),
        Column("next_step", gettext_lazy("下一步"), template="customers/contactlog/_next_step_cell.html"),
        Column(
            "next_step_due",
            gettext_lazy("下一步期限"),
            sort="next_step_due",
            value=lambda r: r.next_step_due.isoformat() if r.next_step_due else "",
        ),
        Column("recorded_by", gettext_lazy("记录人"), value=lambda r: r.recorded_by.label),
    ]


@login_required
def contact_log_list(request: HttpRequest) -> HttpResponse:
    """联系记录: every contact the user may see (a rep: own customers), filtered, sorted, paged, exported."""
    user: Any = request.user
    access.require(user, contactlog.VIEW_ACTION)
    page = ListPage(
        request,
        contactlog.contact_log_list(actor=user),
        columns=log_columns(),
        filter_form=ContactLogFilterForm,
        apply_filters=contactlog.apply_filters,
        default_sort="-contacted_at",
        exportable=access.can(user, contactlog.EXPORT_ACTION),
    )
    if page.wants_export:
        access.require(user, contactlog.EXPORT_ACTION)
        return page.export("contact-logs")
    contactlog.decorate(list(page.page.object_list))
    customer = None
    if page.form is not None and page.form.is_valid() and page.form.cleaned_data.get("customer"):
        customer = Customer.objects.filter(pk=page.form.cleaned_data["customer"]).only("pk", "name").first()
        if customer is not None and not access.in_scope(user, contactlog.VIEW_ACTION, customer):
            customer = None
    return render(request, "customers/contactlog/list.html", {"page": page, "customer": customer})


def gap_columns() -> list[Column]:
    return [
        Column(
            "customer",
            gettext_lazy("客户"),
            sort="customer__name",
            value=lambda g: g.customer.name,
            link=lambda g: reverse("customer_detail", args=[g.customer_id]) + "?tab=5",
        ),
        Column(
            "customer_class",
            gettext_lazy("类别"),
            sort="customer__customer_class",
            value=lambda g: g.customer.get_customer_class_display(),
        ),
        Column(
            "owner",
            gettext_lazy("负责人"),
            sort="customer__owner__username",
            value=lambda g: g.customer.owner.label,
        ),
        Column(
            "last_contact_on",
            gettext_lazy("上次联系"),
            sort="last_contact_on",
            value=lambda g: g.last_contact_on.isoformat() if g.last_contact_on else _("从未联系"),
        ),
        Column("interval_days", gettext_lazy("间隔要求（天）"), sort="interval_days"),
        Column("due_on", gettext_lazy("应联系日期"), sort="due_on", value=lambda g: g.due_on.isoformat()),
        Column(
            "raised_at",
            gettext_lazy("提醒时间"),
            sort="raised_at",
            value=lambda g: _local(g.raised_at),
        ),
        Column(
            "action",
            "",
            export=False,
            value=lambda g: _("记录联系"),
            link=lambda g: reverse("customer_contact_log_add", args=[g.customer_id]),
        ),
    ]


@login_required
def contact_gap_list(request: HttpRequest) -> HttpResponse:
    """待联系客户: the open contact gaps of the user's customers, longest overdue first."""
    user: Any = request.user
    access.require(user, contactlog.VIEW_ACTION)
    page = ListPage(
        request,
        contactlog.contact_gap_list(actor=user),
        columns=gap_columns(),
        filter_form=GapFilterForm,
        apply_filters=contactlog.gap_filters,
        default_sort="due_on",
        exportable=access.can(user, contactlog.EXPORT_ACTION),
    )
    return page.respond(
        "customers/contactlog/gaps.html", export_name="contact-gaps", export_action=contactlog.EXPORT_ACTION
    )


urlpatterns = [
    path("contact-logs/", contact_log_list, name="contact_log_list"),
    path("contact-logs/gaps/", contact_gap_list, name="contact_gap_list"),
    path("customers/<int:pk>/contact-logs/new/", contact_log_add, name="customer_contact_log_add"),
    path(
        "customers/<int:pk>/contact-logs/<int:log_id>/",
        contact_log_detail,
        name="customer_contact_log_detail",
    ),
    path(
        "customers/<int:pk>/contact-logs/<int:log_id>/edit/",
        contact_log_edit,
        name="customer_contact_log_edit",
    ),
    path(
        "customers/<int:pk>/contact-logs/<int:log_id>/done/",
        contact_log_done,
        name="customer_contact_log_done",
    ),
]
