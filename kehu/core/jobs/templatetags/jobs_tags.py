from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def job_state_tag(run: Any) -> str:
    from kehu.core.jobs.views import STATE_CSS

    if run is None:
        return ""
    return format_html(
        '<span class="kehu-tag {}" data-state="{}">{}</span>',
        STATE_CSS.get(run.state, "bg-light"),
        run.state,
        run.get_state_display(),
    )
