import datetime as dt
import threading

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from kangfu.core.models import Role
from kangfu.core.tests.factories import UserFactory
from kangfu.subsidies.models import Application, ApplicationStatus, Grant, PayFrom, Policy
from kangfu.subsidies.services import applications
from kangfu.subsidies.tests.factories import submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


def file_application(person, **kwargs):
    return submit(person, applied_on=dt.date(2026, 9, 10), **kwargs)


def test_the_chain_goes_community_street_district_and_creates_grants(
    standards, applicant, shequ, jiedao, quju
):
    app = file_application(applicant)
    assert app.number.startswith("SB20260910")
    app = applications.application_decide(actor=shequ, application=app, decision="pass")
    assert app.status == ApplicationStatus.COMMUNITY_ACCEPTED
    app = applications.application_decide(actor=jiedao, application=app, decision="pass")
    app = applications.application_decide(actor=quju, application=app, decision="pass")
    assert app.status == ApplicationStatus.APPROVED
    assert set(Grant.objects.filter(person=applicant).values_list("kind", "start_month")) == {
        ("living", dt.date(2026, 9, 1)),
        ("care", dt.date(2026, 9, 1)),
    }
    assert [s.decision for s in app.steps.all()] == ["submit", "pass", "pass", "pass"]
    assert all(s.eligibility for s in app.steps.all()[1:])


def test_no_step_can_be_taken_before_the_one_below(standards, applicant, jiedao, quju):
    app = file_application(applicant)
    for actor in (jiedao, quju):
        with pytest.raises(PermissionDenied):
            applications.application_decide(actor=actor, application=app, decision="pass")
    assert Application.objects.get(pk=app.pk).status == ApplicationStatus.SUBMITTED


def test_another_communitys_worker_cannot_accept(standards, applicant):
    other = UserFactory(username="other_shequ", role=Role.COMMUNITY_WORKER, jurisdiction_id="120103002001")
    with pytest.raises(PermissionDenied):
        applications.application_decide(actor=other, application=file_application(applicant), decision="pass")


def test_the_worker_who_filed_it_at_the_counter_cannot_accept_it(standards, applicant, shequ):
    app = file_application(applicant, actor=shequ)
    with pytest.raises(PermissionDenied) as caught:
        applications.application_decide(actor=shequ, application=app, decision="pass")
    assert str(caught.value) == applications.SAME_PERSON


def test_a_return_needs_a_reason_and_the_applicant_sees_it(standards, applicant, shequ, jiedao):
    app = applications.application_decide(
        actor=shequ, application=file_application(applicant), decision="pass"
    )
    with pytest.raises(ValidationError):
        applications.application_decide(actor=jiedao, application=app, decision="return")
    app = applications.application_decide(
        actor=jiedao, application=app, decision="return", opinion="缺银行卡复印件"
    )
    assert (app.status, app.status_note) == (ApplicationStatus.RETURNED, "缺银行卡复印件")
    app = applications.application_resubmit(actor=None, application=app)
    assert app.status == ApplicationStatus.SUBMITTED


def test_a_rejected_application_creates_no_grant(standards, applicant, shequ, jiedao, quju):
    app = applications.application_decide(
        actor=shequ, application=file_application(applicant), decision="pass"
    )
    app = applications.application_decide(actor=jiedao, application=app, decision="pass")
    app = applications.application_decide(actor=quju, application=app, decision="reject", opinion="材料虚假")
    assert app.status == ApplicationStatus.REJECTED
    assert not Grant.objects.exists()


def test_the_district_cannot_approve_someone_who_does_not_qualify(standards, applicant, shequ, jiedao, quju):
    applicant.income_periods.all().delete()
    applicant.certificates.all().delete()
    app = applications.application_decide(
        actor=shequ, application=file_application(applicant), decision="pass"
    )
    app = applications.application_decide(actor=jiedao, application=app, decision="pass")
    with pytest.raises(ValidationError) as caught:
        applications.application_decide(actor=quju, application=app, decision="pass")
    assert "不符合条件" in caught.value.messages[0]
    assert not Grant.objects.exists()


def test_only_the_kinds_that_qualify_are_granted(standards, applicant, shequ, jiedao, quju):
    applicant.income_periods.all().delete()  # no 低保: care yes, living no
    app = applications.application_decide(
        actor=shequ, application=file_application(applicant), decision="pass"
    )
    app = applications.application_decide(actor=jiedao, application=app, decision="pass")
    applications.application_decide(actor=quju, application=app, decision="pass")
    assert list(Grant.objects.values_list("kind", flat=True)) == ["care"]


def test_payment_can_start_from_the_month_of_approval(standards, applicant, shequ, jiedao, quju):
    Policy.objects.filter(region_id="120100000000").update(pay_from=PayFrom.APPROVAL)
    app = file_application(applicant)
    for actor in (shequ, jiedao, quju):
        app = applications.application_decide(actor=actor, application=app, decision="pass")
    assert set(Grant.objects.values_list("start_month", flat=True)) == {dt.date(2026, 11, 1)}


def test_a_region_can_skip_the_street_step(standards, applicant, shequ, quju):
    Policy.objects.create(region_id="120103000000", steps="community,district")
    app = applications.application_decide(
        actor=shequ, application=file_application(applicant), decision="pass"
    )
    app = applications.application_decide(actor=quju, application=app, decision="pass")
    assert app.status == ApplicationStatus.APPROVED


def test_a_double_submitted_application_is_refused_with_the_first_number(standards, applicant):
    first = file_application(applicant)
    with pytest.raises(ValidationError) as caught:
        file_application(applicant)
    assert first.number in caught.value.messages[0]
    assert Application.objects.count() == 1


def test_an_application_is_routed_to_the_household_community(standards, applicant):
    applicant.hukou_region_id = "120103002001"  # registered in 下瓦房街道 福建路社区, lives in 九江路
    applicant.save()
    app = file_application(applicant)
    assert (app.community_id, app.street_id) == ("120103002001", "120103002000")


def test_a_first_time_online_applicant_is_put_on_the_registry(standards):
    from kangfu.people.models import Person

    app = applications.application_submit(
        actor=None,
        applicant=applications.Applicant(
            name="网上新人",
            id_number="120103198001010015",
            phone="13800000000",
            hukou_community="120103001001",
        ),
        data=applications.ApplicationData(
            living=False, care=True, bank_name="工商银行", bank_account="6222020000001111"
        ),
    )
    assert Person.objects.get(pk=app.person_id).community_id == "120103001001"


def test_bad_input_is_reported_per_field(standards, applicant):
    with pytest.raises(ValidationError) as caught:
        applications.application_submit(
            actor=None,
            applicant=applications.Applicant(
                name="x", id_number="120103198001010012", phone="1", hukou_community="120103001001"
            ),
            data=applications.ApplicationData(living=False, care=False, bank_name="", bank_account="12ab"),
        )
    assert set(caught.value.message_dict) == {"kinds", "bank_account", "phone", "id_number"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="two real concurrent transactions need PostgreSQL"
)
def test_two_approvers_approving_at_once_approve_once(standards, applicant, shequ, jiedao, quju, quju2):
    app = file_application(applicant)
    app = applications.application_decide(actor=shequ, application=app, decision="pass")
    app = applications.application_decide(actor=jiedao, application=app, decision="pass")
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(actor):
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            applications.application_decide(
                actor=actor, application=Application.objects.get(pk=app.pk), decision="pass"
            )
            outcomes.append("ok")
        except ValidationError as exc:
            outcomes.append(exc.messages[0])
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=approve, args=(a,)) for a in (quju, quju2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == sorted(["ok", applications.TAKEN])
    assert Grant.objects.count() == 2


@pytest.fixture
def canlian(db):
    return UserFactory(username="canlian", role=Role.DPF_REVIEWER, jurisdiction_id="120103000000")


@pytest.fixture
def with_county_step(standards):
    Policy.objects.create(region_id="120103000000", steps="community,street,county,district")


def test_where_the_region_takes_it_the_county_dpf_reviews_between_street_and_district(
    with_county_step, applicant, shequ, jiedao, canlian, quju
):
    app = file_application(applicant)
    app = applications.application_decide(actor=shequ, application=app, decision="pass")
    app = applications.application_decide(actor=jiedao, application=app, decision="pass")
    assert (app.status, app.waiting_step) == (ApplicationStatus.STREET_REVIEWED, "county")
    with pytest.raises(PermissionDenied) as caught:  # the district cannot skip the 残联
        applications.application_decide(actor=quju, application=app, decision="pass")
    assert str(caught.value) == applications.NOT_YOUR_STEP.format(step="县级残联审核")
    app = applications.application_decide(
        actor=canlian, application=app, decision="pass", opinion="证件核验无误"
    )
    assert (app.status, app.waiting_step) == (ApplicationStatus.COUNTY_REVIEWED, "district")
    app = applications.application_decide(actor=quju, application=app, decision="pass")
    assert (app.status, app.waiting_step) == (ApplicationStatus.APPROVED, "")
    assert [(s.step, s.decision) for s in app.steps.order_by("pk")] == [
        ("", "submit"),
        ("community", "pass"),
        ("street", "pass"),
        ("county", "pass"),
        ("district", "pass"),
    ]
    assert Grant.objects.filter(person=applicant).count() == 2


def test_the_county_dpf_of_another_district_cannot_review(with_county_step, applicant, shequ, jiedao):
    app = applications.application_decide(
        actor=shequ, application=file_application(applicant), decision="pass"
    )
    app = applications.application_decide(actor=jiedao, application=app, decision="pass")
    nankai = UserFactory(username="nk_canlian", role=Role.DPF_REVIEWER, jurisdiction_id="120104000000")
    with pytest.raises(PermissionDenied):
        applications.application_decide(actor=nankai, application=app, decision="pass")
    assert Application.objects.get(pk=app.pk).waiting_step == "county"


def test_the_county_dpf_returns_for_correction_and_the_chain_starts_again(
    with_county_step, applicant, shequ, jiedao, canlian
):
    app = applications.application_decide(
        actor=shequ, application=file_application(applicant), decision="pass"
    )
    app = applications.application_decide(actor=jiedao, application=app, decision="pass")
    app = applications.application_decide(
        actor=canlian, application=app, decision="return", opinion="残疾人证等级与评定结论不符，请核实"
    )
    assert (app.status, app.waiting_step) == (ApplicationStatus.RETURNED, "")
    app = applications.application_resubmit(actor=None, application=app)
    assert (app.status, app.waiting_step) == (ApplicationStatus.SUBMITTED, "community")


def test_a_status_says_only_what_was_done_and_the_worklist_follows_the_regions_chain(
    standards, applicant, shequ, quju
):
    """Without a street step, what the community passed waits for the district, and the district's
    worklist shows it (it used to wait for a street review that never came)."""
    from kangfu.subsidies import selectors

    Policy.objects.create(region_id="120103000000", steps="community,district")
    app = applications.application_decide(
        actor=shequ, application=file_application(applicant), decision="pass"
    )
    assert (app.get_status_display(), app.get_waiting_step_display()) == ("社区已受理", "区民政局审批")
    assert list(selectors.worklist(quju)["waiting"]) == [app]
    assert list(selectors.worklist(shequ)["waiting"]) == []
