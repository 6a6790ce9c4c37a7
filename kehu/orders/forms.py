"""Forms of the order pages (R-ORD-01)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kehu.core import access
from kehu.core.forms import KehuForm
from kehu.core.models import Department, User
from kehu.customers.models import Customer
from kehu.grading.policies import PAYMENT_TERMS
from kehu.orders.models import AmendmentCause, Channel, FeedbackKind, OrderStatus

LINE_ROWS = 8  # rows the entry form shows at least
MORE_ROWS = 5  # rows the "more lines" button adds
# the line inputs of the entry form (the tax rate is the catalogue's, not an input)
LINE_FIELDS = ("product", "spec", "quantity", "unit", "unit_price", "discount")


def terms_choices() -> list[tuple[str, Any]]:
    return [(k, _(label)) for k, label in PAYMENT_TERMS]


def customer_label(c: Customer) -> str:
    return f"{c.name}（{c.number}）"


class CustomerPicker(forms.Widget):
    """The customer of an order: a search field (htmx: the customer search of the customers module, within the
    user's scope) whose chosen result becomes a hidden input with the customer's id; no list of all customers."""

    template_name = "orders/partials/_customer_picker.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.picked: Customer | None = None
        self.fixed = False

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context.update(
            {"picked": self.picked, "fixed": self.fixed, "typed": value if not self.picked else ""}
        )
        return context

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> Any:
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))


class OrderForm(KehuForm):
    customer = forms.IntegerField(label=_("客户"), widget=CustomerPicker)
    channel = forms.ChoiceField(label=_("接单渠道"), choices=Channel.choices)
    requested_date = forms.DateField(label=_("要求交货日期"), widget=forms.DateInput)
    payment_terms = forms.ChoiceField(label=_("付款条件"))
    customer_ref = forms.CharField(label=_("客户订单号"), required=False, max_length=60)
    non_standard = forms.BooleanField(label=_("非标订单"), required=False)
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    reason = forms.CharField(label=_("修改理由"), required=False)
    # accountability of an amendment after approval (R-ORD-07)
    cause = forms.ChoiceField(
        label=_("变更原因类别"), required=False, choices=[("", "—"), *AmendmentCause.choices]
    )
    department = forms.ModelChoiceField(
        label=_("责任部门"),
        required=False,
        queryset=Department.objects.none(),
        help_text=_("内部差错时必填。"),
    )
    person = forms.ModelChoiceField(label=_("责任人"), required=False, queryset=User.objects.none())

    def __init__(
        self,
        *args: Any,
        user: Any,
        amend: bool = False,
        fixed_customer: Any = None,
        after_approval: bool = False,
        **kwargs: Any,
    ) -> None:
        """``fixed_customer``: the customer of an order being changed (it cannot change); ``after_approval``: the
        amendment must say who answers for it."""
        super().__init__(*args, **kwargs)
        self.user = user
        terms: Any = self.fields["payment_terms"]
        terms.choices = terms_choices()
        if not amend:
            del self.fields["reason"]
        if not after_approval:
            for name in ("cause", "department", "person"):
                del self.fields[name]
        else:
            dept: Any = self.fields["department"]
            dept.queryset = Department.objects.filter(active=True).order_by("code")
            person: Any = self.fields["person"]
            person.queryset = User.objects.filter(is_active=True).order_by("username")
        picker: Any = self.fields["customer"].widget
        if fixed_customer is not None:
            picker.picked, picker.fixed = fixed_customer, True
        else:
            picker.picked = self._in_scope(
                self.data.get("customer") if self.is_bound else self.initial.get("customer")
            )
        self._errors = None  # the customer is known now: validate again

    def _in_scope(self, value: Any) -> Customer | None:
        """The customer ``value`` names, when the user may enter orders for it."""
        if not str(value or "").strip().isdigit():
            return None
        qs = access.restrict(self.user, "orders.order.edit", Customer.objects.all())
        return qs.filter(pk=int(str(value).strip())).first()

    def clean_customer(self) -> int:
        picker: Any = self.fields["customer"].widget
        value = self.cleaned_data["customer"]
        if picker.fixed:
            return int(picker.picked.pk)
        if picker.picked is None or picker.picked.pk != value:
            raise forms.ValidationError(_("客户不存在或不在您的范围内，请重新搜索选择。"))
        return int(value)


class OrderFilterForm(KehuForm):
    q = forms.CharField(label=_("订单号或客户"), required=False)
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部")), *OrderStatus.choices]
    )
    hold = forms.ChoiceField(
        label=_("信用冻结"), required=False, choices=[("", _("全部")), ("1", _("冻结中")), ("0", _("未冻结"))]
    )
    overdue = forms.ChoiceField(
        label=_("客户逾期"),
        required=False,
        choices=[("", _("全部")), ("1", pgettext_lazy("filter", "有逾期"))],
    )
    customer = forms.IntegerField(label=_("客户编号"), required=False, widget=forms.HiddenInput)
    owner = forms.ModelChoiceField(label=_("负责人"), required=False, queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner: Any = self.fields["owner"]
        owner.queryset = (
            User.objects.filter(is_active=True, roles__code="sales_rep").distinct().order_by("username")
        )


class NoticeForm(KehuForm):
    """The execution notice (R-ORD-05)."""

    responsible = forms.ModelChoiceField(label=_("执行责任人"), queryset=User.objects.none())
    delivery_deadline = forms.DateField(label=_("交付期限"), widget=forms.DateInput(attrs={"type": "date"}))
    quality_requirements = forms.CharField(label=_("质量要求"), widget=forms.Textarea(attrs={"rows": 2}))
    production_plan = forms.CharField(
        label=_("生产计划"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["responsible"]
        field.queryset = User.objects.filter(is_active=True).order_by("username")
        field.label_from_instance = lambda u: u.label


class DeliveryForm(KehuForm):
    """A delivery: the date and a note; the quantities per line are inputs ``qty-<line id>`` of the page."""

    delivered_on = forms.DateField(label=_("发货日期"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("备注"), required=False)


class InvoiceForm(KehuForm):
    number = forms.CharField(label=_("发票号"), max_length=40)
    invoiced_on = forms.DateField(label=_("开票日期"), widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.DecimalField(
        label=_("开票金额"),
        required=False,
        max_digits=16,
        decimal_places=2,
        help_text=_("不填：全部已发货未开票金额。"),
    )
    due_date = forms.DateField(
        label=_("到期日"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("不填：按订单付款条件的账期。"),
    )


class FeedbackForm(KehuForm):
    kind = forms.ChoiceField(label=_("类别"), choices=FeedbackKind.choices)
    rating = forms.TypedChoiceField(
        label=_("评分（1-5）"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—"), *((str(i), str(i)) for i in range(5, 0, -1))],
    )
    content = forms.CharField(label=_("客户反馈"), widget=forms.Textarea(attrs={"rows": 2}))


class ErrorFilterForm(KehuForm):
    start = forms.DateField(
        label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class ReasonForm(KehuForm):
    reason = forms.CharField(label=_("理由"), widget=forms.Textarea(attrs={"rows": 2}))


class ImportForm(KehuForm):
    file = forms.FileField(label=_("订单文件（xlsx）"))
