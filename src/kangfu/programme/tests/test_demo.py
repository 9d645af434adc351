"""The 精康 demo's year, loaded once for these tests (it takes most of a minute).

西青's rehab worker has 回访 to make, 满意度 to read and plans to approve: closures of the past year
were revisited near their due dates, the rounds of the last weeks wait on the worklist, paper survey
forms were entered a few months into the service, and the site workers' plans of the last fortnight
wait for a second person. 北辰 has a weekly 同伴支持小组 led by its peer supporter, with meetings held
(each an activity with attendance) and the next ones planned.

The programme has acceptance and training work to do: 西青's half-year contract has ended and its
acceptance, scored by xiqing.admin, waits for shi.admin, after which xiqing.rehab asks for the final
payment; the institution sees the acceptance on its contract's page and last week's training, and
xiqing.admin records who came to this week's."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from kangfu.core.models import User
from kangfu.core.tests.demo_world import LOADED, TODAY, loaded_for_module
from kangfu.programme import demo as programme_demo
from kangfu.programme.models import Acceptance, AcceptanceStatus, Milestone, ProgrammeTraining
from kangfu.rehab import demo as rehab_demo
from kangfu.rehab import selectors_approvals, selectors_revisits, selectors_satisfaction
from kangfu.rehab.models import (
    Case,
    CaseStatus,
    GroupMeeting,
    MeetingState,
    Profession,
    RecurringGroup,
    Revisit,
    SatisfactionSurvey,
)
from kangfu.rehab.services import approvals

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with loaded_for_module(django_db_blocker, rehab_demo, programme_demo, people=500):
        yield


def test_the_demo_city_confirms_an_acceptance_and_the_centre_asks_for_its_final_payment(world, client):
    acceptance = Acceptance.objects.get()
    assert acceptance.status == AcceptanceStatus.SCORED
    assert acceptance.scored_by.username == "xiqing.admin"
    contract = acceptance.contract
    users = {
        u.username: u for u in User.objects.filter(username__in=["shi.admin", "xiqing.rehab", "xiqing.admin"])
    }
    with time_machine.travel(LOADED, tick=True):
        client.force_login(users["xiqing.rehab"])
        page = client.get(f"/programme/contracts/{contract.pk}/").content.decode()
        assert "合同验收" in page and "待确认" in page
        client.force_login(users["shi.admin"])
        assert "确认验收结论" in client.get(f"/programme/contracts/{contract.pk}/").content.decode()
        client.post(f"/programme/acceptances/{acceptance.pk}/confirm/", {"note": "同意验收"})
        assert Acceptance.objects.get().status == AcceptanceStatus.CONFIRMED
        client.force_login(users["xiqing.rehab"])
        final = Milestone.objects.get(contract=contract, final=True)
        response = client.post(f"/programme/milestones/{final.pk}/request/", follow=True)
        assert "已提交付款申请" in response.content.decode()

        assert "精神障碍患者危机识别与干预" in client.get("/programme/trainings/").content.decode()
        client.force_login(users["xiqing.admin"])
        this_week = ProgrammeTraining.objects.get(attendance__isnull=True)
        page = client.get(f"/programme/trainings/{this_week.pk}/")
        staff = page.context["form"].fields["staff"].queryset[:2]
        response = client.post(
            f"/programme/trainings/{this_week.pk}/attendance/", {"staff": [s.pk for s in staff]}, follow=True
        )
        assert "已登记 2 人签到" in response.content.decode()


def test_the_demo_worker_has_revisits_due_satisfaction_and_plans_to_approve(world):
    assert Revisit.objects.exists()
    assert not Revisit.objects.filter(done_on__gt=TODAY).exists()
    assert not SatisfactionSurvey.objects.filter(filled_on__gt=TODAY).exists()
    worker = User.objects.get(username="xiqing.rehab")
    with time_machine.travel(LOADED, tick=False):
        due = selectors_revisits.revisits_due(worker, until=TODAY + dt.timedelta(days=14))
        summary = selectors_satisfaction.year_summary(worker, TODAY.year)
    assert due, "西青's worker has no 回访 due in the demo"
    assert summary["n"] >= 5 and summary["families"] > 0
    # 审核: the site workers' recent plans wait for 西青's rehab worker, the older ones approved.
    pending = list(selectors_approvals.pending_for(worker))
    assert pending and all(a.proposed_by_id != worker.pk for a in pending)
    assert selectors_approvals.approvals_for(worker).filter(state="approved", decided_by=worker).exists()


def test_a_discharge_xiqing_rehab_proposes_is_approved_by_the_second_demo_worker(world):
    # The walk-through the second account exists for: proposed by one worker, approved by a colleague.
    worker, colleague = (User.objects.get(username=u) for u in ("xiqing.rehab", "xiqing.rehab2"))
    assert colleague.organisation_id == worker.organisation_id
    case = Case.objects.filter(institution_id=worker.organisation_id, status=CaseStatus.ACTIVE).first()
    with time_machine.travel(LOADED, tick=False):
        proposal = approvals.discharge_propose(actor=worker, case=case, on=TODAY, reason="recovered")
        with pytest.raises(PermissionDenied):
            approvals.approval_approve(actor=worker, approval=proposal)
        approvals.approval_approve(actor=colleague, approval=proposal)
    case.refresh_from_db()
    assert case.status == CaseStatus.DISCHARGED


def test_the_demo_has_a_weekly_peer_group_with_meetings_held_and_planned(world):
    group = RecurringGroup.objects.select_related("leader").get(title="北辰同伴支持小组")
    assert group.leader.profession == Profession.PEER
    held = GroupMeeting.objects.filter(group=group, state=MeetingState.HELD)
    assert held.count() >= 4 and all(m.activity.patients > 0 for m in held)
    assert GroupMeeting.objects.filter(group=group, state=MeetingState.PLANNED, meets_on__gt=TODAY).exists()
    assert group.members.count() == 10
