"""The go-live pages and API: who may import what, and the flow from upload to import."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from kangfu.core.models import Role
from kangfu.core.services import api_token_create
from kangfu.golive.models import ImportJob, JobStatus
from kangfu.golive.tests.helpers import csv_bytes
from kangfu.people.models import Person
from kangfu.people.tests.factories import JIUJIANGLU, make_id_number

pytestmark = pytest.mark.django_db

HEADER = ["身份证号", "姓名", "居住社区"]


def _file(*rows) -> SimpleUploadedFile:
    return SimpleUploadedFile("人员.csv", csv_bytes([HEADER, *rows]), content_type="text/csv")


def test_a_district_admin_uploads_checks_and_confirms_a_people_file(client, district_admin):
    client.force_login(district_admin)
    good = [make_id_number(1), "王一", JIUJIANGLU]
    bad = ["12010319701121001", "王二", JIUJIANGLU]
    response = client.post("/golive/", {"kind": "people", "file": _file(good, bad)})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == JobStatus.PREVIEW
    page = client.get(f"/golive/jobs/{job.pk}/").content.decode()
    assert "身份证号应为18位" in page and "确认导入" in page
    assert not Person.objects.exists()
    client.post(f"/golive/jobs/{job.pk}/confirm/")
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert list(Person.objects.values_list("name", flat=True)) == ["王一"]
    errors = client.get(f"/golive/jobs/{job.pk}/errors.csv").content.decode("utf-8-sig")
    assert "3,身份证号应为18位" in errors


def test_a_double_click_on_confirm_imports_once(client, district_admin):
    client.force_login(district_admin)
    client.post("/golive/", {"kind": "people", "file": _file([make_id_number(1), "王一", JIUJIANGLU])})
    job = ImportJob.objects.get()
    client.post(f"/golive/jobs/{job.pk}/confirm/")
    second = client.post(f"/golive/jobs/{job.pk}/confirm/", follow=True)
    assert "只有检查完毕、待确认的导入可以确认" in second.content.decode()
    assert Person.objects.count() == 1


def test_a_wrong_header_is_fixed_by_choosing_the_column(client, district_admin):
    client.force_login(district_admin)
    content = csv_bytes([["号码", "名字", "小区"], [make_id_number(1), "王一", JIUJIANGLU]])
    client.post("/golive/", {"kind": "people", "file": SimpleUploadedFile("x.csv", content)})
    job = ImportJob.objects.get()
    assert job.status == JobStatus.UPLOADED and "身份证号" in job.message
    client.post(
        f"/golive/jobs/{job.pk}/mapping/",
        {"header_line": 1, "id_number": "号码", "name": "名字", "community": "小区"},
    )
    job.refresh_from_db()
    assert job.status == JobStatus.PREVIEW and job.counts["new"] == 1


@pytest.mark.parametrize(("fixture", "status"), [("district_admin", 200), ("owner", 200), ("auditor", 403)])
def test_who_may_open_the_import_page(client, request, fixture, status):
    client.force_login(request.getfixturevalue(fixture))
    assert client.get("/golive/").status_code == status


def test_a_job_of_another_district_is_not_found(client, district_admin, outsider):
    client.force_login(district_admin)
    client.post("/golive/", {"kind": "people", "file": _file([make_id_number(1), "王一", JIUJIANGLU])})
    job = ImportJob.objects.get()
    client.force_login(outsider)
    assert client.get(f"/golive/jobs/{job.pk}/").status_code == 404
    assert client.post(f"/golive/jobs/{job.pk}/confirm/").status_code == 404


def test_a_street_officer_cannot_import_recipients(client, owner):
    client.force_login(owner)
    response = client.post("/golive/", {"kind": "recipients", "file": _file(), "live_from": "2027-01"})
    assert response.status_code == 400
    assert "recipients" not in response.content.decode().split("导入类别")[1].split("</select>")[0]


def test_the_reconciliation_page_answers_for_a_district(client, district_admin):
    client.force_login(district_admin)
    with time_machine.travel(dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC), tick=False):
        response = client.get("/golive/reconcile/", {"month": "2026-12"})
    assert response.status_code == 200
    assert "没有不同" in response.content.decode()


def test_the_api_takes_a_file_and_confirms_it(client, city_admin):
    token = api_token_create(actor=None, user=city_admin, name="交换")
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post(
        "/api/v1/golive/jobs",
        {"kind": "people", "file": _file([make_id_number(1), "王一", JIUJIANGLU])},
        headers=headers,
    )
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "preview" and job["counts"]["new"] == 1
    done = client.post(f"/api/v1/golive/jobs/{job['id']}/confirm", headers=headers)
    assert done.status_code == 202
    assert client.get(f"/api/v1/golive/jobs/{job['id']}", headers=headers).json()["status"] == "done"
    assert Person.objects.count() == 1


def test_the_api_refuses_a_role_without_import_rights(client, auditor):
    token = api_token_create(actor=None, user=auditor, name="x")
    response = client.get("/api/v1/golive/kinds", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_the_command_reports_by_line_and_confirms_the_valid_ones(tmp_path, capsys):
    path = tmp_path / "people.csv"
    path.write_bytes(
        csv_bytes([HEADER, [make_id_number(1), "王一", JIUJIANGLU], ["bad", "王二", JIUJIANGLU]])
    )
    call_command("import", "people", str(path))
    assert not Person.objects.exists()
    call_command("import", "people", str(path), "--confirm")
    out = capsys.readouterr().out
    assert "第 3 行" in out and "新增 1" in out
    assert Person.objects.count() == 1


def test_a_role_without_import_rights_does_not_see_the_menu_entry(client, auditor, district_admin):
    client.force_login(auditor)
    assert "上线迁移" not in client.get("/audit/").content.decode()
    client.force_login(district_admin)
    assert "上线迁移" in client.get("/people/").content.decode()


def test_roles_are_what_the_fixture_says(owner, district_admin):
    assert owner.role == Role.STREET_OFFICER and district_admin.role == Role.DISTRICT_ADMIN


def test_a_city_admin_gets_first_login_links_for_imported_accounts_once(client, city_admin):
    from kangfu.core.models import AuditAction, AuditEntry, User

    waiting = User.objects.create(
        username="new.clerk", role=Role.STREET_OFFICER, jurisdiction_id="120103001000"
    )
    waiting.set_unusable_password()
    waiting.save()
    client.force_login(city_admin)
    page = client.get("/golive/invites/").content.decode()
    assert "new.clerk" in page and "/accounts/first-login/" not in page
    answer = client.post("/golive/invites/", {"user": [waiting.pk]}).content.decode()
    assert "/accounts/first-login/" in answer
    assert AuditEntry.objects.filter(action=AuditAction.TOKEN_CREATE, object_id=str(waiting.pk)).exists()


def test_a_district_admin_cannot_make_first_login_links(client, district_admin):
    client.force_login(district_admin)
    assert client.get("/golive/invites/").status_code == 403


def test_the_import_list_and_a_report_take_the_same_queries_however_many_jobs_and_lines(
    client, district_admin
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(district_admin)

    def upload(n):
        rows = [[make_id_number(i), f"王{i}", JIUJIANGLU] for i in range(n)]
        client.post("/golive/", {"kind": "people", "file": _file(*rows)})
        return ImportJob.objects.latest("pk")

    small = upload(1)
    with CaptureQueriesContext(connection) as few:
        client.get("/golive/")
        client.get(f"/golive/jobs/{small.pk}/")
    big = upload(30)
    for _ in range(5):
        upload(2)
    with CaptureQueriesContext(connection) as many:
        client.get("/golive/")
        client.get(f"/golive/jobs/{big.pk}/")
    assert len(many) == len(few)
