import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from kangfu.core.models import AuditAction, AuditEntry
from kangfu.core.tests import files
from kangfu.subsidies.models import Application, ApplicationStatus, Grant, LineType, PayrollLine
from kangfu.subsidies.services import applications, payroll
from kangfu.subsidies.tests.factories import approve

pytestmark = pytest.mark.django_db
M = dt.date


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


def page(response):
    return response.content.decode()


def online_form(person, **extra):
    data = {
        "name": person.name,
        "id_number": person.id_number,
        "phone": "13912345678",
        "hukou_street": person.community_id[:9] + "000",
        "hukou_community": person.community_id,
        "care": "on",
        "living": "on",
        "bank_name": "工商银行",
        "bank_account": "6222020000001234567",
    }
    data.update(extra)
    return data


class TestPublic:
    def test_a_citizen_applies_online_with_documents_and_sees_the_number(self, client, standards, applicant):
        scan = SimpleUploadedFile("证.pdf", files.PDF, content_type="application/pdf")
        response = client.post("/public/subsidies/apply/", {**online_form(applicant), "documents": [scan]})
        app = Application.objects.get()
        assert response.status_code == 302
        assert app.number in page(client.get(response["Location"]))
        assert app.documents.count() == 1

    def test_a_wrong_type_of_document_is_refused_and_nothing_saved(self, client, standards, applicant):
        bad = SimpleUploadedFile("证.exe", b"MZ", content_type="application/octet-stream")
        response = client.post("/public/subsidies/apply/", {**online_form(applicant), "documents": [bad]})
        assert response.status_code == 400
        assert "文件类型不对" in page(response)
        assert not Application.objects.exists()

    def test_status_shows_the_steps_and_needs_the_matching_id(self, client, standards, applicant, shequ):
        app = applications.application_submit(
            actor=None,
            applicant=applications.Applicant(
                name=applicant.name,
                id_number=applicant.id_number,
                phone="13912345678",
                hukou_community=applicant.community_id,
            ),
            data=applications.ApplicationData(
                living=False, care=True, bank_name="x", bank_account="6222020000001234567"
            ),
        )
        applications.application_decide(actor=shequ, application=app, decision="pass", opinion="材料齐全")
        response = client.post(
            "/public/subsidies/status/", {"number": app.number, "id_number": applicant.id_number}
        )
        assert "社区已受理" in page(response) and "材料齐全" in page(response)
        wrong = client.post(
            "/public/subsidies/status/", {"number": app.number, "id_number": "360121197011210013"}
        )
        assert wrong.status_code == 404 and "材料齐全" not in page(wrong)


class TestStaff:
    def test_each_step_sees_its_worklist_and_decides(self, login, standards, applicant, shequ, jiedao):
        app = applications.application_submit(
            actor=None,
            applicant=applications.Applicant(
                name=applicant.name,
                id_number=applicant.id_number,
                phone="13912345678",
                hukou_community=applicant.community_id,
            ),
            data=applications.ApplicationData(
                living=True, care=True, bank_name="x", bank_account="6222020000001234567"
            ),
        )
        assert app.number in page(login(shequ).get("/subsidies/"))
        assert app.number not in page(login(jiedao).get("/subsidies/"))
        response = login(shequ).post(
            f"/subsidies/applications/{app.pk}/", {"decision": "pass", "opinion": "同意"}
        )
        assert response.status_code == 302
        assert Application.objects.get(pk=app.pk).status == ApplicationStatus.COMMUNITY_ACCEPTED

    def test_a_street_officer_cannot_act_at_the_community_step(self, login, standards, applicant, jiedao):
        app = applications.application_submit(
            actor=None,
            applicant=applications.Applicant(
                name=applicant.name,
                id_number=applicant.id_number,
                phone="13912345678",
                hukou_community=applicant.community_id,
            ),
            data=applications.ApplicationData(
                living=True, care=True, bank_name="x", bank_account="6222020000001234567"
            ),
        )
        response = login(jiedao).post(f"/subsidies/applications/{app.pk}/", {"decision": "pass"})
        assert response.status_code == 403
        assert Application.objects.get(pk=app.pk).status == ApplicationStatus.SUBMITTED

    def test_another_districts_officer_gets_404(self, login, standards, applicant, shequ, jiedao, quju):
        from kangfu.core.models import Role
        from kangfu.core.tests.factories import UserFactory

        app = approve(applicant, shequ, jiedao, quju)
        outsider = UserFactory(username="dongli", role=Role.DISTRICT_ADMIN, jurisdiction_id="120110000000")
        client = login(outsider)
        assert client.get(f"/subsidies/applications/{app.pk}/").status_code == 404
        assert client.get(f"/subsidies/grants/{Grant.objects.first().pk}/").status_code == 404

    def test_the_payroll_pages_run_lock_and_export(
        self, login, standards, applicant, shequ, jiedao, quju, quju2, django_capture_on_commit_callbacks
    ):
        approve(applicant, shequ, jiedao, quju)
        # The run is a task queued when the start commits (the tests' backend runs it at once).
        with django_capture_on_commit_callbacks(execute=True):
            response = login(quju).post("/subsidies/payroll/", {"month": "2026-11-01"})
        run = payroll.Payroll.objects.get()
        assert response.status_code == 302
        assert "1500.00" in page(login(quju).get(f"/subsidies/payroll/{run.pk}/"))
        login(quju).post(f"/subsidies/payroll/{run.pk}/", {"action": "lock"})
        run.refresh_from_db()
        assert run.status == "draft"  # the one who computed cannot lock
        login(quju2).post(f"/subsidies/payroll/{run.pk}/", {"action": "lock"})
        run.refresh_from_db()
        assert run.status == "locked"
        sheet = load_workbook(
            io.BytesIO(login(quju2).get(f"/subsidies/payroll/{run.pk}/file.xlsx").content)
        ).active
        assert [c.value for c in sheet[2]][1] == applicant.name
        assert AuditEntry.objects.filter(action=AuditAction.EXPORT, object_type="subsidies.payroll").exists()

    def test_a_grant_change_from_the_page_is_recorded(self, login, standards, applicant, shequ, jiedao, quju):
        approve(applicant, shequ, jiedao, quju)
        grant = Grant.objects.get(kind="care")
        response = login(quju).post(
            f"/subsidies/grants/{grant.pk}/",
            {"action": "stop", "effective_month": "2026-11-01", "stop_reason": "moved", "reason": "迁往北京"},
        )
        assert response.status_code == 302
        grant.refresh_from_db()
        assert (grant.status, grant.end_month) == ("stopped", M(2026, 10, 1))

    def test_reading_a_grant_or_a_payroll_leaves_an_audit_row(
        self, login, standards, applicant, shequ, jiedao, quju
    ):
        approve(applicant, shequ, jiedao, quju)
        grant = Grant.objects.get(kind="care")
        run = payroll.payroll_run(actor=quju, district=grant.district, month=M(2026, 11, 1))
        client = login(quju)
        client.get(f"/subsidies/grants/{grant.pk}/")
        client.get(f"/subsidies/payroll/{run.pk}/")
        client.get(f"/subsidies/payroll/{run.pk}/", headers={"HX-Request": "true"})  # the poll is not a read
        views = AuditEntry.objects.filter(action=AuditAction.VIEW, actor=quju)
        assert sorted(views.values_list("object_type", "person_id"), key=str) == [
            ("subsidies.grant", applicant.pk),
            ("subsidies.payroll", None),
        ]

    def test_a_grants_page_lists_the_last_twelve_months_and_each_year_on_asking(
        self, login, standards, applicant, shequ, jiedao, quju
    ):
        approve(applicant, shequ, jiedao, quju)
        grant = Grant.objects.get(kind="care")
        run = payroll.payroll_run(actor=quju, district=grant.district, month=M(2026, 11, 1))
        # A grant paid since 2024 (here one arrears line for March 2024 stands in for its history).
        Grant.objects.filter(pk=grant.pk).update(start_month=M(2024, 1, 1))
        PayrollLine.objects.create(
            payroll=run,
            grant=grant,
            person_id=grant.person_id,
            street_id=grant.street_id,
            kind=grant.kind,
            month_for=M(2024, 3, 1),
            amount=Decimal("123.45"),
            line_type=LineType.ARREARS,
        )
        client = login(quju)

        def lines(query=""):
            response = client.get(f"/subsidies/grants/{grant.pk}/{query}")
            assert response.status_code == 200
            text = page(response)
            return text[text.index('id="lines"') :].split("</section>")[0]

        recent = lines()
        # Each row: the payroll's month, then the month paid for.
        assert "<td>2026-11</td>" in recent and "123.45" not in recent
        assert [f"?year={y}#lines" in recent for y in (2026, 2025, 2024, 2023)] == [True, True, True, False]
        older = lines("?year=2024")
        assert "<td>2024-03</td>" in older and "123.45" in older and "<td>2026-11</td>" not in older
        assert "2025 年没有发放" in lines("?year=2025")
        # A year the grant was not paid in, or no year at all, shows the last twelve months.
        assert lines("?year=1999") == recent
        assert lines("?year=20x6") == recent

    def test_only_the_city_administrator_edits_standards(self, login, standards, quju, city_admin):
        data = {"kind": "care", "grade_min": 3, "grade_max": 4, "amount": "100", "valid_from": "2027-01-01"}
        assert login(quju).post("/subsidies/standards/", data).status_code == 403
        assert login(city_admin).post("/subsidies/standards/", data).status_code == 302

    def test_every_page_renders(self, login, standards, applicant, shequ, jiedao, quju):
        approve(applicant, shequ, jiedao, quju)
        client = login(quju)
        for url in [
            "/subsidies/",
            "/subsidies/applications/",
            "/subsidies/grants/",
            "/subsidies/payroll/",
            "/subsidies/standards/",
            "/reports/subsidies/",
            "/reports/subsidies/?export=xlsx",
            f"/subsidies/grants/{Grant.objects.first().pk}/",
            f"/subsidies/applications/{Application.objects.first().pk}/",
        ]:
            assert client.get(url).status_code == 200, url


def test_a_debt_is_recorded_as_repaid_from_the_payroll_page(
    login, standards, applicant, shequ, jiedao, quju, quju2
):
    from kangfu.subsidies.models import Recovery
    from kangfu.subsidies.services import grants

    approve(applicant, shequ, jiedao, quju)
    payroll.payroll_lock(
        actor=quju2,
        payroll=payroll.payroll_run(
            actor=quju, district=Grant.objects.first().district, month=M(2026, 11, 1)
        ),
    )
    for grant in Grant.objects.all():
        grants.grant_stop(actor=quju, grant=grant, from_month=M(2026, 10, 1), stop_reason="death")
    with time_machine.travel(dt.datetime(2026, 12, 5, tzinfo=dt.UTC), tick=False):
        run = payroll.payroll_run(actor=quju, district=Grant.objects.first().district, month=M(2026, 12, 1))
        payroll.payroll_lock(actor=quju2, payroll=run)
        debt = Recovery.objects.get()
        client = login(quju)
        assert applicant.name in page(client.get("/subsidies/payroll/"))
        client.post(f"/subsidies/recoveries/{debt.pk}/repaid/", {"amount": "1000.00", "note": "家属退回"})
    debt.refresh_from_db()
    assert debt.outstanding == 0


def test_recipients_whose_certificate_expires_soon_are_listed(
    login, standards, applicant, shequ, jiedao, quju
):
    approve(applicant, shequ, jiedao, quju)
    applicant.certificates.update(expires_on=M(2027, 2, 28))
    assert applicant.name in page(login(jiedao).get("/subsidies/"))
    applicant.certificates.update(expires_on=M(2028, 2, 28))
    assert applicant.name not in page(login(jiedao).get("/subsidies/"))


@pytest.mark.parametrize("url", ["/subsidies/grants/", "/subsidies/applications/", "/subsidies/"])
def test_list_pages_cost_the_same_queries_however_many_rows(login, standards, shequ, jiedao, quju, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory

    def add(n):
        for _ in range(n):
            person = PersonFactory(community_code="120103001001")
            CertificateFactory(person=person, digits="42")
            IncomePeriodFactory(person=person)
            approve(person, shequ, jiedao, quju)

    client = login(quju)
    add(1)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    add(4)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(few) == len(many)


class TestLists:
    """Each list is a selector, a FilterSet, a table and a capped pager, as people's list is."""

    def test_the_grant_list_filters_by_name_and_answers_htmx_with_the_table_alone(
        self, login, standards, applicant, shequ, jiedao, quju
    ):
        approve(applicant, shequ, jiedao, quju)
        client = login(quju)
        assert applicant.name in page(client.get("/subsidies/grants/", {"q": "周"}))
        assert applicant.name not in page(client.get("/subsidies/grants/", {"q": "李"}))
        fragment = page(client.get("/subsidies/grants/", {"q": "周"}, HTTP_HX_REQUEST="true"))
        assert applicant.name in fragment and "<h1>" not in fragment

    def test_the_grant_list_opens_on_grants_being_paid_and_shows_all_when_asked(
        self, login, standards, applicant, shequ, jiedao, quju
    ):
        from kangfu.subsidies.services import grants

        approve(applicant, shequ, jiedao, quju, living=False)
        grants.grant_stop(
            actor=quju, grant=Grant.objects.get(), from_month=M(2026, 11, 1), stop_reason="death"
        )
        client = login(quju)
        assert applicant.name not in page(client.get("/subsidies/grants/"))
        assert applicant.name in page(client.get("/subsidies/grants/", {"status": ""}))

    def test_an_application_is_found_by_its_number_or_the_applicants_id_number(
        self, login, standards, applicant, shequ, jiedao, quju
    ):
        app = approve(applicant, shequ, jiedao, quju)
        client = login(quju)
        assert app.number in page(client.get("/subsidies/applications/", {"q": app.number}))
        assert app.number in page(client.get("/subsidies/applications/", {"q": applicant.id_number}))
        assert app.number not in page(client.get("/subsidies/applications/", {"status": "returned"}))

    def test_the_payroll_list_costs_the_same_queries_however_many_months(
        self, login, standards, applicant, shequ, jiedao, quju, quju2
    ):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        approve(applicant, shequ, jiedao, quju)
        district = Grant.objects.first().district
        client = login(quju)
        payroll.payroll_lock(
            actor=quju2, payroll=payroll.payroll_run(actor=quju, district=district, month=M(2026, 9, 1))
        )
        with CaptureQueriesContext(connection) as few:
            client.get("/subsidies/payroll/")
        for month in (M(2026, 10, 1), M(2026, 11, 1)):
            payroll.payroll_lock(
                actor=quju2, payroll=payroll.payroll_run(actor=quju, district=district, month=month)
            )
        with CaptureQueriesContext(connection) as many:
            client.get("/subsidies/payroll/")
        assert len(few) == len(many)


def test_the_citizens_street_list_names_each_street_with_its_district(client, db):
    """Tianjin has two 海滨街道 (滨海新区 and another district): a bare list of 299 names does not say
    which is which, so each street is offered under and with its district."""
    from kangfu.core.models import Region, RegionLevel

    body = client.get("/public/subsidies/apply/").content.decode()
    same = Region.objects.filter(level=RegionLevel.STREET, name="海滨街道", successor__isnull=True)
    assert same.count() >= 2
    for street in same:
        district = Region.objects.get(code=street.code[:6].ljust(12, "0"))
        assert f'value="{street.code}">{district.name} 海滨街道<' in body
    assert "<optgroup" in body


def test_month_fields_take_what_the_month_picker_sends():
    """A month is picked as a month (`<input type="month">` posts 2026-11) and stored as its first day;
    a full date still reads as its month."""
    from kangfu.subsidies.forms import PayrollRunForm, StandardForm

    assert 'type="month"' in str(PayrollRunForm()["month"])
    for posted in ("2026-11", "2026-11-17", "2026年11月"):
        form = PayrollRunForm({"month": posted})
        assert form.is_valid() and form.cleaned_data["month"] == dt.date(2026, 11, 1), posted
    form = StandardForm(
        {"kind": "care", "grade_min": 1, "grade_max": 2, "amount": "80", "valid_from": "2027-13"}
    )
    assert not form.is_valid() and "valid_from" in form.errors
