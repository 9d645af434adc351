"""The demo gives the 精康 programme's acceptance and training work to do: 西青's half-year contract has
ended and its acceptance, scored by xiqing.admin, waits for shi.admin, after which xiqing.rehab asks
for the final payment; the institution sees the acceptance on its contract's page and last week's
training, and xiqing.admin records who came to this week's."""

import pytest
import time_machine

from kangfu.core.models import User
from kangfu.core.tests.demo_world import LOADED, load_demo
from kangfu.programme import demo as programme_demo
from kangfu.programme.models import Acceptance, AcceptanceStatus, Milestone, ProgrammeTraining
from kangfu.rehab import demo as rehab_demo

pytestmark = pytest.mark.django_db


def test_the_demo_city_confirms_an_acceptance_and_the_centre_asks_for_its_final_payment(monkeypatch, client):
    load_demo(monkeypatch, rehab_demo, programme_demo, people=500)
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
