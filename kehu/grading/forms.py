from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _

from kehu.core.forms import KehuForm
from kehu.grading import policies


class StartForm(KehuForm):
    period_end = forms.DateField(
        label=_("期间止日"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class ApproveForm(KehuForm):
    comment = forms.CharField(label=_("批准意见"), required=False, max_length=500)


class InputsForm(KehuForm):
    margin = forms.DecimalField(label=_("产品毛利率（%）"), required=False, min_value=0, max_value=100)
    sales_model = forms.ChoiceField(label=_("销售模式"), required=False)
    purchase_share = forms.DecimalField(
        label=_("我司产品占其采购比例（%）"), required=False, min_value=0, max_value=100
    )
    industry_reputation = forms.ChoiceField(
        label=_("行业信誉（1 差 – 5 优）"),
        required=False,
        choices=[("", "—"), *[(str(i), str(i)) for i in range(1, 6)]],
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["sales_model"]
        field.choices = [
            ("", "—"),
            *[(k, _gettext(v)) for k, v in policies.SALES_MODELS],
        ]
