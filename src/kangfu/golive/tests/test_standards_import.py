"""Importing subsidy standards: one line per standard, saved through the standards service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from kangfu.core.models import AuditAction, AuditEntry, Region
from kangfu.golive.kinds import CHANGED, NEW, UNCHANGED
from kangfu.golive.kinds.standards import NOT_CITY_OR_DISTRICT
from kangfu.golive.models import JobStatus
from kangfu.golive.tests.helpers import check, csv_bytes, lines_with_errors, run
from kangfu.subsidies.models import Kind, Standard
from kangfu.subsidies.services.standards import OVERLAP, standard_save

pytestmark = pytest.mark.django_db

TIANJIN = "120100000000"
HEXI = "120103000000"
HEADER = ["区划", "补贴类别", "等级", "月标准（元）", "起始月份", "截止月份", "依据"]
TWO_COLUMNS = ["适用区划", "补贴类型", "等级自", "等级至", "月标准", "起始年月", "截止年月", "文件依据"]


def _rows() -> list[list[object]]:
    return [
        HEADER,
        ["天津市", "生活补贴", "1-2", "300", "2018-01", "", "津民发〔2018〕"],
        ["120100", "困难残疾人生活补贴", "三至四级", "160.00", "2018年1月", "", "津民发〔2018〕"],
        ["天津市", "护理补贴", "一至二级", "200", "201801", "", ""],
    ]


def _values(standard: Standard) -> tuple:
    return (
        standard.region_id,
        standard.kind,
        standard.grade_min,
        standard.grade_max,
        standard.amount,
        standard.valid_from,
        standard.valid_to,
    )


def test_a_standards_file_is_saved_line_by_line_with_an_audit_row_each(city_admin):
    job = run("standards", csv_bytes(_rows()), actor=city_admin)
    assert job.status == JobStatus.DONE, job.message
    assert job.counts == {NEW: 3, CHANGED: 0, UNCHANGED: 0}
    assert sorted(_values(s) for s in Standard.objects.all()) == [
        (TIANJIN, Kind.CARE, 1, 2, Decimal("200.00"), dt.date(2018, 1, 1), None),
        (TIANJIN, Kind.LIVING, 1, 2, Decimal("300.00"), dt.date(2018, 1, 1), None),
        (TIANJIN, Kind.LIVING, 3, 4, Decimal("160.00"), dt.date(2018, 1, 1), None),
    ]
    assert AuditEntry.objects.filter(object_type="subsidies.standard", action=AuditAction.CREATE).count() == 3


@pytest.mark.parametrize(
    ("low", "high"),
    [("一级", "二级"), ("1", "2"), ("1级", "二")],
)
def test_grades_are_read_as_one_to_four_in_two_columns(city_admin, low, high):
    content = csv_bytes(
        [TWO_COLUMNS, ["和平区", "护理补贴", low, high, "220", "2024-01", "2024-12", "区文件"]]
    )
    job = run("standards", content, actor=city_admin)
    assert job.counts[NEW] == 1, job.errors
    standard = Standard.objects.get()
    assert _values(standard) == (
        "120101000000",
        Kind.CARE,
        1,
        2,
        Decimal("220.00"),
        dt.date(2024, 1, 1),
        dt.date(2024, 12, 1),
    )
    assert standard.note == "区文件"


@pytest.mark.parametrize(("grades", "expected"), [("1-2", (1, 2)), ("一至二级", (1, 2)), ("三级", (3, 3))])
def test_grades_are_read_from_one_column(city_admin, grades, expected):
    job = run(
        "standards",
        csv_bytes([HEADER, ["天津市", "生活补贴", grades, "300", "2018-01", "", ""]]),
        actor=city_admin,
    )
    assert job.counts[NEW] == 1, job.errors
    assert (Standard.objects.get().grade_min, Standard.objects.get().grade_max) == expected


def test_the_same_standards_file_twice_changes_nothing(city_admin):
    content = csv_bytes(_rows())
    run("standards", content, actor=city_admin)
    before = AuditEntry.objects.filter(object_type="subsidies.standard").count()
    job = run("standards", content, actor=city_admin)
    assert job.counts == {NEW: 0, CHANGED: 0, UNCHANGED: 3}
    assert Standard.objects.count() == 3
    assert AuditEntry.objects.filter(object_type="subsidies.standard").count() == before


def test_an_overlapping_period_is_refused_with_the_message_of_the_standards_page(city_admin):
    standard_save(
        actor=None,
        standard=None,
        region=Region.objects.get(code=TIANJIN),
        kind=Kind.LIVING,
        grade_min=1,
        grade_max=2,
        amount=Decimal("300.00"),
        valid_from=dt.date(2018, 1, 1),
    )
    job = check(
        "standards",
        csv_bytes([HEADER, ["天津市", "生活补贴", "2", "350", "2024-01", "", ""]]),
        actor=city_admin,
    )
    assert lines_with_errors(job) == {2: OVERLAP.format(grades="1–2", start="2018-01")}


def test_one_line_may_end_a_standard_while_the_next_starts_a_new_amount(city_admin):
    run("standards", csv_bytes(_rows()), actor=city_admin)
    rows = _rows()
    rows[1][5] = "2024-12"
    rows.append(["天津市", "生活补贴", "1-2", "350", "2025-01", "", "新文件"])
    job = run("standards", csv_bytes(rows), actor=city_admin)
    assert job.status == JobStatus.DONE, job.message
    assert job.counts == {NEW: 1, CHANGED: 1, UNCHANGED: 2}
    living = Standard.objects.filter(kind=Kind.LIVING, grade_min=1).order_by("valid_from")
    assert [(s.amount, s.valid_from, s.valid_to) for s in living] == [
        (Decimal("300.00"), dt.date(2018, 1, 1), dt.date(2024, 12, 1)),
        (Decimal("350.00"), dt.date(2025, 1, 1), None),
    ]
    assert AuditEntry.objects.filter(object_type="subsidies.standard", action=AuditAction.UPDATE).count() == 1


def test_overlapping_lines_of_one_file_keep_the_first(city_admin):
    rows = [*_rows(), ["天津市", "生活补贴", "2", "350", "2024-01", "", ""]]
    job = check("standards", csv_bytes(rows), actor=city_admin)
    assert lines_with_errors(job) == {5: "与第 2 行（1–2级，2018-01 起）的期间重叠。"}
    assert job.counts[NEW] == 3


def test_a_street_or_a_region_outside_the_jurisdiction_is_refused(city_admin):
    rows = [
        HEADER,
        ["120103001000", "生活补贴", "1-2", "300", "2018-01", "", ""],
        ["130100", "生活补贴", "1-2", "300", "2018-01", "", ""],
        ["天津市", "生活补贴", "五级", "300", "2018-01", "", ""],
    ]
    job = check("standards", csv_bytes(rows), actor=city_admin)
    errors = lines_with_errors(job)
    assert errors[2] == NOT_CITY_OR_DISTRICT.format(value="120103001000")
    assert set(errors) == {2, 3, 4}


def test_a_district_admin_cannot_import_standards(district_admin):
    with pytest.raises(PermissionDenied):
        check("standards", csv_bytes(_rows()), actor=district_admin)


def test_standards_are_edited_in_the_admin_through_the_same_service(client, city_admin):
    city_admin.is_staff = city_admin.is_superuser = True
    city_admin.save()
    client.force_login(city_admin)
    form = {
        "region": TIANJIN,
        "kind": Kind.LIVING,
        "grade_min": 1,
        "grade_max": 2,
        "amount": "300.00",
        "valid_from": "2018-01-01",
        "valid_to": "",
        "note": "",
    }
    assert client.post("/admin/subsidies/standard/add/", form).status_code == 302
    standard = Standard.objects.get()
    assert standard.created_by == city_admin
    assert AuditEntry.objects.filter(object_id=str(standard.pk), action=AuditAction.CREATE).exists()
    clash = client.post(
        "/admin/subsidies/standard/add/", form | {"valid_from": "2024-01-01", "amount": "350"}
    )
    assert clash.status_code == 200
    assert OVERLAP.format(grades="1–2", start="2018-01") in clash.content.decode()
    assert Standard.objects.count() == 1
    assert client.get(f"/admin/subsidies/standard/{standard.pk}/delete/").status_code == 403
