import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kangfu.core.models import Region, RegionLevel
from kangfu.core.services import region_import_csv
from kangfu.core.uploads import TOO_LARGE, WRONG_TYPE

pytestmark = pytest.mark.django_db


def test_the_shipped_tianjin_table_has_its_sixteen_real_districts():
    current = Region.objects.filter(level=RegionLevel.DISTRICT, code__startswith="12", successor__isnull=True)
    districts = dict(current.values_list("code", "name"))
    assert len(districts) == 16
    assert districts["120103000000"] == "河西区"
    assert districts["120116000000"] == "滨海新区"
    assert Region.objects.get(code="120110006000").name == "华明街道"
    assert Region.objects.filter(level=RegionLevel.COMMUNITY).count() > 5000


def test_parents_are_derived_from_codes():
    assert Region.objects.get(code="120103001001").parent_id == "120103001000"
    assert Region.objects.get(code="120103001000").parent_id == "120103000000"


def test_a_csv_adds_and_renames_regions():
    report = region_import_csv(
        actor=None, text="code,name\n120103001999,新建社区\n120103001001,九江路社区（改）\n"
    )
    assert (report.created, report.updated) == (1, 1)
    assert Region.objects.get(code="120103001999").level == RegionLevel.COMMUNITY


def test_any_bad_row_keeps_the_whole_file_out():
    text = "code,name\n120103001998,好行\n12A,坏代码\n130102001001,无上级\n120103001997,\n"
    report = region_import_csv(actor=None, text=text)
    assert [line for line, _ in report.errors] == [3, 4, 5]
    assert not Region.objects.filter(code="120103001998").exists()


def test_a_file_without_the_columns_is_refused():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        region_import_csv(actor=None, text="编码,名称\n1,2\n")


def test_the_import_page_reads_gbk_files(login, city_admin):
    upload = SimpleUploadedFile("r.csv", "code,name\n120103001996,测试社区\n".encode("gbk"))
    response = login(city_admin).post("/regions/import/", {"file": upload})
    assert response.status_code == 302
    assert Region.objects.get(code="120103001996").name == "测试社区"


def test_the_import_page_refuses_wrong_types_and_oversized_files(login, city_admin):
    client = login(city_admin)
    response = client.post("/regions/import/", {"file": SimpleUploadedFile("r.xlsx", b"PK\x03\x04")})
    assert response.status_code == 400
    assert WRONG_TYPE.format(allowed=".csv") in response.content.decode()
    big = SimpleUploadedFile("r.csv", b"code,name\n" + b"1" * (2 * 1024 * 1024 + 1))
    response = client.post("/regions/import/", {"file": big})
    assert response.status_code == 400
    assert TOO_LARGE.split("：")[0] in response.content.decode()


def test_only_the_city_administrator_may_import(login, district_admin):
    upload = SimpleUploadedFile("r.csv", b"code,name\n120103001995,x\n")
    assert login(district_admin).post("/regions/import/", {"file": upload}).status_code == 403


def test_street_choices_name_each_street_with_its_district_grouped_by_district(db):
    from kangfu.core.selectors import street_choices

    groups = dict(street_choices())
    haibin = [label for choices in groups.values() for _code, label in choices if label.endswith("海滨街道")]
    assert len(haibin) == 2 and len(set(haibin)) == 2
    assert ("120103001000", "河西区 大营门街道") in groups["河西区"]
    assert all(label.startswith(district) for district, choices in groups.items() for _c, label in choices)


def test_street_choices_cost_two_queries_however_many_streets(db, django_assert_num_queries):
    from kangfu.core.selectors import street_choices

    with django_assert_num_queries(2):
        street_choices()
