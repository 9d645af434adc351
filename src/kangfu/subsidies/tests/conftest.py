import datetime as dt

import pytest

from kangfu.core.models import Region, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory
from kangfu.subsidies.seed import seed_tianjin

HEXI = "120103000000"
DAYINGMEN = "120103001000"
JIUJIANGLU = "120103001001"


@pytest.fixture
def standards(db):
    seed_tianjin()


@pytest.fixture
def hexi(db):
    return Region.objects.get(code=HEXI)


@pytest.fixture
def shequ(db):
    return UserFactory(username="shequ", role=Role.COMMUNITY_WORKER, jurisdiction_id=JIUJIANGLU)


@pytest.fixture
def jiedao(db):
    return UserFactory(username="jiedao", role=Role.STREET_OFFICER, jurisdiction_id=DAYINGMEN)


@pytest.fixture
def quju(db):
    return UserFactory(username="quju", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)


@pytest.fixture
def quju2(db):
    """A second district officer: the one who locks what the first computed."""
    return UserFactory(username="quju2", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)


@pytest.fixture
def applicant(db):
    """A 低保 resident of 九江路社区 (household registered there) with a grade-2 physical disability."""
    person = PersonFactory(name="周申请", community_code=JIUJIANGLU, born=dt.date(1968, 6, 6))
    CertificateFactory(
        person=person, digits="42", issued_on=dt.date(2020, 1, 1), expires_on=dt.date(2030, 1, 1)
    )
    IncomePeriodFactory(person=person, start_date=dt.date(2019, 1, 1))
    return person
