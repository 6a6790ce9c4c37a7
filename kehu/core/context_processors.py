from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from kehu.core.navigation import menu_for


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"kehu_menu": [], "kehu_env": settings.KEHU_ENV}
    return {"kehu_menu": menu_for(user, request.path), "kehu_env": settings.KEHU_ENV}
