"""Reading a policy schema: field titles, units, flattened dotted paths, and pydantic errors in Chinese."""

from __future__ import annotations

import enum
import typing
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from kehu.core.errors import ValidationFailed


@dataclass(frozen=True)
class FlatField:
    path: str  # dotted: "reminders.days"
    title: str
    description: str
    unit: str
    annotation: Any
    info: FieldInfo


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def flatten(schema: type[BaseModel], prefix: str = "", title_prefix: str = "") -> list[FlatField]:
    """Every leaf field of ``schema``; nested models are flattened with dotted paths."""
    out: list[FlatField] = []
    for name, info in schema.model_fields.items():
        annotation = _unwrap_optional(info.annotation)
        title = gettext(info.title) if info.title else name  # titles are marked with gettext_noop
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        unit = gettext(str(extra.get("unit", ""))) if extra and extra.get("unit") else ""
        path = f"{prefix}{name}"
        full_title = f"{title_prefix}{title}"
        if _is_model(annotation):
            out.extend(flatten(annotation, f"{path}.", f"{full_title} / "))
        else:
            description = gettext(info.description) if info.description else ""
            out.append(FlatField(path, full_title, description, unit, annotation, info))
    return out


def get_path(values: dict[str, Any], path: str) -> Any:
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def set_path(values: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = values
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def title_of(schema: type[BaseModel], path: str) -> str:
    for f in flatten(schema):
        if f.path == path:
            return f.title
    return path


def choices_of(annotation: Any) -> list[tuple[str, str]] | None:
    """Select options for a Literal or an Enum annotation; None for other types."""
    if typing.get_origin(annotation) is typing.Literal:
        return [(str(v), str(v)) for v in typing.get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [(str(m.value), str(getattr(m, "label", m.value))) for m in annotation]
    return None


_RULE_TEXT = {
    "greater_than_equal": N_("必须大于或等于 {ge}"),
    "greater_than": N_("必须大于 {gt}"),
    "less_than_equal": N_("必须小于或等于 {le}"),
    "less_than": N_("必须小于 {lt}"),
    "int_parsing": N_("必须是整数"),
    "int_type": N_("必须是整数"),
    "int_from_float": N_("必须是整数"),
    "float_parsing": N_("必须是数字"),
    "float_type": N_("必须是数字"),
    "decimal_parsing": N_("必须是数字"),
    "decimal_type": N_("必须是数字"),
    "decimal_max_places": N_("小数位数不能超过 {decimal_places} 位"),
    "decimal_max_digits": N_("数字位数不能超过 {max_digits} 位"),
    "bool_parsing": N_("必须是“是”或“否”"),
    "bool_type": N_("必须是“是”或“否”"),
    "date_from_datetime_parsing": N_("必须是日期（YYYY-MM-DD）"),
    "date_parsing": N_("必须是日期（YYYY-MM-DD）"),
    "date_type": N_("必须是日期（YYYY-MM-DD）"),
    "string_type": N_("必须是文本"),
    "string_too_short": N_("至少 {min_length} 个字符"),
    "string_too_long": N_("最多 {max_length} 个字符"),
    "too_short": N_("至少 {min_length} 项"),
    "too_long": N_("最多 {max_length} 项"),
    "list_type": N_("必须是列表"),
    "dict_type": N_("必须是对象"),
    "literal_error": N_("必须是以下之一：{expected}"),
    "enum": N_("必须是以下之一：{expected}"),
    "missing": N_("必填"),
    "extra_forbidden": N_("不是该制度的字段"),
    "value_error": N_("{error}"),
    "assertion_error": N_("{error}"),
}


def validation_failed(schema: type[BaseModel], exc: ValidationError) -> ValidationFailed:
    """The first error of ``exc`` as a ValidationFailed naming the field (dotted path) and the rule; all errors
    are listed in ``detail``."""
    errors = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err.get("loc", ()))
        rule = str(err.get("type", "invalid"))
        ctx = {k: str(v) for k, v in (err.get("ctx") or {}).items()}
        template = _RULE_TEXT.get(rule)
        try:
            text = _(template).format(**ctx) if template else str(err.get("msg", ""))
        except (KeyError, IndexError):
            text = str(err.get("msg", ""))
        title = title_of(schema, path) if path else ""
        errors.append({"field": path, "rule": rule, "title": title, "message": text})
    first = errors[0] if errors else {"field": "", "rule": "invalid", "title": "", "message": ""}
    message = _("“%(title)s”（%(field)s）不符合规则：%(text)s") % {
        "title": first["title"] or first["field"],
        "field": first["field"],
        "text": first["message"],
    }
    return ValidationFailed(
        message,
        field=first["field"] or None,
        rule=first["rule"],
        detail={"field": first["field"], "rule": first["rule"], "errors": errors},
    )


def validate(schema: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    try:
        return schema.model_validate(values)
    except ValidationError as exc:
        raise validation_failed(schema, exc) from None
