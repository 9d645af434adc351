import json

import pytest

from kangfu.core.ids import mask_id_number
from kangfu.core.models import AuditAction, AuditEntry
from kangfu.core.services import api_token_create
from kangfu.people.models import Person
from kangfu.people.tests.factories import HUAMING_COMMUNITY, JIUJIANGLU, CertificateFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    def as_user(user):
        token = api_token_create(actor=None, user=user, name="测试")

        def call(method, path, payload=None, **params):
            kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
            if payload is not None:
                kwargs.update(data=json.dumps(payload), content_type="application/json")
            elif params:
                kwargs["data"] = params
            return getattr(client, method)(f"/api/v1{path}", **kwargs)

        return call

    return as_user


def test_the_openapi_document_is_published(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/people/" in response.json()["paths"]


def test_the_docs_page_loads_its_assets_from_the_application(client):
    body = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in body
    assert "cdn" not in body.lower()


def test_requests_without_a_valid_token_are_refused(client):
    assert client.get("/api/v1/people/").status_code == 401
    assert client.get("/api/v1/people/", HTTP_AUTHORIZATION="Bearer kf_forged").status_code == 401


def test_a_revoked_token_stops_working(api, owner):
    from django.utils import timezone

    from kangfu.core.models import ApiToken

    call = api(owner)
    ApiToken.objects.update(revoked_at=timezone.now())
    assert call("get", "/people/").status_code == 401


def test_list_is_scoped_and_masked(api, owner, person):
    PersonFactory(name="华明人", community_code=HUAMING_COMMUNITY)
    body = api(owner)("get", "/people/").json()
    assert [p["name"] for p in body["items"]] == ["张三"]
    assert body["items"][0]["id_number"] == mask_id_number(person.id_number)


def test_outsider_cannot_search_another_streets_person_by_id(api, outsider, person):
    body = api(outsider)("get", "/people/", q=person.id_number).json()
    assert body["items"] == [] and body["count"] == 0


def test_list_filters_are_the_pages_filters(api, owner):
    CertificateFactory(person=PersonFactory(name="精神二级"), digits="62")
    CertificateFactory(person=PersonFactory(name="肢体三级"), digits="43")
    body = api(owner)("get", "/people/", category=6).json()
    assert [p["name"] for p in body["items"]] == ["精神二级"]


def test_detail_is_404_outside_scope_and_audited_inside(api, owner, outsider, person):
    assert api(outsider)("get", f"/people/{person.pk}").status_code == 404
    response = api(owner)("get", f"/people/{person.pk}")
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action=AuditAction.VIEW, person_id=person.pk)
    assert entry.channel == "api"


def test_create_validates_and_reports_in_chinese(api, owner):
    response = api(owner)(
        "post", "/people/", {"name": "李四", "id_number": "120103197011210017", "community_code": JIUJIANGLU}
    )
    assert response.status_code == 400
    assert "校验位" in response.json()["errors"]["id_number"][0]
    assert not Person.objects.exists()


def test_create_registers_and_a_second_create_is_a_conflict(api, owner):
    call = api(owner)
    payload = {"name": "李四", "id_number": "120103197011210016", "community_code": JIUJIANGLU}
    first = call("post", "/people/", payload)
    assert first.status_code == 201
    second = call("post", "/people/", payload)
    assert second.status_code == 409
    assert second.json()["errors"]["existing_id"] == [str(first.json()["id"])]


def test_create_outside_the_jurisdiction_is_forbidden(api, owner):
    response = api(owner)(
        "post",
        "/people/",
        {"name": "李四", "id_number": "120103197011210016", "community_code": HUAMING_COMMUNITY},
    )
    assert response.status_code == 403
    assert not Person.objects.exists()


def test_a_read_only_role_cannot_create(api, colleague):
    response = api(colleague)(
        "post", "/people/", {"name": "李四", "id_number": "120103197011210016", "community_code": JIUJIANGLU}
    )
    assert response.status_code == 403


def test_patch_with_a_stale_version_is_a_conflict_and_changes_nothing(api, owner, person):
    call = api(owner)
    assert call("patch", f"/people/{person.pk}", {"version": 1, "name": "新名"}).status_code == 200
    response = call("patch", f"/people/{person.pk}", {"version": 1, "name": "更新名"})
    assert response.status_code == 409
    person.refresh_from_db()
    assert (person.name, person.version) == ("新名", 2)


def test_patch_of_another_streets_person_is_404(api, outsider, person):
    assert api(outsider)("patch", f"/people/{person.pk}", {"version": 1, "name": "冒改"}).status_code == 404
    person.refresh_from_db()
    assert person.name == "张三"


def test_a_malformed_body_is_422_not_500(api, owner):
    response = api(owner)("post", "/people/", {"name": "缺字段"})
    assert response.status_code == 422
    assert response.json()["errors"]
