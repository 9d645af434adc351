import json

import pytest

from kangfu.core.services import api_token_create
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


@pytest.fixture
def api(client):
    """Calls to /api/v1/rehab as a user, with a bearer token of theirs."""

    def as_user(user):
        token = api_token_create(actor=None, user=user, name="测试")

        def call(method, path, payload=None, **kwargs):
            headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
            if payload is not None:
                kwargs.update(data=json.dumps(payload, default=str), content_type="application/json")
            return getattr(client, method)(f"/api/v1/rehab{path}", **headers, **kwargs)

        return call

    return as_user
