"""The API's edges: bounded pages, JSON 404s for any address under /api/, and an OpenAPI document that
declares the refusals every operation may give."""

import pytest
from django.test import Client

from kangfu.api.api import NOT_FOUND, api
from kangfu.conftest import DAYINGMEN
from kangfu.core.models import Role
from kangfu.core.pagination import MAX_LIMIT, MAX_OFFSET
from kangfu.core.services import api_token_create
from kangfu.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bearer(owner):
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=None, user=owner, name='测试')}"}


@pytest.mark.parametrize("path", ["/api/v1/people/", "/api/v1/matching/items"])
@pytest.mark.parametrize("offset", [MAX_OFFSET + 1, 10**30, 2**63, -1])
def test_an_offset_out_of_bounds_is_a_422_naming_the_field(client, bearer, path, offset):
    response = client.get(path, {"offset": offset}, **bearer)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["offset"]


@pytest.mark.parametrize("limit, message", [(0, "不能小于 1。"), (MAX_LIMIT + 1, f"不能大于 {MAX_LIMIT}。")])
def test_a_limit_out_of_bounds_is_refused_in_chinese(client, bearer, limit, message):
    response = client.get("/api/v1/subsidies/grants", {"limit": limit}, **bearer)
    assert response.status_code == 422
    assert response.json()["errors"] == {"limit": [message]}


def test_the_largest_offset_answers_an_empty_page(client, bearer, person):
    response = client.get("/api/v1/people/", {"offset": MAX_OFFSET}, **bearer)
    assert response.status_code == 200
    assert response.json() == {"count": 1, "count_capped": False, "items": []}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/people/abc",
        "/api/v1/people/99999999999999999999999999",
        f"/api/v1/people/{2**63}",
        "/api/v1/subsidies/grants/99999999999999999999",
        "/api/v1/nowhere",
        "/api/v2/people/",
    ],
)
def test_an_unknown_or_impossible_address_is_a_json_404(client, bearer, path):
    response = client.get(path, **bearer)
    assert response.status_code == 404
    assert response.json() == {"detail": NOT_FOUND}


def test_a_write_to_an_unknown_address_is_a_json_404_not_a_csrf_refusal(bearer):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/people/abc/confirm", "{}", content_type="application/json", **bearer)
    assert (response.status_code, response.json()) == (404, {"detail": NOT_FOUND})


def test_a_record_id_too_large_for_the_database_is_a_404_not_a_500(client, bearer):
    response = client.patch(
        f"/api/v1/people/{2**64}", '{"version": 1}', content_type="application/json", **bearer
    )
    assert response.status_code == 404


def test_a_list_address_without_its_slash_is_still_redirected(client, bearer):
    response = client.get("/api/v1/people", **bearer)
    assert (response.status_code, response["Location"]) == (301, "/api/v1/people/")


@pytest.fixture(scope="module")
def operations():
    schema = api.get_openapi_schema()
    return {
        (method.upper(), path): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }


def test_every_operation_declares_401_and_403(operations):
    assert all({"401", "403"} <= set(op["responses"]) for op in operations.values())


def test_every_operation_with_input_declares_422_and_with_a_record_in_its_path_404(operations):
    for op in operations.values():
        places = {p["in"] for p in op.get("parameters", [])} | ({"body"} if "requestBody" in op else set())
        assert ("422" in op["responses"]) == bool(places)
        assert ("404" in op["responses"]) >= ("path" in places)


def test_state_changing_operations_that_may_meet_a_conflict_declare_409(operations):
    writes = {key: op for key, op in operations.items() if key[0] != "GET"}
    assert all("409" in op["responses"] for (_, path), op in writes.items() if "/golive/" not in path)
    assert "409" in operations["POST", "/api/v1/rehab/rosters/{roster_id}/confirm"]["responses"]
    assert "409" not in operations["GET", "/api/v1/people/"]["responses"]


@pytest.mark.parametrize(
    "path", ["/api/v1/subsidies/grants", "/api/v1/subsidies/standards", "/api/v1/matching/items"]
)
def test_a_clinician_is_refused_civil_affairs_lists_as_on_the_pages(client, path):
    clinician = UserFactory(username="psychiatrist", role=Role.PSYCHIATRIST, jurisdiction_id=DAYINGMEN)
    token = api_token_create(actor=None, user=clinician, name="测试")
    assert client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 403


def test_an_api_list_of_people_leaves_one_audit_entry_per_person_read(client, db):
    """Every read of a named person's data leaves an entry: a list page read through the API names
    each person on it in the reader's trail."""
    from kangfu.conftest import DAYINGMEN
    from kangfu.core.models import AuditAction, AuditEntry, Role
    from kangfu.core.services import api_token_create
    from kangfu.core.tests.factories import UserFactory
    from kangfu.people.tests.factories import JIUJIANGLU, PersonFactory

    people = [PersonFactory(community_code=JIUJIANGLU) for _ in range(3)]
    officer = UserFactory(role=Role.STREET_OFFICER, jurisdiction_id=DAYINGMEN)
    token = api_token_create(actor=None, user=officer, name="t")
    response = client.get("/api/v1/people/", {"limit": 2}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    read = AuditEntry.objects.filter(actor=officer, action=AuditAction.VIEW, object_type="people.person")
    shown = {item["id"] for item in response.json()["items"]}
    assert set(read.values_list("person_id", flat=True)) == shown and len(shown) == 2
    assert shown <= {p.pk for p in people}
