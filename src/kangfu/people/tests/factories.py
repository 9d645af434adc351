"""Factories for people and their sub-records, with valid, deterministic ID numbers."""

from __future__ import annotations

import datetime as dt

import factory

from kangfu.core.ids import check_character
from kangfu.people import services
from kangfu.people.models import (
    CertificateStatus,
    DisabilityCertificate,
    Guardian,
    GuardianRelation,
    IncomePeriod,
    IncomeStatus,
    Person,
)

# Residence communities used by the tests.
JIUJIANGLU = "120103001001"  # 河西区 大营门街道 九江路社区
RONGHUALI = "120103001004"  # 河西区 大营门街道 荣华里社区
FUJIANLU = "120103002001"  # 河西区 下瓦房街道 福建路社区
HUAMING_COMMUNITY = "120110006001"  # 东丽区 华明街道


def make_id_number(
    n: int, *, born: dt.date = dt.date(1970, 11, 21), male: bool = True, county: str = "120103"
) -> str:
    """A valid ID number, distinct for each n below 500."""
    seq = (n % 500) * 2 + (1 if male else 0)
    first17 = f"{county}{born:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


class PersonFactory(factory.django.DjangoModelFactory):
    """Builds a person straight into the table, with the columns a service would derive."""

    class Meta:
        model = Person

    class Params:
        n = factory.Sequence(lambda n: n)
        born = dt.date(1970, 11, 21)
        male = True
        community_code = JIUJIANGLU
        county = "120103"

    name = factory.Sequence(lambda n: f"测试人{n}")
    id_number = factory.LazyAttribute(
        lambda o: make_id_number(o.n, born=o.born, male=o.male, county=o.county)
    )
    id_number_hash = factory.LazyAttribute(lambda o: services.id_hash(o.id_number))
    birth_date = factory.LazyAttribute(lambda o: o.born)
    sex = factory.LazyAttribute(lambda o: "M" if o.male else "F")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    phone_hash = factory.LazyAttribute(lambda o: services.phone_hash(o.phone))
    community_id = factory.LazyAttribute(lambda o: o.community_code)
    street_id = factory.LazyAttribute(lambda o: o.community_code[:9] + "000")
    district_id = factory.LazyAttribute(lambda o: o.community_code[:6] + "000000")
    city_id = factory.LazyAttribute(lambda o: o.community_code[:4] + "00000000")
    hukou_region_id = factory.LazyAttribute(lambda o: o.community_code)


class CertificateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DisabilityCertificate

    class Params:
        digits = "43"

    person = factory.SubFactory(PersonFactory)
    number = factory.LazyAttribute(lambda o: o.person.id_number + o.digits)
    number_hash = factory.LazyAttribute(lambda o: services.certificate_hash(o.number))
    category = factory.LazyAttribute(lambda o: int(o.digits[0]))
    grade = factory.LazyAttribute(lambda o: int(o.digits[1]))
    issued_on = dt.date(2020, 3, 1)
    expires_on = dt.date(2030, 3, 1)
    status = CertificateStatus.VALID


class IncomePeriodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IncomePeriod

    person = factory.SubFactory(PersonFactory)
    status = IncomeStatus.DIBAO
    start_date = dt.date(2022, 1, 1)


class GuardianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guardian

    person = factory.SubFactory(PersonFactory)
    name = "测试监护人"
    relation = GuardianRelation.PARENT
    phone = "13800001111"
