"""Importing the registry: people with certificates, income periods and guardians."""

from __future__ import annotations

import datetime as dt

import pytest

from kangfu.core.models import AuditEntry
from kangfu.golive.kinds import CHANGED, NEW, UNCHANGED
from kangfu.golive.models import JobStatus
from kangfu.golive.tests.helpers import check, csv_bytes, lines_with_errors, run, xlsx_bytes
from kangfu.people.models import CertificateStatus, DisabilityCertificate, Guardian, IncomePeriod, Person
from kangfu.people.tests.factories import JIUJIANGLU, PersonFactory, make_id_number

pytestmark = pytest.mark.django_db

HEADER = [
    "公民身份号码",
    "姓名",
    "社区代码",
    "联系电话",
    "残疾证号",
    "残疾类别",
    "残疾等级",
    "发证日期",
    "有效期至",
    "低保类型",
    "纳入日期",
    "监护人",
    "与本人关系",
]


def _row(n: int, **over) -> list[object]:
    id_number = make_id_number(n, county="120103")
    row = {
        "id": id_number,
        "name": f"导入人{n}",
        "community": JIUJIANGLU,
        "phone": f"1390000{n:04d}",
        "cert": id_number + "43",
        "category": "肢体",
        "grade": "三级",
        "issued": "2020-03-01",
        "expires": "2030-03-01",
        "income": "低保",
        "income_start": "2021/5/1",
        "guardian": "",
        "relation": "",
    }
    row.update(over)
    return list(row.values())


def test_a_people_file_as_the_certificate_system_exports_it_is_imported_with_certificates_and_income():
    content = csv_bytes(
        [
            ["残疾人基本信息导出（2026年11月）"],
            [],
            HEADER,
            _row(1),
            _row(2, guardian="李四", relation="父亲"),
        ],
        encoding="gb18030",
    )
    job = run("people", content)
    assert job.status == JobStatus.DONE, job.message
    assert job.counts == {NEW: 2, CHANGED: 0, UNCHANGED: 0}
    person = Person.objects.get(id_number_hash__isnull=False, name="导入人1")
    cert = DisabilityCertificate.objects.get(person=person)
    assert (cert.category, cert.grade, cert.status) == (4, 3, CertificateStatus.VALID)
    assert cert.expires_on == dt.date(2030, 3, 1)
    period = IncomePeriod.objects.get(person=person)
    assert (period.status, period.start_date, period.end_date) == ("dibao", dt.date(2021, 5, 1), None)
    assert Guardian.objects.get(person__name="导入人2").relation == "parent"
    assert person.street_id == "120103001000" and person.district_id == "120103000000"


def test_nothing_is_stored_before_the_import_is_confirmed():
    job = check("people", csv_bytes([HEADER, _row(1)]))
    assert job.status == JobStatus.PREVIEW
    assert job.counts[NEW] == 1
    assert not Person.objects.exists()


def test_the_same_file_twice_changes_nothing():
    content = csv_bytes([HEADER, _row(1), _row(2)])
    run("people", content)
    about_people = AuditEntry.objects.filter(person_id__isnull=False).count()
    job = run("people", content)
    assert job.counts == {NEW: 0, CHANGED: 0, UNCHANGED: 2}
    assert Person.objects.count() == 2
    assert DisabilityCertificate.objects.count() == 2
    assert IncomePeriod.objects.count() == 2
    assert AuditEntry.objects.filter(person_id__isnull=False).count() == about_people


def test_an_unchanged_file_checked_line_by_line_finds_every_line_unchanged():
    from kangfu.golive import services

    content = csv_bytes([HEADER, _row(1), _row(2)])
    run("people", content)
    again = services.job_recheck(actor=None, job=check("people", content))
    job = services.job_apply(services.job_confirm(actor=None, job=services.job_check(again)))
    assert job.counts == {NEW: 0, CHANGED: 0, UNCHANGED: 2}


def test_the_same_file_is_rechecked_line_by_line_on_request_and_restores_what_was_edited():
    from kangfu.golive import services

    content = csv_bytes([HEADER, _row(1)])
    run("people", content)
    person = Person.objects.get()
    Person.objects.filter(pk=person.pk).update(address="临时地址", community_id="120103001004")
    again = check("people", content)
    assert again.status == JobStatus.DONE and "相同" in again.message
    job = services.job_apply(
        services.job_confirm(actor=None, job=services.job_check(services.job_recheck(actor=None, job=again)))
    )
    assert job.counts == {NEW: 0, CHANGED: 1, UNCHANGED: 0}
    person.refresh_from_db()
    assert person.community_id == JIUJIANGLU


def test_a_changed_file_updates_what_changed_with_an_audit_row():
    run("people", csv_bytes([HEADER, _row(1), _row(2)]))
    person = Person.objects.get(name="导入人1")
    job = run("people", csv_bytes([HEADER, _row(1, phone="13811112222"), _row(2)]))
    assert job.counts == {NEW: 0, CHANGED: 1, UNCHANGED: 1}
    person.refresh_from_db()
    assert person.phone == "13811112222"
    assert person.version == 2
    assert AuditEntry.objects.filter(person_id=person.pk, summary="导入更新人员信息").exists()


def test_a_known_id_number_is_the_same_person_never_a_second_record():
    known = PersonFactory(name="张三", n=7)
    job = run("people", csv_bytes([HEADER, _row(7, name="张三")]))
    assert job.counts[CHANGED] + job.counts[UNCHANGED] == 1
    assert Person.objects.filter(id_number_hash=known.id_number_hash).count() == 1
    assert DisabilityCertificate.objects.filter(person=known).count() == 1


def test_bad_lines_are_reported_by_line_and_the_good_ones_imported():
    id_number = make_id_number(3)
    rows = [
        HEADER,
        _row(1),
        _row(2, id="120103197011210099"),  # wrong check character
        _row(3, cert=make_id_number(4) + "43"),  # another person's certificate
        _row(5, community="999999999999"),
        _row(1),  # the same person again
        _row(6, grade="五级"),
        ["", "", "", "", "", "", "", "", "", "", "", "", ""],
        _row(8, income="困难户"),
        [3.40524198001010e17, "科学计数", JIUJIANGLU],
    ]
    job = run("people", csv_bytes(rows))
    errors = lines_with_errors(job)
    assert job.counts[NEW] == 1
    assert set(errors) == {3, 4, 5, 6, 7, 9, 10}
    assert "校验位" in errors[3]
    assert "前18位" in errors[4]
    assert "999999999999" in errors[5]
    assert "第 2 行" in errors[6]
    assert "五级" in errors[7]
    assert "困难户" in errors[9]
    assert "Excel" in errors[10]
    assert job.blank_lines == 1
    assert id_number  # the person of line 4 was never created
    assert Person.objects.count() == 1


def test_an_xlsx_file_with_a_title_row_reads_the_same():
    job = run("people", xlsx_bytes([["2026年残疾人名册"], HEADER, _row(1)]), name="名册.xlsx")
    assert job.status == JobStatus.DONE
    assert job.counts[NEW] == 1


def test_a_person_outside_the_importing_clerks_jurisdiction_is_refused(district_admin):
    huaming = "120110006001"
    job = run("people", csv_bytes([HEADER, _row(1), _row(2, community=huaming)]), actor=district_admin)
    errors = lines_with_errors(job)
    assert job.counts[NEW] == 1
    assert "管辖范围" in errors[3]


def test_an_older_certificate_in_the_certificates_file_becomes_history():
    run("people", csv_bytes([HEADER, _row(1, cert=make_id_number(1) + "43", issued="2020-03-01")]))
    older = make_id_number(1) + "44"
    job = run(
        "certificates",
        csv_bytes([["身份证号", "残疾人证号", "发证日期"], [make_id_number(1), older, "2012-01-05"]]),
    )
    assert job.counts[NEW] == 1
    certs = {c.grade: c.status for c in DisabilityCertificate.objects.all()}
    assert certs == {3: CertificateStatus.VALID, 4: CertificateStatus.REPLACED}


def test_a_newer_certificate_replaces_the_valid_one():
    run("people", csv_bytes([HEADER, _row(1, issued="2018-03-01")]))
    newer = make_id_number(1) + "42"
    run(
        "certificates",
        csv_bytes([["身份证号", "残疾人证号", "发证日期"], [make_id_number(1), newer, "2024-06-01"]]),
    )
    valid = DisabilityCertificate.objects.get(status=CertificateStatus.VALID)
    assert valid.grade == 2
    assert DisabilityCertificate.objects.get(grade=3).status == CertificateStatus.REPLACED


def test_a_change_of_income_status_ends_the_open_period_the_day_before():
    run("people", csv_bytes([HEADER, _row(1)]))
    job = run(
        "income",
        csv_bytes([["身份证号", "收入状况", "起始日期"], [make_id_number(1), "低保边缘", "2024-01-01"]]),
    )
    assert job.counts[NEW] == 1
    periods = list(
        IncomePeriod.objects.order_by("start_date").values_list("status", "start_date", "end_date")
    )
    assert periods == [
        ("dibao", dt.date(2021, 5, 1), dt.date(2023, 12, 31)),
        ("dibao_edge", dt.date(2024, 1, 1), None),
    ]


def test_each_imported_person_has_one_audit_entry_naming_everything_the_line_did():
    run("people", csv_bytes([HEADER, _row(1, guardian="李四", relation="母亲")]))
    person = Person.objects.get()
    entries = AuditEntry.objects.filter(person_id=person.pk)
    assert entries.count() == 1
    summary = entries.get().summary
    assert "导入登记人员" in summary and "残疾人证" in summary and "低保" in summary and "监护人" in summary
    assert entries.get().changes["people.person:" + str(person.pk)]["id_number"] == "（已填写）"
