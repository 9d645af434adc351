import pytest

from kangfu.rehab import scales
from kangfu.rehab.tests import factories as f


@pytest.fixture(autouse=True)
def _scales(db):
    # Migrations load the scale files; a transactional test empties the table, so load again.
    scales.load()


@pytest.fixture
def institution(db):
    return f.institution()


@pytest.fixture
def other_institution(db):
    return f.institution(name="北辰区精神障碍社区康复服务中心", region=f.BEICHEN)


@pytest.fixture
def rehab_worker(institution):
    return f.worker(institution)


@pytest.fixture
def other_worker(other_institution):
    return f.worker(other_institution, username="beichen.rehab", jurisdiction=f.BEICHEN)


@pytest.fixture
def doctor(db):
    from kangfu.core.models import Role

    return f.worker(f.hospital(), username="doctor", role=Role.PSYCHIATRIST, jurisdiction="120100000000")


@pytest.fixture
def admin(db):
    return f.district_admin()


@pytest.fixture
def case(admin, rehab_worker, institution):
    return f.enrolled_case(admin=admin, rehab_worker=rehab_worker, institution_org=institution)
