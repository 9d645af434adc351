"""The pages of 精康: every page renders for its users, clinical pages are invisible outside their
scope (404, as if the record did not exist), bad input is answered in Chinese and changes nothing."""

import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from kangfu.core.models import AuditAction, AuditEntry, Role
from kangfu.core.tests.factories import OrganisationFactory, UserFactory
from kangfu.rehab.models import (
    Activity,
    Application,
    ApplicationState,
    Assessment,
    Case,
    CaseStatus,
    EmergencyAccess,
    SharePart,
    Transfer,
)
from kangfu.rehab.services import applications, assessments, enrolment, transfers
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def sdss_answers(value: int = 1) -> dict:
    return {
        "work": value,
        "marriage": 9,
        "parenting": 9,
        "withdrawal": value,
        "outside_activities": value,
        "home_activities": value,
        "family_role": value,
        "self_care": value,
        "interest": value,
        "responsibility": value,
    }


@pytest.fixture
def assessed(case, rehab_worker):
    assessments.assessment_submit(
        actor=rehab_worker,
        case=case,
        scale=assessments.current_scale("sdss"),
        assessed_on=dt.date.today(),
        answers=sdss_answers(),
    )
    return case


def test_every_page_of_the_institution_renders_for_its_worker(login, assessed, rehab_worker, institution):
    client = login(rehab_worker)
    case = assessed
    pages = [
        ("rehab:home", []),
        ("rehab:cases", []),
        ("rehab:case", [case.pk]),
        ("rehab:case_registration", [case.pk]),
        ("rehab:case_intake", [case.pk]),
        ("rehab:case_plan", [case.pk]),
        ("rehab:case_follow_up", [case.pk]),
        ("rehab:case_transfer", [case.pk]),
        ("rehab:case_placement", [case.pk]),
        ("rehab:case_agreement", [case.pk]),
        ("rehab:activities", []),
        ("rehab:activity_new", []),
        ("rehab:follow_ups", []),
        ("rehab:transfers", []),
        ("rehab:transfer_new", []),
        ("rehab:emergency", []),
        ("rehab:institutions", []),
        ("rehab:institution", [institution.pk]),
        ("reports:rehab_stats", []),
    ]
    pages += [("rehab:case_assess", [case.pk, code]) for code in ("sdss", "psp", "risk")]
    for name, args in pages:
        response = client.get(reverse(name, args=args))
        assert response.status_code == 200, name
    assert "社会功能缺陷筛选量表" in text(client.get(reverse("rehab:case", args=[case.pk])))


def test_the_case_page_shows_the_server_computed_score_and_is_audited(login, assessed, rehab_worker):
    client = login(rehab_worker)
    body = text(client.get(reverse("rehab:case", args=[assessed.pk])))
    # 8 items at 1, marriage and parenting not applicable: 8, a deficit.
    assert "8（" in body and "存在社会功能缺陷" in body
    assert AuditEntry.objects.filter(
        action=AuditAction.VIEW, object_type="rehab.case", object_id=str(assessed.pk), actor=rehab_worker
    ).exists()


def test_civil_affairs_see_counts_but_never_a_case(login, assessed, admin):
    client = login(admin)
    assert client.get(reverse("rehab:case", args=[assessed.pk])).status_code == 404
    assert client.get(reverse("rehab:case_agreement", args=[assessed.pk])).status_code == 404
    stats = text(client.get(reverse("reports:rehab_stats")))
    assert 'id="kpi-open">1<' in stats
    tab = text(client.get(reverse("people:detail", args=[assessed.person_id]) + "?tab=rehab"))
    assert "西青区精神障碍社区康复服务中心" in tab
    assert "精神分裂症" not in tab and "F20" not in tab and "社会功能缺陷" not in tab


def test_another_institution_cannot_open_the_case_or_record_for_it(login, assessed, other_worker):
    client = login(other_worker)
    for name in ("rehab:case", "rehab:case_follow_up", "rehab:case_plan", "rehab:case_intake"):
        assert client.get(reverse(name, args=[assessed.pk])).status_code == 404, name
    response = client.post(
        reverse("rehab:case_follow_up", args=[assessed.pk]),
        {
            "done_on": dt.date.today(),
            "mode": "phone",
            "risk_level": "0",
            "stability": "stable",
            "adherence": "regular",
            "insight": "full",
        },
    )
    assert response.status_code == 404
    assert not assessed.follow_ups.exists()


def test_a_referral_shares_only_what_was_chosen_and_nothing_once_declined(
    login, assessed, rehab_worker, other_worker, other_institution
):
    transfer = transfers.transfer_send(
        actor=rehab_worker,
        person=assessed.person,
        case=assessed,
        data=transfers.TransferData(
            to_org=other_institution,
            kind="between",
            reason="迁居北辰",
            shared=[SharePart.ASSESSMENTS],
            sent_on=dt.date.today(),
        ),
    )
    client = login(other_worker)
    page = text(client.get(reverse("rehab:case", args=[assessed.pk])))
    assert "社会功能缺陷筛选量表" in page  # shared
    assert "精神分裂症" not in page  # the registration form was not shared
    client.post(
        reverse("rehab:transfer", args=[transfer.pk]), {"action": "decline", "reason": "超出服务容量"}
    )
    assert Transfer.objects.get(pk=transfer.pk).state == "declined"
    assert client.get(reverse("rehab:case", args=[assessed.pk])).status_code == 404
    assert client.get(reverse("rehab:transfer", args=[transfer.pk])).status_code == 404


def test_break_the_glass_needs_a_reason_is_audited_and_shown_to_the_institution(
    login, assessed, doctor, rehab_worker
):
    client = login(doctor)
    assert client.get(reverse("rehab:case", args=[assessed.pk])).status_code == 404
    refused = client.post(
        reverse("rehab:emergency"), {"id_number": assessed.person.id_number, "reason": "急"}
    )
    assert refused.status_code == 400 and "至少 10 个字" in text(refused)
    assert not EmergencyAccess.objects.exists()
    reason = "患者在急诊室发生冲动伤人，需了解既往危险性评估"
    opened = client.post(
        reverse("rehab:emergency"), {"id_number": assessed.person.id_number, "reason": reason}
    )
    assert opened.status_code == 200
    page = text(client.get(reverse("rehab:case", args=[assessed.pk])))
    assert "紧急查阅" in page and "精神分裂症" in page
    assert AuditEntry.objects.filter(
        action=AuditAction.REVEAL, actor=doctor, person_id=assessed.person_id
    ).exists()
    assert AuditEntry.objects.filter(summary="紧急查阅精康档案", actor=doctor).exists()
    home = text(login(rehab_worker).get(reverse("rehab:home")))
    assert reason in home


def test_an_assessment_missing_items_is_refused_naming_them(login, case, rehab_worker):
    client = login(rehab_worker)
    response = client.post(
        reverse("rehab:case_assess", args=[case.pk, "sdss"]),
        {"assessed_on": dt.date.today(), "item_work": "1", "item_marriage": "9"},
    )
    assert response.status_code == 400
    body = text(response)
    assert "以下项目未填写" in body and "父母职能" in body and "责任心和计划性" in body
    assert not Assessment.objects.exists()


def test_attendance_for_someone_not_enrolled_here_is_refused(
    login, case, rehab_worker, admin, other_worker, other_institution
):
    elsewhere = f.enrolled_case(
        admin=f.district_admin("beichen.admin", f.BEICHEN),
        rehab_worker=other_worker,
        institution_org=other_institution,
        person=f.patient(n=402, community_code="120113001003", county="120113"),
    )
    client = login(rehab_worker)
    response = client.post(
        reverse("rehab:activity_new"),
        {
            "form": "group",
            "service_type": "social",
            "mode": "site",
            "title": "社交小组",
            "held_on": dt.date.today(),
            "patients": [case.pk, elsewhere.pk],
            "family-TOTAL_FORMS": "0",
            "family-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 400
    assert "所选项不在可选范围内" in text(response) or "不能登记出勤" in text(response)
    assert not Activity.objects.exists()


def test_a_double_click_on_register_changes_nothing_the_second_time(login, admin):
    person = f.patient()
    application = applications.application_create(
        actor=admin,
        person=person,
        data=applications.ApplicationData(source="self", received_on=dt.date.today()),
    )
    client = login(admin)
    url = reverse("rehab:application", args=[application.pk])
    assert client.post(url, {"action": "register"}).status_code == 302
    second = client.post(url, {"action": "register"})
    assert second.status_code == 400 and "状态已经改变" in text(second)
    assert Application.objects.get(pk=application.pk).state == ApplicationState.REGISTERED


def test_a_street_officer_of_another_district_cannot_see_the_application(login, admin):
    person = f.patient()
    application = applications.application_create(
        actor=admin,
        person=person,
        data=applications.ApplicationData(source="self", received_on=dt.date.today()),
    )
    hexi = UserFactory(username="dym", role=Role.STREET_OFFICER, jurisdiction_id="120103001000")
    assert login(hexi).get(reverse("rehab:application", args=[application.pk])).status_code == 404


def test_a_roster_upload_reports_bad_lines_and_imports_only_on_confirm(login, admin):
    good = f.patient(n=401)
    bad_id = good.id_number[:17] + ("0" if good.id_number[17] != "0" else "1")
    csv_text = (
        "姓名,身份证号,现住社区,诊断\n"
        f"{good.name},{good.id_number},{good.community_id},精神分裂症\n"
        f"李四,{bad_id},120111001001,双相障碍\n"
    )
    upload = io.BytesIO(csv_text.encode("gbk"))
    upload.name = "卫健名单.csv"
    client = login(admin)
    response = client.post(
        reverse("rehab:rosters"),
        {"source": "health_list", "district": "120111000000", "received_on": dt.date.today(), "file": upload},
    )
    assert response.status_code == 302
    report = text(client.get(response["Location"]))
    assert "校验位" in report and '<td class="num">3</td>' in report  # the bad line, by its line number
    assert 'id="roster-link">1<' in report
    assert not Application.objects.exists()  # nothing until confirmed
    client.post(response["Location"], {"action": "confirm"})
    assert Application.objects.filter(person=good, state=ApplicationState.REGISTERED).count() == 1
    assert Application.objects.count() == 1


def test_every_chart_the_statistics_page_sends_is_drawn(login, assessed, admin):
    response = login(admin).get(reverse("reports:rehab_stats"))
    drawn = set(re.findall(r'data-key="(\w+)"', response.content.decode()))
    assert set(response.context["charts"]) == drawn


def test_the_statistics_export_has_a_sheet_per_table_and_is_audited(login, assessed, admin):
    response = login(admin).get(reverse("reports:rehab_stats") + "?export=xlsx")
    book = load_workbook(io.BytesIO(response.content))
    assert {"服务对象流转", "按服务类型", "康复效果", "规范服务覆盖率"} <= set(book.sheetnames)
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT, object_type="rehab.statistics").exists()


def test_list_pages_keep_their_query_count_whatever_the_caseload(login, admin, rehab_worker, institution):
    client = login(rehab_worker)

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    def to_screen() -> None:
        # The home page lists the people to screen with their number of contacts.
        case = f.referred_case(admin=admin, institution_org=institution, person=f.patient())
        enrolment.screening_contact(
            actor=rehab_worker,
            case=case,
            data=enrolment.ContactData(contacted_on=dt.date.today(), mode="phone"),
        )

    f.enrolled_case(admin=admin, rehab_worker=rehab_worker, institution_org=institution)
    to_screen()
    urls = ("rehab:home", "rehab:cases", "rehab:follow_ups", "reports:rehab_stats")
    few = {name: count(reverse(name)) for name in urls}
    for _ in range(6):
        f.enrolled_case(
            admin=admin, rehab_worker=rehab_worker, institution_org=institution, person=f.patient()
        )
        to_screen()
    many = {name: count(reverse(name)) for name in urls}
    assert many == few


def test_discharge_from_the_case_page_needs_a_reason(login, case, rehab_worker):
    client = login(rehab_worker)
    url = reverse("rehab:case_status", args=[case.pk])
    client.post(url, {"status-action": "discharge", "status-on": dt.date.today(), "status-reason": ""})
    assert Case.objects.get(pk=case.pk).status == CaseStatus.ENROLLED
    client.post(
        url, {"status-action": "discharge", "status-on": dt.date.today(), "status-reason": "recovered"}
    )
    assert Case.objects.get(pk=case.pk).status == CaseStatus.DISCHARGED


def test_a_civil_affairs_role_cannot_open_the_worker_pages(login, admin, case):
    client = login(admin)
    assert client.get(reverse("rehab:cases")).status_code == 403
    assert client.get(reverse("rehab:activity_new")).status_code == 403
    assert client.get(reverse("rehab:emergency")).status_code == 403


def test_an_employer_has_no_account_and_the_sender_records_its_answer(login, case, rehab_worker):
    employer = OrganisationFactory(name="津康烘焙坊", kind="employer", region_id=f.XIQING)
    transfer = transfers.transfer_send(
        actor=rehab_worker,
        person=case.person,
        case=case,
        data=transfers.TransferData(
            to_org=employer,
            kind="employment",
            employment_type="supported",
            reason="可以尝试辅助性就业",
            shared=[],
            sent_on=dt.date.today(),
        ),
    )
    login(rehab_worker).post(reverse("rehab:transfer", args=[transfer.pk]), {"action": "accept"})
    assert Transfer.objects.get(pk=transfer.pk).state == "accepted"


def test_sdss_for_someone_over_59_warns_and_is_saved_only_once_the_assessor_confirms(
    login, admin, rehab_worker, institution
):
    elder = f.enrolled_case(
        admin=admin,
        rehab_worker=rehab_worker,
        institution_org=institution,
        person=f.patient(name="李老伯", born=dt.date.today().replace(year=dt.date.today().year - 79)),
    )
    client = login(rehab_worker)
    url = reverse("rehab:case_assess", args=[elder.pk, "sdss"])
    assert 'id="age-warning"' in text(client.get(url))
    answers = {f"item_{k}": v for k, v in sdss_answers().items()}
    post = {"assessed_on": dt.date.today().isoformat(), **answers}
    refused = client.post(url, post)
    assert refused.status_code == 400 and not Assessment.objects.exists()
    assert client.post(url, {**post, "outside_ages": "on"}).status_code == 302
    assert Assessment.objects.filter(case=elder).count() == 1


def test_the_menu_counts_the_follow_ups_due_at_the_workers_institution(
    login, admin, rehab_worker, institution
):
    f.enrolled_case(
        admin=admin,
        rehab_worker=rehab_worker,
        institution_org=institution,
        on=dt.date.today() - dt.timedelta(days=20),  # first follow-up due two weeks on: overdue
    )
    body = text(login(rehab_worker).get(reverse("rehab:home")))
    assert re.search(r'精康融合 <span class="count" title="今天及逾期应随访 1"[^>]*>1</span>', body)


class TestPrintedRegistrationForm:
    def test_the_case_page_links_to_the_printable_form(self, login, case, rehab_worker):
        body = text(login(rehab_worker).get(reverse("rehab:case", args=[case.pk])))
        assert reverse("rehab:case_registration_print", args=[case.pk]) in body

    def test_it_shows_the_person_masked_the_guardian_the_diagnosis_and_is_audited(
        self, login, case, rehab_worker
    ):
        from kangfu.core.ids import mask_id_number
        from kangfu.people.tests.factories import GuardianFactory

        GuardianFactory(person=case.person, name="监护人乙", phone="13820001111")
        response = login(rehab_worker).get(reverse("rehab:case_registration_print", args=[case.pk]))
        body = text(response)
        assert response.status_code == 200
        assert mask_id_number(case.person.id_number) in body and case.person.id_number not in body
        assert "监护人乙" in body and "13820001111" not in body
        assert "精神分裂症" in body and "签字" in body
        assert AuditEntry.objects.filter(
            action=AuditAction.VIEW, object_id=str(case.pk), summary="打印基本情况登记表"
        ).exists()

    @pytest.mark.parametrize("who", ["other_worker", "admin"])
    def test_another_institution_and_civil_affairs_get_404_and_leave_no_row(self, login, case, who, request):
        user = request.getfixturevalue(who)
        response = login(user).get(reverse("rehab:case_registration_print", args=[case.pk]))
        assert response.status_code == 404
        assert not AuditEntry.objects.filter(summary="打印基本情况登记表").exists()
