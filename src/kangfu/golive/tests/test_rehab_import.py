"""Importing the 精康 cases an institution serves: cases, their latest follow-up, the register."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from kangfu.core.models import AuditEntry
from kangfu.golive.kinds import CHANGED, NEW, UNCHANGED
from kangfu.golive.kinds.rehab import IMPORTED_NOTE, NOT_YOUR_INSTITUTION, SERVED_ELSEWHERE
from kangfu.golive.models import JobStatus
from kangfu.golive.tests.helpers import check, csv_bytes, lines_with_errors, run
from kangfu.rehab.models import (
    ApplicationSource,
    Assessment,
    Case,
    CaseEvent,
    CaseStatus,
    FollowUp,
    MonthlyCount,
    RegisteredPerson,
    Stability,
)
from kangfu.rehab.tests.factories import (
    XIQING,
    district_admin,
    enrolled_case,
    institution,
    patient,
    site,
    worker,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)
HEADER = [
    "公民身份号码",
    "姓名",
    "康复机构",
    "服务状态",
    "入组日期",
    "责任社工",
    "随访日期",
    "危险性等级",
    "自知力",
    "病情稳定性",
    "下次随访日期",
    "SDSS总分",
    "是否在册",
]


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def centre():
    return institution()


@pytest.fixture
def rehab_worker(centre):
    return worker(centre, username="zhang.worker")


def _row(person, centre, **over) -> list[object]:
    row = {
        "id": person.id_number,
        "name": person.name,
        "institution": centre.name,
        "status": "服务中",
        "enrolled": "2025-03-01",
        "worker": "",
        "follow_up": "2026-10-15",
        "risk": "0",
        "insight": "完全",
        "stability": "稳定",
        "next": "",
        "sdss": "",
        "roster": "",
    }
    row.update(over)
    return list(row.values())


def test_a_cases_file_opens_each_served_case_with_its_latest_follow_up(centre, rehab_worker):
    first, second = patient(name="王一"), patient(name="王二")
    job = run(
        "rehab_cases",
        csv_bytes(
            [
                HEADER,
                _row(first, centre, worker="zhang.worker"),
                _row(second, centre, status="已入组", follow_up="", risk="", insight="", stability=""),
            ]
        ),
        actor=rehab_worker,
    )
    assert job.status == JobStatus.DONE, job.message
    assert job.counts == {NEW: 2, CHANGED: 0, UNCHANGED: 0}
    case = Case.objects.get(person=first)
    assert (case.institution, case.status, case.enrolled_on) == (
        centre,
        CaseStatus.ACTIVE,
        dt.date(2025, 3, 1),
    )
    assert case.worker == rehab_worker
    assert case.district_id == XIQING
    follow_up = FollowUp.objects.get(case=case)
    assert (follow_up.done_on, follow_up.risk_level, follow_up.stability) == (
        dt.date(2026, 10, 15),
        0,
        Stability.STABLE,
    )
    # Stable: the next follow-up within three months, by the rule of the follow-up service.
    assert follow_up.next_on == case.next_follow_up_on == dt.date(2027, 1, 14)
    assert follow_up.note.startswith(IMPORTED_NOTE)
    waiting = Case.objects.get(person=second)
    assert waiting.status == CaseStatus.ENROLLED
    assert waiting.next_follow_up_on == dt.date(2025, 3, 15)  # overdue: no follow-up was on file
    assert AuditEntry.objects.filter(object_type="rehab.case", person_id=first.pk).exists()
    assert MonthlyCount.objects.filter(institution=centre, measure="enrolled", n=2).exists()


def test_the_same_cases_file_twice_changes_nothing(centre, rehab_worker):
    people = [patient(), patient()]
    content = csv_bytes([HEADER, *(_row(p, centre, roster="卫健") for p in people)])
    run("rehab_cases", content, actor=rehab_worker)
    before = AuditEntry.objects.filter(person_id__isnull=False).count()
    job = run("rehab_cases", content, actor=rehab_worker)
    assert job.counts == {NEW: 0, CHANGED: 0, UNCHANGED: 2}
    assert Case.objects.count() == 2
    assert FollowUp.objects.count() == 2
    assert CaseEvent.objects.count() == 4  # enrolled, and the status found at the first import
    assert AuditEntry.objects.filter(person_id__isnull=False).count() == before


def test_a_changed_status_updates_the_case_with_an_event_and_an_audit_row(centre, rehab_worker):
    person = patient()
    run("rehab_cases", csv_bytes([HEADER, _row(person, centre)]), actor=rehab_worker)
    job = run("rehab_cases", csv_bytes([HEADER, _row(person, centre, status="暂停")]), actor=rehab_worker)
    assert job.counts == {NEW: 0, CHANGED: 1, UNCHANGED: 0}
    case = Case.objects.get(person=person)
    assert (case.status, case.suspended_on, case.version) == (CaseStatus.SUSPENDED, TODAY, 2)
    assert CaseEvent.objects.filter(case=case, status=CaseStatus.SUSPENDED, on=TODAY).exists()
    entry = AuditEntry.objects.get(person_id=person.pk, summary="导入更新精康档案")
    assert entry.changes["status"] == ["active", "suspended"]


def test_a_newer_follow_up_in_the_file_is_added_and_sets_the_case_by_the_rule(centre, rehab_worker):
    person = patient()
    run("rehab_cases", csv_bytes([HEADER, _row(person, centre)]), actor=rehab_worker)
    job = run(
        "rehab_cases",
        csv_bytes([HEADER, _row(person, centre, follow_up="2026-11-10", risk="3", insight="不全")]),
        actor=rehab_worker,
    )
    assert job.counts[CHANGED] == 1
    case = Case.objects.get(person=person)
    # Risk 3 is unstable whatever the worker wrote: follow up within two weeks.
    assert (case.stability, case.risk_level) == (Stability.UNSTABLE, 3)
    assert case.next_follow_up_on == dt.date(2026, 11, 24)
    assert FollowUp.objects.filter(case=case).count() == 2


def test_a_person_served_elsewhere_is_refused_naming_the_rule_not_the_institution(centre, rehab_worker):
    other = institution(name="西青区阳光康复驿站")
    person = patient()
    enrolled_case(
        admin=district_admin(),
        rehab_worker=worker(other, username="other.worker"),
        institution_org=other,
        person=person,
    )
    job = check("rehab_cases", csv_bytes([HEADER, _row(person, centre)]), actor=rehab_worker)
    message = lines_with_errors(job)[2]
    assert message == SERVED_ELSEWHERE
    assert "一人一档" in message and other.name not in message
    assert not Case.objects.filter(institution=centre).exists()


def test_an_unknown_or_another_institution_is_reported_by_line(centre, rehab_worker):
    institution(name="西青区另一康复中心")
    people = [patient(), patient(), patient()]
    job = check(
        "rehab_cases",
        csv_bytes(
            [
                HEADER,
                _row(people[0], centre),
                _row(people[1], centre, institution="不存在的康复中心"),
                _row(people[2], centre, institution="西青区另一康复中心"),
            ]
        ),
        actor=rehab_worker,
    )
    errors = lines_with_errors(job)
    assert set(errors) == {3, 4}
    assert "不存在的康复中心" in errors[3]
    assert errors[4] == NOT_YOUR_INSTITUTION.format(value="西青区另一康复中心")


def test_a_service_site_named_in_the_file_serves_under_its_institution(centre, rehab_worker):
    station = site(centre)
    person = patient()
    run(
        "rehab_cases", csv_bytes([HEADER, _row(person, centre, institution=station.name)]), actor=rehab_worker
    )
    case = Case.objects.get(person=person)
    assert (case.institution, case.site) == (centre, station)


def test_an_sdss_total_is_kept_in_the_follow_up_note_and_never_as_an_assessment(centre, rehab_worker):
    person = patient()
    run("rehab_cases", csv_bytes([HEADER, _row(person, centre, sdss="6")]), actor=rehab_worker)
    assert "SDSS 总分 6" in FollowUp.objects.get(case__person=person).note
    assert not Assessment.objects.exists()


def test_follow_up_values_without_a_follow_up_date_are_flagged_as_not_kept(centre, rehab_worker):
    person = patient()
    job = run(
        "rehab_cases",
        csv_bytes([HEADER, _row(person, centre, follow_up="", risk="2", insight="", stability="")]),
        actor=rehab_worker,
    )
    assert job.counts[NEW] == 1
    assert "危险性等级" in job.flags[0]["message"]
    assert not FollowUp.objects.exists()


def test_a_listed_person_joins_the_register_and_an_existing_listing_is_left_alone(centre, rehab_worker):
    listed, new = patient(), patient()
    RegisteredPerson.objects.create(
        person=listed,
        district_id=XIQING,
        source=ApplicationSource.FEDERATION_LIST,
        listed_on=dt.date(2024, 1, 1),
    )
    run(
        "rehab_cases",
        csv_bytes([HEADER, _row(listed, centre, roster="卫健"), _row(new, centre, roster="卫健")]),
        actor=rehab_worker,
    )
    assert RegisteredPerson.objects.get(person=listed).source == ApplicationSource.FEDERATION_LIST
    registered = RegisteredPerson.objects.get(person=new)
    assert (registered.source, registered.district_id) == (ApplicationSource.HEALTH_LIST, XIQING)
    assert Case.objects.get(person=new).roster_district_id == XIQING


def test_an_unknown_worker_is_reported_by_line(centre, rehab_worker):
    person = patient()
    job = check("rehab_cases", csv_bytes([HEADER, _row(person, centre, worker="李不在")]), actor=rehab_worker)
    assert "李不在" in lines_with_errors(job)[2]


def test_a_civil_affairs_admin_cannot_import_clinical_cases(centre):
    with pytest.raises(PermissionDenied):
        check("rehab_cases", csv_bytes([HEADER, _row(patient(), centre)]), actor=district_admin())


def test_checking_costs_the_same_queries_for_three_lines_or_thirty(centre, rehab_worker):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(n: int) -> int:
        rows = [HEADER, *(_row(patient(), centre, worker="zhang.worker") for _ in range(n))]
        with CaptureQueriesContext(connection) as captured:
            check("rehab_cases", csv_bytes(rows), actor=rehab_worker)
        return len(captured)

    queries(1)  # the first job reads what any first job reads
    assert queries(3) == queries(30)
