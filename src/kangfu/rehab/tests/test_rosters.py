"""The 卫健 and 残联 rosters: read and reported line by line, stored only when confirmed, all at once."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from openpyxl import Workbook

from kangfu.core import access
from kangfu.core.ids import ID_BAD_CHECK
from kangfu.core.models import AuditEntry, Region, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.core.transitions import Conflict
from kangfu.people.models import Person
from kangfu.people.services import id_hash
from kangfu.people.tests.factories import make_id_number
from kangfu.rehab.models import Application, ApplicationSource, ApplicationState, RosterImport, RosterStatus
from kangfu.rehab.services import applications as application_services
from kangfu.rehab.services import rosters
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)  # a Monday
RECEIVED = dt.date(2026, 11, 20)
HEADER = ["姓名", "身份证号", "现住社区", "联系电话", "诊断"]
XIAOSHAOZHIKOU = "120111001001"  # 西青区 西营门街道 小稍直口社区居委会
JIAHEYATING = "120111003001"  # 西青区 赤龙南街道 佳和雅庭社区居民委员会
YIJIE_XIQING = "120111101201"  # 一街村委会: one in 西青区, several in 武清区
WUQING = "120114000000"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC), tick=False):
        yield


def new_id(n: int) -> str:
    """An ID number no factory-made person has (factories use another birth date)."""
    return make_id_number(n, born=dt.date(1985, 3, 4), county="120111")


def wrong_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def csv_bytes(rows, *, encoding: str = "utf-8", title: str | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    if title:
        writer.writerow([title])
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, *, title: str | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def preview(actor, raw: bytes, *, name: str = "卫健名单.csv", district: str = f.XIQING, source=None):
    return rosters.roster_preview(
        actor=actor,
        district=Region.objects.get(code=district),
        source=source or ApplicationSource.HEALTH_LIST,
        file_name=name,
        raw=raw,
        received_on=RECEIVED,
    )


def stored(roster: RosterImport) -> RosterImport:
    return RosterImport.objects.get(pk=roster.pk)


@pytest.fixture
def known(db):
    return f.patient(name="周知")


@pytest.fixture
def served(admin, rehab_worker, institution):
    return f.enrolled_case(
        admin=admin, rehab_worker=rehab_worker, institution_org=institution, person=f.patient(name="钱服务")
    ).person


@pytest.fixture
def applying(admin):
    person = f.patient(name="孙申请")
    application_services.application_create(
        actor=admin,
        person=person,
        data=application_services.ApplicationData(source=ApplicationSource.SELF, received_on=RECEIVED),
    )
    return person


@pytest.fixture
def mixed(known, served, applying):
    """One line of every kind, lines 2 to 11 of the file."""
    return [
        ["张一", new_id(1), "小稍直口社区居委会", "13900000001", "精神分裂症"],  # 2 new, by name
        ["李二", wrong_check(new_id(2)), "小稍直口社区居委会", "", ""],  # 3 bad ID
        ["王三", new_id(3), "不存在社区", "", ""],  # 4 unknown community
        ["张一", new_id(1), JIAHEYATING, "", ""],  # 5 same person as line 2
        ["周知", known.id_number, XIAOSHAOZHIKOU, "", "抑郁症"],  # 6 known: linked
        ["钱服务", served.id_number, XIAOSHAOZHIKOU, "", ""],  # 7 served: skipped
        ["孙申请", applying.id_number, XIAOSHAOZHIKOU, "", ""],  # 8 applying: skipped
        ["赵六", new_id(6), JIAHEYATING, "022-27391234", ""],  # 9 new, by code
        ["钱七", new_id(7), "120113001003", "", ""],  # 10 a community of 北辰区
        ["", new_id(8), "", "", ""],  # 11 no name, no community
    ]


def expected_errors(shift: int = 0) -> list[list]:
    """The report of `mixed`, with every line number moved by `shift` lines above the header."""
    return [
        [3 + shift, ID_BAD_CHECK],
        [4 + shift, rosters.UNKNOWN_COMMUNITY.format(value="不存在社区", district="西青区")],
        [5 + shift, rosters.DUPLICATE_LINE.format(line=2 + shift)],
        [10 + shift, rosters.UNKNOWN_COMMUNITY.format(value="120113001003", district="西青区")],
        [11 + shift, f"{rosters.MISSING_NAME}；{rosters.MISSING_COMMUNITY}"],
    ]


EXPECTED_SKIPPED = [[7, rosters.SKIP_SERVED], [8, rosters.SKIP_OPEN_APPLICATION]]


class TestPreview:
    def test_a_utf8_csv_is_reported_line_by_line_and_nothing_is_stored(self, admin, mixed):
        people = Person.objects.count()
        roster = stored(preview(admin, csv_bytes(mixed)))
        assert (roster.status, roster.total) == (RosterStatus.PREVIEW, 10)
        assert roster.report == {
            "errors": expected_errors(),
            "skipped": EXPECTED_SKIPPED,
            "create": 2,
            "link": 1,
        }
        assert Person.objects.count() == people
        assert not Application.objects.filter(roster_digest=roster.digest).exists()

    def test_a_gbk_csv_with_a_title_above_the_header_reads_the_same(self, admin, mixed):
        roster = stored(preview(admin, csv_bytes(mixed, encoding="gbk", title="西青区严重精神障碍患者名单")))
        # The title is line 1, so every line number moves down by one.
        assert roster.report["errors"] == expected_errors(shift=1)
        assert (roster.report["create"], roster.report["link"], len(roster.report["skipped"])) == (2, 1, 2)

    def test_an_xlsx_roster_is_read_with_its_row_numbers(self, admin, mixed):
        roster = stored(preview(admin, xlsx_bytes(mixed, title="残联持证名单"), name="残联名单.xlsx"))
        assert roster.report["errors"] == expected_errors(shift=1)
        assert roster.report["skipped"] == [[line + 1, message] for line, message in EXPECTED_SKIPPED]
        assert (roster.report["create"], roster.report["link"]) == (2, 1)

    def test_a_community_name_counts_only_in_the_rosters_district(self, db):
        rows = [["吴八", new_id(9), "一街村委会", "", ""]]
        xiqing = f.district_admin()
        wuqing = f.district_admin("wuqing.admin", WUQING)
        assert stored(preview(xiqing, csv_bytes(rows))).report["create"] == 1
        roster = stored(preview(wuqing, csv_bytes(rows), district=WUQING))
        assert roster.report["errors"] == [
            [2, rosters.AMBIGUOUS_COMMUNITY.format(district="武清区", value="一街村委会")]
        ]

    def test_only_rosters_are_imported_here(self, admin, mixed):
        with pytest.raises(ValidationError) as exc:
            preview(admin, csv_bytes(mixed), source=ApplicationSource.SELF)
        assert exc.value.message_dict == {"source": [rosters.NOT_A_ROSTER]}

    def test_only_district_civil_affairs_import_rosters_of_their_own_district(self, admin, rehab_worker):
        raw = csv_bytes([["吴八", new_id(9), XIAOSHAOZHIKOU, "", ""]])
        street = UserFactory(username="xiyingmen", role=Role.STREET_OFFICER, jurisdiction_id="120111001000")
        with pytest.raises(PermissionDenied) as exc:
            preview(street, raw)
        assert str(exc.value) == rosters.NEEDS_DISTRICT
        with pytest.raises(PermissionDenied):
            preview(rehab_worker, raw)
        with pytest.raises(PermissionDenied) as exc:
            preview(f.district_admin("beichen.admin", f.BEICHEN), raw)
        assert str(exc.value) == access.OUT_OF_SCOPE_REGION
        assert not RosterImport.objects.exists()


class TestConfirm:
    def test_confirm_creates_new_people_in_the_right_places(self, admin, mixed):
        roster = rosters.roster_confirm(actor=admin, roster=preview(admin, csv_bytes(mixed)))
        zhang = Person.objects.get(id_number_hash=id_hash(new_id(1)))
        assert (zhang.name, zhang.community_id, zhang.street_id, zhang.district_id, zhang.city_id) == (
            "张一",
            XIAOSHAOZHIKOU,
            "120111001000",
            f.XIQING,
            "120100000000",
        )
        assert (zhang.birth_date, zhang.sex, zhang.phone) == (dt.date(1985, 3, 4), "M", "13900000001")
        zhao = Person.objects.get(id_number_hash=id_hash(new_id(6)))
        assert (zhao.community_id, zhao.street_id) == (JIAHEYATING, "120111003000")
        assert roster.result == {"created": 2, "linked": 1, "skipped": 2, "errors": 5}
        assert roster.status == RosterStatus.CONFIRMED

    def test_confirm_gives_each_good_line_a_registered_application(self, admin, mixed, known):
        roster = rosters.roster_confirm(actor=admin, roster=preview(admin, csv_bytes(mixed)))
        applications = Application.objects.filter(roster_digest=roster.digest).select_related("person")
        assert sorted(a.person.name for a in applications) == ["周知", "张一", "赵六"]
        linked = applications.get(person=known)
        assert (
            linked.state,
            linked.source,
            linked.district_id,
            linked.received_on,
            linked.check_due,
            linked.registered_on,
            linked.refer_due,
            linked.reason,
            linked.roster_diagnosis,
        ) == (
            ApplicationState.REGISTERED,
            ApplicationSource.HEALTH_LIST,
            f.XIQING,
            RECEIVED,
            dt.date(2026, 11, 27),
            TODAY,
            dt.date(2026, 11, 30),
            "",
            "抑郁症",
        )
        assert Person.objects.filter(name="周知").count() == 1
        assert set(
            AuditEntry.objects.filter(object_type="people.person").values_list("person_id", "action")
        ) >= {(known.pk, "update")} | {(a.person_id, "create") for a in applications.exclude(person=known)}

    def test_confirm_is_all_or_nothing(self, admin, mixed, monkeypatch):
        roster = preview(admin, csv_bytes(mixed))
        people = Person.objects.count()

        def fail(*args, **kwargs):
            raise RuntimeError("数据库中断")

        monkeypatch.setattr(Application.objects, "bulk_create", fail)
        with pytest.raises(RuntimeError):
            rosters.roster_confirm(actor=admin, roster=roster)
        assert Person.objects.count() == people
        assert stored(roster).status == RosterStatus.PREVIEW

    def test_confirm_reads_the_registry_as_it_is_now(self, admin, mixed, known):
        roster = preview(admin, csv_bytes(mixed))
        application_services.application_create(
            actor=admin,
            person=known,
            data=application_services.ApplicationData(source=ApplicationSource.SELF, received_on=TODAY),
        )
        roster = rosters.roster_confirm(actor=admin, roster=roster)
        assert roster.result == {"created": 2, "linked": 0, "skipped": 3, "errors": 5}
        assert [6, rosters.SKIP_OPEN_APPLICATION] in roster.report["skipped"]

    def test_confirming_twice_is_refused(self, admin, mixed):
        roster = preview(admin, csv_bytes(mixed))
        rosters.roster_confirm(actor=admin, roster=roster)
        applications = Application.objects.count()
        with pytest.raises(Conflict) as exc:
            rosters.roster_confirm(actor=admin, roster=RosterImport.objects.get(pk=roster.pk))
        assert exc.value.messages == [rosters.NOT_PREVIEW.format(status="已导入")]
        assert Application.objects.count() == applications

    def test_confirming_twice_through_the_api_answers_409(self, admin, mixed, api):
        roster = preview(admin, csv_bytes(mixed))
        call = api(admin)
        assert call("post", f"/rosters/{roster.pk}/confirm").status_code == 200
        again = call("post", f"/rosters/{roster.pk}/confirm")
        assert again.status_code == 409
        assert again.json()["detail"] == rosters.NOT_PREVIEW.format(status="已导入")

    def test_the_same_file_is_never_imported_twice(self, admin, mixed):
        raw = csv_bytes(mixed)
        rosters.roster_confirm(actor=admin, roster=preview(admin, raw))
        with pytest.raises(ValidationError) as exc:
            preview(admin, raw, name="卫健名单（重发）.csv")
        assert exc.value.messages == [rosters.ALREADY.format(day=TODAY)]

    def test_a_second_preview_of_the_same_file_cannot_be_confirmed_after_the_first(self, admin, mixed):
        raw = csv_bytes(mixed)
        first, second = preview(admin, raw), preview(admin, raw)
        rosters.roster_confirm(actor=admin, roster=first)
        applications = Application.objects.count()
        with pytest.raises(ValidationError) as exc:
            rosters.roster_confirm(actor=admin, roster=second)
        assert exc.value.messages == [rosters.ALREADY.format(day=TODAY)]
        assert stored(second).status == RosterStatus.PREVIEW
        assert Application.objects.count() == applications


class TestDiscard:
    def test_a_discarded_roster_keeps_nothing_and_cannot_be_confirmed(self, admin, mixed):
        people = Person.objects.count()
        roster = rosters.roster_discard(actor=admin, roster=preview(admin, csv_bytes(mixed)))
        assert (roster.status, bytes(roster.content)) == (RosterStatus.DISCARDED, b"")
        with pytest.raises(ValidationError) as exc:
            rosters.roster_confirm(actor=admin, roster=roster)
        assert exc.value.messages == [rosters.NOT_PREVIEW.format(status="已放弃")]
        assert Person.objects.count() == people
        assert not Application.objects.filter(source=ApplicationSource.HEALTH_LIST).exists()

    def test_discarding_a_confirmed_roster_says_it_is_confirmed(self, admin, mixed):
        roster = preview(admin, csv_bytes(mixed))
        stale = RosterImport.objects.get(pk=roster.pk)
        rosters.roster_confirm(actor=admin, roster=roster)
        with pytest.raises(ValidationError) as exc:
            rosters.roster_discard(actor=admin, roster=stale)
        assert exc.value.messages == [rosters.NOT_PREVIEW.format(status="已导入")]
        assert stored(roster).status == RosterStatus.CONFIRMED


def test_a_known_person_living_in_another_district_is_left_to_that_district(admin):
    elsewhere = f.patient(name="吴外区", community_code="120113001003", county="120113")
    roster = preview(admin, csv_bytes([["吴外区", elsewhere.id_number, XIAOSHAOZHIKOU, "", ""]]))
    assert [list(s) for s in roster.report["skipped"]] == [
        [2, rosters.SKIP_ELSEWHERE.format(district="北辰区")]
    ]
    rosters.roster_confirm(actor=admin, roster=roster)
    assert not Application.objects.filter(person=elsewhere).exists()
