"""Fixtures of the programme's tests: the clock stopped in November 2026, the 西青 district's two
administrators (one requests, the other approves), the city's, an institution's worker, and the 北辰
district as the outsider."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from kangfu.core.models import OrganisationKind, Role
from kangfu.core.tests.factories import OrganisationFactory, UserFactory
from kangfu.programme.tests import factories as pf
from kangfu.rehab import scales
from kangfu.rehab.tests import factories as f

NOW = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)  # 10:00 in Tianjin, a Monday
TODAY = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def frozen(request):
    if request.node.get_closest_marker("browser"):
        yield
        return
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _scales(db):
    scales.load()


@pytest.fixture(autouse=True)
def _standards(db):
    """The shipped standards, put back if a live-server test's flush took them away."""
    from kangfu.programme.models import Standard, StandardItem, StandardVersion
    from kangfu.programme.standards import ensure_shipped

    ensure_shipped(Standard, StandardVersion, StandardItem)


@pytest.fixture
def institution(db):
    return f.institution()


@pytest.fixture
def site(institution):
    return f.site(institution)


@pytest.fixture
def beichen_institution(db):
    return f.institution(name="北辰区精神障碍社区康复服务中心", region=f.BEICHEN)


@pytest.fixture
def admin(db):
    """西青区民政局 管理员: manages the district's funds and contracts."""
    return f.district_admin()


@pytest.fixture
def colleague(admin):
    """A second administrator of the same bureau: approves what the first requested."""
    return UserFactory(
        username="xiqing.fuhe",
        role=Role.DISTRICT_ADMIN,
        organisation=admin.organisation,
        jurisdiction_id=f.XIQING,
    )


@pytest.fixture
def outsider(db):
    """北辰区民政局 管理员: another district."""
    return f.district_admin("beichen.admin", f.BEICHEN)


@pytest.fixture
def city_admin(db):
    org = OrganisationFactory(name="天津市民政局", kind=OrganisationKind.CIVIL_AFFAIRS, region_id=pf.CITY)
    return UserFactory(username="shi.admin", role=Role.CITY_ADMIN, organisation=org, jurisdiction_id=pf.CITY)


@pytest.fixture
def worker(institution):
    """The institution's social worker: sees its contracts, asks for payment."""
    return f.worker(institution)


@pytest.fixture
def street_officer(db):
    return UserFactory(username="street", role=Role.STREET_OFFICER, jurisdiction_id=f.XIQING_STREET_SITE)


@pytest.fixture
def fund(admin):
    return pf.fund(admin)


@pytest.fixture
def contract(admin, fund, institution):
    return pf.contract(admin, fund, institution)
