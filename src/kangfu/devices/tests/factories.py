"""Factories for the rental business: the 武清 centre, its outlets, products and units."""

from __future__ import annotations

from decimal import Decimal

import factory

from kangfu.core.models import Organisation, OrganisationKind
from kangfu.devices.models import Category, Product, Unit

YANGCUN = "120114001000"
WENHUAXIANG = "120114001007"  # 武清区 杨村街道 文华巷社区


class CentreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("region_id", "name")

    name = "武清区康复辅助器具租赁服务中心"
    kind = OrganisationKind.DEVICE_CENTRE
    region_id = YANGCUN


class OutletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("region_id", "name")

    name = factory.Sequence(lambda n: f"网点{n}")
    kind = OrganisationKind.DEVICE_OUTLET
    region_id = "120114002000"
    parent = factory.SubFactory(CentreFactory)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("code",)

    code = "122203"
    name = "手动轮椅"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    centre = factory.SubFactory(CentreFactory)
    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"轻便折叠轮椅{n}")
    model = "H030"
    rent_per_day = Decimal("5.00")
    rent_per_month = Decimal("100.00")
    deposit = Decimal("300.00")
    replacement_value = Decimal("1500.00")
    needs_fitting = True


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    product = factory.SubFactory(ProductFactory)
    outlet = factory.LazyAttribute(lambda o: o.product.centre)
    serial = factory.Sequence(lambda n: f"T{n:06d}")
