"""The 'propose a change' form, generated from the policy type's schema.

int/Decimal/float/str/bool/date fields get their own inputs, Literal and Enum fields a select, nested models are
flattened with dotted names, lists and dicts are a JSON text area."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import typing
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.core.forms import KehuForm
from kehu.core.policies import schema as schema_mod
from kehu.core.policies.registry import PolicyType

META_FIELDS = ("effective_from", "trial", "reason")


class JSONField(forms.CharField):
    widget = forms.Textarea

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.widget.attrs.update({"rows": 4, "class": "font-monospace"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | dict):
            return json.dumps(value, ensure_ascii=False, indent=2)
        return value

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if value in ("", None):
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise forms.ValidationError(_("不是有效的 JSON。"), code="json") from None


def _field_for(f: schema_mod.FlatField, initial: Any) -> forms.Field:
    annotation = schema_mod._unwrap_optional(f.annotation)
    optional = annotation is not f.annotation
    label = f"{f.title}（{f.unit}）" if f.unit else f.title
    common: dict[str, Any] = {
        "label": label,
        "help_text": f.description,
        "initial": initial,
        "required": not optional and annotation is not bool,
    }
    choices = schema_mod.choices_of(annotation)
    origin = typing.get_origin(annotation)
    field: forms.Field
    if choices is not None:
        field = forms.ChoiceField(choices=choices, **common)
    elif annotation is bool:
        field = forms.BooleanField(**common)
    elif annotation is int:
        field = forms.IntegerField(**common)
    elif annotation is decimal.Decimal:
        field = forms.DecimalField(**common)
    elif annotation is float:
        field = forms.FloatField(**common)
    elif annotation is dt.date:
        field = forms.DateField(widget=forms.DateInput(format="%Y-%m-%d"), **common)
    elif origin in (list, dict, tuple, set) or annotation in (list, dict):
        field = JSONField(**common)
    else:
        field = forms.CharField(**common)
    return field


class ProposeForm(KehuForm):
    """Values of the schema (dotted names) plus effective date, trial flag and reason."""

    def __init__(self, ptype: PolicyType, current: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        self.ptype = ptype
        self.flat = schema_mod.flatten(ptype.schema)
        super().__init__(*args, **kwargs)
        for f in self.flat:
            self.fields[f.path] = _field_for(f, schema_mod.get_path(current, f.path))
        self.fields["effective_from"] = forms.DateField(
            label=_("生效日期"),
            widget=forms.DateInput(format="%Y-%m-%d"),
            required=True,
        )
        if ptype.allows_trial:
            self.fields["trial"] = forms.BooleanField(
                label=_("先试行"), required=False, help_text=_("试行版本在正式版本批准前适用。")
            )
        self.fields["reason"] = forms.CharField(label=_("变更理由"), widget=forms.Textarea(attrs={"rows": 3}))
        self._style()

    def values(self) -> dict[str, Any]:
        """The schema values as a nested dict (unfilled fields are left out so the schema reports them)."""
        out: dict[str, Any] = {}
        for f in self.flat:
            value = self.cleaned_data.get(f.path)
            if value is None or value == "":
                if isinstance(self.fields[f.path], forms.BooleanField):
                    value = False
                else:
                    continue
            if isinstance(value, decimal.Decimal):
                value = str(value)
            elif isinstance(value, dt.date):
                value = value.isoformat()
            schema_mod.set_path(out, f.path, value)
        return out
