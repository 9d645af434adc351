"""Values as agencies write them: categories and grades by name or digit, months every way, IDs Excel
marked as text or turned into numbers, and 残联's one file of every certificate business."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from kangfu.core.models import Region
from kangfu.matching import comparison, services
from kangfu.matching.models import FeedKind, FeedRow, Item
from kangfu.matching.tests.test_scenario import HEXI, recipient, travel
from kangfu.people.tests.factories import PersonFactory
from kangfu.subsidies.models import GrantPeriod
from kangfu.subsidies.seed import seed_tianjin

pytestmark = pytest.mark.django_db
M = dt.date
ID = "120103197011210016"
CERT = {"id_number": "身份证号", "name": "姓名", "category": "残疾类别", "grade": "残疾等级"}
MIXED = {
    "id_number": "身份证号",
    "name": "姓名",
    "business": "业务类型",
    "category": "残疾类别",
    "grade": "残疾等级",
    "event_date": "办理日期",
    "region": "迁入地",
}


def source(kind, mapping, name=None):
    return services.feed_source_save(actor=None, name=name or f"来源-{kind}", kind=kind, mapping=mapping)


def preview(src, raw, name="feed.csv"):
    return services.feed_preview(actor=None, source=src, raw=raw, file_name=name, period=M(2026, 11, 1))


def csv(mapping, *lines):
    return (",".join(mapping.values()) + "\n" + "\n".join(lines) + "\n").encode()


def xlsx(header, *rows):
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("written", "category"),
    [
        ("视力", 1),
        ("视力残疾", 1),
        ("听力", 2),
        ("言语残疾", 3),
        ("肢体", 4),
        ("智力", 5),
        ("精神", 6),
        ("多重", 7),
        ("多重残疾", 7),
        ("1", 1),
        ("7", 7),
    ],
)
def test_a_category_is_read_by_name_or_by_code(written, category):
    feed = preview(source("cert_new", CERT), csv(CERT, f"{ID},张三,{written},二级"))
    assert (feed.errors, FeedRow.objects.get().category) == ([], category)


@pytest.mark.parametrize(
    ("written", "grade"),
    [
        ("一级", 1),
        ("二级", 2),
        ("三级", 3),
        ("四级", 4),
        ("一", 1),
        ("四", 4),
        ("1", 1),
        ("4", 4),
        ("2级", 2),
    ],
)
def test_a_grade_is_read_as_a_chinese_numeral_or_a_digit(written, grade):
    feed = preview(source("cert_new", CERT), csv(CERT, f"{ID},张三,肢体,{written}"))
    assert (feed.errors, FeedRow.objects.get().grade) == ([], grade)


def test_a_category_or_grade_out_of_range_is_reported_with_its_line():
    feed = preview(source("cert_new", CERT), csv(CERT, f"{ID},张三,腿脚,二级", f"{ID},张三,肢体,五级"))
    assert [(e["line"], e["message"][:6]) for e in feed.errors] == [(2, "残疾类别“腿"), (3, "残疾等级“五")]


def test_categories_and_grades_in_number_cells_of_an_xlsx_are_read():
    raw = xlsx(list(CERT.values()), [ID, "张三", 4, 1], ["360121197011210013", "李四", "精神残疾", "贰级"])
    feed = preview(source("cert_new", CERT), raw, name="新办.xlsx")
    assert FeedRow.objects.get(line=2).category == 4 and FeedRow.objects.get(line=2).grade == 1
    assert [(e["line"], e["message"][:4]) for e in feed.errors] == [(3, "残疾等级")]  # 贰 is for money


START = {"id_number": "身份证号", "name": "姓名", "event_date": "享受起始年月", "amount": "月发放金额"}


@pytest.mark.parametrize(
    ("written", "month"),
    [
        ("2024-10", M(2024, 10, 1)),
        ("2024/7", M(2024, 7, 1)),
        ("202112", M(2021, 12, 1)),
        ("2024年10月", M(2024, 10, 1)),
        ("2024.10", M(2024, 10, 1)),
        ("2024-10-15", M(2024, 10, 15)),
    ],
)
def test_an_allowance_rosters_start_month_is_read_however_written(written, month):
    src = source("elderly_care", START)
    feed = preview(src, csv(START, f'{ID},张三,{written},"1,200.00"'))
    row = FeedRow.objects.get()
    assert (feed.errors, row.event_date, str(row.amount)) == ([], month, "1200.00")


def test_start_months_in_xlsx_date_and_text_cells_are_read():
    raw = xlsx(
        list(START.values()),
        [ID, "张三", dt.datetime(2024, 10, 1), 150],
        ["360121197011210013", "李四", "2024.10", 150],
        ["120103197011210024", "王五", 202112, 150],
    )
    feed = preview(source("work_injury", START), raw, name="工伤.xlsx")
    assert feed.errors == []
    assert dict(FeedRow.objects.values_list("line", "event_date")) == {
        2: M(2024, 10, 1),
        3: M(2024, 10, 1),
        4: M(2021, 12, 1),
    }


def test_a_month_that_is_no_month_is_reported():
    feed = preview(source("elderly_care", START), csv(START, f"{ID},张三,2024-13,100"))
    assert [(e["line"], e["message"]) for e in feed.errors] == [
        (2, f"{START['event_date']}“2024-13”不是可识别的日期或年月。")
    ]


def test_an_id_excel_marked_as_text_is_read():
    person = PersonFactory(id_number=ID)
    src = source("death", {"id_number": "身份证号", "event_date": "死亡日期"})
    preview(src, f"身份证号,死亡日期\n'{ID},2026-10-01\n".encode())
    assert FeedRow.objects.get().person_id == person.pk


def test_an_id_another_system_wrote_with_a_trailing_point_zero_is_read():
    person = PersonFactory(id_number=ID)
    src = source("death", {"id_number": "身份证号", "event_date": "死亡日期"})
    preview(src, f"身份证号,死亡日期\n{ID}.0,2026-10-01\n".encode())
    assert FeedRow.objects.get().person_id == person.pk


def test_an_id_excel_turned_into_a_number_is_refused_with_a_clear_message():
    src = source("death", {"id_number": "身份证号", "event_date": "死亡日期"})
    feed = preview(src, "身份证号,死亡日期\n1.20103E+17,2026-10-01\n".encode())
    assert feed.valid_lines == 0
    assert "被 Excel 当作数字保存" in feed.errors[0]["message"]


def test_an_id_in_a_number_cell_of_an_xlsx_is_refused_with_a_clear_message():
    src = source("death", {"id_number": "身份证号", "event_date": "死亡日期"})
    feed = preview(src, xlsx(["身份证号", "死亡日期"], [1.20103197011210e17, "2026-10-01"]), name="d.xlsx")
    assert feed.valid_lines == 0
    assert "被 Excel 当作数字保存" in feed.errors[0]["message"]


# ------------------------------------------------------------------ 残联's one file of every business


def business_lines(people):
    ids = {k: p.id_number for k, p in people.items()}
    return [
        f"{ids['new']},新持证,新办,精神,一级,2026-10-20,",
        f"{ids['cancelled']},受助2,注销,,,2026-08-31,",
        f"{ids['regraded']},受助3,等级变更,,三级,2026-09-10,",
        f"{ids['expired']},受助4,换领,肢体,2,2026-10-08,",
        f"{ids['moved']},受助5,迁移,,,2026-10-05,120110006001",
    ]


def mixed_file(people, *, encoding="utf-8"):
    lines = [*business_lines(people), f"{people['moved'].id_number},受助5,补领,,,2026-10-05,"]
    title = "河西区残联 2026年11月 残疾人证业务明细\n\n"
    return (title + ",".join(MIXED.values()) + "\n" + "\n".join(lines) + "\n").encode(encoding)


def send(people, how):
    """残联's certificate business of the month, in one file or in one file per business."""
    if how == "mixed":
        services.feed_confirm(actor=None, feed=preview(source("cert_mixed", MIXED), mixed_file(people)))
        return
    kinds = ["cert_new", "cert_cancel", "cert_change", "cert_renew", "cert_transfer"]
    for kind, line in zip(kinds, business_lines(people), strict=True):
        mapping = {k: v for k, v in MIXED.items() if k != "business"}
        cells = line.split(",")
        del cells[2]
        feed = preview(source(kind, mapping), csv(mapping, ",".join(cells)), name=f"{kind}.csv")
        assert feed.errors == [], feed.errors
        services.feed_confirm(actor=None, feed=feed)


def run_november():
    with travel(M(2026, 11, 5)):
        comparison.run_execute(
            comparison.run_start(actor=None, district=Region.objects.get(code=HEXI), period=M(2026, 11, 1))
        )


@pytest.fixture
def people(db):
    seed_tianjin()
    return {
        "new": PersonFactory(name="新持证", community_code="120103001001", n=50),
        "cancelled": recipient(2, living=False),
        "regraded": recipient(3),
        "expired": recipient(4, expires=M(2026, 7, 31)),
        "moved": recipient(5),
    }


def test_a_mixed_certificate_file_stores_each_row_under_its_business(people):
    feed = preview(source("cert_mixed", MIXED), mixed_file(people, encoding="gbk"))
    kinds = dict(FeedRow.objects.values_list("line", "kind"))
    assert kinds == {
        4: FeedKind.CERT_NEW,
        5: FeedKind.CERT_CANCEL,
        6: FeedKind.CERT_CHANGE,
        7: FeedKind.CERT_RENEW,
        8: FeedKind.CERT_TRANSFER,
    }
    assert [(e["line"], e["message"]) for e in feed.errors] == [
        (9, "业务类型“补领”应为新办、注销、等级变更、换领或迁移。")
    ]


def test_a_mixed_source_must_say_which_column_holds_the_business():
    with pytest.raises(ValidationError) as caught:
        source("cert_mixed", CERT)
    assert caught.value.messages == [services.NEEDS_BUSINESS]


def test_only_a_mixed_source_reads_a_business_column():
    with pytest.raises(ValidationError) as caught:
        source("cert_new", MIXED)
    assert caught.value.messages == [services.ONLY_MIXED]


@pytest.mark.parametrize("how", ["mixed", "separate"])
def test_a_mixed_file_raises_the_items_separate_files_would(people, how):
    send(people, how)
    run_november()
    found = {(i.person_id, i.rule): i.explanation for i in Item.objects.all()}
    assert found == {
        (people["new"].pk, "entitled"): "新办或变更为1级残疾人证，未享受重度残疾人护理补贴（每月 200.00 元）",
        (people["cancelled"].pk, "cert_cancelled"): "残联：2026-08-31 残疾人证注销，补贴仍在发放；"
        "应自 2026年09月 起停发",
        (people["regraded"].pk, "grade_changed"): "残联：残疾等级由2级变为3级（2026-09-10），自 2026年10月 起"
        "重度残疾人护理补贴每月 200.00 元应停发；困难残疾人生活补贴每月 300.00 元应为 160.00 元",
        # 受助4's certificate expired in July and 残联 renewed it in October: nothing to stop
    }


def test_a_grade_change_without_a_category_keeps_the_persons_category(people):
    from kangfu.core.models import Role
    from kangfu.core.tests.factories import UserFactory

    send(people, "mixed")
    run_november()
    item = Item.objects.get(rule="grade_changed")
    street = UserFactory(username="jd", role=Role.STREET_OFFICER, jurisdiction_id=item.street_id)
    district = UserFactory(username="qj", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)
    with time_machine.travel(dt.datetime(2026, 11, 6, 10, tzinfo=dt.UTC), tick=False):
        comparison.item_confirm(actor=street, item=item, note="已见新证")
        comparison.item_approve(actor=district, item=Item.objects.get(pk=item.pk))
    # 生活补贴 goes on at grade 3, category kept; 护理补贴 stops (its months unpaid from then on)
    latest = GrantPeriod.objects.filter(grant__person=people["regraded"]).order_by("-from_month", "-id")
    assert {
        (p.grant.kind, p.grade, p.category, p.paid) for p in latest if p.from_month == M(2026, 10, 1)
    } == {
        ("living", 3, 4, True),
        ("care", 2, 4, False),
    }
