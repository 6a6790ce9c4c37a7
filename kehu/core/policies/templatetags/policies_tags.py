from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from kehu.core.policies.views import STATUS_CSS

register = template.Library()


@register.simple_tag
def policy_status_tag(version: Any) -> str:
    if version is None:
        return ""
    css = STATUS_CSS.get(version.status, "bg-light")
    return format_html(
        '<span class="kehu-tag {}" data-status="{}">{}</span>',
        css,
        version.status,
        version.get_status_display(),
    )
