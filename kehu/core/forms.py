"""Form base classes: Bootstrap classes on every widget, ``is-invalid`` on fields with errors, and a helper to
put a service's :class:`~kehu.core.errors.KehuError` on the field it names (forms keep what the user typed)."""

from __future__ import annotations

from typing import Any

from django import forms

from kehu.core.errors import KehuError

DJANGO_EMPTY_LABEL = "---------"


def filter_labels(form: forms.Form) -> None:
    """In a list's filter bar, an optional choice left empty means every value: label it 全部."""
    from django.utils.translation import gettext

    for field in form.fields.values():
        if (
            isinstance(field, forms.ModelChoiceField)
            and not field.required
            and field.empty_label
            in (
                DJANGO_EMPTY_LABEL,
                "—",
            )
        ):
            field.empty_label = gettext("全部")


class BootstrapMixin:
    fields: dict[str, forms.Field]

    def _style(self) -> None:
        for name, field in self.fields.items():
            if isinstance(field, forms.ModelChoiceField) and field.empty_label == DJANGO_EMPTY_LABEL:
                field.empty_label = "—"
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            # a browser's date input takes and gives ISO dates only, whatever the language's date format
            if isinstance(widget, forms.DateInput):
                widget.input_type = "date"
                widget.format = "%Y-%m-%d"
            if isinstance(widget, forms.DateTimeInput):
                widget.input_type = "datetime-local"
                widget.format = "%Y-%m-%dT%H:%M"
            classes = widget.attrs.get("class", "").split()
            wanted = css.split()
            # the errors once validated (full_clean styles again): reading ``self.errors`` here would validate the
            # form in __init__, before a subclass has set its choices (an owner list, a responsible person)
            errors = getattr(self, "_errors", None) or {}
            if errors.get(name):
                wanted.append("is-invalid")
            widget.attrs["class"] = " ".join([*classes, *(c for c in wanted if c not in classes)])

    def add_service_error(self, exc: KehuError) -> None:
        """Show a service's error on the field it names. A record out of reach (404), or a refusal (403) that names
        no field, is not a correction the user can make in the form: it is raised again and becomes the error
        page. A refusal about a field (an owner one may not choose) is shown on that field."""
        if exc.status == 404 or (exc.status == 403 and exc.field not in self.fields):
            raise exc
        target = exc.field if exc.field in self.fields else None
        self.add_error(target, str(exc.message))  # type: ignore[attr-defined]
        if target:
            w = self.fields[target].widget
            w.attrs["class"] = (w.attrs.get("class", "") + " is-invalid").strip()


class KehuForm(BootstrapMixin, forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()

    def full_clean(self) -> None:
        super().full_clean()
        self._style()


class KehuModelForm(BootstrapMixin, forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()

    def full_clean(self) -> None:
        super().full_clean()
        self._style()
