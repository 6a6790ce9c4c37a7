"""Forms of the customer pages. Validation rules live in the services; forms only collect input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core.forms import KehuForm
from kehu.core.models import Region, User
from kehu.customers.documents import SUMMARY_STATES
from kehu.customers.models import (
    ChangeSource,
    ContactRole,
    Currency,
    CustomerClass,
    CustomerKind,
    CustomerStatus,
    EndedReason,
    Industry,
)

ALL = [("", _("全部"))]


def _users() -> Any:
    return User.objects.filter(is_active=True, roles__code__in=["sales_rep", "sales_manager"]).distinct()


class CustomerFilterForm(KehuForm):
    q = forms.CharField(
        label=_("关键字"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("名称/曾用名/拼音首字母/联系人")}),
    )
    status = forms.ChoiceField(label=_("状态"), required=False, choices=ALL + CustomerStatus.choices)
    customer_class = forms.ChoiceField(
        label=_("客户类别"), required=False, choices=ALL + CustomerClass.choices
    )
    kind = forms.ChoiceField(label=_("客户类型"), required=False, choices=ALL + CustomerKind.choices)
    region = forms.ModelChoiceField(
        label=_("区域"), required=False, queryset=Region.objects.all(), empty_label=_("全部")
    )
    owner = forms.ModelChoiceField(
        label=_("负责人"), required=False, queryset=User.objects.none(), empty_label=_("全部")
    )
    industry = forms.ChoiceField(label=_("行业"), required=False, choices=ALL + Industry.choices)
    documents = forms.ChoiceField(label=_("证照状态"), required=False, choices=ALL + SUMMARY_STATES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        owner.queryset = _users()  # type: ignore[attr-defined]
        owner.label_from_instance = lambda u: u.label  # type: ignore[attr-defined]
        if self.is_bound:
            self.full_clean()


class CustomerForm(KehuForm):
    name = forms.CharField(label=_("客户名称"), max_length=200)
    is_person = forms.BooleanField(label=_("自然人客户（无统一社会信用代码）"), required=False)
    credit_code = forms.CharField(label=_("统一社会信用代码"), max_length=30, required=False)
    customer_class = forms.ChoiceField(label=_("客户类别"), choices=CustomerClass.choices, initial="general")
    kind = forms.ChoiceField(label=_("客户类型"), choices=CustomerKind.choices)
    industry = forms.ChoiceField(label=_("行业"), choices=[("", "—"), *Industry.choices], required=False)
    owner = forms.ModelChoiceField(label=_("负责人"), required=False, queryset=User.objects.none())
    staff = forms.ModelMultipleChoiceField(
        label=_("跟进人员"),
        required=False,
        queryset=User.objects.none(),
        help_text=_("核心及重要客户至少两名跟进人员（含负责人）。"),
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )
    enterprise_type = forms.CharField(label=_("企业类型"), max_length=60, required=False)
    legal_representative = forms.CharField(label=_("法定代表人"), max_length=60, required=False)
    chairman = forms.CharField(label=_("董事长"), max_length=60, required=False)
    general_manager = forms.CharField(label=_("总经理"), max_length=60, required=False)
    registered_capital = forms.DecimalField(
        label=_("注册资本"), max_digits=18, decimal_places=2, required=False, min_value=0
    )
    capital_currency = forms.ChoiceField(label=_("币种"), choices=Currency.choices, initial="CNY")
    founded_on = forms.DateField(label=_("成立日期"), required=False, widget=forms.DateInput)
    operating_from = forms.DateField(label=_("营业期限自"), required=False, widget=forms.DateInput)
    operating_to = forms.DateField(
        label=_("营业期限至"), required=False, widget=forms.DateInput, help_text=_("留空表示长期")
    )
    licence_valid_until = forms.DateField(label=_("营业执照有效期至"), required=False, widget=forms.DateInput)
    issuing_authority = forms.CharField(label=_("登记机关"), max_length=100, required=False)
    business_scope = forms.CharField(
        label=_("经营范围"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    province = forms.CharField(label=_("省份"), max_length=20, required=False)
    city = forms.CharField(label=_("城市"), max_length=30, required=False)
    registered_address = forms.CharField(label=_("注册地址"), max_length=200, required=False)
    office_address = forms.CharField(label=_("办公地址"), max_length=200, required=False)
    postcode = forms.CharField(label=_("邮政编码"), max_length=10, required=False)
    phone = forms.CharField(label=_("电话"), max_length=30, required=False)
    fax = forms.CharField(label=_("传真"), max_length=30, required=False)
    website = forms.CharField(label=_("网址"), max_length=200, required=False)
    certifications = forms.CharField(
        label=_("资质认证"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    bank_name = forms.CharField(label=_("开户行"), max_length=100, required=False)
    bank_account = forms.CharField(label=_("银行账号"), max_length=40, required=False)
    invoice_title = forms.CharField(label=_("开票抬头"), max_length=200, required=False)
    tax_number = forms.CharField(label=_("纳税人识别号"), max_length=20, required=False)
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key in ("owner", "staff"):
            self.fields[key].queryset = _users()  # type: ignore[attr-defined]
            self.fields[key].label_from_instance = lambda u: u.label  # type: ignore[attr-defined]
        if editing:
            del self.fields["staff"]
            self.fields["source"] = forms.ChoiceField(
                label=_("变更来源"), choices=ChangeSource.choices, initial="manual"
            )
            self.fields["source_note"] = forms.CharField(label=_("来源说明"), max_length=200, required=False)
            self.fields["changed_on"] = forms.DateField(
                label=_("变更日期"), required=False, widget=forms.DateInput, help_text=_("留空为今天")
            )
            self._style()
        if self.is_bound:
            self.full_clean()


class TransitionForm(KehuForm):
    reason = forms.CharField(label=_("原因"), widget=forms.Textarea(attrs={"rows": 2}))
    ended_reason = forms.ChoiceField(
        label=_("终止原因"), choices=[("", "—"), *EndedReason.choices], required=False
    )


class ContactForm(KehuForm):
    name = forms.CharField(label=_("姓名"), max_length=60)
    role = forms.ChoiceField(label=_("角色"), choices=ContactRole.choices)
    title = forms.CharField(label=_("职务"), max_length=60, required=False)
    mobile = forms.CharField(label=_("手机"), max_length=20, required=False)
    phone = forms.CharField(label=_("电话"), max_length=30, required=False)
    email = forms.CharField(label=_("邮箱"), max_length=254, required=False)
    is_signer = forms.BooleanField(label=_("有效签单人员"), required=False)
    signer_valid_until = forms.DateField(label=_("签单授权有效期至"), required=False, widget=forms.DateInput)
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    active = forms.BooleanField(label=_("有效"), required=False, initial=True)


class StaffForm(KehuForm):
    staff = forms.ModelMultipleChoiceField(
        label=_("跟进人员"),
        required=False,
        queryset=User.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    reason = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = _users()  # type: ignore[attr-defined]
        self.fields["staff"].label_from_instance = lambda u: u.label  # type: ignore[attr-defined]
        if self.is_bound:
            self.full_clean()
