"""`kangfu setup`: a new city's bureaus, policy, standards and first administrator."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from kangfu.core.models import AuditEntry, Organisation, OrganisationKind, Region, RegionLevel, Role, User
from kangfu.golive.models import ImportJob
from kangfu.golive.services.setup import BAD_LIVING, city_setup
from kangfu.golive.tests.helpers import csv_bytes
from kangfu.subsidies.models import Policy, Standard

pytestmark = pytest.mark.django_db

TIANJIN = "120100000000"


def _setup(**options):
    defaults = {
        "actor": None,
        "city": "天津市",
        "living": "dibao,dibao_edge",
        "care_extra": "5,6",
        "tianjin_defaults": True,
        "admin_username": "shi.admin",
        "admin_name": "张主任",
    }
    return city_setup(**(defaults | options))


def _state() -> tuple:
    return (
        sorted(Organisation.objects.values_list("region_id", "name", "kind")),
        list(Policy.objects.values()),
        sorted(
            Standard.objects.values_list(
                "region_id", "kind", "grade_min", "grade_max", "amount", "valid_from"
            )
        ),
        list(User.objects.values()),
        AuditEntry.objects.count(),
        ImportJob.objects.count(),
    )


def test_setup_on_an_empty_database_creates_bureaus_policy_standards_and_the_admin():
    report = _setup()
    bureau = Organisation.objects.get(region_id=TIANJIN)
    assert (bureau.name, bureau.kind) == ("天津市民政局", OrganisationKind.CIVIL_AFFAIRS)
    assert Organisation.objects.get(region_id="120101000000").name == "和平区民政局"
    districts = Region.objects.filter(level=RegionLevel.DISTRICT, code__startswith="1201").exclude(
        name__in=["塘沽区", "汉沽区", "大港区"]
    )
    assert Organisation.objects.filter(kind=OrganisationKind.CIVIL_AFFAIRS).count() == districts.count() + 1
    assert not Organisation.objects.filter(name="塘沽区民政局").exists()  # abolished in 2009
    policy = Policy.objects.get()
    assert (policy.region_id, policy.living_income_statuses, policy.care_extra_categories, policy.steps) == (
        TIANJIN,
        "dibao,dibao_edge",
        "5,6",
        "community,street,district",
    )
    assert sorted(Standard.objects.values_list("kind", "grade_min", "grade_max", "amount")) == [
        ("care", 1, 2, Decimal("200.00")),
        ("living", 1, 2, Decimal("300.00")),
        ("living", 3, 4, Decimal("160.00")),
    ]
    admin = User.objects.get(username="shi.admin")
    assert (admin.role, admin.jurisdiction_id, admin.organisation, admin.full_name) == (
        Role.CITY_ADMIN,
        TIANJIN,
        bureau,
        "张主任",
    )
    assert admin.is_superuser and not admin.has_usable_password()
    assert report.admin_link.startswith("http://127.0.0.1:8000/accounts/first-login/")
    # Every write has its row, written by the system.
    assert AuditEntry.objects.filter(object_type="core.organisation", actor__isnull=True).count() == (
        districts.count() + 1
    )
    for object_type in ("subsidies.policy", "subsidies.standard", "core.user"):
        assert AuditEntry.objects.filter(object_type=object_type, actor_username="").exists()


def test_setup_run_again_changes_nothing_and_leaves_no_trace():
    _setup(street_offices=True)
    before = _state()
    report = _setup(street_offices=True)
    assert _state() == before
    assert report.changes == 0 and report.admin_link == ""
    assert any("kangfu invite shi.admin" in line for line in report.lines)


def test_setup_without_policy_options_keeps_the_policy_the_city_has():
    _setup()
    Policy.objects.update(care_extra_categories="6")
    _setup(living=None, care_extra=None)
    assert Policy.objects.get().care_extra_categories == "6"


def test_setup_takes_standards_from_a_file_through_the_standards_import(tmp_path):
    path = tmp_path / "标准.csv"
    path.write_bytes(
        csv_bytes(
            [
                ["区划", "补贴类别", "等级", "月标准（元）", "起始月份"],
                ["1201", "生活补贴", "一至二级", "300", "2018-01"],
                ["和平区", "护理补贴", "1-2", "220", "2024-01"],
            ]
        )
    )
    _setup(tianjin_defaults=False, standards_file=path)
    assert sorted(Standard.objects.values_list("region_id", "amount")) == [
        ("120100000000", Decimal("300.00")),
        ("120101000000", Decimal("220.00")),
    ]
    assert ImportJob.objects.count() == 1
    before = _state()
    _setup(tianjin_defaults=False, standards_file=path)
    assert _state() == before


def test_a_standards_file_with_a_bad_line_sets_nothing_up(tmp_path):
    path = tmp_path / "standards.csv"
    path.write_bytes(
        csv_bytes(
            [
                ["区划", "补贴类别", "等级", "月标准（元）", "起始月份"],
                ["天津市", "生活补贴", "五级", "300", "2018-01"],
            ]
        )
    )
    with pytest.raises(ValidationError) as caught:
        _setup(tianjin_defaults=False, standards_file=path)
    assert "第 2 行" in caught.value.messages[0]
    assert (
        not Organisation.objects.exists() and not Policy.objects.exists() and not ImportJob.objects.exists()
    )


def test_setup_refuses_an_unknown_city_and_says_how_to_load_it():
    with pytest.raises(ValidationError) as caught:
        _setup(city="990100")
    assert "kangfu regions import" in caught.value.messages[0]
    assert not Organisation.objects.exists()


def test_setup_refuses_a_city_whose_streets_are_not_loaded():
    # 石家庄市 comes with the national table of counties, which stops above the streets.
    with pytest.raises(ValidationError) as caught:
        _setup(city="130100", tianjin_defaults=False)
    assert "--prefix 1301" in caught.value.messages[0]
    assert not Organisation.objects.exists()


def test_setup_refuses_a_living_subsidy_policy_without_dibao():
    with pytest.raises(ValidationError) as caught:
        _setup(living="dibao_edge")
    assert caught.value.messages == [BAD_LIVING.format(value="dibao_edge")]


def test_the_setup_command_prints_the_admin_link_and_a_dry_run_writes_nothing():
    out = io.StringIO()
    call_command(
        "setup",
        "--city",
        "1201",
        "--tianjin-defaults",
        "--admin",
        "shi.admin",
        "--admin-name",
        "张主任",
        "--dry-run",
        stdout=out,
    )
    assert "试运行" in out.getvalue() and "first-login" not in out.getvalue()
    assert not Organisation.objects.exists() and not AuditEntry.objects.exists()
    out = io.StringIO()
    call_command(
        "setup",
        "--city",
        "1201",
        "--tianjin-defaults",
        "--admin",
        "shi.admin",
        "--admin-name",
        "张主任",
        "--base-url",
        "https://kangfu.example",
        stdout=out,
    )
    assert "https://kangfu.example/accounts/first-login/" in out.getvalue()
