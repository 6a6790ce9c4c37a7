"""Pages of the hand-over (R-CUS-10) and of dossier merges (R-CUS-11): the hand-over form with its preview, the
hand-over list and detail, reassigning one customer, the merge request form and the merge detail with the
decision buttons (the same engine transitions as the case page)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kehu.core import access
from kehu.core.errorpages import message_error
from kehu.core.errors import KehuError
from kehu.core.forms import KehuForm
from kehu.core.models import User
from kehu.customers import handover, merge, selectors
from kehu.customers.models import Customer, MergeState
from kehu.workflow import engine


class UserChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        dept = f" · {obj.department.name}" if obj.department_id and obj.department else ""
        left = _("（已停用）") if not obj.is_active else ""
        return f"{obj.label}{dept}{left}"


class HandOverForm(KehuForm):
    from_user = UserChoice(label=gettext_lazy("移交人"), queryset=User.objects.none())
    to_user = UserChoice(label=gettext_lazy("接收人"), queryset=User.objects.none())
    extra_staff = UserChoice(
        label=gettext_lazy("补充跟进人员"),
        queryset=User.objects.none(),
        required=False,
        help_text=gettext_lazy(
            "接收人本已是某些核心或重要客户的跟进人员时，交接后这些客户的跟进人员会不足；此人将一并加入这些客户。"
        ),
    )
    reason = forms.CharField(label=gettext_lazy("交接原因"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from_user"].queryset = handover.users_in_scope(actor).order_by("username")  # type: ignore[attr-defined]
        eligible = handover.eligible_successors(actor).select_related("department")
        self.fields["to_user"].queryset = eligible  # type: ignore[attr-defined]
        self.fields["extra_staff"].queryset = eligible  # type: ignore[attr-defined]
        self._errors = None  # the base class validated before the choices were known


class ReassignForm(KehuForm):
    to_user = UserChoice(label=gettext_lazy("新负责人"), queryset=User.objects.none())
    extra_staff = UserChoice(
        label=gettext_lazy("补充跟进人员"),
        queryset=User.objects.none(),
        required=False,
        help_text=gettext_lazy("更换后跟进人员少于规定人数时，此人一并加入该客户。"),
    )
    reason = forms.CharField(label=gettext_lazy("更换原因"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        eligible = handover.eligible_successors(actor).select_related("department")
        self.fields["to_user"].queryset = eligible  # type: ignore[attr-defined]
        self.fields["extra_staff"].queryset = eligible  # type: ignore[attr-defined]
        self._errors = None  # the base class validated before the choices were known


class MergeForm(KehuForm):
    survivor = forms.ModelChoiceField(
        label=gettext_lazy("并入到（保留档案）"), queryset=Customer.objects.none()
    )
    reason = forms.CharField(label=gettext_lazy("合并原因"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, actor: Any, merged: Customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["survivor"]
        field.queryset = merge.merge_targets(actor=actor, merged=merged)  # type: ignore[attr-defined]
        field.label_from_instance = lambda c: f"{c.number} {c.name}"  # type: ignore[attr-defined]
        self._errors = None  # the base class validated before the choices were known


# --------------------------------------------------------------------------------------------------------------
# Hand-over
# --------------------------------------------------------------------------------------------------------------


@login_required
def handover_list(request: HttpRequest) -> HttpResponse:
    actor: Any = request.user
    page = Paginator(handover.handover_list(actor=actor), 50).get_page(request.GET.get("page"))
    return render(request, "customers/handover/list.html", {"page_obj": page, "rows": list(page.object_list)})


@login_required
def handover_new(request: HttpRequest) -> HttpResponse:
    """Step 1: choose the people and the reason; step 2: the preview of what will move; step 3: confirm."""
    actor: Any = request.user
    access.require(actor, "customer.handover")
    initial = {"from_user": request.GET.get("from_user")} if request.GET.get("from_user") else None
    form = HandOverForm(request.POST or None, initial=initial, actor=actor)
    plan = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if request.POST.get("confirm") == "1":
                ho = handover.handover_perform(
                    actor=actor,
                    from_user_id=d["from_user"].pk,
                    to_user_id=d["to_user"].pk,
                    reason=d["reason"],
                    extra_staff_id=d["extra_staff"].pk if d.get("extra_staff") else None,
                )
                messages.success(
                    request,
                    _("交接单 %(n)s 已完成：移交客户 %(c)s 个，替换跟进 %(s)s 处，移交待办 %(t)s 项。")
                    % {"n": ho.number, "c": ho.customers_moved, "s": ho.staff_replaced, "t": ho.tasks_moved},
                )
                return redirect("customer_handover_detail", pk=ho.pk)
            plan = handover.handover_preview(
                actor=actor,
                from_user_id=d["from_user"].pk,
                to_user_id=d["to_user"].pk,
                extra_staff_id=d["extra_staff"].pk if d.get("extra_staff") else None,
            )
        except KehuError as exc:
            form.add_service_error(exc)
    return render(request, "customers/handover/form.html", {"form": form, "plan": plan})


@login_required
def handover_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor: Any = request.user
    ho = handover.handover_get(actor=actor, pk=pk)
    items = list(handover.handover_items(ho))
    can_manage = access.can(actor, "customer.handover")
    return render(
        request,
        "customers/handover/detail.html",
        {
            "ho": ho,
            "items": items,
            "summary": ho.summary or {},
            "can_inform": actor.pk == ho.to_user_id or can_manage,
            "leftovers": handover.handover_leftovers(ho.from_user) if can_manage else None,
        },
    )


@login_required
@require_POST
def handover_item_inform(request: HttpRequest, pk: int) -> HttpResponse:
    actor: Any = request.user
    try:
        item = handover.handover_item_inform(actor=actor, item_id=pk)
    except KehuError as exc:
        message_error(request, exc)
        return redirect("customer_handover_list")
    messages.success(request, _("已确认告知 %(name)s 的联系人。") % {"name": item.customer.name})
    return redirect("customer_handover_detail", pk=item.handover_id)


@login_required
def customer_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "customer.handover")
    c = selectors.customer_get(actor=actor, pk=pk)
    form = ReassignForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            ho = handover.customer_reassign(
                actor=actor,
                customer_id=c.pk,
                to_user_id=d["to_user"].pk,
                reason=d["reason"],
                extra_staff_id=d["extra_staff"].pk if d.get("extra_staff") else None,
            )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(
                request,
                _("负责人已更换为 %(u)s（交接单 %(n)s），已给新负责人发出告知联系人的待办。")
                % {"u": ho.to_user.label, "n": ho.number},
            )
            return redirect("customer_detail", pk=c.pk)
    return render(request, "customers/handover/reassign.html", {"form": form, "c": c})


# --------------------------------------------------------------------------------------------------------------
# Merge
# --------------------------------------------------------------------------------------------------------------


@login_required
def merge_request(request: HttpRequest, pk: int) -> HttpResponse:
    actor: Any = request.user
    access.require(actor, "customer.merge.request")
    c = selectors.customer_get(actor=actor, pk=pk)
    form = MergeForm(request.POST or None, actor=actor, merged=c)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            m = merge.merge_request(
                actor=actor, merged_id=c.pk, survivor_id=d["survivor"].pk, reason=d["reason"]
            )
        except KehuError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("合并申请已提交，等待总经理审批。"))
            return redirect("customer_merge_detail", pk=m.pk)
    return render(
        request,
        "customers/merge/form.html",
        {"form": form, "c": c, "merges": list(merge.merges_of(c)[:20])},
    )


@login_required
def merge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor: Any = request.user
    m = merge.merge_get(actor=actor, pk=pk)
    transitions = (
        engine.allowed_transitions(m.case, actor) if m.case and m.state == MergeState.PENDING else []
    )
    return render(
        request,
        "customers/merge/detail.html",
        {
            "m": m,
            "transitions": transitions,
            "refusals": engine.refusals(m.case, actor) if m.case else {},
            "moved": m.moved or {},
        },
    )


@login_required
@require_POST
def merge_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    actor: Any = request.user
    try:
        m = merge.merge_decide(
            actor=actor, merge_id=pk, decision=decision, comment=request.POST.get("comment", "")
        )
    except KehuError as exc:
        message_error(request, exc)
    else:
        if m.state == MergeState.DONE:
            messages.success(
                request, _("已批准：%(b)s 已并入 %(a)s。") % {"b": m.merged.name, "a": m.survivor.name}
            )
        else:
            messages.success(request, _("合并申请已驳回，两个档案均未改变。"))
    return redirect("customer_merge_detail", pk=pk)


urlpatterns = [
    path("customers/handovers/", handover_list, name="customer_handover_list"),
    path("customers/handovers/new/", handover_new, name="customer_handover_new"),
    path("customers/handovers/<int:pk>/", handover_detail, name="customer_handover_detail"),
    path("customers/handovers/items/<int:pk>/inform/", handover_item_inform, name="customer_handover_inform"),
    path("customers/<int:pk>/reassign/", customer_reassign, name="customer_reassign"),
    path("customers/<int:pk>/merge/", merge_request, name="customer_merge_request"),
    path("customers/merges/<int:pk>/", merge_detail, name="customer_merge_detail"),
    path("customers/merges/<int:pk>/decide/<slug:decision>/", merge_decide, name="customer_merge_decide"),
]
