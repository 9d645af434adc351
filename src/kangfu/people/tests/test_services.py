import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from kangfu.core import ids
from kangfu.core.models import AuditAction, AuditEntry
from kangfu.people import services
from kangfu.people.models import CertificateStatus, LifeEventKind, Person, VitalStatus
from kangfu.people.tests.factories import (
    FUJIANLU,
    HUAMING_COMMUNITY,
    JIUJIANGLU,
    CertificateFactory,
    PersonFactory,
    make_id_number,
)

pytestmark = pytest.mark.django_db


def data(**overrides) -> services.PersonData:
    values = {
        "name": "李四",
        "id_number": "120103197011210016",
        "community_code": JIUJIANGLU,
        "phone": "13912345678",
    }
    values.update(overrides)
    return services.PersonData(**values)


def test_birth_date_sex_and_residence_levels_come_from_the_id_and_the_community(owner):
    person = services.person_create(actor=owner, data=data())
    assert person.birth_date == dt.date(1970, 11, 21)
    assert person.sex == "M"
    assert (person.street_id, person.district_id, person.city_id) == (
        "120103001000",
        "120103000000",
        "120100000000",
    )
    assert person.hukou_region_id == JIUJIANGLU


def test_a_fifteen_digit_number_is_stored_in_eighteen_digit_form(owner):
    person = services.person_create(actor=owner, data=data(id_number="120103701121001"))
    assert person.id_number == "120103197011210016"


def test_a_known_id_number_leads_to_the_existing_record(owner):
    first = services.person_create(actor=owner, data=data())
    with pytest.raises(services.DuplicatePerson) as caught:
        services.person_create(actor=owner, data=data(name="别名", id_number="120103701121001"))
    assert caught.value.person_id == first.pk
    assert caught.value.messages == [services.DUPLICATE_PERSON]
    assert Person.objects.count() == 1


def test_a_duplicate_in_another_street_is_refused_without_showing_it(owner, outsider):
    PersonFactory(id_number="120103197011210016", community_code="120110006001")
    with pytest.raises(services.DuplicatePerson) as caught:
        services.person_create(actor=owner, data=data())
    assert caught.value.messages == [services.DUPLICATE_PERSON_ELSEWHERE]


def test_invalid_input_is_reported_per_field_and_nothing_is_saved(owner):
    with pytest.raises(ValidationError) as caught:
        services.person_create(
            actor=owner, data=data(name=" ", id_number="120103197011210017", phone="12", community_code="")
        )
    errors = caught.value.message_dict
    assert errors["id_number"] == [ids.ID_BAD_CHECK]
    assert errors["name"] == [services.NAME_REQUIRED]
    assert errors["phone"] == [ids.PHONE_BAD]
    assert errors["community"] == [services.UNKNOWN_COMMUNITY]
    assert Person.objects.count() == 0
    assert not AuditEntry.objects.filter(action=AuditAction.CREATE).exists()


def test_a_person_must_live_in_a_community_not_a_street(owner):
    with pytest.raises(ValidationError) as caught:
        services.person_create(actor=owner, data=data(community_code="120103001000"))
    assert caught.value.message_dict["community"] == [services.NOT_A_COMMUNITY]


def test_nobody_registers_a_person_outside_their_jurisdiction(owner):
    with pytest.raises(PermissionDenied):
        services.person_create(actor=owner, data=data(community_code=FUJIANLU))
    assert Person.objects.count() == 0


def test_a_read_only_role_cannot_register(colleague):
    with pytest.raises(PermissionDenied):
        services.person_create(actor=colleague, data=data())


def test_creation_writes_one_audit_row_without_the_id_number(owner):
    person = services.person_create(actor=owner, data=data())
    entry = AuditEntry.objects.get(action=AuditAction.CREATE)
    assert (entry.actor_id, entry.person_id) == (owner.pk, person.pk)
    assert person.id_number not in str(entry.changes)
    assert "13912345678" not in str(entry.changes)


def test_an_update_bumps_the_version_and_audits_the_change(owner):
    person = services.person_create(actor=owner, data=data())
    updated = services.person_update(
        actor=owner,
        person=person,
        data=data(name="李四改", community_code="120103001004"),
        expected_version=1,
    )
    assert (updated.name, updated.version, updated.community_id) == ("李四改", 2, "120103001004")
    entry = AuditEntry.objects.get(action=AuditAction.UPDATE)
    assert entry.changes["name"] == ["李四", "李四改"]


def test_the_second_of_two_concurrent_edits_is_told_and_changes_nothing(owner):
    person = services.person_create(actor=owner, data=data())
    first_view = Person.objects.get(pk=person.pk)
    second_view = Person.objects.get(pk=person.pk)
    services.person_update(actor=owner, person=first_view, data=data(name="王五"), expected_version=1)
    with pytest.raises(services.StaleEdit):
        services.person_update(actor=owner, person=second_view, data=data(name="赵六"), expected_version=1)
    assert Person.objects.get(pk=person.pk).name == "王五"
    assert AuditEntry.objects.filter(action=AuditAction.UPDATE).count() == 1


def test_changing_the_id_to_someone_elses_is_refused(owner):
    other = PersonFactory(id_number=make_id_number(7))
    person = services.person_create(actor=owner, data=data())
    with pytest.raises(services.DuplicatePerson):
        services.person_update(
            actor=owner, person=person, data=data(id_number=other.id_number), expected_version=1
        )


def test_a_certificate_must_carry_the_persons_id(owner, person):
    with pytest.raises(ValidationError) as caught:
        services.certificate_issue(
            actor=owner, person=person, number="34052419800101001X43", issued_on=dt.date(2024, 1, 1)
        )
    assert caught.value.message_dict["number"] == [ids.CERT_ID_MISMATCH]
    assert person.certificates.count() == 0


def test_a_new_certificate_replaces_the_valid_one_and_keeps_the_history(owner, person):
    old = services.certificate_issue(
        actor=owner, person=person, number=person.id_number + "43", issued_on=dt.date(2019, 5, 1)
    )
    new = services.certificate_issue(
        actor=owner, person=person, number=person.id_number + "42", issued_on=dt.date(2024, 5, 1)
    )
    old.refresh_from_db()
    assert (old.status, old.status_changed_on) == (CertificateStatus.REPLACED, dt.date(2024, 5, 1))
    assert (new.status, new.category, new.grade) == (CertificateStatus.VALID, 4, 2)
    assert person.certificates.count() == 2


def test_the_same_certificate_cannot_be_registered_twice(owner, person):
    services.certificate_issue(
        actor=owner, person=person, number=person.id_number + "43", issued_on=dt.date(2019, 5, 1)
    )
    with pytest.raises(ValidationError) as caught:
        services.certificate_issue(
            actor=owner, person=person, number=person.id_number + "43", issued_on=dt.date(2020, 5, 1)
        )
    assert caught.value.message_dict["number"] == [services.DUPLICATE_CERTIFICATE]


def test_expiry_before_issue_is_refused(owner, person):
    with pytest.raises(ValidationError) as caught:
        services.certificate_issue(
            actor=owner,
            person=person,
            number=person.id_number + "43",
            issued_on=dt.date(2024, 5, 1),
            expires_on=dt.date(2024, 4, 1),
        )
    assert caught.value.message_dict["expires_on"] == [services.CERT_DATES]


def test_cancelling_twice_is_refused_the_second_time(owner, person):
    cert = CertificateFactory(person=person)
    services.certificate_cancel(
        actor=owner, certificate=cert, cancelled_on=dt.date(2025, 1, 1), reason="迁出"
    )
    with pytest.raises(ValidationError) as caught:
        services.certificate_cancel(
            actor=owner, certificate=cert, cancelled_on=dt.date(2025, 1, 2), reason="重复"
        )
    assert caught.value.messages == [services.CERT_NOT_VALID]


def test_income_periods_of_one_family_cannot_overlap(owner, person):
    services.income_period_add(actor=owner, person=person, status="dibao", start_date=dt.date(2022, 1, 1))
    with pytest.raises(ValidationError) as caught:
        services.income_period_add(actor=owner, person=person, status="tekun", start_date=dt.date(2023, 6, 1))
    assert "重叠" in caught.value.message_dict["start_date"][0]


def test_an_ended_period_makes_room_for_the_next(owner, person):
    period = services.income_period_add(
        actor=owner, person=person, status="dibao", start_date=dt.date(2022, 1, 1)
    )
    services.income_period_end(actor=owner, period=period, end_date=dt.date(2023, 5, 31))
    services.income_period_add(
        actor=owner, person=person, status="dibao_edge", start_date=dt.date(2023, 6, 1)
    )
    assert person.income_periods.count() == 2


def test_a_period_cannot_end_before_it_starts(owner, person):
    with pytest.raises(ValidationError) as caught:
        services.income_period_add(
            actor=owner,
            person=person,
            status="dibao",
            start_date=dt.date(2022, 1, 1),
            end_date=dt.date(2021, 1, 1),
        )
    assert caught.value.message_dict["end_date"] == [services.PERIOD_ORDER]


@time_machine.travel(dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC))
def test_death_sets_the_status_and_future_dates_are_refused(owner, person):
    services.life_event_record(
        actor=owner, person=person, kind=LifeEventKind.DEATH, occurred_on=dt.date(2026, 10, 3)
    )
    person.refresh_from_db()
    assert person.vital_status == VitalStatus.DECEASED
    with pytest.raises(ValidationError):
        services.life_event_record(
            actor=owner, person=person, kind=LifeEventKind.RELEASE, occurred_on=dt.date(2026, 12, 1)
        )


def test_a_late_entry_of_an_older_event_does_not_undo_a_newer_one(owner, person):
    services.life_event_record(
        actor=owner, person=person, kind=LifeEventKind.RELEASE, occurred_on=dt.date(2024, 6, 1)
    )
    services.life_event_record(
        actor=owner, person=person, kind=LifeEventKind.IMPRISONMENT, occurred_on=dt.date(2021, 6, 1)
    )
    person.refresh_from_db()
    assert person.vital_status == VitalStatus.NORMAL


def test_a_household_move_changes_the_registered_household(owner, person):
    services.life_event_record(
        actor=owner,
        person=person,
        kind=LifeEventKind.MOVE_OUT,
        occurred_on=dt.date(2024, 6, 1),
        to_region_code="120110006001",
    )
    person.refresh_from_db()
    assert person.hukou_region_id == "120110006001"


def test_sub_record_changes_make_an_open_edit_form_stale(owner):
    person = services.person_create(actor=owner, data=data())
    services.guardian_add(actor=owner, person=person, name="李父", relation="parent", phone="13800001111")
    with pytest.raises(services.StaleEdit):
        services.person_update(actor=owner, person=person, data=data(name="改名"), expected_version=1)


def test_a_guardian_with_a_bad_id_number_is_refused(owner, person):
    with pytest.raises(ValidationError) as caught:
        services.guardian_add(actor=owner, person=person, name="监护人", relation="parent", id_number="123")
    assert caught.value.message_dict["id_number"] == [ids.ID_BAD_LENGTH]
    assert person.guardians.count() == 0


def test_revealing_needs_the_right_role_and_is_audited(owner, colleague, person):
    assert services.person_reveal(actor=owner, person=person, field="id_number") == person.id_number
    assert AuditEntry.objects.filter(action=AuditAction.REVEAL, actor=owner, person_id=person.pk).count() == 1
    with pytest.raises(PermissionDenied):
        services.person_reveal(actor=colleague, person=person, field="id_number")
    assert AuditEntry.objects.filter(action=AuditAction.REVEAL).count() == 1


class TestRegisterMany:
    """The one bulk registration every import uses: placed and dated as `person_create` places and
    dates one person, and only within the actor's rights and jurisdiction."""

    def row(self, number, community=JIUJIANGLU):
        return {
            "name": "批量甲",
            "id_number": number,
            "id_number_hash": services.id_hash(number),
            "phone": "13900000000",
            "community_id": community,
        }

    def test_people_are_placed_and_read_off_their_numbers(self, owner):
        number = "12010319800101002" + ids.check_character("12010319800101002")
        [pk] = services.people_register_many(actor=owner, rows=[self.row(number)])
        person = Person.objects.get(pk=pk)
        assert (
            (person.birth_date, person.sex, person.street_id, person.district_id)
            == (
                dt.date(1980, 1, 1),
                "F",  # the 17th digit, 2, is even
                JIUJIANGLU[:9] + "000",
                JIUJIANGLU[:6] + "000000",
            )
        )
        assert person.phone_hash == services.phone_hash("13900000000")

    def test_outside_the_jurisdiction_or_without_the_right_nothing_is_written(self, owner):
        from kangfu.core.models import Role
        from kangfu.core.tests.factories import UserFactory

        number = "12010319800101002" + ids.check_character("12010319800101002")
        with pytest.raises(PermissionDenied):
            services.people_register_many(actor=owner, rows=[self.row(number, HUAMING_COMMUNITY)])
        clinician = UserFactory(role=Role.REHAB_WORKER, jurisdiction_id=owner.jurisdiction_id)
        with pytest.raises(PermissionDenied):
            services.people_register_many(actor=clinician, rows=[self.row(number)])
        assert not Person.objects.exists()
