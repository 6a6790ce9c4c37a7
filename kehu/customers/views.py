"""Customer pages (R-CUS-01..03, 07..09, 11, 14): the customer list (交易往来客户一览表), the create form with the
duplicate-candidates confirmation, the dossier (客户档案), editing, lifecycle actions, contacts and staff."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kehu.core import access, audit
from kehu.core.errorpages import message_error
from kehu.core.errors import KehuError, NotFound, PermissionDenied
from kehu.core.listing import Column, ListPage
from kehu.customers import archive, documents, groups, selectors, services
from kehu.customers import columns as list_columns
from kehu.customers.forms import ContactForm, CustomerFilterForm, CustomerForm, StaffForm, TransitionForm
from kehu.customers.models import Contact, Customer, CustomerStatus

STATUS_CSS = {
    "prospect": "bg-info-subtle text-info-emphasis",
    "review": "bg-warning-subtle text-warning-emphasis",
    "active": "bg-success-subtle text-success-emphasis",
    "suspended": "bg-danger-subtle text-danger-emphasis",
    "ended": "bg-secondary-subtle text-secondary-emphasis",
}
CLASS_CSS = {
    "core": "bg-danger-subtle text-danger-emphasis",
    "important": "bg-primary-subtle text-primary-emphasis",
    "general": "bg-light text-muted",
}


DOCUMENTS_CELL = "customers/documents/_state_cell.html"


def customer_columns() -> list[Column]:
    """The list's own columns and those other modules registered (kehu.customers.columns)."""
    return list_columns.merged(_own_columns())


def _own_columns() -> list[Column]:
    return [
        Column(
            "number",
            _("客户编号"),
            sort="number",
            link=lambda c: reverse("customer_detail", args=[c.pk]),
            css="text-nowrap",
        ),
        Column(
            "name",
            _("客户名称"),
            sort="name",
            link=lambda c: reverse("customer_detail", args=[c.pk]),
            css="kehu-col-name",
        ),
        Column(
            "customer_class",
            _("类别"),
            sort="customer_class",
            value=lambda c: c.get_customer_class_display(),
            template="customers/_class_cell.html",
        ),
        Column(
            "status",
            _("状态"),
            sort="status",
            value=lambda c: c.get_status_display(),
            template="customers/_status_cell.html",
            css="text-nowrap",
        ),
        Column(
            "documents",
            _("证照状态"),
            value=documents.summary_badge,
            template=DOCUMENTS_CELL,
            css="text-nowrap",
        ),
        Column("kind", _("类型"), sort="kind", value=lambda c: c.get_kind_display(), css="text-nowrap"),
        Column(
            "industry",
            _("行业"),
            sort="industry",
            value=lambda c: c.get_industry_display(),
            css="text-nowrap",
        ),
        Column(
            "region",
            _("区域"),
            sort="region__name",
            value=lambda c: c.region.name if c.region else "",
            css="text-nowrap",
        ),
        Column("city", _("城市"), sort="city", page=False),
        Column(
            "owner", _("负责人"), sort="owner__display_name", value=lambda c: str(c.owner), css="text-nowrap"
        ),
        Column(
            "last_contact_at",
            _("最近联系"),
            sort="last_contact_at",
            value=lambda c: localtime(c.last_contact_at).date().isoformat() if c.last_contact_at else "",
            css="text-nowrap",
        ),
        Column("credit_code", _("统一社会信用代码"), page=False),
    ]


def _status_param(request: HttpRequest) -> str:
    status = request.GET.get("status", "")
    return status if status in CustomerStatus.values else ""


@login_required
def customer_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    access.require(user, "customer.view")
    page = ListPage(
        request,
        list_columns.annotate(
            selectors.customer_list(actor=user, filters={"status": _status_param(request)})
        ),
        columns=customer_columns(),
        filter_form=CustomerFilterForm,
        apply_filters=selectors.apply_filters,
        default_sort="number",
        exportable=access.can(user, "customer.export"),
    )
    if page.form is not None:
        owner_field: Any = page.form.fields["owner"]
        owner_field.queryset = owner_choices(user)
    return page.respond(
        "customers/list.html",
        {"can_create": access.can(user, "customer.create")},
        export_name="customers",
        export_action="customer.export",
    )


def _form_kwargs(d: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in d.items() if k not in ("owner", "staff", "source", "source_note", "changed_on")}
    out["credit_code"] = out.get("credit_code") or ""
    return out


@login_required
def customer_create(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "customer.create")
    form = CustomerForm(request.POST or None, initial={"owner": actor.pk})
    candidates = None
    exact = False
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            c = services.customer_create(
                actor=actor,
                owner=d["owner"] or actor,
                staff=list(d["staff"]),
                confirm_duplicates=request.POST.get("confirm_duplicates") == "1",
                **_form_kwargs(d),
            )
        except services.DuplicateCandidates as exc:
            candidates, exact = exc.candidates, exc.exact
            form.add_service_error(exc)
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(
                request, _("客户 %(name)s 已建档，编号 %(number)s。") % {"name": c.name, "number": c.number}
            )
            return redirect("customer_detail", pk=c.pk)
    return render(
        request,
        "customers/form.html",
        {"form": form, "target": None, "candidates": candidates, "exact": exact},
    )


def owner_choices(actor: Any) -> Any:
    """The owners the list may be filtered by: those whose customers the user can see (a rep: only themselves)."""
    from kehu.customers.forms import _users

    scope = access.scope_for(actor, "customer.view")
    if scope == access.Scope.OWN:
        return _users().filter(pk=actor.pk)
    if scope == access.Scope.DEPARTMENT:
        return _users().filter(access.department_q(actor, "department__", region_field="region_id"))
    return _users()


def may_edit(actor: Any, c: Customer) -> bool:
    """The owner, or a manager whose scope covers the customer (assigned staff only read)."""
    if not (access.can(actor, "customer.edit") and access.in_scope(actor, "customer.edit", c)):
        return False
    return access.scope_for(actor, "customer.edit") != access.Scope.OWN or c.owner_id == actor.pk


def dossier_tab(request: HttpRequest, can_see_history: bool) -> str:
    tab = request.GET.get("tab", "overview")
    keys = (
        {key for key, _label in archive.tabs()} | {"overview"} | ({"history"} if can_see_history else set())
    )
    return tab if tab in keys else "overview"


@login_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The dossier: an overview tab, the six archive categories (R-CUS-06) and the audit trail. Only the open
    tab's records are read."""
    actor: Any = request.user
    c = selectors.customer_get(actor=actor, pk=pk)
    can_edit = may_edit(actor, c)
    can_see_history = access.can(actor, "audit.view") or can_edit
    tab = dossier_tab(request, can_see_history)
    labels = services.transition_labels()
    actions = [(a, labels[a]) for a in services.allowed_actions(actor, c)]
    ctx: dict[str, Any] = {
        "c": c,
        "tab": tab,
        "tabs": archive.tabs(),
        "status_css": STATUS_CSS.get(c.status, ""),
        "class_css": CLASS_CSS.get(c.customer_class, ""),
        "actions": actions,
        "can_edit": can_edit,
        "entries": [] if can_see_history else None,
        "document_flags": documents.flags(c),
    }
    if tab == "overview":
        ctx.update(
            contacts=list(c.contacts.order_by("-active", "pk")),
            staff=list(c.staff.order_by("username")),
            timeline=list(selectors.customer_timeline(c)[:100]),
            former_names=selectors.former_names(c),
            groups=groups.group_status(c),
        )
    elif tab == "history":
        ctx["entries"] = list(audit.history(c)[:100])
    else:
        category = int(tab)
        ctx["archive_sections"] = archive.render_category(request, c, category)
        ctx["category_hint"] = archive.CATEGORY_HINTS[archive.ArchiveCategory(category)]
    return render(request, "customers/detail.html", ctx)


def _initial(c: Customer) -> dict[str, Any]:
    fields = list(services.EDITABLE)
    out = {f: getattr(c, f) for f in fields}
    out["owner"] = c.owner_id
    return out


@login_required
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor: Any = request.user
    c = selectors.customer_get(actor=actor, pk=pk)
    access.require(actor, "customer.edit")
    form = CustomerForm(request.POST or None, initial=_initial(c), editing=True)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.customer_update(
                actor=actor,
                customer_id=c.pk,
                owner=d["owner"],
                source=d["source"],
                source_note=d["source_note"],
                changed_on=d["changed_on"],
                **_form_kwargs(d),
            )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("customer_detail", pk=c.pk)
    return render(request, "customers/form.html", {"form": form, "target": c})


@login_required
@require_POST
def customer_transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    actor: Any = request.user
    form = TransitionForm(request.POST)
    if not form.is_valid():
        selectors.customer_get(actor=actor, pk=pk)
        messages.error(request, _("请填写原因。"))
        return redirect("customer_detail", pk=pk)
    try:
        c = services.customer_transition(
            actor=actor,
            customer_id=pk,
            action=action,
            reason=form.cleaned_data["reason"],
            ended_reason=form.cleaned_data["ended_reason"],
        )
    except KehuError as exc:
        message_error(request, exc)
    else:
        messages.success(request, _("客户状态已变更为“%(s)s”。") % {"s": c.get_status_display()})
    return redirect("customer_detail", pk=pk)


@login_required
def contact_edit(request: HttpRequest, pk: int, contact_id: int | None = None) -> HttpResponse:
    actor: Any = request.user
    c = selectors.customer_get(actor=actor, pk=pk)
    access.require(actor, "customer.edit")
    contact = None
    initial: dict[str, Any] = {"active": True}
    if contact_id is not None:
        contact = Contact.objects.filter(customer=c, pk=contact_id).first()
        if contact is None:
            raise NotFound()
        initial = {f: getattr(contact, f) for f in services.CONTACT_FIELDS}
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if contact is None:
                services.contact_add(actor=actor, customer_id=c.pk, **d)
            else:
                services.contact_update(actor=actor, customer_id=c.pk, contact_id=contact.pk, **d)
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("联系人已保存。"))
            return redirect("customer_detail", pk=c.pk)
    return render(request, "customers/contact_form.html", {"form": form, "c": c, "contact": contact})


@login_required
def customer_staff(request: HttpRequest, pk: int) -> HttpResponse:
    """The staff assigned to a customer (R-CUS-03): its own page, so that the dossier does not list every user."""
    actor: Any = request.user
    c = selectors.customer_get(actor=actor, pk=pk)
    if request.method == "POST":
        form = StaffForm(request.POST)
        if form.is_valid():
            try:
                services.customer_set_staff(
                    actor=actor,
                    customer_id=pk,
                    staff=list(form.cleaned_data["staff"]),
                    reason=form.cleaned_data["reason"],
                )
            except KehuError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("跟进人员已更新。"))
                return redirect("customer_detail", pk=pk)
    else:
        if not may_edit(actor, c):
            raise PermissionDenied()
        form = StaffForm(initial={"staff": [u.pk for u in c.staff.all()]})
    return render(request, "customers/staff_form.html", {"c": c, "form": form})


urlpatterns = [
    path("customers/", customer_list, name="customer_list"),
    path("customers/new/", customer_create, name="customer_create"),
    path("customers/<int:pk>/", customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", customer_edit, name="customer_edit"),
    path("customers/<int:pk>/lifecycle/<str:action>/", customer_transition, name="customer_transition"),
    path("customers/<int:pk>/contacts/new/", contact_edit, name="customer_contact_add"),
    path("customers/<int:pk>/contacts/<int:contact_id>/edit/", contact_edit, name="customer_contact_edit"),
    path("customers/<int:pk>/staff/", customer_staff, name="customer_staff"),
]
