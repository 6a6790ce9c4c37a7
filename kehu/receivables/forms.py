"""Forms of the receivables pages; the rules live in the services, the forms only carry the values."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.core.forms import KehuForm
from kehu.receivables.models import CollectionKind, DepositKind, ReportKind, SettlementMethod

LINES = 4


def _today() -> Any:
    return timezone.localdate()


def _invoice_choices(invoices: Any) -> list[tuple[Any, str]]:
    return [
        (e.pk, f"{e.number}（{_('到期')} {e.due_date:%Y-%m-%d}，{_('未清')} {e.open_amount}）")
        for e in invoices
    ]


def _set_choices(form: KehuForm, name: str, choices: list[tuple[Any, str]]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


def _restyle(form: KehuForm) -> None:
    """Fields or choices set after ``KehuForm.__init__`` (which validates a bound form to style it): validate again
    with them."""
    form._errors = None  # type: ignore[attr-defined,unused-ignore]
    form._style()


class InvoiceForm(KehuForm):
    number = forms.CharField(label=_("发票号"), max_length=40)
    entry_date = forms.DateField(label=_("开票日期"), initial=_today)
    amount = forms.DecimalField(label=_("金额（元）"), max_digits=16, decimal_places=2)
    due_date = forms.DateField(label=_("到期日"), required=False, help_text=_("不填则按付款期限计算"))
    terms_days = forms.IntegerField(label=_("付款期限（天）"), required=False, min_value=0, max_value=3650)
    memo = forms.CharField(label=_("摘要"), required=False, max_length=300)


class ReceiptForm(KehuForm):
    entry_date = forms.DateField(label=_("收款日期"), initial=_today)
    number = forms.CharField(
        label=_("收款单号"), required=False, max_length=40, help_text=_("不填则自动编号")
    )
    invoice = forms.TypedChoiceField(
        label=_("指定发票"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("不指定则按到期日先后自动分配"),
    )
    invoice_amount = forms.DecimalField(label=_("分配金额"), required=False, max_digits=16, decimal_places=2)
    memo = forms.CharField(label=_("摘要"), required=False, max_length=300)

    def __init__(self, *args: Any, invoices: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "invoice", [("", "—"), *_invoice_choices(invoices)])
        for i in range(LINES):
            self.fields[f"method_{i}"] = forms.ChoiceField(
                label=_("结算方式") + f" {i + 1}",
                required=i == 0,
                choices=[("", "—"), *SettlementMethod.choices],
            )
            self.fields[f"amount_{i}"] = forms.DecimalField(
                label=_("金额") + f" {i + 1}", required=i == 0, max_digits=16, decimal_places=2
            )
            self.fields[f"bill_number_{i}"] = forms.CharField(label=_("票据号") + f" {i + 1}", required=False)
            self.fields[f"bill_maturity_{i}"] = forms.DateField(
                label=_("票据到期日") + f" {i + 1}", required=False
            )
        _restyle(self)

    def lines(self) -> list[dict[str, Any]]:
        d = self.cleaned_data
        return [
            {
                "method": d[f"method_{i}"],
                "amount": d[f"amount_{i}"],
                "bill_number": d.get(f"bill_number_{i}") or "",
                "bill_maturity": d.get(f"bill_maturity_{i}"),
            }
            for i in range(LINES)
            if d.get(f"method_{i}") and d.get(f"amount_{i}") is not None
        ]

    def allocations(self) -> list[dict[str, Any]] | None:
        d = self.cleaned_data
        if not d.get("invoice"):
            return None
        return [{"invoice_id": d["invoice"], "amount": d.get("invoice_amount")}]


class CreditNoteForm(KehuForm):
    entry_date = forms.DateField(label=_("日期"), initial=_today)
    amount = forms.DecimalField(label=_("金额（元）"), max_digits=16, decimal_places=2)
    invoice = forms.TypedChoiceField(label=_("冲减发票"), required=False, coerce=int, empty_value=None)
    number = forms.CharField(label=_("红字发票号"), required=False, max_length=40)
    memo = forms.CharField(label=_("原因"), max_length=300)

    def __init__(self, *args: Any, invoices: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "invoice", [("", "—"), *_invoice_choices(invoices)])
        _restyle(self)


class ReverseForm(KehuForm):
    entry_date = forms.DateField(label=_("冲销日期"), initial=_today)
    reason = forms.CharField(label=_("冲销原因"), max_length=300)


class DepositForm(KehuForm):
    kind = forms.ChoiceField(label=_("类别"), choices=DepositKind.choices)
    reference = forms.CharField(label=_("凭证/合同号"), max_length=80)
    provider = forms.CharField(label=_("提供方"), required=False, max_length=200)
    amount = forms.DecimalField(label=_("金额（元）"), max_digits=16, decimal_places=2)
    usable_amount = forms.DecimalField(label=_("可抵用金额"), required=False, max_digits=16, decimal_places=2)
    valid_from = forms.DateField(label=_("生效日"), initial=_today)
    valid_to = forms.DateField(label=_("到期日"))


class CollectionForm(KehuForm):
    kind = forms.ChoiceField(label=_("方式"), choices=CollectionKind.choices)
    happened_on = forms.DateField(label=_("日期"), initial=_today)
    note = forms.CharField(label=_("情况说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    promise_date = forms.DateField(label=_("承诺付款日"), required=False)
    promise_amount = forms.DecimalField(label=_("承诺金额"), required=False, max_digits=16, decimal_places=2)


class ReportForm(KehuForm):
    kind = forms.ChoiceField(label=_("报告类别"), choices=ReportKind.choices)
    report_date = forms.DateField(label=_("报告日期"), initial=_today)
    amount = forms.DecimalField(label=_("涉及金额"), max_digits=16, decimal_places=2)
    situation = forms.CharField(label=_("异常情况"), widget=forms.Textarea(attrs={"rows": 3}))
    cause = forms.CharField(label=_("原因分析"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    measures = forms.CharField(label=_("处理措施"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class WriteOffForm(KehuForm):
    invoices = forms.TypedMultipleChoiceField(
        label=_("核销发票"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(label=_("核销理由"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, invoices: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "invoices", _invoice_choices(invoices))
        _restyle(self)
        self.fields["invoices"].widget.attrs["class"] = ""


class DecideForm(KehuForm):
    comment = forms.CharField(label=_("意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
