"""Forms of the credit limits pages (the services validate every rule; the forms only shape the input)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core.forms import KehuForm
from kehu.core.models import User
from kehu.customers.models import Customer
from kehu.limits.models import AppStatus, Channel, ReviewDecision, ReviewTrigger

MONEY = {"max_digits": 16, "decimal_places": 2, "min_value": 0}


class ApplicationForm(KehuForm):
    customer: forms.ModelChoiceField[Customer] = forms.ModelChoiceField(
        queryset=Customer.objects.none(), label=_("客户")
    )
    requested_amount = forms.DecimalField(label=_("申请额度（元）"), **MONEY)  # type: ignore[arg-type]
    requested_term_days = forms.IntegerField(label=_("申请账期（天）"), min_value=0, max_value=365)
    expected_sales = forms.DecimalField(
        label=_("账期内预计销售额（元）"),
        required=False,
        help_text=_("A类客户必填：额度不得超过该金额。"),
        **MONEY,  # type: ignore[arg-type]
    )
    reason = forms.CharField(label=_("申请理由"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    override = forms.BooleanField(label=_("授权越级（超出信用类别政策）"), required=False)
    override_reason = forms.CharField(
        label=_("越级理由"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=4000
    )

    def __init__(self, *args: Any, customers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers  # type: ignore[attr-defined]
        self._errors = None  # the base form validated before the queryset was set
        self._style()


class FindingForm(KehuForm):
    channel = forms.ChoiceField(label=_("调查渠道"), choices=Channel.choices)
    findings = forms.CharField(label=_("调查结果"), widget=forms.Textarea(attrs={"rows": 3}), max_length=8000)


class ConclusionForm(KehuForm):
    conclusion = forms.CharField(
        label=_("分析结论"), widget=forms.Textarea(attrs={"rows": 3}), max_length=8000
    )


class ActForm(KehuForm):
    comment = forms.CharField(label=_("意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    approved_amount = forms.DecimalField(
        label=_("批准额度（元）"),
        required=False,
        help_text=_("不填即按申请额度批准；可低于申请额度。"),
        **MONEY,  # type: ignore[arg-type]
    )
    approved_term_days = forms.IntegerField(
        label=_("批准账期（天）"), required=False, min_value=0, max_value=365
    )
    override = forms.BooleanField(label=_("授权越级（超出信用类别政策）"), required=False)
    override_reason = forms.CharField(label=_("越级理由"), required=False)

    def __init__(self, *args: Any, approving: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not approving:
            for name in ("approved_amount", "approved_term_days", "override", "override_reason"):
                del self.fields[name]
            self._errors = None
            self._style()


class ApplicationFilterForm(KehuForm):
    q = forms.CharField(label=_("客户或编号"), required=False)
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部")), *AppStatus.choices])
    stage = forms.ChoiceField(label=_("环节"), required=False)
    band = forms.ChoiceField(label=_("金额档位"), required=False)
    owner = forms.ModelChoiceField(label=_("负责人"), required=False, queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from kehu.limits import selectors
        from kehu.limits.workflow import APPROVAL_LABELS

        super().__init__(*args, **kwargs)
        band: Any = self.fields["band"]
        band.choices = [("", _("全部"))] + [(k, label) for k, label, _l, _u in selectors.amount_bands()]
        stage: Any = self.fields["stage"]
        stage.choices = [
            ("", _("全部")),
            ("draft", _("填写申请")),
            ("investigation", _("信用调查")),
            *APPROVAL_LABELS.items(),
        ]
        owner: Any = self.fields["owner"]
        owner.queryset = (
            User.objects.filter(is_active=True, roles__code__in=["sales_rep", "sales_manager"])
            .distinct()
            .order_by("username")
        )
        self._errors = None  # validate again with the choices set above
        self._style()


class LimitFilterForm(KehuForm):
    q = forms.CharField(label=_("客户"), required=False)
    credit_class = forms.ChoiceField(
        label=_("信用类别"),
        required=False,
        choices=[("", _("全部")), ("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")],
    )
    review_within = forms.IntegerField(
        label=_("复查到期（天内）"), required=False, min_value=0, max_value=3650
    )
    min_utilisation = forms.DecimalField(
        label=_("使用率不低于（%）"), required=False, min_value=0, max_value=1000, decimal_places=1
    )


class ReviewFilterForm(KehuForm):
    q = forms.CharField(label=_("客户"), required=False)
    state = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[
            ("", _("全部")),
            ("open", _("待复查")),
            ("overdue", _("已超期")),
            ("decided", _("已有结论")),
        ],
    )
    trigger = forms.ChoiceField(
        label=_("触发原因"), required=False, choices=[("", _("全部")), *ReviewTrigger.choices]
    )


class ReviewDecideForm(KehuForm):
    decision = forms.ChoiceField(label=_("复查结论"), choices=ReviewDecision.choices)
    reason = forms.CharField(label=_("结论说明"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)
    requested_amount = forms.DecimalField(
        label=_("调整后额度（元）"),
        required=False,
        help_text=_("结论为“调整额度”时填写，按审批权限矩阵审批。"),
        **MONEY,  # type: ignore[arg-type]
    )
    requested_term_days = forms.IntegerField(
        label=_("调整后账期（天）"), required=False, min_value=0, max_value=365
    )
    expected_sales = forms.DecimalField(label=_("账期内预计销售额（元）"), required=False, **MONEY)  # type: ignore[arg-type]


class LitigationForm(KehuForm):
    description = forms.CharField(
        label=_("诉讼情况"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )
    occurred_on = forms.DateField(label=_("发生日期"), widget=forms.DateInput(attrs={"type": "date"}))
