"""Factories for the platform's models, shared by every app's tests."""

from __future__ import annotations

import factory
from django.db.models import Q

from kehu.core.models import Department, Region, Role, User
from kehu.core.models.org import RoleCode

PASSWORD = "kehu-test-2026!"


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"R{n:03d}")
    name = factory.Sequence(lambda n: f"区域{n}")


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"D{n:03d}")
    name = factory.Sequence(lambda n: f"部门{n}")
    kind = "other"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from kehu.core.org import department_path

        obj = super()._create(model_class, *args, **kwargs)
        department_path(obj)
        return obj


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if not create:
            return
        self.save()
        if extracted:
            codes = [extracted] if isinstance(extracted, str) else list(extracted)
            # get_or_create: transactional tests empty the tables, seeded role rows included
            self.roles.set([Role.objects.get_or_create(code=str(c))[0] for c in codes])
            self.__dict__.pop("_role_codes", None)


def user_with(role: str | list[str], **kwargs) -> User:
    """A user holding the given role code(s)."""
    user: User = UserFactory(roles=role, **kwargs)
    return user


def all_role_codes() -> list[str]:
    return list(RoleCode.values)


__all__ = [
    "PASSWORD",
    "DepartmentFactory",
    "Q",
    "RegionFactory",
    "UserFactory",
    "all_role_codes",
    "user_with",
]
