"""The expert bank and the programme's trainings: experts drawn for a visit or a training only on a
day within their availability; attendance recorded whole into rehab's staff training record, so the
hours count toward the yearly 20 and the contract's "staff trained"; the phone shown to those who
arrange the experts' work only. Each refusal leaves nothing saved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kangfu.core.services import api_token_create
from kangfu.core.tests.querycount import at_two_sizes
from kangfu.core.transitions import Conflict
from kangfu.programme import selectors, selectors_experts
from kangfu.programme.models import TrainingAttendance, Visit
from kangfu.programme.services import experts as svc
from kangfu.programme.services import supervision
from kangfu.programme.tests import factories as pf
from kangfu.rehab import selectors_delivery
from kangfu.rehab.models import Training
from kangfu.rehab.services import institutions
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db

HELD = dt.date(2026, 11, 10)


@pytest.fixture
def staff(worker, institution):
    return [
        institutions.staff_save(
            actor=worker, organisation=institution, values={"name": n, "profession": "social_worker"}
        )
        for n in ("社工甲", "社工乙")
    ]


@pytest.fixture
def expert(city_admin):
    return pf.expert(city_admin, available=(dt.date(2026, 11, 1), dt.date(2026, 11, 30)))


def test_a_district_draws_from_its_bank_and_the_citys_never_another_districts(admin, city_admin, outsider):
    city = pf.expert(city_admin, name="市级专家")
    own = pf.expert(admin, region=f.XIQING, name="西青专家")
    theirs = pf.expert(outsider, region=f.BEICHEN, name="北辰专家")
    assert set(selectors_experts.experts_for(admin)) == {city, own}
    assert set(selectors_experts.experts_for(city_admin)) == {city, own, theirs}
    with pytest.raises(ValidationError) as exc:
        pf.training(admin, [theirs])
    assert exc.value.message_dict["experts"] == [svc.EXPERT_OUT_OF_REACH.format(name="北辰专家")]


def test_an_expert_outside_their_windows_is_refused_for_a_visit_and_nothing_saved(
    admin, city_admin, institution, expert
):
    version = pf.checklist(city_admin).versions.get()
    data = supervision.VisitData(
        institution=institution,
        year=2026,
        quarter=4,
        visited_on=dt.date(2026, 10, 20),
        version=version,
        team="督导组",
        scores={i.pk: Decimal("5") for i in version.items.all()},
        experts=[expert],
    )
    with pytest.raises(ValidationError) as exc:
        supervision.visit_record(actor=admin, data=data)
    assert exc.value.message_dict["experts"] == [svc.UNAVAILABLE.format(name="李明", day="2026-10-20")]
    assert not Visit.objects.exists()

    data.visited_on = dt.date(2026, 11, 16)
    visit = supervision.visit_record(actor=admin, data=data)
    assert list(visit.experts.all()) == [expert]


def test_attendance_counts_toward_the_yearly_hours_and_the_contracts_staff_trained(
    admin, worker, institution, contract, staff, expert
):
    institutions.training_add(actor=worker, staff=staff[0], held_on=HELD, hours=Decimal(14), topic="自学")
    training = pf.training(admin, [expert], held_on=HELD, hours="6")

    rows = svc.attendance_record(actor=admin, training=training, staff_ids=[s.pk for s in staff])

    assert len(rows) == 2
    records = Training.objects.filter(pk__in=[r.record_id for r in rows])
    assert sorted((t.staff_id, t.hours, t.held_on) for t in records) == sorted(
        (s.pk, Decimal("6.0"), HELD) for s in staff
    )
    # 社工甲 reached 20 hours (14 + 6), 社工乙 has 6.
    assert selectors_delivery.training_compliance(institution_ids=[institution.pk], year=2026) == {
        institution.pk: (2, 1)
    }
    assert selectors.delivery_totals([contract])[contract.pk]["staff_trained"] == 2


def test_attendance_twice_or_of_another_districts_staff_is_refused_whole(
    admin, outsider, worker, staff, expert, beichen_institution
):
    training = pf.training(admin, [expert], held_on=HELD)
    svc.attendance_record(actor=admin, training=training, staff_ids=[staff[0].pk])
    with pytest.raises(Conflict) as exc:
        svc.attendance_record(actor=admin, training=training, staff_ids=[staff[1].pk, staff[0].pk])
    assert exc.value.messages == [svc.ALREADY_ATTENDED.format(name="社工甲")]
    beichen_worker = f.worker(beichen_institution, username="beichen.rehab", jurisdiction=f.BEICHEN)
    theirs = institutions.staff_save(
        actor=beichen_worker,
        organisation=beichen_institution,
        values={"name": "北辰社工", "profession": "nurse"},
    )
    with pytest.raises(ValidationError) as exc:
        svc.attendance_record(actor=admin, training=training, staff_ids=[staff[1].pk, theirs.pk])
    assert exc.value.message_dict["staff"] == [svc.NOT_STAFF]
    with pytest.raises(PermissionDenied):
        svc.attendance_record(actor=outsider, training=training, staff_ids=[theirs.pk])
    assert TrainingAttendance.objects.count() == 1
    assert Training.objects.count() == 1


def test_a_training_not_yet_held_takes_no_attendance(admin, staff, city_admin):
    later = pf.expert(city_admin, name="王芳", available=(dt.date(2026, 12, 1), dt.date(2026, 12, 31)))
    training = pf.training(admin, [later], held_on=dt.date(2026, 12, 5))
    with pytest.raises(ValidationError) as exc:
        svc.attendance_record(actor=admin, training=training, staff_ids=[staff[0].pk])
    assert exc.value.messages == [svc.NOT_HELD_YET.format(day="2026-12-05")]


def test_the_institution_sees_its_training_with_the_trainers_phone_masked(
    client, admin, worker, staff, expert
):
    training = pf.training(admin, [expert], held_on=HELD)
    client.force_login(admin)
    client.post(f"/programme/trainings/{training.pk}/attendance/", {"staff": [staff[0].pk]})
    assert TrainingAttendance.objects.count() == 1
    assert "13812345678" in client.get(f"/programme/trainings/{training.pk}/").content.decode()
    client.force_login(worker)
    page = client.get(f"/programme/trainings/{training.pk}/").content.decode()
    assert "社工甲" in page and "13812345678" not in page and "138****5678" in page
    assert "危机干预" in client.get("/programme/trainings/").content.decode()


def test_an_unavailable_trainer_comes_back_on_the_form(client, admin, expert):
    client.force_login(admin)
    response = client.post(
        "/programme/trainings/new/",
        {"held_on": "2026-10-10", "hours": "4", "topic": "家属支持", "trainers": [expert.pk]},
    )
    assert response.status_code == 400
    assert svc.UNAVAILABLE.format(name="李明", day="2026-10-10") in response.content.decode()


def test_trainings_and_attendance_in_the_api(client, admin, worker, staff, expert):
    def call(user, method, path, **payload):
        token = api_token_create(actor=None, user=user, name="测试")
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        if method == "post":
            kwargs |= {"data": payload, "content_type": "application/json"}
        return getattr(client, method)(f"/api/v1/programme{path}", **kwargs)

    assert call(admin, "get", "/experts").json()["items"][0]["phone"] == "13812345678"
    created = call(
        admin,
        "post",
        "/trainings",
        held_on="2026-11-10",
        hours="6",
        topic="危机干预",
        trainer_ids=[expert.pk],
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    attended = call(admin, "post", f"/trainings/{pk}/attendance", staff_ids=[s.pk for s in staff])
    assert attended.status_code == 200 and attended.json()["attended"] == 2
    assert call(admin, "post", f"/trainings/{pk}/attendance", staff_ids=[staff[0].pk]).status_code == 409
    assert [t["id"] for t in call(worker, "get", "/trainings").json()["items"]] == [pk]
    assert call(worker, "get", "/experts").status_code == 403


def test_the_expert_and_training_lists_cost_the_same_whatever_their_length(client, admin, city_admin):
    client.force_login(admin)
    names = iter(f"专家{n}" for n in range(100))

    def experts(n: int) -> None:
        for _ in range(n):
            pf.expert(city_admin, name=next(names))

    few, many = at_two_sizes(client, "/programme/experts/", experts)
    assert few == many
    trainer = pf.expert(city_admin, name="授课专家")

    def trainings(n: int) -> None:
        for _ in range(n):
            pf.training(admin, [trainer], topic=next(names))

    few, many = at_two_sizes(client, "/programme/trainings/", trainings)
    assert few == many
