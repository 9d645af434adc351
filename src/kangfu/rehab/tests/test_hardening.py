"""Bad input to the 精康 pages and endpoints is answered in Chinese and changes nothing; what is read
is audited; a refusal never names an institution the user has no business knowing of."""

import datetime as dt
import io
import json
import re
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kangfu.core import spreadsheets
from kangfu.core.models import AuditAction, AuditEntry
from kangfu.core.tests import files
from kangfu.people.tests.factories import make_id_number
from kangfu.rehab.models import (
    Application,
    ApplicationState,
    Case,
    EmergencyAccess,
    InstitutionProfile,
    RosterImport,
    StaffMember,
    Training,
)
from kangfu.rehab.services import activities, applications, emergency, enrolment
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db

REASON = "患者在急诊室发生冲动伤人，需了解既往危险性评估"
NOT_FOUND = "没有找到该人员的精康档案"
PNG = files.PNG


def text(response) -> str:
    return response.content.decode()


def without_tokens(html: str, *numbers: str) -> str:
    """The page as the user reads it: no CSRF token (new on every response), no echoed input."""
    html = re.sub(r"\b[A-Za-z0-9]{64}\b", "", html)
    for number in numbers:
        html = html.replace(number, "")
    return html


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


class Ids(HTMLParser):
    """Every id attribute of a page, repeats included."""

    def __init__(self):
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.ids += [value for name, value in attrs if name == "id"]


def repeated_ids(html: str) -> set[str]:
    parser = Ids()
    parser.feed(html)
    return {i for i in parser.ids if parser.ids.count(i) > 1}


# ------------------------------------------------------------------ break the glass


class TestEmergency:
    def test_a_short_reason_is_refused_before_anyone_is_looked_up(self, login, doctor):
        unknown = make_id_number(499, county="120111")
        response = login(doctor).post(reverse("rehab:emergency"), {"id_number": unknown, "reason": "急"})
        assert response.status_code == 400
        assert emergency.EMERGENCY_REASON in text(response)
        assert NOT_FOUND not in text(response)
        assert not AuditEntry.objects.filter(actor=doctor, action=AuditAction.VIEW).exists()

    def test_a_reason_of_spaces_is_refused(self, login, case, doctor):
        response = login(doctor).post(
            reverse("rehab:emergency"), {"id_number": case.person.id_number, "reason": " " * 12 + "急"}
        )
        assert response.status_code == 400 and emergency.EMERGENCY_REASON in text(response)
        assert not EmergencyAccess.objects.exists()

    def test_nobody_and_someone_without_a_case_get_the_same_answer_and_both_attempts_are_audited(
        self, login, doctor
    ):
        client = login(doctor)
        unknown = make_id_number(499, county="120111")
        without_case = f.patient(n=498)
        answers = [
            client.post(reverse("rehab:emergency"), {"id_number": number, "reason": REASON})
            for number in (unknown, without_case.id_number)
        ]
        assert [a.status_code for a in answers] == [400, 400]
        assert without_tokens(text(answers[0]), unknown) == without_tokens(
            text(answers[1]), without_case.id_number
        )
        assert NOT_FOUND in text(answers[0])
        attempts = AuditEntry.objects.filter(actor=doctor, action=AuditAction.VIEW)
        assert attempts.count() == 2
        assert all(REASON in a.summary for a in attempts)
        assert not EmergencyAccess.objects.exists()


# ------------------------------------------------------------------ statistics


class TestStatisticsYear:
    @pytest.mark.parametrize("year", ["0", "99999", "1999", "abc"])
    def test_a_year_out_of_range_is_refused_and_the_current_year_shown(self, login, admin, year):
        response = login(admin).get(reverse("reports:rehab_stats") + f"?year={year}")
        assert response.status_code == 400
        assert "年份应在 2000–" in text(response)
        assert f"精康融合统计 {dt.date.today().year} 年" in text(response)

    def test_an_export_of_a_year_out_of_range_is_refused(self, login, admin):
        response = login(admin).get(reverse("reports:rehab_stats") + "?year=99999&export=xlsx")
        assert response.status_code == 400 and "年份应在" in text(response)
        assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()

    def test_an_institution_number_beyond_any_id_is_not_found(self, login, admin):
        response = login(admin).get(reverse("reports:rehab_stats") + "?institution=99999999999999999999")
        assert response.status_code == 404

    @pytest.mark.parametrize("year", [0, 99999])
    def test_the_endpoint_refuses_a_year_out_of_range_in_chinese(self, api, admin, year):
        response = api(admin)("get", f"/stats?year={year}")
        assert response.status_code == 400
        assert "年份应在 2000–" in response.json()["detail"]

    def test_the_endpoint_gives_the_year_asked(self, api, admin):
        assert api(admin)("get", "/stats?year=2024").json()["year"] == 2024


# ------------------------------------------------------------------ institutions


class TestInstitution:
    @pytest.fixture
    def staff(self, institution):
        return StaffMember.objects.create(organisation=institution, name="王社工", profession="social_worker")

    def training(self, staff_value):
        return {
            "action": "training",
            "staff": staff_value,
            "held_on": dt.date.today(),
            "hours": "8",
            "topic": "危机干预",
        }

    @pytest.mark.parametrize("value", ["abc", "", "99999999999999999999"])
    def test_training_for_no_staff_member_is_refused(self, login, rehab_worker, institution, staff, value):
        response = login(rehab_worker).post(
            reverse("rehab:institution", args=[institution.pk]), self.training(value)
        )
        assert response.status_code == 400
        assert "请选择本机构的专业人员" in text(response)
        assert not Training.objects.exists()

    def test_training_for_another_institutions_staff_member_is_refused(
        self, login, rehab_worker, institution, other_institution
    ):
        elsewhere = StaffMember.objects.create(
            organisation=other_institution, name="李医生", profession="nurse"
        )
        response = login(rehab_worker).post(
            reverse("rehab:institution", args=[institution.pk]), self.training(elsewhere.pk)
        )
        assert response.status_code == 400
        assert not Training.objects.exists()

    def test_training_is_recorded_for_the_staff_member_chosen(self, login, rehab_worker, institution, staff):
        response = login(rehab_worker).post(
            reverse("rehab:institution", args=[institution.pk]), self.training(staff.pk)
        )
        assert response.status_code == 302
        assert Training.objects.get().staff == staff

    def test_each_staff_members_training_form_has_its_own_ids(self, login, rehab_worker, institution, staff):
        StaffMember.objects.create(organisation=institution, name="赵治疗师", profession="therapist")
        page = login(rehab_worker).get(reverse("rehab:institution", args=[institution.pk]))
        assert repeated_ids(text(page)) == set()

    def test_a_capacity_beyond_any_institution_is_refused(self, login, rehab_worker, institution):
        response = login(rehab_worker).post(
            reverse("rehab:institution", args=[institution.pk]),
            {"action": "profile", "level": "district", "capacity": str(2**31)},
        )
        assert response.status_code == 400
        assert "100000" in text(response)
        assert not InstitutionProfile.objects.exists()


# ------------------------------------------------------------------ applications


class TestBulkRefer:
    @pytest.fixture
    def registered(self, admin):
        application = applications.application_create(
            actor=admin,
            person=f.patient(),
            data=applications.ApplicationData(source="self", received_on=dt.date.today()),
        )
        return applications.application_register(actor=admin, application=application)

    @pytest.mark.parametrize("bad", ["99999999999999999999", "abc", "²", "0", "-3"])
    def test_an_id_that_is_no_application_number_is_refused_and_nothing_referred(
        self, login, admin, institution, registered, bad
    ):
        response = login(admin).post(
            reverse("rehab:applications_refer"), {"ids": [registered.pk, bad], "institution": institution.pk}
        )
        assert response.status_code == 302
        assert any("申请编号无效" in m for m in messages_of(response))
        assert Application.objects.get(pk=registered.pk).state == ApplicationState.REGISTERED
        assert not Case.objects.exists()

    def test_the_chosen_applications_are_referred(self, login, admin, institution, registered):
        login(admin).post(
            reverse("rehab:applications_refer"), {"ids": [registered.pk], "institution": institution.pk}
        )
        assert Application.objects.get(pk=registered.pk).state == ApplicationState.REFERRED


class TestApplicationEndpoint:
    def payload(self, person, **changes):
        return {
            "id_number": person.id_number,
            "source": "medical",
            "received_on": dt.date.today(),
            "applicant_org": "安定医院",
            **changes,
        }

    @pytest.mark.parametrize("source", ["health_list", "federation_list", "anything"])
    def test_a_roster_or_unknown_source_is_refused(self, api, admin, source):
        response = api(admin)("post", "/applications", self.payload(f.patient(), source=source))
        assert response.status_code == 400
        assert "来源" in response.json()["detail"]
        assert not Application.objects.exists()

    @pytest.mark.parametrize(
        "field, limit",
        [("applicant_name", 50), ("applicant_org", 100), ("applicant_phone", 30), ("reason", 300)],
    )
    def test_a_text_longer_than_its_column_is_refused(self, api, admin, field, limit):
        response = api(admin)(
            "post", "/applications", self.payload(f.patient(), **{field: "长" * (limit + 1)})
        )
        assert response.status_code == 422
        assert any(key.endswith(field) for key in response.json()["errors"])
        assert not Application.objects.exists()

    def test_a_text_as_long_as_its_column_is_kept(self, api, admin):
        response = api(admin)("post", "/applications", self.payload(f.patient(), reason="长" * 300))
        assert response.status_code == 201
        assert Application.objects.get().reason == "长" * 300


class TestUnnamedRefusal:
    def test_a_clinician_applying_for_someone_served_elsewhere_is_not_told_where(self, login, case, doctor):
        response = login(doctor).post(
            reverse("rehab:application_new"),
            {
                "id_number": case.person.id_number,
                "source": "medical",
                "applicant_name": "王医生",
                "received_on": dt.date.today(),
            },
        )
        assert response.status_code == 400
        assert "接受精康服务" in text(response)
        assert case.institution.name not in text(response)
        assert Application.objects.count() == 1  # the one that opened the case

    def test_the_endpoint_does_not_tell_a_clinician_where_either(self, api, case, doctor):
        response = api(doctor)(
            "post",
            "/applications",
            {"id_number": case.person.id_number, "source": "medical", "received_on": dt.date.today()},
        )
        assert response.status_code == 400
        assert "接受精康服务" in response.json()["detail"]
        assert case.institution.name not in json.dumps(response.json(), ensure_ascii=False)

    def test_civil_affairs_are_told_where_the_person_is_served(self, api, case, admin):
        response = api(admin)(
            "post",
            "/applications",
            {"id_number": case.person.id_number, "source": "self", "received_on": dt.date.today()},
        )
        assert response.status_code == 400 and case.institution.name in response.json()["detail"]


# ------------------------------------------------------------------ rosters


class TestUnreadableCsv:
    def roster(self, login, admin, content: bytes):
        upload = io.BytesIO(content)
        upload.name = "卫健名单.csv"
        return login(admin).post(
            reverse("rehab:rosters"),
            {"source": "health_list", "district": f.XIQING, "received_on": dt.date.today(), "file": upload},
        )

    def test_a_field_beyond_the_csv_limit_is_unreadable(self, login, admin):
        content = ("姓名,身份证号,现住社区\n张三," + "1" * 200_000 + ",120111001001\n").encode()
        response = self.roster(login, admin, content)
        assert response.status_code == 400 and spreadsheets.UNREADABLE in text(response)
        assert not RosterImport.objects.exists()

    def test_an_unclosed_quote_swallowing_the_file_is_unreadable(self, login, admin):
        lines = "".join(f"李{n},{make_id_number(n, county='120111')},120111001001\n" for n in range(5000))
        content = ('姓名,身份证号,现住社区\n"张三,' + lines).encode()
        response = self.roster(login, admin, content)
        assert response.status_code == 400 and spreadsheets.UNREADABLE in text(response)
        assert not RosterImport.objects.exists()

    def test_a_nul_byte_deep_in_the_file_is_unreadable(self, tmp_path):
        path = tmp_path / "名单.csv"
        path.write_bytes(("姓名,身份证号\n" + "张三,1\n" * 1000 + "李\x00四,2\n").encode())
        with pytest.raises(spreadsheets.ValidationError) as refused:
            spreadsheets.read_rows(path.read_bytes(), path.name)
        assert refused.value.messages == [spreadsheets.UNREADABLE]

    def test_a_field_beyond_the_csv_limit_read_from_disk_is_unreadable(self, tmp_path):
        path = tmp_path / "名单.csv"
        path.write_bytes(("姓名\n" + "长" * 140_000 + "\n").encode())
        with pytest.raises(spreadsheets.ValidationError) as refused:
            spreadsheets.read_rows(path.read_bytes(), path.name)
        assert refused.value.messages == [spreadsheets.UNREADABLE]


# ------------------------------------------------------------------ audited reads


class TestAuditedReads:
    @pytest.fixture
    def activity(self, case, rehab_worker):
        return activities.activity_record(
            actor=rehab_worker,
            data=activities.ActivityData(
                form="group",
                service_type="social",
                mode="site",
                title="社交小组",
                held_on=dt.date.today(),
                patients=[case.pk],
            ),
        )

    def reads(self, user, person_id):
        return AuditEntry.objects.filter(action=AuditAction.VIEW, actor=user, person_id=person_id)

    def test_the_follow_up_worklist_endpoint_is_audited_per_person(self, api, case, rehab_worker):
        assert [r["case_id"] for r in api(rehab_worker)("get", "/follow-ups").json()] == [case.pk]
        assert self.reads(rehab_worker, case.person_id).filter(object_type="rehab.case").count() == 1

    def test_an_activity_page_is_audited_for_every_person_on_it(self, login, case, rehab_worker, activity):
        assert login(rehab_worker).get(reverse("rehab:activity", args=[activity.pk])).status_code == 200
        assert self.reads(rehab_worker, case.person_id).filter(object_type="rehab.activity").count() == 1

    def test_an_activity_photo_is_audited_for_every_person_on_it(self, login, case, rehab_worker, activity):
        photo = activities.activity_photo_add(
            actor=rehab_worker,
            activity=activity,
            image=SimpleUploadedFile("小组.png", PNG, content_type="image/png"),
        )
        response = login(rehab_worker).get(reverse("rehab:activity_photo", args=[photo.pk]))
        assert response.status_code == 200
        assert self.reads(rehab_worker, case.person_id).filter(object_type="rehab.activityphoto").count() == 1


# ------------------------------------------------------------------ the case page


class TestCasePageIds:
    def test_a_case_being_screened_has_no_id_twice(self, login, admin, rehab_worker, institution):
        referred = f.referred_case(admin=admin, institution_org=institution)
        page = text(login(rehab_worker).get(reverse("rehab:case", args=[referred.pk])))
        assert "筛查结论" in page and "记录一次联系" in page  # both forms are on the page
        assert repeated_ids(page) == set()

    def test_a_served_case_has_no_id_twice(self, login, case, rehab_worker):
        page = text(login(rehab_worker).get(reverse("rehab:case", args=[case.pk])))
        assert "暂停、恢复或结案" in page
        assert repeated_ids(page) == set()

    def test_the_screening_forms_still_save_what_they_show(self, login, admin, rehab_worker, institution):
        referred = f.referred_case(admin=admin, institution_org=institution)
        client = login(rehab_worker)
        page = text(client.get(reverse("rehab:case", args=[referred.pk])))
        assert 'id="id_contact-note"' in page and 'id="id_decide-note"' in page
        client.post(
            reverse("rehab:case_contact", args=[referred.pk]),
            {
                "contact-contacted_on": dt.date.today(),
                "contact-mode": "phone",
                "contact-reached": "on",
                "contact-note": "已联系",
            },
        )
        client.post(
            reverse("rehab:case_decide", args=[referred.pk]),
            {"decide-eligible": "1", "decide-on": dt.date.today(), "decide-note": "适合"},
        )
        referred.refresh_from_db()
        assert referred.contacts.get().note == "已联系"
        assert (referred.status, referred.screening_note) == ("screened", "适合")


# ------------------------------------------------------------------ the worker's home page


def test_the_home_page_shows_how_often_each_person_to_screen_was_contacted(
    login, admin, rehab_worker, institution
):
    referred = f.referred_case(admin=admin, institution_org=institution, person=f.patient(name="待筛查甲"))
    for _ in range(2):
        enrolment.screening_contact(
            actor=rehab_worker,
            case=referred,
            data=enrolment.ContactData(contacted_on=dt.date.today(), mode="phone"),
        )
    page = text(login(rehab_worker).get(reverse("rehab:home")))
    row = re.search(r"<tr><td><a [^>]*>待筛查甲</a></td>.*?</tr>", page)
    assert row and row.group().endswith("<td>2</td></tr>")
