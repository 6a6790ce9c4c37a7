"""Create (or promote) a system administrator: a user with the sysadmin role, written to the audit trail."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from kehu.core import audit
from kehu.core.models import Role, User
from kehu.core.models.org import RoleCode


class Command(BaseCommand):
    help = (
        "Create a system administrator (role 系统管理员) or give the role to an existing user. "
        "The password is asked for, or read from KEHU_ADMIN_PASSWORD."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="display name")
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, username: str, name: str, email: str, **options: Any) -> None:
        user = User.objects.filter(username=username).first()
        password = None
        if user is None:
            password = os.environ.get("KEHU_ADMIN_PASSWORD") or self._ask_password()
            try:
                validate_password(password, User(username=username, email=email))
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
        with transaction.atomic():
            created = user is None
            if user is None:
                user = User(username=username, display_name=name, email=email, is_staff=True)
                user.set_password(password)
                user.save()
            role = Role.objects.get_or_create(code=RoleCode.SYSADMIN)[0]
            before = sorted(user.roles.values_list("code", flat=True))
            user.roles.add(role)
            after = sorted(user.roles.values_list("code", flat=True))
            audit.record(
                actor=None,
                action="create" if created else "update",
                obj=user,
                changes={"roles": [before, after], **({"username": [None, username]} if created else {})},
                reason="createadmin command",
            )
        self.stdout.write(f"{'Created' if created else 'Updated'} {username}: roles {', '.join(after)}")

    def _ask_password(self) -> str:
        if not os.isatty(0):
            raise CommandError("no terminal: set KEHU_ADMIN_PASSWORD")
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("the passwords differ")
        return first
