import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum

from kangfu.core import access
from kangfu.core.models import AuditAction, AuditEntry, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.subsidies.models import (
    AppealStatus,
    BankStatus,
    ChangeAction,
    Grant,
    GrantStatus,
    Kind,
    Payroll,
    PayrollLine,
    PayrollStatus,
    Policy,
    Recovery,
    RecoveryStatus,
)
from kangfu.subsidies.seed import TIANJIN
from kangfu.subsidies.services import appeals, grants, payroll
from kangfu.subsidies.tests.factories import approve

pytestmark = pytest.mark.django_db

M = dt.date
NANKAI = "120104000000"


def travel(day: dt.date):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=dt.UTC), tick=False)


@pytest.fixture(autouse=True)
def frozen():
    with travel(M(2026, 11, 20)):
        yield


def run_and_lock(district, month, runner, locker):
    with travel(month.replace(day=25)):
        return payroll.payroll_lock(
            actor=locker, payroll=payroll.payroll_run(actor=runner, district=district, month=month)
        )


def lines_of(run, grant):
    return {
        (line.month_for, line.line_type): line.amount
        for line in PayrollLine.objects.filter(payroll=run, grant=grant)
    }


@pytest.fixture
def grant(standards, hexi, applicant, shequ, jiedao, quju, quju2):
    """周申请's 生活补贴 (300 元), paid for June and July, stopped from August on 28 July (退出低保, as a
    comparison wrongly found), and nothing paid for August to October since."""
    with travel(M(2026, 7, 10)):
        approve(applicant, shequ, jiedao, quju, applied_on=M(2026, 6, 10), care=False)
    run_and_lock(hexi, M(2026, 7, 1), quju, quju2)
    grant = Grant.objects.get(person=applicant, kind=Kind.LIVING)
    with travel(M(2026, 7, 28)):
        grants.grant_stop(
            actor=quju,
            grant=grant,
            from_month=M(2026, 8, 1),
            stop_reason="income",
            reason="数据比对：退出低保",
        )
    for month in (8, 9, 10):
        run_and_lock(hexi, M(2026, month, 1), quju, quju2)
    grant.refresh_from_db()
    return grant


LODGED_ON = M(2026, 11, 2)  # a Monday


def lodge(grant, actor, *, on=LODGED_ON, reason="本人低保资格未中断，系名单漏报"):
    return appeals.appeal_lodge(
        actor=actor, grant=grant, change=appeals.appealable_change(grant), reason=reason, lodged_on=on
    )


# ------------------------------------------------------------------ lodging


def test_an_appeal_is_lodged_against_the_stop_by_the_clerk_who_records_it(grant, jiedao):
    appeal = lodge(grant, jiedao)
    assert (appeal.status, appeal.lodged_by, appeal.change.action) == (AppealStatus.LODGED, jiedao, "stop")
    assert appeal.change.effective_month == M(2026, 8, 1)
    entry = AuditEntry.objects.get(object_type="subsidies.appeal", action=AuditAction.CREATE)
    assert entry.person_id == grant.person_id


def test_the_answer_is_due_ten_working_days_later_national_day_skipped(grant, jiedao):
    # Monday 09-28: 29, 30, (10-01 to 10-07 off) 8, 9, Saturday 10 worked, 12, 13, 14, 15, 16.
    appeal = lodge(grant, jiedao, on=M(2026, 9, 28))
    assert appeal.due_on == M(2026, 10, 16)


def test_the_answer_is_due_ten_working_days_later_in_an_ordinary_fortnight(grant, jiedao):
    assert lodge(grant, jiedao, on=M(2026, 11, 2)).due_on == M(2026, 11, 16)


def test_a_grant_being_paid_cannot_be_appealed(standards, applicant, shequ, jiedao, quju):
    approve(applicant, shequ, jiedao, quju, care=False)
    active = Grant.objects.get(person=applicant)
    start = active.changes.get()
    assert appeals.appealable_change(active) is None
    with pytest.raises(ValidationError) as caught:
        appeals.appeal_lodge(actor=jiedao, grant=active, change=start, reason="理由")
    assert caught.value.messages == [appeals.NOT_STOPPED]


def test_only_the_stop_itself_can_be_challenged(grant, jiedao):
    start = grant.changes.get(action=ChangeAction.START)
    with pytest.raises(ValidationError) as caught:
        appeals.appeal_lodge(actor=jiedao, grant=grant, change=start, reason="理由")
    assert caught.value.messages == [appeals.NOT_THE_STOP]


def test_a_second_open_appeal_against_the_same_stop_is_refused(grant, jiedao, shequ):
    lodge(grant, jiedao)
    with pytest.raises(ValidationError) as caught:
        lodge(grant, shequ)
    assert caught.value.messages == [appeals.ALREADY_OPEN.format(due=M(2026, 11, 16))]


def test_after_a_rejection_the_stop_may_be_appealed_again(grant, jiedao, quju2):
    appeals.appeal_decide(
        actor=quju2, appeal=lodge(grant, jiedao), upheld=False, opinion="经核实确已退出低保"
    )
    assert lodge(grant, jiedao, on=M(2026, 11, 19)).status == AppealStatus.LODGED


def test_an_appeal_needs_a_reason_and_a_day_not_in_the_future(grant, jiedao):
    with pytest.raises(ValidationError) as caught:
        lodge(grant, jiedao, reason="  ")
    assert caught.value.message_dict == {"reason": [appeals.NO_REASON]}
    with pytest.raises(ValidationError) as caught:
        lodge(grant, jiedao, on=M(2026, 11, 21))
    assert caught.value.message_dict == {"lodged_on": [appeals.FUTURE_DAY]}
    with pytest.raises(ValidationError) as caught:
        lodge(grant, jiedao, on=M(2026, 7, 27))
    assert caught.value.message_dict == {"lodged_on": [appeals.BEFORE_STOP.format(day=M(2026, 7, 28))]}


def test_a_clerk_of_another_district_cannot_lodge(grant):
    outsider = UserFactory(username="nankai", role=Role.DISTRICT_ADMIN, jurisdiction_id=NANKAI)
    with pytest.raises(PermissionDenied):
        lodge(grant, outsider)


# ------------------------------------------------------------------ deciding


def test_upheld_the_next_payroll_back_pays_exactly_the_withheld_months(grant, hexi, jiedao, quju, quju2):
    # The cap on a new certificate's back-pay does not limit money wrongly withheld.
    Policy.objects.filter(region_id=TIANJIN).update(back_pay_months=1)
    appeal = appeals.appeal_decide(
        actor=quju2, appeal=lodge(grant, jiedao), upheld=True, opinion="低保资格未中断，停发有误"
    )
    grant.refresh_from_db()
    assert (appeal.status, grant.status, grant.end_month) == (AppealStatus.UPHELD, GrantStatus.ACTIVE, None)
    assert appeal.reinstated.action == ChangeAction.RESUME
    assert appeal.reinstated.effective_month == M(2026, 8, 1)
    november = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    assert lines_of(november, grant) == {
        (M(2026, 8, 1), "arrears"): Decimal("300.00"),
        (M(2026, 9, 1), "arrears"): Decimal("300.00"),
        (M(2026, 10, 1), "arrears"): Decimal("300.00"),
        (M(2026, 11, 1), "regular"): Decimal("300.00"),
    }


def test_rejected_nothing_changes_and_the_next_payroll_pays_nothing(grant, hexi, jiedao, quju, quju2):
    appeal = appeals.appeal_decide(
        actor=quju2, appeal=lodge(grant, jiedao), upheld=False, opinion="经核实确已退出低保"
    )
    grant.refresh_from_db()
    assert (appeal.status, appeal.reinstated, grant.status) == (
        AppealStatus.REJECTED,
        None,
        GrantStatus.STOPPED,
    )
    november = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    assert lines_of(november, grant) == {}


def test_a_second_decision_is_refused_and_pays_nothing_twice(grant, hexi, jiedao, quju, quju2):
    appeal = lodge(grant, jiedao)
    appeals.appeal_decide(actor=quju2, appeal=appeal, upheld=True, opinion="停发有误")
    with pytest.raises(ValidationError) as caught:
        appeals.appeal_decide(actor=quju, appeal=appeal, upheld=True, opinion="停发有误")
    assert caught.value.messages == [appeals.ALREADY_DECIDED]
    assert grant.changes.filter(action=ChangeAction.RESUME).count() == 1
    november = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    assert sum(lines_of(november, grant).values()) == Decimal("1200.00")


def test_a_decision_on_a_stale_copy_is_refused(grant, jiedao, quju, quju2):
    appeal = lodge(grant, jiedao)
    stale = type(appeal).objects.get(pk=appeal.pk)
    appeals.appeal_decide(actor=quju2, appeal=appeal, upheld=False, opinion="维持")
    with pytest.raises(ValidationError) as caught:
        appeals.appeal_decide(actor=quju, appeal=stale, upheld=True, opinion="恢复")
    assert caught.value.messages == [appeals.ALREADY_DECIDED]
    grant.refresh_from_db()
    assert grant.status == GrantStatus.STOPPED


def test_another_districts_officer_cannot_decide(grant, jiedao):
    outsider = UserFactory(username="nankai", role=Role.DISTRICT_ADMIN, jurisdiction_id=NANKAI)
    with pytest.raises(PermissionDenied) as caught:
        appeals.appeal_decide(actor=outsider, appeal=lodge(grant, jiedao), upheld=True, opinion="恢复")
    assert str(caught.value) == appeals.NOT_YOUR_DISTRICT


@pytest.mark.parametrize("who", ["jiedao", "city_admin"])
def test_only_the_paying_districts_step_decides(grant, jiedao, shequ, who, request):
    appeal = lodge(grant, shequ)
    with pytest.raises(PermissionDenied):
        appeals.appeal_decide(actor=request.getfixturevalue(who), appeal=appeal, upheld=True, opinion="恢复")


def test_the_clerk_who_lodged_it_cannot_decide_it(grant, quju):
    appeal = lodge(grant, quju)
    with pytest.raises(PermissionDenied) as caught:
        appeals.appeal_decide(actor=quju, appeal=appeal, upheld=True, opinion="恢复")
    assert str(caught.value) == access.SAME_ACTOR


def test_a_decision_needs_an_opinion(grant, jiedao, quju2):
    with pytest.raises(ValidationError) as caught:
        appeals.appeal_decide(actor=quju2, appeal=lodge(grant, jiedao), upheld=False, opinion=" ")
    assert caught.value.message_dict == {"opinion": [appeals.NEEDS_OPINION]}


def test_the_decision_is_audited_and_says_when_it_was_late(grant, jiedao, quju2):
    appeal = lodge(grant, jiedao, on=M(2026, 9, 28))
    appeals.appeal_decide(actor=quju2, appeal=appeal, upheld=False, opinion="维持")
    entry = AuditEntry.objects.get(object_type="subsidies.appeal", action=AuditAction.UPDATE)
    assert "逾期，期限 2026-10-16" in entry.summary
    assert entry.changes["status"] == ["lodged", "rejected"]


def test_an_upheld_stop_cannot_be_appealed_again(grant, jiedao, quju2):
    appeals.appeal_decide(actor=quju2, appeal=lodge(grant, jiedao), upheld=True, opinion="停发有误")
    grant.refresh_from_db()
    assert appeals.appealable_change(grant) is None


def test_a_suspension_upheld_pays_the_suspended_months(
    standards, hexi, applicant, shequ, jiedao, quju, quju2
):
    with travel(M(2026, 9, 5)):
        approve(applicant, shequ, jiedao, quju, applied_on=M(2026, 9, 1), care=False)
    run_and_lock(hexi, M(2026, 9, 1), quju, quju2)
    grant = Grant.objects.get(person=applicant)
    with travel(M(2026, 9, 28)):
        grants.grant_suspend(actor=jiedao, grant=grant, from_month=M(2026, 10, 1), reason="走访未见本人")
    run_and_lock(hexi, M(2026, 10, 1), quju, quju2)
    grant.refresh_from_db()
    appeal = lodge(grant, jiedao)
    assert appeal.change.action == ChangeAction.SUSPEND
    appeals.appeal_decide(actor=quju2, appeal=appeal, upheld=True, opinion="本人住院，已见面")
    november = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    assert lines_of(november, grant) == {
        (M(2026, 10, 1), "arrears"): Decimal("300.00"),
        (M(2026, 11, 1), "regular"): Decimal("300.00"),
    }


def test_upheld_is_refused_when_the_grant_changed_since_and_the_appeal_stays_open(
    standards, hexi, applicant, shequ, jiedao, quju, quju2
):
    approve(applicant, shequ, jiedao, quju, care=False)
    grant = Grant.objects.get(person=applicant)
    grants.grant_suspend(actor=jiedao, grant=grant, from_month=M(2026, 10, 1), reason="走访未见本人")
    grant.refresh_from_db()
    appeal = lodge(grant, jiedao, on=M(2026, 11, 20))
    grants.grant_resume(actor=quju, grant=grant, from_month=M(2026, 11, 1), reason="已见面")
    with pytest.raises(ValidationError) as caught:
        appeals.appeal_decide(actor=quju2, appeal=appeal, upheld=True, opinion="恢复")
    assert caught.value.messages[0].startswith("停发后该补贴又有变更")
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.LODGED


def test_a_back_dated_stop_upheld_repays_what_was_recovered_and_settles_the_debt(
    standards, hexi, applicant, shequ, jiedao, quju, quju2
):
    with travel(M(2026, 7, 10)):
        approve(applicant, shequ, jiedao, quju, applied_on=M(2026, 6, 10), care=False)
    run_and_lock(hexi, M(2026, 7, 1), quju, quju2)
    grant = Grant.objects.get(person=applicant)
    with travel(M(2026, 7, 28)):
        grants.grant_stop(actor=quju, grant=grant, from_month=M(2026, 6, 1), stop_reason="income")
    run_and_lock(hexi, M(2026, 8, 1), quju, quju2)  # recovers June and July: a debt of 600
    assert Recovery.objects.get(person=applicant).outstanding == Decimal("600.00")
    grant.refresh_from_db()
    appeals.appeal_decide(actor=quju2, appeal=lodge(grant, jiedao), upheld=True, opinion="停发有误")
    run_and_lock(hexi, M(2026, 11, 1), quju, quju2)
    paid = PayrollLine.objects.filter(
        grant=grant,
        payroll__status=PayrollStatus.LOCKED,
        bank_status__in=[BankStatus.PENDING, BankStatus.PAID],
    ).aggregate(total=Sum("amount"))["total"]
    assert paid == Decimal("1800.00")  # June to November, each once
    debt = Recovery.objects.get(person=applicant)
    assert (debt.outstanding, debt.status) == (Decimal("0.00"), RecoveryStatus.SETTLED)
    assert Payroll.objects.get(month=M(2026, 11, 1)).total == Decimal("1800.00")


# ------------------------------------------------------------------ pages


def page(response):
    return response.content.decode()


@pytest.fixture
def outsider(db):
    return UserFactory(username="nankai", role=Role.DISTRICT_ADMIN, jurisdiction_id=NANKAI)


def test_the_street_lodges_from_the_grant_page(login, grant, jiedao):
    client = login(jiedao)
    assert "登记申诉</button>" in page(client.get(f"/subsidies/grants/{grant.pk}/"))
    response = client.post(
        f"/subsidies/grants/{grant.pk}/appeal/",
        {"change": appeals.appealable_change(grant).pk, "lodged_on": "2026-11-02", "reason": "名单漏报"},
    )
    appeal = grant.appeals.get()
    assert response.status_code == 302
    assert response["Location"] == f"/subsidies/appeals/{appeal.pk}/"
    assert (appeal.lodged_by, appeal.due_on) == (jiedao, M(2026, 11, 16))
    assert "登记申诉</button>" not in page(client.get(f"/subsidies/grants/{grant.pk}/"))


def test_a_grant_being_paid_offers_no_appeal(login, standards, applicant, shequ, jiedao, quju):
    approve(applicant, shequ, jiedao, quju, care=False)
    grant = Grant.objects.get(person=applicant)
    assert "登记申诉</button>" not in page(login(jiedao).get(f"/subsidies/grants/{grant.pk}/"))


def test_a_lodging_the_service_refuses_shows_its_message(login, grant, jiedao):
    response = login(jiedao).post(
        f"/subsidies/grants/{grant.pk}/appeal/",
        {"change": appeals.appealable_change(grant).pk, "lodged_on": "2026-12-01", "reason": "名单漏报"},
    )
    assert response.status_code == 400
    assert appeals.FUTURE_DAY in page(response)
    assert not grant.appeals.exists()


def test_a_stale_page_cannot_lodge_against_another_change(login, grant, jiedao):
    start = grant.changes.get(action=ChangeAction.START)
    response = login(jiedao).post(
        f"/subsidies/grants/{grant.pk}/appeal/",
        {"change": start.pk, "lodged_on": "2026-11-02", "reason": "x"},
    )
    assert response.status_code == 400
    assert appeals.NOT_THE_STOP in page(response)


def test_the_list_flags_an_appeal_past_its_due_date(login, grant, jiedao, quju):
    lodge(grant, jiedao, on=M(2026, 9, 28))
    body = page(login(quju).get("/subsidies/appeals/"))
    assert "2026-10-16" in body
    assert "（逾期）" in body
    assert "有 1 件申诉已超过复核期限" in body


def test_the_district_decides_from_the_appeal_page(login, grant, jiedao, quju2):
    appeal = lodge(grant, jiedao)
    client = login(quju2)
    assert "提交复核结论" in page(client.get(f"/subsidies/appeals/{appeal.pk}/"))
    response = client.post(
        f"/subsidies/appeals/{appeal.pk}/decide/", {"outcome": "upheld", "opinion": "低保资格未中断"}
    )
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.UPHELD
    again = client.post(
        f"/subsidies/appeals/{appeal.pk}/decide/", {"outcome": "upheld", "opinion": "再点一次"}
    )
    assert again.status_code == 400
    assert appeals.ALREADY_DECIDED in page(again)
    assert grant.changes.filter(action=ChangeAction.RESUME).count() == 1


def test_the_clerk_who_lodged_is_told_why_they_cannot_decide(login, grant, quju):
    appeal = lodge(grant, quju)
    response = login(quju).post(
        f"/subsidies/appeals/{appeal.pk}/decide/", {"outcome": "upheld", "opinion": "x"}
    )
    assert response.status_code == 403
    appeal.refresh_from_db()
    assert appeal.is_open


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        # owner: the paying district; colleague: the street, which sees but does not decide;
        # outsider: another district, to which the appeal does not exist.
        ("quju2", {"list": 200, "detail": 200, "decide": 302, "lodge": 302}),
        # (the street may lodge, but the appeal it could not decide is still open: refused as such)
        ("jiedao", {"list": 200, "detail": 200, "decide": 403, "lodge": 400}),
        ("outsider", {"list": 200, "detail": 404, "decide": 404, "lodge": 404}),
        ("auditor", {"list": 403, "detail": 403, "decide": 403, "lodge": 403}),
    ],
)
def test_who_may_see_lodge_and_decide(login, grant, shequ, who, expected, request):
    appeal = lodge(grant, shequ)
    client = login(request.getfixturevalue(who))
    got = {
        "list": client.get("/subsidies/appeals/").status_code,
        "detail": client.get(f"/subsidies/appeals/{appeal.pk}/").status_code,
        "decide": client.post(
            f"/subsidies/appeals/{appeal.pk}/decide/", {"outcome": "rejected", "opinion": "维持"}
        ).status_code,
    }
    if expected["decide"] == 302:
        appeal.refresh_from_db()
        assert appeal.status == AppealStatus.REJECTED
    got["lodge"] = client.post(
        f"/subsidies/grants/{grant.pk}/appeal/",
        {"change": appeal.change_id, "lodged_on": "2026-11-19", "reason": "补充材料"},
    ).status_code
    assert got == expected


def test_the_outsiders_list_does_not_show_the_appeal(login, grant, jiedao, outsider):
    lodge(grant, jiedao)
    assert grant.person.name not in page(login(outsider).get("/subsidies/appeals/?status="))


def test_the_appeal_page_is_audited_as_a_read(login, grant, jiedao, quju):
    appeal = lodge(grant, jiedao)
    login(quju).get(f"/subsidies/appeals/{appeal.pk}/")
    assert AuditEntry.objects.filter(object_type="subsidies.appeal", action=AuditAction.VIEW).count() == 1


def test_the_list_costs_the_same_queries_however_many_appeals(login, standards, hexi, shequ, jiedao, quju):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory

    def add(n):
        for _ in range(n):
            person = PersonFactory(community_code="120103001001")
            CertificateFactory(person=person, digits="42")
            IncomePeriodFactory(person=person)
            approve(person, shequ, jiedao, quju, care=False)
            stopped = grants.grant_stop(
                actor=quju,
                grant=Grant.objects.get(person=person),
                from_month=M(2026, 10, 1),
                stop_reason="income",
            )
            lodge(stopped, jiedao, on=M(2026, 11, 20))

    client = login(quju)
    add(1)
    with CaptureQueriesContext(connection) as few:
        client.get("/subsidies/appeals/")
    add(4)
    with CaptureQueriesContext(connection) as many:
        client.get("/subsidies/appeals/")
    assert len(few) == len(many)
