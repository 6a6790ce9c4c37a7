"""Forms of the confidential archive pages (the services validate every rule; the forms shape the input)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.confidential.models import CopyForm, Office, RequestStatus
from kehu.core.forms import KehuForm
from kehu.core.models.audit import AuditAction


class RequestForm(KehuForm):
    """查阅申请单: the customer is fixed by where the request starts; the items are the customer's confidential
    items the user's role does not show."""

    items = forms.MultipleChoiceField(
        label=_("查阅内容"), widget=forms.CheckboxSelectMultiple, choices=[], required=False
    )
    purpose = forms.CharField(label=_("查阅目的"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    period_days = forms.IntegerField(label=_("查阅期限（天）"), required=False)
    form = forms.ChoiceField(label=_("查阅方式"), choices=CopyForm.choices, initial=CopyForm.COPY)

    def __init__(self, *args: Any, choices: list[tuple[str, str]], max_days: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = choices  # type: ignore[attr-defined]
        self.fields["period_days"].help_text = _("最长 %(n)s 天。") % {"n": max_days}
        self.fields["items"].widget.attrs["class"] = ""
        self._errors = None  # the base form validated before the choices were set
        self._style()


class ActForm(KehuForm):
    comment = forms.CharField(label=_("意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    days = forms.IntegerField(label=_("批准期限（天）"), required=False)

    def __init__(self, *args: Any, with_days: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_days:
            del self.fields["days"]


class RevokeForm(KehuForm):
    reason = forms.CharField(label=_("撤销原因"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class LendForm(KehuForm):
    due_back = forms.DateField(label=_("应还日期"), required=False, widget=forms.DateInput(format="%Y-%m-%d"))
    note = forms.CharField(label=_("说明"), required=False, max_length=500)


class ReturnForm(KehuForm):
    note = forms.CharField(label=_("说明"), required=False, max_length=500)


def _status_choices() -> list[tuple[str, Any]]:
    return [("", _("全部")), *RequestStatus.choices]


class RequestFilterForm(KehuForm):
    q = forms.CharField(label=_("客户或编号"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("状态"), required=False, choices=_status_choices)
    office = forms.ChoiceField(
        label=_("审批部门"), required=False, choices=[("", _("全部")), *Office.choices]
    )
    date_from = forms.DateField(label=_("申请日期自"), required=False)
    date_to = forms.DateField(label=_("申请日期至"), required=False)


class GrantFilterForm(KehuForm):
    state = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[
            ("active", _("有效")),
            ("expired", _("已到期")),
            ("revoked", _("已撤销")),
            ("all", _("全部")),
        ],
    )
    q = forms.CharField(label=_("客户"), required=False, max_length=100)
    user = forms.CharField(label=_("被授权人（用户名）"), required=False, max_length=150)


def _action_choices() -> list[tuple[str, Any]]:
    return [
        ("", _("全部")),
        (AuditAction.READ, _("查阅")),
        (AuditAction.DOWNLOAD, _("下载")),
        (AuditAction.EXPORT, _("导出")),
    ]


class ReadLogFilterForm(KehuForm):
    customer = forms.CharField(label=_("客户（编号、名称或ID）"), required=False, max_length=200)
    user = forms.CharField(label=_("查阅人（用户名）"), required=False, max_length=150)
    date_from = forms.DateField(label=_("开始日期"), required=False)
    date_to = forms.DateField(label=_("结束日期"), required=False)
    grant = forms.IntegerField(label=_("授权号"), required=False, min_value=1)
    under_grant = forms.BooleanField(label=_("仅授权查阅"), required=False)
    action = forms.ChoiceField(label=_("操作"), required=False, choices=_action_choices)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("结束日期不能早于开始日期。"))
        return data


class UnusualForm(KehuForm):
    date_from = forms.DateField(label=_("开始日期"), required=False)
    date_to = forms.DateField(label=_("结束日期"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("结束日期不能早于开始日期。"))
        return data
