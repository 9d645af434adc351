import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from kangfu.core.ids import ID_BAD_CHECK, mask_id_number
from kangfu.core.models import AuditAction, AuditEntry
from kangfu.people import services
from kangfu.people.models import Person
from kangfu.people.tests.factories import (
    HUAMING_COMMUNITY,
    JIUJIANGLU,
    CertificateFactory,
    IncomePeriodFactory,
    PersonFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def community_worker(db):
    """九江路社区's 网格员: their jurisdiction is the community itself."""
    from kangfu.core.models import Role
    from kangfu.core.tests.factories import OrganisationFactory, UserFactory

    org = OrganisationFactory(name="九江路社区居委会", region_id=JIUJIANGLU)
    return UserFactory(
        username="wangge", role=Role.COMMUNITY_WORKER, jurisdiction_id=JIUJIANGLU, organisation=org
    )


NEW_PERSON = {
    "name": "王小明",
    "id_number": "120103197011210016",
    "phone": "13912345678",
    "street": "120103001000",
    "community": JIUJIANGLU,
    "address": "九江路1号",
    "hukou_region": "",
    "hukou_type": "urban",
}


def page(response) -> str:
    return response.content.decode()


class TestList:
    def test_owner_sees_own_people_masked(self, login, owner, person):
        body = page(login(owner).get("/people/"))
        assert person.name in body
        assert mask_id_number(person.id_number) in body
        assert person.id_number not in body

    def test_outsider_does_not_see_them(self, login, outsider, person):
        body = page(login(outsider).get("/people/"))
        assert person.name not in body

    def test_outsider_cannot_find_them_by_id_number(self, login, outsider, person):
        body = page(login(outsider).get("/people/", {"q": person.id_number}))
        assert person.name not in body

    @pytest.mark.parametrize("field", ["id_number", "phone", "name", "certificate"])
    def test_owner_finds_a_person_by_each_kind_of_search(self, login, owner, field):
        target = PersonFactory(name="欧阳娜娜", phone="13611112222")
        PersonFactory(name="张伟")
        cert = CertificateFactory(person=target)
        query = {
            "id_number": target.id_number,
            "phone": "136 1111 2222",
            "name": "欧阳",
            "certificate": cert.number,
        }[field]
        body = page(login(owner).get("/people/", {"q": query}))
        assert "欧阳娜娜" in body
        assert "张伟" not in body

    def test_filters_by_category_grade_and_income(self, login, owner):
        match = PersonFactory(name="甲")
        CertificateFactory(person=match, digits="62")
        IncomePeriodFactory(person=match)
        CertificateFactory(person=PersonFactory(name="乙"), digits="42")
        body = page(login(owner).get("/people/", {"category": 6, "grade": 2, "income": "dibao"}))
        assert ">甲<" in body and ">乙<" not in body

    def test_a_region_outside_the_jurisdiction_filters_to_nobody(self, login, owner, person):
        body = page(login(owner).get("/people/", {"region": "120110006000"}))
        assert person.name not in body

    def test_each_cell_names_its_column_so_a_phone_can_show_rows_as_cards(self, login, owner, person):
        body = page(login(owner).get("/people/"))
        assert 'data-label="姓名"' in body and 'data-label="身份证号"' in body

    def test_htmx_requests_get_only_the_table(self, login, owner, person):
        response = login(owner).get("/people/", HTTP_HX_REQUEST="true")
        assert "<header" not in page(response)
        assert person.name in page(response)

    def test_query_count_does_not_grow_with_the_page(self, login, owner):
        client = login(owner)
        PersonFactory.create_batch(3)
        client.get("/people/")  # reads the region filter's options, kept a minute for the next pages
        with CaptureQueriesContext(connection) as few:
            client.get("/people/")
        PersonFactory.create_batch(25)
        for p in Person.objects.all()[:10]:
            CertificateFactory(person=p)
        with CaptureQueriesContext(connection) as many:
            client.get("/people/")
        assert len(many) == len(few)
        # session, user (its jurisdiction and organisation with it), count, page, certificates,
        # session save, the menu's four counts of pending work for a street officer
        # (core.registry.Badge), and the one statement of the page's read entries (core.pagination.audit_page)
        assert len(many) <= 14


class TestDetail:
    def test_owner_reads_the_record_and_the_view_is_audited_once(self, login, owner, person):
        response = login(owner).get(f"/people/{person.pk}/")
        assert response.status_code == 200
        assert (
            AuditEntry.objects.filter(action=AuditAction.VIEW, person_id=person.pk, actor=owner).count() == 1
        )

    def test_outsider_gets_404_and_leaves_no_view_row(self, login, outsider, person):
        assert login(outsider).get(f"/people/{person.pk}/").status_code == 404
        assert not AuditEntry.objects.filter(action=AuditAction.VIEW, person_id=person.pk).exists()

    def test_every_tab_renders(self, login, owner, person):
        client = login(owner)
        for tab in [
            "basic",
            "guardians",
            "certificates",
            "income",
            "events",
            "rehab",
            "subsidies",
            "devices",
        ]:
            assert client.get(f"/people/{person.pk}/", {"tab": tab}).status_code == 200

    def test_reveal_shows_the_full_number_and_is_audited(self, login, owner, person):
        response = login(owner).post(f"/people/{person.pk}/reveal/id_number/")
        assert person.id_number in page(response)
        assert AuditEntry.objects.filter(action=AuditAction.REVEAL, person_id=person.pk).count() == 1

    def test_a_read_only_colleague_sees_masked_values_and_cannot_reveal(self, login, colleague, person):
        client = login(colleague)
        body = page(client.get(f"/people/{person.pk}/"))
        assert person.id_number not in body and "显示完整号码" not in body
        assert client.post(f"/people/{person.pk}/reveal/id_number/").status_code == 403
        assert not AuditEntry.objects.filter(action=AuditAction.REVEAL).exists()

    def test_outsider_cannot_reveal(self, login, outsider, person):
        assert login(outsider).post(f"/people/{person.pk}/reveal/id_number/").status_code == 404


class TestCreateAndEdit:
    def test_owner_registers_a_person(self, login, owner):
        response = login(owner).post("/people/new/", NEW_PERSON)
        person = Person.objects.get()
        assert response.status_code == 302 and response["Location"] == f"/people/{person.pk}/"
        assert person.sex == "M"

    def test_a_wrong_check_character_gets_a_chinese_field_error_and_400(self, login, owner):
        response = login(owner).post("/people/new/", {**NEW_PERSON, "id_number": "120103197011210017"})
        assert response.status_code == 400
        assert ID_BAD_CHECK in page(response)
        assert not Person.objects.exists()

    def test_registering_a_known_person_opens_the_existing_record(self, login, owner, person):
        response = login(owner).post("/people/new/", {**NEW_PERSON, "id_number": person.id_number})
        assert response.status_code == 302 and response["Location"] == f"/people/{person.pk}/"
        assert Person.objects.count() == 1

    def test_a_forged_post_into_another_street_is_refused(self, login, outsider):
        response = login(outsider).post("/people/new/", NEW_PERSON)
        assert response.status_code == 400
        assert not Person.objects.exists()

    def test_a_forged_edit_of_another_streets_person_is_404_and_changes_nothing(
        self, login, outsider, person
    ):
        response = login(outsider).post(
            f"/people/{person.pk}/edit/",
            {
                **NEW_PERSON,
                "id_number": person.id_number,
                "community": HUAMING_COMMUNITY,
                "street": "120110006000",
                "version": 1,
            },
        )
        assert response.status_code == 404
        person.refresh_from_db()
        assert (person.name, person.community_id) == ("张三", JIUJIANGLU)

    def test_a_stale_edit_is_refused_with_409(self, login, owner, person):
        services.person_update(
            actor=owner,
            person=person,
            data=services.PersonData(name="别人先改", id_number=person.id_number, community_code=JIUJIANGLU),
            expected_version=1,
        )
        response = login(owner).post(
            f"/people/{person.pk}/edit/", {**NEW_PERSON, "id_number": person.id_number, "version": 1}
        )
        assert response.status_code == 409
        assert services.STALE_EDIT in page(response)
        person.refresh_from_db()
        assert person.name == "别人先改"

    def test_a_read_only_colleague_cannot_open_the_form(self, login, colleague):
        assert login(colleague).get("/people/new/").status_code == 403

    def test_a_community_worker_is_offered_its_street_and_community(self, login, community_worker):
        body = page(login(community_worker).get("/people/new/"))
        assert 'value="120103001000" selected' in body and f'value="{JIUJIANGLU}"' in body

    def test_a_community_worker_registers_a_person_of_its_community(self, login, community_worker):
        response = login(community_worker).post("/people/new/", NEW_PERSON)
        person = Person.objects.get()
        assert response.status_code == 302 and person.community_id == JIUJIANGLU

    def test_a_community_worker_edits_a_person_of_its_community(self, login, community_worker, person):
        client = login(community_worker)
        form = client.get(f"/people/{person.pk}/edit/")
        assert f'value="{JIUJIANGLU}" selected' in page(form)
        response = client.post(
            f"/people/{person.pk}/edit/",
            {**NEW_PERSON, "name": "张三丰", "id_number": person.id_number, "version": person.version},
        )
        assert response.status_code == 302
        person.refresh_from_db()
        assert person.name == "张三丰"

    def test_community_options_are_limited_to_the_jurisdiction(self, login, owner):
        client = login(owner)
        assert JIUJIANGLU in page(client.get("/people/communities/", {"street": "120103001000"}))
        assert "120110006001" not in page(client.get("/people/communities/", {"street": "120110006000"}))

    def test_a_certificate_that_does_not_match_gets_a_field_error(self, login, owner, person):
        response = login(owner).post(
            f"/people/{person.pk}/certificates/add/",
            {"number": "34052419800101001X43", "issued_on": "2024-01-01"},
        )
        assert response.status_code == 400
        assert "不一致" in page(response)
        assert person.certificates.count() == 0

    def test_sub_records_of_another_streets_person_cannot_be_added(self, login, outsider, person):
        response = login(outsider).post(
            f"/people/{person.pk}/guardians/add/", {"name": "冒名", "relation": "parent", "is_guardian": "on"}
        )
        assert response.status_code == 404
        assert person.guardians.count() == 0

    def test_a_guardian_of_one_person_cannot_be_deleted_through_another(self, login, owner, person):
        from kangfu.people.tests.factories import GuardianFactory

        guardian = GuardianFactory(person=PersonFactory(community_code=HUAMING_COMMUNITY))
        assert login(owner).post(f"/people/{person.pk}/guardians/{guardian.pk}/delete/").status_code == 404
        guardian.refresh_from_db()


class TestExport:
    def test_export_contains_only_own_people_masked_and_is_audited(self, login, owner, person):
        other = PersonFactory(name="=HYPERLINK(1)", community_code=HUAMING_COMMUNITY)
        response = login(owner).get("/people/export/")
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        names = [r[0] for r in rows[1:]]
        assert names == ["张三"]
        assert rows[1][1] == mask_id_number(person.id_number)
        assert other.name not in names
        entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
        assert entry.changes["rows"] == 1

    def test_formula_like_names_are_neutralised(self, login, owner):
        PersonFactory(name="=1+1")
        sheet = load_workbook(io.BytesIO(login(owner).get("/people/export/").content)).active
        assert sheet.cell(row=2, column=1).value == "'=1+1"

    def test_a_role_without_export_rights_is_refused(self, login, colleague):
        assert login(colleague).get("/people/export/").status_code == 403
        assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_reading_the_list_leaves_one_entry_per_person_shown(login, owner):
    from kangfu.core.models import AuditAction, AuditEntry
    from kangfu.people.tests.factories import JIUJIANGLU, PersonFactory

    shown = {PersonFactory(community_code=JIUJIANGLU).pk for _ in range(3)}
    login(owner).get("/people/")
    entries = AuditEntry.objects.filter(actor=owner, action=AuditAction.VIEW, object_type="people.person")
    assert sorted(entries.values_list("person_id", flat=True)) == sorted(shown)
