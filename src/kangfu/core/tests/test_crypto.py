import pytest
from django.db import connection
from django.test import override_settings

from kangfu.core import crypto
from kangfu.core.keys import rotate_all
from kangfu.people.models import Person
from kangfu.people.tests.factories import PersonFactory

OLD_ONLY = "t1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
NEW_FIRST = "t3:MDAxMTIyMzM0NDU1NjY3Nzg4OTlhYWJiY2NkZGVlZmY=," + OLD_ONLY


@pytest.fixture
def keys():
    """Switch data keys for one test; the key cache is cleared on the way in and out."""

    def use(spec):
        crypto._keys.cache_clear()
        return override_settings(KANGFU_DATA_KEYS=spec)

    yield use
    crypto._keys.cache_clear()


def test_a_value_round_trips_and_is_not_stored_as_itself():
    sealed = crypto.encrypt("120101198001011234")
    assert "120101198001011234" not in sealed
    assert crypto.decrypt(sealed) == "120101198001011234"


def test_the_same_value_seals_differently_each_time():
    assert crypto.encrypt("13812345678") != crypto.encrypt("13812345678")


def test_a_tampered_ciphertext_is_refused():
    sealed = crypto.encrypt("secret")
    kid, _, body = sealed.partition("$")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(f"{kid}${flipped}")


def test_a_ciphertext_cannot_be_relabelled_with_another_key_id():
    sealed = crypto.encrypt("secret")
    _kid, _, body = sealed.partition("$")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(f"t1${body}")


def test_blind_index_depends_on_purpose():
    assert crypto.blind_index("13812345678", purpose="id") != crypto.blind_index(
        "13812345678", purpose="phone"
    )
    assert crypto.blind_index("13812345678", purpose="id") == crypto.blind_index("13812345678", purpose="id")


@pytest.mark.django_db
def test_the_database_holds_no_plaintext_id_numbers_or_phones():
    person = PersonFactory(phone="13912345678")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM people_person WHERE id = %s", [person.pk])
        row = cursor.fetchone()
    stored = " ".join(str(v) for v in row)
    assert person.id_number not in stored
    assert person.id_number[6:14] + person.id_number[14:] not in stored
    assert "13912345678" not in stored


@pytest.mark.django_db
def test_rotation_reseals_old_rows_under_the_new_key(keys):
    with keys(OLD_ONLY):
        person = PersonFactory(phone="13912345678")
    with keys(NEW_FIRST):
        counts = rotate_all()
        assert counts["people.Person"] == 1
        with connection.cursor() as cursor:
            cursor.execute("SELECT id_number, phone FROM people_person WHERE id = %s", [person.pk])
            sealed_id, sealed_phone = cursor.fetchone()
        assert sealed_id.startswith("t3$") and sealed_phone.startswith("t3$")
        assert Person.objects.get(pk=person.pk).id_number == person.id_number
        assert rotate_all()["people.Person"] == 0


def test_after_the_index_key_changes_reindex_makes_people_findable_again(db):
    """`kangfu keys reindex`: under a new KANGFU_INDEX_KEY, search by ID number misses every row until
    the blind indexes are recomputed; then it finds them, and a second run changes nothing."""
    from kangfu.core.keys import reindex_all
    from kangfu.people.selectors import person_by_id_number
    from kangfu.people.tests.factories import PersonFactory

    person = PersonFactory(id_number="120103197011210016", phone="13900001111")
    new_key = "bmV3LWluZGV4LWtleS1mb3ItdGVzdHMtb25seS0wMTIzNDU2Nzg5"
    crypto._index_key.cache_clear()
    try:
        with override_settings(KANGFU_INDEX_KEY=new_key):
            crypto._index_key.cache_clear()
            assert person_by_id_number("120103197011210016") is None
            counts = reindex_all()
            assert counts["people.Person.id_number_hash"] == 1
            assert counts["people.Person.phone_hash"] == 1
            assert person_by_id_number("120103197011210016") == person
            assert set(reindex_all().values()) == {0}
    finally:
        crypto._index_key.cache_clear()
