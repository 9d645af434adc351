import datetime as dt
import io
import re
import zipfile

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from kangfu.matching import feeds, services
from kangfu.matching.models import Confidence, FeedRow, ImportStatus
from kangfu.people.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

DEATH_MAPPING = {
    "id_number": "公民身份号码",
    "name": "姓名",
    "birth_date": "出生日期",
    "event_date": "死亡日期",
}
CERT_MAPPING = {
    "id_number": "身份证号",
    "name": "姓名",
    "category": "残疾类别",
    "grade": "残疾等级",
    "event_date": "变更日期",
}


@pytest.fixture
def death_source(db):
    return services.feed_source_save(actor=None, name="公安死亡数据", kind="death", mapping=DEATH_MAPPING)


def preview(source, raw, name="deaths.csv"):
    return services.feed_preview(
        actor=None, source=source, raw=raw, file_name=name, period=dt.date(2026, 11, 1)
    )


@pytest.mark.parametrize(
    "value",
    ["2026-03-05", "2026/3/5", "2026.03.05", "20260305", "2026年3月5日", 46086, dt.datetime(2026, 3, 5, 8)],
)
def test_dates_written_many_ways_are_read(value):
    assert feeds.parse_date(value) == dt.date(2026, 3, 5)


def test_a_gbk_file_with_a_title_shifted_columns_blank_lines_and_old_ids_is_read(death_source):
    person = PersonFactory(id_number="120103197011210016", name="张三")
    text = (
        "天津市公安局 2026年10月 死亡人员名单\n"
        "\n"
        "序号,死亡日期,姓名,公民身份号码,出生日期\n"
        "1,2026/10/3,张三,120103701121001,\n"
        "\n"
        "2,2026年10月9日,无名氏,,1950-01-01\n"
        "3,昨天,李四,360121197011210013,\n"
        "4,2026-10-12,王五,36012119701121001X,\n"
    )
    feed = preview(death_source, text.encode("gbk"))
    assert (feed.total_lines, feed.valid_lines) == (4, 2)
    assert [e["line"] for e in feed.errors] == [7, 8]
    assert "昨天" in feed.errors[0]["message"] and "校验位" in feed.errors[1]["message"]
    row = FeedRow.objects.get(feed=feed, line=4)
    assert (row.person_id, row.confidence, row.event_date) == (
        person.pk,
        Confidence.HIGH,
        dt.date(2026, 10, 3),
    )


def test_a_utf8_file_with_bom_is_read(death_source):
    raw = "\ufeff公民身份号码,姓名,死亡日期\n120103197011210016,张三,2026-10-03\n".encode()
    assert preview(death_source, raw).valid_lines == 1


def test_a_name_and_birth_date_match_one_person_with_low_confidence_and_several_as_ambiguous(death_source):
    only = PersonFactory(name="赵六", born=dt.date(1950, 1, 1))
    one = PersonFactory(name="钱七", born=dt.date(1960, 2, 2))
    two = PersonFactory(name="钱七", born=dt.date(1960, 2, 2))
    raw = "姓名,出生日期,死亡日期\n赵六,1950-01-01,2026-10-01\n钱七,1960-02-02,2026-10-01\n".encode()
    feed = preview(death_source, raw)
    rows = {(r.line, r.person_id, r.confidence) for r in feed.rows.all()}
    # the line of 钱七 is kept once per candidate, each marked ambiguous
    assert rows == {
        (2, only.pk, Confidence.LOW),
        (3, one.pk, Confidence.AMBIGUOUS),
        (3, two.pk, Confidence.AMBIGUOUS),
    }
    assert feed.valid_lines == 2


def _xlsx_with_merged_cells_and_a_formula() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["区残联 残疾人证变更"])
    sheet.append(["身份证号", "姓名", "残疾类别", "残疾等级", "变更日期"])
    sheet.append(["120103197011210016", "张三", 4, "=1+1", "2026-10-15"])
    sheet.append(["360121197011210013", "李四", 6, 3, None])
    sheet.merge_cells("E3:E4")  # one date for both rows
    out = io.BytesIO()
    book.save(out)
    # Excel stores a formula's computed value beside it; openpyxl does not, so add it as Excel would.
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as src, zipfile.ZipFile(buffer, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"<f>1\+1</f><v\s*/?>(</v>)?", b"<f>1+1</f><v>2</v>", data)
            dst.writestr(item, data)
    return buffer.getvalue()


def test_an_xlsx_with_merged_cells_and_formula_cells_is_read_by_value():
    source = services.feed_source_save(
        actor=None, name="区残联变更", kind="cert_change", mapping=CERT_MAPPING
    )
    feed = preview(source, _xlsx_with_merged_cells_and_a_formula(), name="变更.xlsx")
    assert feed.errors == []
    rows = {r.line: (r.grade, r.event_date) for r in feed.rows.all()}
    assert rows == {3: (2, dt.date(2026, 10, 15)), 4: (3, dt.date(2026, 10, 15))}


def test_a_file_without_the_expected_header_is_refused(death_source):
    with pytest.raises(ValidationError) as caught:
        preview(death_source, b"a,b,c\n1,2,3\n")
    assert "没有找到表头" in caught.value.messages[0]


def test_the_same_file_confirmed_twice_is_recognised_and_changes_nothing(death_source):
    raw = "公民身份号码,姓名,死亡日期\n120103197011210016,张三,2026-10-03\n".encode()
    first = services.feed_confirm(actor=None, feed=preview(death_source, raw))
    assert first.status == ImportStatus.CONFIRMED
    with pytest.raises(ValidationError) as caught:
        preview(death_source, raw)
    assert "已于" in caught.value.messages[0]
    assert FeedRow.objects.count() == 1


def test_a_preview_can_be_discarded(death_source):
    feed = preview(death_source, "公民身份号码,姓名,死亡日期\n120103197011210016,张三,2026-10-03\n".encode())
    services.feed_discard(actor=None, feed=feed)
    assert not FeedRow.objects.exists()


def test_a_mapping_with_an_unknown_field_is_refused():
    with pytest.raises(ValidationError):
        services.feed_source_save(actor=None, name="坏来源", kind="death", mapping={"死因": "死亡原因"})


def test_the_command_imports_and_confirms(death_source, tmp_path):
    from django.core.management import call_command

    path = tmp_path / "d.csv"
    path.write_text("公民身份号码,姓名,死亡日期\n120103197011210016,张三,2026-10-03\n", encoding="utf-8")
    out = io.StringIO()
    call_command("feed", "import", "公安死亡数据", str(path), "--month", "2026-11", "--confirm", stdout=out)
    assert "已确认" in out.getvalue()


@pytest.mark.parametrize("header", ["身份证号", "公民身份号码", "证件号码", "社会保障号码", "身份证号码"])
def test_a_file_naming_the_id_column_as_agencies_do_is_read_whatever_the_saved_header(death_source, header):
    person = PersonFactory(name="钱故")
    raw = f"{header},姓名,死亡时间\n{person.id_number},钱故,2026-10-01\n".encode()
    feed = preview(death_source, raw)
    assert (feed.valid_lines, feed.errors) == (1, [])
    assert FeedRow.objects.get().person_id == person.pk


def test_the_saved_header_of_another_field_is_never_read_as_a_synonym(db):
    """A cremation record has a 死亡日期 too, but its event is the cremation."""
    source = services.feed_source_save(
        actor=None,
        name="殡葬",
        kind="cremation",
        mapping={"id_number": "身份证号", "birth_date": "死亡日期", "event_date": "火化日期"},
    )
    mapping = feeds.headers(source.kind, source.mapping)
    assert "死亡日期" not in mapping["event_date"].split("|")
    assert "死亡日期" not in feeds.headers("cremation", {"event_date": "火化日期"})["event_date"]


def test_a_line_without_its_date_is_told_the_column_as_the_source_heads_it(death_source):
    feed = preview(death_source, "身份证号,姓名,死亡日期\n120103197011210016,钱故,\n".encode())
    assert [e["message"] for e in feed.errors] == [feeds.MISSING.format(label="死亡日期")]
