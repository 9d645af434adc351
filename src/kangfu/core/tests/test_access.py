import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from kangfu.conftest import DAYINGMEN, HEXI, TIANJIN
from kangfu.core import access
from kangfu.core.models import Role
from kangfu.core.tests.factories import UserFactory
from kangfu.people.models import Person
from kangfu.people.tests.factories import FUJIANLU, HUAMING_COMMUNITY, JIUJIANGLU, RONGHUALI, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def spread():
    """One person in each of four communities across two streets and two districts."""
    return {
        code: PersonFactory(community_code=code).pk
        for code in (JIUJIANGLU, RONGHUALI, FUJIANLU, HUAMING_COMMUNITY)
    }


def visible(user, spread):
    ids = set(access.scope_people(Person.objects.all(), user).values_list("pk", flat=True))
    return {code for code, pk in spread.items() if pk in ids}


@pytest.mark.parametrize(
    ("role", "jurisdiction", "expected"),
    [
        (Role.CITY_ADMIN, TIANJIN, {JIUJIANGLU, RONGHUALI, FUJIANLU, HUAMING_COMMUNITY}),
        (Role.DISTRICT_ADMIN, HEXI, {JIUJIANGLU, RONGHUALI, FUJIANLU}),
        (Role.STREET_OFFICER, DAYINGMEN, {JIUJIANGLU, RONGHUALI}),
        (Role.COMMUNITY_WORKER, JIUJIANGLU, {JIUJIANGLU}),
        (Role.AUDITOR, TIANJIN, set()),
        ("", TIANJIN, set()),
    ],
)
def test_each_level_sees_exactly_its_subtree(spread, role, jurisdiction, expected):
    user = UserFactory(role=role, jurisdiction_id=jurisdiction)
    assert visible(user, spread) == expected


def test_a_province_level_jurisdiction_sees_the_whole_province(spread):
    user = UserFactory(role=Role.CITY_ADMIN, jurisdiction_id="120000000000")
    assert len(visible(user, spread)) == 4


def test_a_deactivated_account_sees_nobody(spread):
    user = UserFactory(role=Role.CITY_ADMIN, jurisdiction_id=TIANJIN, is_active=False)
    assert visible(user, spread) == set()


def test_an_account_without_jurisdiction_sees_nobody(spread):
    user = UserFactory(role=Role.CITY_ADMIN, jurisdiction_id=None)
    assert visible(user, spread) == set()


def test_out_of_scope_lookups_are_indistinguishable_from_missing_ones(spread, outsider):
    with pytest.raises(Http404):
        access.get_in_scope(Person.objects.all(), outsider, pk=spread[JIUJIANGLU])
    with pytest.raises(Http404):
        access.get_in_scope(Person.objects.all(), outsider, pk=999999999)


def test_related_rows_are_scoped_through_their_person(outsider, owner):
    from kangfu.people.models import DisabilityCertificate
    from kangfu.people.tests.factories import CertificateFactory

    CertificateFactory(person=PersonFactory(community_code=JIUJIANGLU))
    assert access.scope_people(DisabilityCertificate.objects.all(), owner, prefix="person__").count() == 1
    assert access.scope_people(DisabilityCertificate.objects.all(), outsider, prefix="person__").count() == 0


def test_the_submitter_cannot_approve_their_own_item(owner, district_admin):
    with pytest.raises(PermissionDenied) as caught:
        access.ensure_separate_actors(submitted_by_id=owner.pk, actor=owner)
    assert str(caught.value) == access.SAME_ACTOR
    access.ensure_separate_actors(submitted_by_id=owner.pk, actor=district_admin)


def test_region_checks_follow_the_code_tree(owner):
    assert access.region_in_jurisdiction(owner, JIUJIANGLU)
    assert not access.region_in_jurisdiction(owner, FUJIANLU)
    assert set(access.regions_in_jurisdiction(owner).values_list("level", flat=True)) == {4, 5}


@pytest.mark.parametrize(
    ("role", "civil_affairs"),
    [
        (Role.CITY_ADMIN, True),
        (Role.DISTRICT_ADMIN, True),
        (Role.STREET_OFFICER, True),
        (Role.COMMUNITY_WORKER, True),
        (Role.DPF_REVIEWER, True),
        (Role.DEVICE_CLERK, False),
        (Role.REHAB_WORKER, False),
        (Role.PSYCHIATRIST, False),
        (Role.AUDITOR, False),
    ],
)
def test_a_menu_shows_what_the_role_does(client, role, civil_affairs):
    """两项补贴, 数据比对 and the registry's statistics are civil affairs' business: a rental clerk or a
    clinician reads the registry for its own clients, and neither sees nor opens those pages."""
    user = UserFactory(role=role, jurisdiction_id=HEXI)
    client.force_login(user)
    menu = client.get("/").content.decode()
    assert ("两项补贴" in menu, "数据比对" in menu) == (civil_affairs, civil_affairs)
    for url in ("/subsidies/", "/matching/", "/reports/"):
        assert (client.get(url).status_code == 200) == civil_affairs, url
