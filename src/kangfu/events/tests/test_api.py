"""`/api/v1/events/`: a cursor that never skips nor repeats, scoped to the token's district or city,
for the civil-affairs administrators' systems only."""

import pytest

from kangfu.core import events
from kangfu.core.models import Role
from kangfu.core.services import api_token_create
from kangfu.core.tests.factories import UserFactory
from kangfu.events import api

pytestmark = pytest.mark.django_db
TIANJIN = "120100000000"
HEXI = "120103000000"
HEPING = "120101000000"
DAYINGMEN = "120103001000"
URL = "/api/v1/events/"


def bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=None, user=user, name='对接')}"}


@pytest.fixture
def hexi_admin(db):
    return UserFactory(username="hexi", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)


@pytest.fixture
def city_admin(db):
    return UserFactory(username="city", role=Role.CITY_ADMIN, jurisdiction_id=TIANJIN)


def happen(n, district=HEXI, kind="subsidies.grant.changed"):
    return [
        events.record(kind=kind, subject=("subsidies.grant", i), district=district, payload={"i": i})
        for i in range(n)
    ]


def test_paging_by_cursor_sees_every_event_once_even_as_more_arrive(client, hexi_admin):
    headers = bearer(hexi_admin)
    first = happen(7)
    answer = client.get(URL, {"limit": 3}, **headers).json()
    seen, after = [i["id"] for i in answer["items"]], answer["next"]
    later = happen(4)  # committed while the client pages
    rest_seen, _ = _from(client, headers, after, limit=3)
    assert seen + rest_seen == [str(e.key) for e in first + later]


def _from(client, headers, after, *, limit):
    seen = []
    while True:
        answer = client.get(URL, {"after": after, "limit": limit}, **headers).json()
        if not answer["items"]:
            return seen, after
        seen += [item["id"] for item in answer["items"]]
        after = answer["next"]


def test_an_empty_page_keeps_the_cursor(client, hexi_admin):
    answer = client.get(URL, {"after": 12}, **bearer(hexi_admin)).json()
    assert answer == {"items": [], "next": 12}


def test_a_district_sees_only_its_own_districts_events(client, hexi_admin):
    mine = happen(2, district=HEXI)
    happen(3, district=HEPING)
    seen, _ = _from(client, bearer(hexi_admin), 0, limit=100)
    assert seen == [str(e.key) for e in mine]


def test_the_city_sees_every_district(client, city_admin):
    happen(2, district=HEXI)
    happen(3, district=HEPING)
    seen, _ = _from(client, bearer(city_admin), 0, limit=100)
    assert len(seen) == 5


def test_kinds_can_be_chosen(client, hexi_admin):
    happen(2, kind="subsidies.grant.changed")
    stopped = happen(1, kind="subsidies.grant.stopped")
    answer = client.get(URL, {"kind": "subsidies.grant.stopped"}, **bearer(hexi_admin)).json()
    assert [i["id"] for i in answer["items"]] == [str(stopped[0].key)]


def test_an_item_says_what_happened_to_which_record(client, hexi_admin):
    (event,) = happen(1)
    (item,) = client.get(URL, **bearer(hexi_admin)).json()["items"]
    assert item["id"] == str(event.key)
    assert item["kind"] == "subsidies.grant.changed"
    assert item["subject"] == {"type": "subsidies.grant", "id": "0"}
    assert item["district"] == HEXI
    assert item["payload"] == {"i": 0}
    assert item["position"] == 1


@pytest.mark.parametrize("role", [Role.STREET_OFFICER, Role.AUDITOR, Role.DEVICE_CLERK])
def test_other_roles_are_refused(client, role):
    user = UserFactory(
        username="x", role=role, jurisdiction_id=DAYINGMEN if role == Role.STREET_OFFICER else HEXI
    )
    response = client.get(URL, **bearer(user))
    assert response.status_code == 403
    assert response.json() == {"detail": events.NOT_A_READER}


def test_no_token_is_401(client):
    assert client.get(URL).status_code == 401


def test_a_bad_limit_is_422(client, hexi_admin):
    assert client.get(URL, {"limit": 0}, **bearer(hexi_admin)).status_code == 422


def test_an_unknown_kind_is_a_400_naming_it(client, hexi_admin):
    response = client.get(URL, {"kind": "subsidies.grant.exploded"}, **bearer(hexi_admin))
    assert response.status_code == 400
    assert response.json()["errors"] == {"kind": [api.UNKNOWN_KIND.format(kinds="subsidies.grant.exploded")]}


def test_a_cursor_past_the_largest_position_is_422(client, hexi_admin):
    assert client.get(URL, {"after": 2**63}, **bearer(hexi_admin)).status_code == 422
