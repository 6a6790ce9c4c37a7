"""Organisation services and selectors (R-PLT-01, R-PLT-03): users, departments, regions, absences, AB backup."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from kehu.core import audit
from kehu.core.errors import ValidationFailed
from kehu.core.models import Department, User

if TYPE_CHECKING:
    pass

SELF_FIELDS = ("display_name", "email", "phone", "language")


@transaction.atomic
def user_update_self(*, actor: User, display_name: str, email: str, phone: str, language: str) -> User:
    """A user edits their own contact details and language."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationFailed(_("不支持的语言。"), field="language", rule="choices")
    user = User.objects.select_for_update().get(pk=actor.pk)
    before = audit.snapshot(user, SELF_FIELDS)
    user.display_name, user.email, user.phone, user.language = display_name.strip(), email.strip(), phone.strip(), language
    user.save(update_fields=list(SELF_FIELDS))
    changes = audit.diff(before, audit.snapshot(user, SELF_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=user, changes=changes)
    actor.display_name, actor.email, actor.phone, actor.language = user.display_name, user.email, user.phone, language
    return user


@transaction.atomic
def user_set_language(*, actor: User, language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise ValidationFailed(_("不支持的语言。"), field="language", rule="choices")
    if actor.language == language:
        return
    before = actor.language
    User.objects.filter(pk=actor.pk).update(language=language)
    actor.language = language
    audit.record(actor=actor, action="update", obj=actor, changes={"language": [before, language]})


def department_path(dept: Department) -> str:
    """Recompute and store the materialised path of ``dept`` (and its subtree when it moved)."""
    parent_path = dept.parent.path if dept.parent_id and dept.parent else "/"
    new = f"{parent_path}{dept.pk}/"
    if dept.path != new:
        old = dept.path
        Department.objects.filter(pk=dept.pk).update(path=new)
        if old not in ("", "/"):
            for child in Department.objects.filter(path__startswith=old).exclude(pk=dept.pk):
                Department.objects.filter(pk=child.pk).update(path=new + child.path[len(old):])
        dept.path = new
    return new
