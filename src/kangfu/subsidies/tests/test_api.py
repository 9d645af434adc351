"""The 两项补贴 API: the pages' scoping, FilterSets, masking, audit and services, with the API's error
shapes (400 with errors, 403, 404 outside the caller's area, 409 when someone acted first)."""

import datetime as dt
import json

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kangfu.core.ids import mask_account, mask_id_number
from kangfu.core.models import AuditAction, AuditEntry, Role
from kangfu.core.services import api_token_create
from kangfu.core.tests.factories import UserFactory
from kangfu.subsidies.models import Application, ApplicationStatus, Grant, Payroll, PayrollStatus, Standard
from kangfu.subsidies.services import applications, payroll
from kangfu.subsidies.tests.factories import BANK_ACCOUNT, approve, submit

pytestmark = pytest.mark.django_db
M = dt.date


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def api(client):
    def as_user(user):
        token = api_token_create(actor=None, user=user, name="测试")

        def call(method, path, payload=None, **params):
            kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
            if payload is not None:
                kwargs.update(data=json.dumps(payload), content_type="application/json")
            elif params:
                kwargs["data"] = params
            return getattr(client, method)(f"/api/v1/subsidies{path}", **kwargs)

        return call

    return as_user


@pytest.fixture
def other_street(db):
    """A street officer of 河西's 下瓦房街道: same district, another street."""
    return UserFactory(username="xiawafang", role=Role.STREET_OFFICER, jurisdiction_id="120103002000")


@pytest.fixture
def filed(standards, applicant, shequ):
    """周申请's application, accepted by the community, waiting for the street."""
    app = submit(applicant)
    return applications.application_decide(actor=shequ, application=app, decision="pass", opinion="材料齐全")


def test_the_openapi_document_lists_the_subsidy_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/subsidies/applications",
        "/api/v1/subsidies/applications/{application_id}/decision",
        "/api/v1/subsidies/grants",
        "/api/v1/subsidies/payrolls/{payroll_id}",
        "/api/v1/subsidies/standards",
    ):
        assert path in paths, path


class TestApplications:
    def test_a_street_officer_sees_their_streets_applications_and_not_anothers(
        self, api, filed, jiedao, other_street
    ):
        mine = api(jiedao)("get", "/applications").json()
        assert [a["number"] for a in mine["items"]] == [filed.number]
        theirs = api(other_street)
        assert theirs("get", "/applications").json() == {"count": 0, "count_capped": False, "items": []}
        assert theirs("get", f"/applications/{filed.pk}").status_code == 404

    def test_id_numbers_phones_and_bank_accounts_are_masked(self, api, filed, applicant, jiedao):
        call = api(jiedao)
        listed = call("get", "/applications").json()["items"][0]
        assert listed["id_number"] == mask_id_number(applicant.id_number)
        detail = call("get", f"/applications/{filed.pk}").json()
        assert detail["id_number"] == mask_id_number(applicant.id_number)
        assert detail["bank_account"] == mask_account(BANK_ACCOUNT)
        assert applicant.id_number not in json.dumps(detail) and BANK_ACCOUNT not in json.dumps(detail)
        assert detail["phone"] != "13912345678"

    def test_reading_an_application_is_audited_as_an_api_read(self, api, filed, jiedao):
        api(jiedao)("get", f"/applications/{filed.pk}")
        entry = AuditEntry.objects.get(action=AuditAction.VIEW, object_type="subsidies.application")
        assert (entry.person_id, entry.channel) == (filed.person_id, "api")

    def test_the_list_filters_are_the_pages_filters(self, api, filed, applicant, quju):
        call = api(quju)
        assert call("get", "/applications", status="community").json()["count"] == 1
        assert call("get", "/applications", status="approved").json()["count"] == 0
        assert call("get", "/applications", q=applicant.id_number).json()["count"] == 1
        assert call("get", "/applications", step="street").json()["count"] == 1

    @pytest.mark.parametrize(
        "params", [{"status": "nonsense"}, {"applied_from": "not-a-day"}, {"kind": "pension"}]
    )
    def test_a_filter_value_the_list_cannot_read_is_a_400(self, api, filed, jiedao, params):
        response = api(jiedao)("get", "/applications", **params)
        assert response.status_code == 400
        assert list(response.json()["errors"]) == list(params)

    def test_a_double_click_on_a_decision_is_a_409_and_decides_once(self, api, filed, jiedao):
        call = api(jiedao)
        decision = {"decision": "pass", "opinion": "同意", "version": filed.version}
        first = call("post", f"/applications/{filed.pk}/decision", decision)
        assert first.status_code == 200
        assert first.json()["status"] == ApplicationStatus.STREET_REVIEWED
        second = call("post", f"/applications/{filed.pk}/decision", decision)
        assert second.status_code == 409
        assert second.json()["detail"] == applications.TAKEN
        assert filed.steps.filter(step="street").count() == 1

    def test_deciding_at_a_step_that_is_not_yours_is_a_403(self, api, filed, quju):
        response = api(quju)("post", f"/applications/{filed.pk}/decision", {"decision": "pass"})
        assert response.status_code == 403
        assert Application.objects.get(pk=filed.pk).status == ApplicationStatus.COMMUNITY_ACCEPTED

    def test_a_return_without_a_reason_is_a_400_on_the_field(self, api, filed, jiedao):
        response = api(jiedao)("post", f"/applications/{filed.pk}/decision", {"decision": "return"})
        assert response.status_code == 400
        assert response.json()["errors"] == {"opinion": [applications.NEEDS_OPINION]}

    def test_an_unknown_decision_is_a_400(self, api, filed, jiedao):
        response = api(jiedao)("post", f"/applications/{filed.pk}/decision", {"decision": "maybe"})
        assert response.status_code == 400
        assert response.json()["errors"] == {"decision": [applications.BAD_DECISION]}

    def test_the_community_files_at_the_counter_and_the_street_may_not(
        self, api, standards, applicant, shequ, jiedao
    ):
        payload = {
            "name": applicant.name,
            "id_number": applicant.id_number,
            "phone": "13912345678",
            "hukou_community": applicant.community_id,
            "care": True,
            "bank_name": "工商银行",
            "bank_account": BANK_ACCOUNT,
        }
        assert api(jiedao)("post", "/applications", payload).status_code == 403
        created = api(shequ)("post", "/applications", payload)
        assert created.status_code == 201
        assert Application.objects.get().channel == "counter"
        again = api(shequ)("post", "/applications", payload)
        assert again.status_code == 400
        assert created.json()["number"] in again.json()["detail"]

    def test_bad_input_is_reported_per_field_and_nothing_is_filed(self, api, standards, applicant, shequ):
        response = api(shequ)(
            "post",
            "/applications",
            {
                "name": applicant.name,
                "id_number": applicant.id_number,
                "phone": "123",
                "hukou_community": applicant.community_id,
                "bank_name": "工商银行",
                "bank_account": "12",
            },
        )
        assert response.status_code == 400
        assert {"kinds", "bank_account", "phone"} <= set(response.json()["errors"])
        assert not Application.objects.exists()


class TestGrants:
    def test_grants_are_scoped_masked_and_open_on_those_being_paid(
        self, api, standards, applicant, shequ, jiedao, quju, other_street
    ):
        from kangfu.subsidies.services import grants

        approve(applicant, shequ, jiedao, quju)
        grants.grant_stop(
            actor=quju, grant=Grant.objects.get(kind="care"), from_month=M(2026, 11, 1), stop_reason="death"
        )
        call = api(jiedao)
        paid = call("get", "/grants").json()
        assert [g["kind"] for g in paid["items"]] == ["living"]
        assert paid["items"][0]["bank_account"] == mask_account(BANK_ACCOUNT)
        assert call("get", "/grants", status="").json()["count"] == 2
        assert api(other_street)("get", "/grants", status="").json()["count"] == 0
        grant = Grant.objects.get(kind="living")
        assert api(other_street)("get", f"/grants/{grant.pk}").status_code == 404
        with CaptureQueriesContext(connection) as queries:
            detail = call("get", f"/grants/{grant.pk}").json()
        assert [p["grade"] for p in detail["periods"]] == [2]
        assert [c["action"] for c in detail["changes"]] == ["start"]
        # The detail gives no lines, so it reads none: on PostgreSQL that visits every payroll's table.
        assert not [q["sql"] for q in queries.captured_queries if "subsidies_payrollline" in q["sql"]]


class TestPayrolls:
    def test_a_run_started_through_the_api_is_the_pages_run(
        self, api, standards, applicant, shequ, jiedao, quju, quju2, django_capture_on_commit_callbacks
    ):
        approve(applicant, shequ, jiedao, quju)
        with django_capture_on_commit_callbacks() as queued:
            started = api(quju)("post", "/payrolls", {"month": "2026-11-01"})
        assert started.status_code == 202
        assert (started.json()["status"], started.json()["busy"]) == (PayrollStatus.RUNNING, True)
        assert api(quju2)("post", "/payrolls", {"month": "2026-11-01"}).status_code == 409
        queued[0]()
        run = Payroll.objects.get()
        detail = api(quju)("get", f"/payrolls/{run.pk}").json()
        assert (detail["status"], detail["busy"], detail["total"]) == ("draft", False, "1500.00")
        assert detail["by_street"] == [
            {"street": "大营门街道", "living": "900.00", "care": "600.00", "lines": 6}
        ]
        with pytest.raises(Exception, match="计算人不能锁定"):
            payroll.payroll_lock(actor=quju, payroll=run)

    def test_payrolls_are_the_districts_business(self, api, standards, applicant, shequ, jiedao, quju):
        approve(applicant, shequ, jiedao, quju)
        run = payroll.payroll_run(actor=quju, district=Grant.objects.first().district, month=M(2026, 11, 1))
        assert api(jiedao)("get", "/payrolls").status_code == 403
        assert api(jiedao)("post", "/payrolls", {"month": "2026-11-01"}).status_code == 403
        assert [p["id"] for p in api(quju)("get", "/payrolls", status="draft").json()["items"]] == [run.pk]
        assert api(quju)("get", "/payrolls", status="paid").status_code == 400

    def test_a_future_month_is_a_400_on_the_field(self, api, standards, quju):
        response = api(quju)("post", "/payrolls", {"month": "2027-01-01"})
        assert response.status_code == 400
        assert response.json()["errors"] == {"month": [payroll.FUTURE_MONTH]}


class TestStandards:
    def test_anyone_who_reads_the_registry_reads_the_standards(self, api, standards, jiedao):
        rows = api(jiedao)("get", "/standards", kind="care", on="2026-11-01").json()
        assert rows and {r["kind"] for r in rows} == {"care"}

    def test_only_the_role_that_sets_standards_creates_and_ends_them(self, api, standards, quju, city_admin):
        payload = {
            "kind": "care",
            "grade_min": 3,
            "grade_max": 4,
            "amount": "100",
            "valid_from": "2027-01-01",
        }
        assert api(quju)("post", "/standards", payload).status_code == 403
        created = api(city_admin)("post", "/standards", payload)
        assert created.status_code == 201
        standard = Standard.objects.get(pk=created.json()["id"])
        assert (standard.region_id, standard.amount) == ("120100000000", 100)
        ended = api(city_admin)("patch", f"/standards/{standard.pk}", {"valid_to": "2027-06-01"})
        assert ended.status_code == 200
        assert ended.json()["valid_to"] == "2027-06-01" and ended.json()["amount"] == "100.00"

    def test_an_overlapping_or_unknown_standard_is_a_400(self, api, standards, city_admin):
        call = api(city_admin)
        payload = {
            "kind": "care",
            "grade_min": 1,
            "grade_max": 2,
            "amount": "300",
            "valid_from": "2026-01-01",
        }
        overlapping = call("post", "/standards", payload)
        assert overlapping.status_code == 400 and "valid_from" in overlapping.json()["errors"]
        unknown = call("post", "/standards", {**payload, "kind": "pension", "valid_from": "2030-01-01"})
        assert unknown.status_code == 400 and "kind" in unknown.json()["errors"]
