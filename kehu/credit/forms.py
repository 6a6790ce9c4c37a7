"""Forms of the credit pages. The rules live in the services; a form only collects the values."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core.forms import KehuForm
from kehu.core.models.attachments import DocumentType
from kehu.credit.models import FileItem, PeriodType, RatingStatus
from kehu.credit.policies import CATEGORIES, GRADES, LINES

LEVELS = [(5, _("5 优")), (4, _("4 良")), (3, _("3 中")), (2, _("2 较差")), (1, _("1 差"))]
LITIGATION_LEVELS = [
    (5, _("5 无涉诉")),
    (4, _("4 少量已结案件")),
    (3, _("3 一般未结案件")),
    (2, _("2 重大未结案件")),
    (1, _("1 被执行或失信")),
]


class CreditFileForm(KehuForm):
    site_survey = forms.CharField(
        label=_("实地调查"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    related_party_survey = forms.CharField(
        label=_("关联方调查"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    analysis_conclusion = forms.CharField(
        label=_("资信调查报告 / 分析结论"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    public_materials = forms.CharField(
        label=_("公开资料"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class DocumentForm(KehuForm):
    item = forms.ChoiceField(label=_("档案项目"), choices=FileItem.choices)
    file = forms.FileField(label=_("文件"))
    doc_type = forms.ChoiceField(
        label=_("附件类别"), choices=[("", "—"), *DocumentType.choices], required=False
    )
    title = forms.CharField(label=_("标题"), max_length=200, required=False)
    note = forms.CharField(label=_("说明"), max_length=500, required=False)


def _line_field(key: str) -> forms.DecimalField:
    from kehu.credit.services import line_label

    return forms.DecimalField(label=line_label(key), max_digits=18, decimal_places=2, required=False)


class StatementForm(KehuForm):
    period_end = forms.DateField(label=_("报告期末"), widget=forms.DateInput(format="%Y-%m-%d"))
    period_type = forms.ChoiceField(label=_("报表类型"), choices=PeriodType.choices)
    note = forms.CharField(label=_("说明"), max_length=500, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key in LINES:
            self.fields[key] = _line_field(key)
        self._errors = None  # the base class validated before the line fields existed
        self._style()

    def lines(self) -> dict[str, Any]:
        return {k: self.cleaned_data.get(k) for k in LINES}

    def groups(self) -> list[tuple[str, list[Any]]]:
        """The fields by statement (balance sheet, income statement, cash flow) for the template."""
        return [
            (str(_("资产负债表")), [self[k] for k in LINES[:9]]),
            (str(_("利润表")), [self[k] for k in LINES[9:14]]),
            (str(_("现金流量表")), [self[k] for k in LINES[14:]]),
        ]


class ImportForm(KehuForm):
    file = forms.FileField(label=_("Excel 文件（.xlsx）"))


class RatingForm(KehuForm):
    statement_id = forms.TypedChoiceField(label=_("依据报表"), coerce=int, required=False, empty_value=None)
    payment_history = forms.TypedChoiceField(label=_("付款记录"), choices=LEVELS, coerce=int)
    years_of_trade = forms.DecimalField(
        label=_("往来年限（年）"), min_value=0, max_digits=5, decimal_places=1
    )
    industry_outlook = forms.TypedChoiceField(label=_("行业前景"), choices=LEVELS, coerce=int)
    management = forms.TypedChoiceField(label=_("经营管理"), choices=LEVELS, coerce=int)
    litigation = forms.TypedChoiceField(label=_("涉诉情况"), choices=LITIGATION_LEVELS, coerce=int)
    note = forms.CharField(label=_("分析意见"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, statements: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        choices = [("", _("最新一期报表"))] + [(s.pk, str(s)) for s in statements]
        self.fields["statement_id"].choices = choices  # type: ignore[attr-defined]
        self.fields["years_of_trade"].help_text = _("默认按首次启用交易（或成立日期）至今的年数计算。")

    def values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class DecideForm(KehuForm):
    decision = forms.ChoiceField(
        label=_("审批结论"),
        choices=[("approve", _("批准")), ("return", _("退回修改")), ("reject", _("否决"))],
    )
    comment = forms.CharField(label=_("审批意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class OverrideForm(KehuForm):
    grade = forms.ChoiceField(label=_("调整后的等级"), choices=[(g, g) for g in GRADES])
    reason = forms.CharField(label=_("调整理由"), widget=forms.Textarea(attrs={"rows": 2}))


class RatingFilterForm(KehuForm):
    q = forms.CharField(label=_("客户"), required=False)
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[
            ("", _("生效")),
            *[c for c in RatingStatus.choices if c[0] != "approved"],
            ("all", _("全部")),
        ],
    )
    credit_class = forms.ChoiceField(
        label=_("信用类别"),
        required=False,
        choices=[("", "—"), ("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")],
    )
    grade = forms.ChoiceField(
        label=_("信用等级"), required=False, choices=[("", "—"), *[(g, g) for g in GRADES]]
    )
    category = forms.ChoiceField(
        label=_("行业类别"), required=False, choices=[("", "—"), *[(k, _(v)) for k, v in CATEGORIES]]
    )
    overdue = forms.BooleanField(label=_("复评逾期"), required=False)
