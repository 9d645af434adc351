import datetime as dt

import pytest

from kangfu.core.models import Role
from kangfu.core.tests.factories import UserFactory
from kangfu.devices.tests.factories import (
    WENHUAXIANG,
    CentreFactory,
    OutletFactory,
    ProductFactory,
    UnitFactory,
)
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory

WUQING = "120114000000"


@pytest.fixture
def centre(db):
    return CentreFactory()


@pytest.fixture
def outlet(centre):
    return OutletFactory(parent=centre, name="下朱庄街道辅具租赁网点")


@pytest.fixture
def clerk(centre):
    return UserFactory(username="clerk", role=Role.DEVICE_CLERK, organisation=centre, jurisdiction_id=WUQING)


@pytest.fixture
def other_clerk(db):
    """A clerk of another district's centre."""
    other = CentreFactory(name="河东区康复辅助器具租赁服务中心", region_id="120102001000")
    return UserFactory(
        username="other_clerk", role=Role.DEVICE_CLERK, organisation=other, jurisdiction_id="120102000000"
    )


@pytest.fixture
def wheelchair(centre):
    return ProductFactory(centre=centre, name="轻便折叠轮椅")


@pytest.fixture
def unit(wheelchair):
    return UnitFactory(product=wheelchair)


@pytest.fixture
def renter(db):
    """A 45-year-old resident of 武清 with no subsidy and no discount."""
    return PersonFactory(name="王租户", community_code=WENHUAXIANG, born=dt.date(1981, 5, 5), county="120114")


@pytest.fixture
def poor_disabled(db):
    """A resident of 武清 with a valid certificate and 低保: entitled to the rental subsidy."""
    person = PersonFactory(
        name="李困难", community_code=WENHUAXIANG, born=dt.date(1975, 3, 3), county="120114"
    )
    CertificateFactory(
        person=person, digits="42", issued_on=dt.date(2022, 1, 1), expires_on=dt.date(2032, 1, 1)
    )
    IncomePeriodFactory(person=person, start_date=dt.date(2020, 1, 1))
    return person
