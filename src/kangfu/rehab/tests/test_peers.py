"""Peer supporters (同伴支持员): a kind of staff with a yearly training requirement of their own, shown
apart on the staff pages, optionally linked to their own case (named only to those who see that
case), and named as the leader of the group meetings they lead."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from kangfu.core.models import AuditAction, AuditEntry
from kangfu.rehab import selectors_delivery
from kangfu.rehab.models import PEER_TRAINING_HOURS_REQUIRED, StaffMember, Training
from kangfu.rehab.selectors import TRAINING_HOURS_REQUIRED, hours_required
from kangfu.rehab.services import groups, staff_training
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def recovered(admin, rehab_worker, institution):
    return f.enrolled_case(
        admin=admin,
        rehab_worker=rehab_worker,
        institution_org=institution,
        person=f.patient(name="李平"),
        on=dt.date(2026, 3, 2),
    )


def staff(org, name: str, profession: str, hours: str | None = None) -> StaffMember:
    member = StaffMember.objects.create(organisation=org, name=name, profession=profession)
    if hours:
        Training.objects.create(staff=member, held_on=dt.date(2026, 6, 1), hours=Decimal(hours), topic="培训")
    return member


class TestRequirement:
    def test_a_peer_supporter_has_a_requirement_of_their_own(self):
        assert hours_required("peer") == PEER_TRAINING_HOURS_REQUIRED
        assert hours_required("nurse") == TRAINING_HOURS_REQUIRED
        assert PEER_TRAINING_HOURS_REQUIRED != TRAINING_HOURS_REQUIRED

    def test_the_staff_page_shows_peers_apart_against_their_own_hours(
        self, client, rehab_worker, institution
    ):
        staff(institution, "王护士", "nurse", hours="15")
        staff(institution, "李平", "peer", hours="12")
        client.force_login(rehab_worker)
        response = client.get(reverse("rehab:institution", args=[institution.pk]))
        assert [row[0].name for row in response.context["rows"]] == ["王护士"]
        assert [(row[0].name, row[1]) for row in response.context["peers"]] == [("李平", Decimal("12.0"))]
        page = response.content.decode()
        assert f"同伴支持员（2026 年培训学时，要求 {PEER_TRAINING_HOURS_REQUIRED} 学时）" in page

    def test_the_list_counts_a_peer_short_only_of_their_own_requirement(self, client, admin, institution):
        staff(institution, "王护士", "nurse", hours="15")
        staff(institution, "李平", "peer", hours=str(PEER_TRAINING_HOURS_REQUIRED))
        staff(institution, "赵强", "peer", hours="2")
        client.force_login(admin)
        rows = dict(client.get(reverse("rehab:institutions")).context["rows"])
        assert rows[institution] == {"staff": 3, "short": 2}

    def test_the_programme_assessment_holds_a_peer_to_their_own_hours(self, institution):
        staff(institution, "王护士", "nurse", hours="15")
        staff(institution, "李平", "peer", hours=str(PEER_TRAINING_HOURS_REQUIRED))
        staff(institution, "赵强", "peer", hours="2")
        staff(institution, "刘医生", "psychiatrist", hours=str(TRAINING_HOURS_REQUIRED))
        # Four in post, two trained what their profession requires: 李平 12 hours, 刘医生 20.
        assert selectors_delivery.training_compliance(institution_ids=[institution.pk], year=2026) == {
            institution.pk: (4, 2)
        }


class TestOwnCase:
    def test_the_institution_links_a_peer_to_their_own_case_and_it_is_audited(
        self, rehab_worker, institution, recovered
    ):
        peer = staff(institution, "李平", "peer")
        staff_training.peer_case_link(actor=rehab_worker, staff=peer, case=recovered)
        assert StaffMember.objects.get(pk=peer.pk).own_case == recovered
        entry = AuditEntry.objects.get(action=AuditAction.UPDATE, summary__contains="关联本人康复档案")
        assert entry.person_id == recovered.person_id
        staff_training.peer_case_link(actor=rehab_worker, staff=peer, case=None)
        assert StaffMember.objects.get(pk=peer.pk).own_case is None

    def test_only_a_peer_supporter_has_an_own_case(self, rehab_worker, institution, recovered):
        nurse = staff(institution, "王护士", "nurse")
        with pytest.raises(ValidationError) as exc:
            staff_training.peer_case_link(actor=rehab_worker, staff=nurse, case=recovered)
        assert exc.value.message_dict == {"own_case": [staff_training.NOT_A_PEER]}

    def test_another_institution_can_neither_link_its_peer_to_our_case_nor_touch_our_peer(
        self, rehab_worker, other_worker, institution, other_institution, recovered
    ):
        theirs = staff(other_institution, "陈静", "peer")
        with pytest.raises(ValidationError) as exc:
            staff_training.peer_case_link(actor=other_worker, staff=theirs, case=recovered)
        assert exc.value.message_dict == {"own_case": [staff_training.CASE_NOT_HERE]}
        ours = staff(institution, "李平", "peer")
        with pytest.raises(PermissionDenied):
            staff_training.peer_case_link(actor=other_worker, staff=ours, case=None)

    def test_the_case_is_named_to_its_institution_only(
        self, client, rehab_worker, admin, institution, recovered
    ):
        peer = staff(institution, "李平", "peer")
        client.force_login(rehab_worker)
        response = client.post(reverse("rehab:peer_own_case", args=[peer.pk]), {"case": str(recovered.pk)})
        assert response.status_code == 302
        page = client.get(reverse("rehab:institution", args=[institution.pk])).content.decode()
        assert reverse("rehab:case", args=[recovered.pk]) in page
        client.force_login(admin)
        page = client.get(reverse("rehab:institution", args=[institution.pk])).content.decode()
        assert "李平" in page  # the peer supporter, as staff
        assert reverse("rehab:case", args=[recovered.pk]) not in page and f"档案 {recovered.pk}" not in page

    def test_a_case_number_not_served_here_is_refused_on_the_page(self, client, rehab_worker, institution):
        peer = staff(institution, "李平", "peer")
        client.force_login(rehab_worker)
        response = client.post(
            reverse("rehab:peer_own_case", args=[peer.pk]), {"case": "999999"}, follow=True
        )
        assert staff_training.CASE_NOT_HERE in response.content.decode()
        assert StaffMember.objects.get(pk=peer.pk).own_case is None


class TestLeading:
    def test_a_meeting_led_by_a_peer_supporter_says_so_on_its_page(
        self, client, rehab_worker, institution, recovered
    ):
        peer = staff(institution, "李平", "peer")
        group = groups.group_create(
            actor=rehab_worker,
            data=groups.GroupData(
                title="同伴支持小组",
                form="peer_support",
                service_type="peer",
                weekdays=[0],
                starts_at=dt.time(14, 30),
                start_on=TODAY,
                leader=peer,
                members=[recovered.pk],
            ),
        )
        meeting = group.meetings.get(meets_on=TODAY)
        client.force_login(rehab_worker)
        page = client.get(reverse("rehab:group_meeting", args=[meeting.pk])).content.decode()
        assert "李平（同伴支持员）" in page
