"""Factories for accounts and organisations. Regions come from the real Tianjin table, loaded once
per test session (see conftest.py)."""

from __future__ import annotations

import factory

from kangfu.core.models import Organisation, OrganisationKind, Role, User

PASSWORD = "Kf-Test-2026!"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("region_id", "name")

    name = factory.Sequence(lambda n: f"测试机构{n}")
    kind = OrganisationKind.STREET_OFFICE
    region_id = "120103001000"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"测试用户{n}")
    role = Role.STREET_OFFICER
    organisation = factory.SubFactory(OrganisationFactory)
    jurisdiction_id = "120103001000"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()
