import pytest

from kangfu.core.ids import normalize_id_number, parse_certificate_number
from kangfu.people.models import DisabilityCertificate, LifeEvent, Person, VitalStatus
from kangfu.people.synth import Focus, synthesise

pytestmark = pytest.mark.django_db


def test_synthetic_people_have_valid_consistent_identifiers():
    report = synthesise(people=300, seed=7, batch_size=100)
    assert report.people == Person.objects.count() == 300
    for person in Person.objects.all():
        facts = normalize_id_number(person.id_number)
        assert (facts.birth_date, facts.sex) == (person.birth_date, person.sex)
        assert person.street_id == person.community_id[:9] + "000"
    for cert in DisabilityCertificate.objects.select_related("person")[:100]:
        facts = parse_certificate_number(cert.number, id_number=cert.person.id_number)
        assert (facts.category, facts.grade) == (cert.category, cert.grade)


def test_the_same_seed_gives_the_same_people():
    synthesise(people=50, seed=11)
    first = list(Person.objects.order_by("pk").values_list("name", "birth_date", "community_id"))
    Person.objects.all().delete()
    synthesise(people=50, seed=11)
    second = list(Person.objects.order_by("pk").values_list("name", "birth_date", "community_id"))
    assert first == second


def test_a_rerun_with_the_same_seed_adds_no_duplicates():
    synthesise(people=40, seed=3)
    report = synthesise(people=40, seed=3)
    assert report.skipped_duplicates == 40
    assert Person.objects.count() == 40


def test_focus_places_the_requested_share_in_a_region():
    synthesise(people=400, seed=5, focus=(Focus("120103001000", 0.5),))
    share = Person.objects.filter(street_id="120103001000").count() / 400
    assert 0.4 < share < 0.6


def test_deceased_people_have_a_death_event():
    synthesise(people=2000, seed=9)
    dead = Person.objects.filter(vital_status=VitalStatus.DECEASED)
    assert dead.exists()
    assert LifeEvent.objects.filter(person__in=dead, kind="death").count() == dead.count()


def test_nothing_synthesised_happened_after_today_or_before_the_person_was_born():
    from django.db.models import F
    from django.utils import timezone

    from kangfu.people.models import IncomePeriod

    synthesise(people=600, seed=2026)
    today = timezone.localdate()
    assert not Person.objects.filter(birth_date__gt=today).exists()
    assert not DisabilityCertificate.objects.filter(issued_on__gt=today).exists()
    assert not LifeEvent.objects.filter(occurred_on__gt=today).exists()
    assert not IncomePeriod.objects.filter(start_date__gt=today).exists()
    assert not IncomePeriod.objects.filter(end_date__gt=today).exists()
    assert not IncomePeriod.objects.filter(start_date__lt=F("person__birth_date")).exists()
    assert not DisabilityCertificate.objects.filter(issued_on__lt=F("person__birth_date")).exists()
