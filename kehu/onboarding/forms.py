"""Forms of the onboarding pages. The rules live in the services; forms only collect input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core.forms import KehuForm
from kehu.core.models import User
from kehu.customers.models import Customer, CustomerClass, CustomerStatus
from kehu.onboarding.models import Currency, Decision, ReviewKind
from kehu.workflow import engine

ALL = [("", _("全部"))]
STAGES = [
    ("screening", _("初步筛选")),
    ("qualification", _("资质核查")),
    ("business", _("业务审核")),
    ("risk", _("风险评估")),
    ("interview", _("面谈洽谈")),
    ("approval", _("最终审批")),
    ("rectification", _("客户整改")),
    ("check", _("资质复核")),
    ("risk_check", _("信用复核")),
    ("decision", _("复审决定")),
    ("approved", _("批准合作")),
    ("deferred", _("暂缓合作")),
    ("rejected", _("不予合作")),
    ("kept", _("维持合作")),
    ("downgraded", _("降低类别")),
    ("suspended", _("暂停合作")),
]


class ReviewFilterForm(KehuForm):
    q = forms.CharField(
        label=_("关键字"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("客户名称/审核编号")}),
    )
    stage = forms.ChoiceField(label=_("环节"), required=False, choices=ALL + STAGES)
    status = forms.ChoiceField(
        label=_("进度"), required=False, choices=[*ALL, ("open", _("进行中")), ("closed", _("已结束"))]
    )
    kind = forms.ChoiceField(label=_("类型"), required=False, choices=ALL + ReviewKind.choices)
    decision = forms.ChoiceField(label=_("结论"), required=False, choices=ALL + Decision.choices)
    owner = forms.ModelChoiceField(
        label=_("负责人"),
        required=False,
        queryset=User.objects.filter(
            is_active=True, roles__code__in=["sales_rep", "sales_manager"]
        ).distinct(),
    )
    overdue = forms.BooleanField(label=_("仅超期"), required=False)


class ScheduleFilterForm(KehuForm):
    q = forms.CharField(label=_("关键字"), required=False)
    customer_class = forms.ChoiceField(
        label=_("客户类别"), required=False, choices=ALL + CustomerClass.choices
    )
    due_within = forms.IntegerField(label=_("天内到期"), required=False, min_value=0, max_value=3650)
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ApplicationForm(KehuForm):
    customer = forms.ModelChoiceField(label=_("客户"), queryset=Customer.objects.none())
    purpose = forms.CharField(label=_("合作目的"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    expected_business = forms.CharField(
        label=_("预期业务"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    products = forms.CharField(label=_("产品/服务"), max_length=300, required=False)
    expected_annual_volume = forms.DecimalField(
        label=_("预计年交易额"), required=False, max_digits=18, decimal_places=2
    )
    currency = forms.ChoiceField(label=_("币种"), choices=Currency.choices, initial=Currency.CNY)
    requested_terms = forms.CharField(
        label=_("申请交易条件"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("如：月结60天、预付款30%")}),
    )
    notes = forms.CharField(label=_("备注"), widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args: Any, customers: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers if customers is not None else Customer.objects.none()  # type: ignore[attr-defined]
        self.fields["customer"].label_from_instance = lambda c: f"{c.number} {c.name}"  # type: ignore[attr-defined]
        self._errors = None  # the base form validated before the queryset was set
        self._style()


class StepForm(KehuForm):
    """One step of a review: comment, checklist answers with an evidence note each, an evidence file, and the
    decision's own fields (re-review date, new class)."""

    comment = forms.CharField(
        label=_("意见"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    file = forms.FileField(label=_("证据附件"), required=False)

    def __init__(self, *args: Any, transition: engine.Transition, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transition = transition
        if transition.comment_required:
            label = _("审核意见（必填）") if transition.send_back else _("意见（必填）")
            if transition.key.startswith("resubmit_"):
                label = _("整改情况（客户补充或更正的内容，必填）")
            self.fields["comment"].label = label
        required_mark = str(_("（必选）"))
        for item in transition.checklist:
            self.fields[f"check_{item.key}"] = forms.ChoiceField(
                label=f"{item.label}{required_mark if item.mandatory else ''}",
                required=False,
                choices=[("yes", _("是")), ("no", _("否")), ("na", _("不适用"))],
                widget=forms.RadioSelect,
            )
            self.fields[f"evidence_{item.key}"] = forms.CharField(
                label=_("证据说明"), required=False, max_length=500
            )
        if transition.key == "defer":
            self.fields["rereview_on"] = forms.DateField(
                label=_("再审日期"), required=False, widget=forms.DateInput
            )
        if transition.key == "downgrade":
            self.fields["new_class"] = forms.ChoiceField(label=_("调整后类别"), choices=CustomerClass.choices)
        self._errors = None
        self._style()
        for name, field in self.fields.items():
            if name.startswith("check_"):
                invalid = " is-invalid" if self.is_bound and self.errors.get(name) else ""
                field.widget.attrs["class"] = "form-check-input" + invalid

    def checklist(self) -> dict[str, str]:
        return {i.key: self.cleaned_data.get(f"check_{i.key}") or "" for i in self.transition.checklist}

    def evidence(self) -> dict[str, str]:
        return {i.key: self.cleaned_data.get(f"evidence_{i.key}") or "" for i in self.transition.checklist}

    def field_for(self, service_field: str | None) -> str | None:
        if not service_field:
            return None
        if service_field.startswith("checklist."):
            return "check_" + service_field.split(".", 1)[1]
        if service_field == "attachments":
            return "file"
        return service_field if service_field in self.fields else None


class RequalForm(KehuForm):
    reason = forms.CharField(
        label=_("提前复审原因"), widget=forms.Textarea(attrs={"rows": 2}), max_length=1000
    )


def prospects_for(user: Any) -> Any:
    from kehu.core import access

    qs = access.restrict(
        user, "onboarding.review.apply", Customer.objects.filter(status=CustomerStatus.PROSPECT)
    )
    if access.scope_for(user, "onboarding.review.apply") == access.Scope.OWN:
        qs = qs.filter(owner=user)
    return qs.order_by("number")
