"""Acceptance: 数据比对 and the payroll, exact to the fen, on files as agencies really send them.

A registry of 433 people and 462 subsidy lines of the former system come in through the go-live
importer (`kangfu import people|recipients … --confirm`); Kangfu pays October 2026; in November
eleven agency files come in through `kangfu feed import … --confirm` (GBK with title rows, UTF-8 with
a BOM, XLSX with date cells, 残联's file of every business type, IDs mangled by Excel, duplicates and
blank lines); the comparison runs, the streets confirm and the district approves as they would, and
the November payroll is computed and locked. Every expected figure below is worked out by hand from
DOMAIN.md ("两项补贴", "Comparison readings") and the rules of the issue, and written as a literal with
the rule that gives it; none was read off the code.

Tianjin's amounts (DOMAIN.md): 生活补贴 300 a month for grades 1–2, 160 for grades 3–4; 护理补贴 200.
The former system paid every recipient through 2026-09; Kangfu's own payroll paid 2026-10; the
comparison and the payroll of 2026-11 are what is checked. "Overpaid" counts months before November
(the month compared is never paid yet).

The people and the files are in agency_files.py, the scenario built from them in agency_world.py: once
per module, inside a transaction rolled back at the end; each test runs in a savepoint of it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction

from kangfu.core.models import Region
from kangfu.matching import comparison
from kangfu.matching.models import Confidence, FeedRow, Item, ItemStatus
from kangfu.matching.tests.agency_files import (
    CAST,
    DAYINGMEN,
    DIBAO_ROSTER,
    EDGE_ROSTER,
    EVERYONE,
    FILLERS,
    HEXI,
    MANGLED_MOVER,
    NANKAI,
    NANKAI_COMMUNITY,
    NANKAI_STREET,
    XIAWAFANG,
    recipient_lines,
)
from kangfu.matching.tests.agency_world import DECEMBER, NOVEMBER, OCTOBER, World, build, months, travel
from kangfu.people import services as people_services
from kangfu.subsidies import selectors as subsidy_selectors
from kangfu.subsidies.models import Grant, GrantPeriod, GrantStatus, HeldGrant, Recovery
from kangfu.subsidies.services import payroll as payroll_services

pytestmark = pytest.mark.django_db

M = dt.date
D = Decimal


# ------------------------------------------------------------------ what is expected, by hand


@dataclass(frozen=True)
class Expect:
    month: dt.date | None  # the effective month (the first month changed)
    at_stake: Decimal
    street: str = DAYINGMEN  # the street the person lives in
    confidence: str = Confidence.HIGH


EXPECTED_ITEMS: dict[tuple[str, str], Expect] = {
    # death 2026-08-15 → stop from September; September (former system) and October (Kangfu) paid,
    # 300 + 200 each
    ("dead", "death"): Expect(M(2026, 9, 1), D("1000.00")),
    # death 2026-09-25 of one of two 王秀英 born 1950-03-08 → stop from October; October 300 + 200
    ("namesake_a", "death"): Expect(M(2026, 10, 1), D("500.00"), confidence=Confidence.AMBIGUOUS),
    # (grade 2: 300 + 200)
    ("namesake_b", "death"): Expect(M(2026, 10, 1), D("500.00"), XIAWAFANG, Confidence.AMBIGUOUS),
    # judgment in force 2026-09-20 → stop from October; October 300 + 200; lives in 下瓦房
    ("prison", "prison"): Expect(M(2026, 10, 1), D("500.00"), XIAWAFANG),
    # judgment 2026-08-10 → stop from September; September and October 160 each
    ("released", "prison"): Expect(M(2026, 9, 1), D("320.00")),
    # declared missing 2026-09-15 → suspended from October; October 300 + 200
    ("missing", "missing"): Expect(M(2026, 10, 1), D("500.00")),
    # household moved to Beijing 2026-09-15 → stop from October; October 300 + 200
    ("moved_away", "moved_out"): Expect(M(2026, 10, 1), D("500.00")),
    # certificate cancelled 2026-08-31 → stop from September; 护理补贴 September and October
    ("cancelled", "cert_cancelled"): Expect(M(2026, 9, 1), D("400.00")),
    # 2→3 on 2026-09-10: the new rate from October; 护理补贴 ends (grade 3, no local extension):
    # October 200 + (300 − 160)
    ("downgrade", "grade_changed"): Expect(M(2026, 10, 1), D("340.00"), XIAWAFANG),
    # 4→2 on 2026-05-20: paid from May, but back-pay at most 3 months before November: August,
    # September, October at 300 − 160 (money owed to the person)
    ("upgrade", "grade_changed"): Expect(M(2026, 8, 1), D("420.00"), XIAWAFANG),
    # roster gives no date, registry has no end → stop from November, nothing paid yet
    ("dibao_left", "left_dibao"): Expect(M(2026, 11, 1), D("0.00")),
    # registry ended 低保 2026-09-20 → from October, the month the payroll held the grant from;
    # October was held, so nothing was overpaid
    ("dibao_ended", "left_dibao"): Expect(M(2026, 10, 1), D("0.00")),
    # 特困 from 2026-09-05 → both stop from October; October 300 + 200
    ("tekun", "tekun"): Expect(M(2026, 10, 1), D("500.00")),
    # 工伤保险生活护理费 since 2024-10 → both stop from 2024-11; 2024-11 … 2026-10 is 24 months of
    # 300 + 200 (23 paid by the former system, 1 by Kangfu)
    ("injury_early", "work_injury"): Expect(M(2024, 11, 1), D("12000.00"), XIAWAFANG),
    # since 2026-07 → stop from August; August, September, October at 160
    ("injury_late", "work_injury"): Expect(M(2026, 8, 1), D("480.00"), XIAWAFANG),
    # 老年人护理补贴 300 > 200 since 2026-08 (the later start) → 护理补贴 stops from September;
    # September and October 200 each
    ("elderly_higher", "overlap"): Expect(M(2026, 9, 1), D("400.00")),
    # 150 < 200: ours is kept, nothing at stake
    ("elderly_lower", "overlap_kept"): Expect(None, D("0.00")),
    # 主动发现: what the person would be paid a month (DOMAIN.md is silent on the figure of an 应享
    # item; a clerk reads it as the monthly amount proposed)
    ("upgrade", "entitled"): Expect(None, D("200.00"), XIAWAFANG),  # grade 2 now: 护理补贴
    ("entitled_dibao", "entitled"): Expect(None, D("160.00")),  # 低保, grade 3: 生活补贴
    ("entitled_edge", "entitled"): Expect(None, D("160.00")),  # 低保边缘 (Tianjin accepts it), grade 4
    ("entitled_new", "entitled"): Expect(None, D("200.00")),  # 新办 精神一级: 护理补贴
}

# People of the cast for whom nothing may be raised (the transfer is checked on its own).
NO_ITEM = [
    "renewed",  # the expired registry certificate is cured by 残联's 换领
    "within_band",  # 2→1: same money
    "within_band_low",  # 3→4: same money
    "dibao_edge",  # rests on 低保边缘, absent from the 低保 roster
    "point_zero_15",  # on the roster, written with ".0"
    "point_zero_18",
    "expires_this_month",
    "expires_in_april",
    "expires_in_may",
]
NOT_PROPOSED = ["new_but_tekun", "new_but_injured", "hukou_elsewhere"]


def _lines(*rows: tuple[str, dt.date, str, str]) -> list[tuple[str, dt.date, Decimal, str]]:
    return sorted((kind, month, D(amount), line_type) for kind, month, amount, line_type in rows)


SEP, OCT, NOV = M(2026, 9, 1), M(2026, 10, 1), M(2026, 11, 1)
REC, REG, ARR = "recovery", "regular", "arrears"

# November's payroll lines per person: (kind, month for, amount, type).
EXPECTED_LINES = {
    "dead": _lines(
        ("care", SEP, "-200", REC),
        ("care", OCT, "-200", REC),
        ("living", SEP, "-300", REC),
        ("living", OCT, "-300", REC),
    ),
    "namesake_a": _lines(("care", OCT, "-200", REC), ("living", OCT, "-300", REC)),
    "namesake_b": _lines(("care", NOV, "200", REG), ("living", NOV, "300", REG)),  # dismissed: paid
    "prison": _lines(("care", OCT, "-200", REC), ("living", OCT, "-300", REC)),
    "released": _lines(("living", SEP, "-160", REC), ("living", OCT, "-160", REC)),
    "missing": _lines(("care", OCT, "-200", REC), ("living", OCT, "-300", REC)),
    "moved_away": _lines(("care", OCT, "-200", REC), ("living", OCT, "-300", REC)),
    "transfer": _lines(("care", NOV, "200", REG), ("living", NOV, "300", REG)),  # moved 2026-11-02
    "cancelled": _lines(("care", SEP, "-200", REC), ("care", OCT, "-200", REC)),
    "renewed": _lines(("living", NOV, "160", REG)),
    "within_band": _lines(("care", NOV, "200", REG), ("living", NOV, "300", REG)),
    "within_band_low": _lines(("living", NOV, "160", REG)),
    "downgrade": _lines(
        ("care", OCT, "-200", REC), ("living", OCT, "-140", REC), ("living", NOV, "160", REG)
    ),
    "upgrade": _lines(
        ("living", M(2026, 8, 1), "140", ARR),
        ("living", SEP, "140", ARR),
        ("living", OCT, "140", ARR),
        ("living", NOV, "300", REG),
    ),
    "injury_early": _lines(
        *[("care", m, "-200", REC) for m in months(M(2024, 11, 1), OCT)],
        *[("living", m, "-300", REC) for m in months(M(2024, 11, 1), OCT)],
    ),
    "injury_late": _lines(*[("living", m, "-160", REC) for m in months(M(2026, 8, 1), OCT)]),
    "elderly_higher": _lines(
        ("care", SEP, "-200", REC), ("care", OCT, "-200", REC), ("living", NOV, "300", REG)
    ),
    "elderly_lower": _lines(("care", NOV, "200", REG)),
    "dibao_left": [],
    "dibao_ended": [],
    "dibao_edge": _lines(("living", NOV, "160", REG)),
    "tekun": _lines(("care", OCT, "-200", REC), ("living", OCT, "-300", REC)),
    "point_zero_15": _lines(("living", NOV, "160", REG)),
    "point_zero_18": _lines(("living", NOV, "160", REG)),
    "expires_this_month": _lines(("care", NOV, "200", REG), ("living", NOV, "300", REG)),
    "expires_in_april": _lines(("care", NOV, "200", REG), ("living", NOV, "300", REG)),
    "expires_in_may": _lines(("care", NOV, "200", REG), ("living", NOV, "300", REG)),
    "entitled_dibao": [],
    "entitled_edge": [],
    "entitled_new": [],
    "new_but_tekun": [],
    "new_but_injured": [],
    "hukou_elsewhere": [],
}

# What each person owes once November is locked: the payroll pays a person the net of their lines,
# so what this month pays is set against what is recovered (one payment, or one debt, per person).
EXPECTED_RECOVERIES = {
    "dead": D("1000.00"),
    "namesake_a": D("500.00"),
    "prison": D("500.00"),
    "released": D("320.00"),
    "missing": D("500.00"),
    "moved_away": D("500.00"),
    "cancelled": D("400.00"),
    "downgrade": D("180.00"),  # 340 recovered less November's 160
    "tekun": D("500.00"),
    "injury_early": D("12000.00"),
    "injury_late": D("480.00"),
    "elderly_higher": D("100.00"),  # 400 recovered less November's 300 of 生活补贴
}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock(), transaction.atomic():
        yield build(tmp_path_factory.mktemp("agency_files"), planted=EXPECTED_ITEMS)
        transaction.set_rollback(True)


def assert_item(world: World, key: str, rule: str) -> Item:
    """The planted item as raised: its effective month, money at stake, confidence and street."""
    expected = EXPECTED_ITEMS[(key, rule)]
    item = world.raised.get((key, rule))
    assert item is not None, f"no {rule} item for {key}; raised for them: {sorted(world.items_of(key))}"
    assert (
        item.effective_month,
        item.amount_at_stake,
        item.confidence,
        item.street_id,
        item.district_id,
    ) == (
        expected.month,
        expected.at_stake,
        expected.confidence,
        expected.street,
        HEXI,
    ), item.explanation
    assert key not in world.problems, world.problems[key]
    return item


def assert_settled(world: World, key: str, status: str = ItemStatus.APPROVED) -> None:
    for item in world.items_of(key).values():
        assert Item.objects.get(pk=item.pk).status == status, item.explanation


def grants(world: World, key: str) -> dict[str, tuple[str, dt.date | None]]:
    return {g.kind: (g.status, g.end_month) for g in Grant.objects.filter(person=world.person(key))}


def recovery(world: World, key: str) -> Decimal | None:
    found = Recovery.objects.filter(person=world.person(key), payroll=world.november).first()
    return found.amount if found else None


# ------------------------------------------------------------------ loading


def test_the_registry_and_the_former_systems_recipients_load_without_a_refused_line(world):
    people, recipients = world.jobs["people"], world.jobs["recipients"]
    assert (people.status, people.error_count, people.counts.get("new")) == ("done", 0, len(EVERYONE)), (
        people.errors
    )
    assert (recipients.status, recipients.error_count, recipients.counts.get("new")) == (
        "done",
        0,
        recipient_lines(),
    ), recipients.errors
    # The prisoner lives in 下瓦房 but the former system paid from 大营门: the grant stays there.
    assert set(Grant.objects.filter(person=world.person("prison")).values_list("street_id", flat=True)) == {
        DAYINGMEN
    }
    assert world.person("prison").street_id == XIAWAFANG


def test_the_death_file_reports_its_unreadable_id_its_duplicate_and_its_blank_lines(world):
    feed = world.feeds["公安死亡"]
    # five data lines: four valid, line 6 unreadable (Excel kept 6 digits), line 8 repeats line 3,
    # lines 5 and 7 blank
    assert (feed.status, feed.total_lines, feed.valid_lines, feed.blank_lines) == ("confirmed", 5, 4, 2)
    assert [e["line"] for e in feed.errors] == [6]
    assert "1.20104E+17" in feed.errors[0]["message"]
    assert feed.duplicates == [{"line": 8, "same_as": 3}]
    output = world.outputs["公安死亡"]
    assert "第 6 行" in output and "已确认 4 行" in output


def test_a_duplicate_line_adds_evidence_never_a_second_item(world):
    rows = FeedRow.objects.filter(feed=world.feeds["公安死亡"], person=world.person("dead"))
    assert sorted(rows.values_list("line", flat=True)) == [3, 8]  # the lowercase x is the same number
    assert list(world.items_of("dead")) == ["death"]


def test_an_id_excel_turned_into_a_number_is_reported_by_line(world):
    feed = world.feeds["公安户籍迁移"]
    assert (feed.total_lines, feed.valid_lines) == (4, 3)
    assert [e["line"] for e in feed.errors] == [6]
    assert not FeedRow.objects.filter(feed=feed, person=world.person(MANGLED_MOVER.key)).exists()


def _read_from_the_roster(world: World, key: str) -> None:
    feed = world.feeds["低保名单"]
    line = 3 + DIBAO_ROSTER.index(CAST[key])  # after the title and the header
    assert [e for e in feed.errors if e["line"] == line] == []
    assert FeedRow.objects.filter(feed=feed, person=world.person(key)).count() == 1
    assert world.items_of(key) == {}  # on the roster: not leaving 低保


def test_a_15_digit_id_with_a_trailing_point_zero_is_read_as_the_person_it_names(world):
    # A first-generation number that went through a float ("120103500615xxx.0"): a float holds 15
    # digits exactly, so nothing is lost; the old number converts to the 18-digit one (DOMAIN.md).
    _read_from_the_roster(world, "point_zero_15")


def test_an_18_digit_id_with_a_trailing_point_zero_is_read_as_the_person_it_names(world):
    # Every digit is there and the check character confirms them: the ".0" is only what a
    # spreadsheet appended. (A clerk's reading: DOMAIN.md does not speak of such cells.)
    _read_from_the_roster(world, "point_zero_18")


def test_a_point_zero_roster_line_does_not_change_what_is_paid(world):
    for key in ("point_zero_15", "point_zero_18"):
        assert world.lines(key) == EXPECTED_LINES[key]


def test_the_mixed_federation_file_is_dispatched_by_its_business_type(world):
    feed = world.feeds["残联证件业务"]
    assert (feed.errors, feed.total_lines, feed.valid_lines) == ([], 10, 10)
    kinds = dict(FeedRow.objects.filter(feed=feed).values_list("line", "kind"))
    assert kinds == {
        3: "cert_new",
        4: "cert_new",
        5: "cert_new",
        6: "cert_cancel",
        7: "cert_change",
        8: "cert_change",
        9: "cert_change",
        10: "cert_change",
        11: "cert_renew",
        12: "cert_transfer",
    }
    read = {
        line: (category, grade)
        for line, category, grade in FeedRow.objects.filter(feed=feed).values_list(
            "line", "category", "grade"
        )
    }
    # 精神/1, 4/一级, 肢体残疾/2级, –, –/一级, 肢体/4, –/三, 肢体/二级, 智力/三级, 精神/一级
    assert read == {
        3: (6, 1),
        4: (4, 1),
        5: (4, 2),
        6: (None, None),
        7: (None, 1),
        8: (4, 4),
        9: (None, 3),
        10: (4, 2),
        11: (5, 3),
        12: (6, 1),
    }


def test_every_file_is_read_in_full_with_months_written_every_way(world):
    """GBK, BOM, XLSX; months as 2024年10月, 2026/7, 202609, 2024.10, a date cell and 2026.10. (The
    低保 roster's ".0" lines have tests of their own.)"""
    read = {name: (f.valid_lines, len(f.errors)) for name, f in world.feeds.items() if name != "低保名单"}
    assert read == {
        "公安死亡": (4, 1),
        "司法服刑": (2, 0),
        "司法刑满释放": (1, 0),
        "法院宣告失踪": (1, 0),
        "公安户籍迁移": (3, 1),
        "残联证件业务": (10, 0),
        "低保边缘名单": (len(EDGE_ROSTER), 0),
        "特困供养名单": (2, 0),
        "老年人护理补贴名单": (2, 0),
        "人社工伤护理费": (4, 0),
    }
    assert {f.period for f in world.feeds.values()} == {NOVEMBER}
    injury = dict(
        FeedRow.objects.filter(feed=world.feeds["人社工伤护理费"]).values_list("line", "event_date")
    )
    assert injury == {3: M(2024, 10, 1), 4: M(2026, 7, 1), 5: M(2026, 9, 1), 6: M(2024, 10, 1)}
    elderly = FeedRow.objects.filter(feed=world.feeds["老年人护理补贴名单"]).order_by("line")
    assert [(r.event_date, r.amount) for r in elderly] == [
        (M(2026, 8, 1), D("300.00")),
        (M(2026, 10, 1), D("150.00")),
    ]


# ------------------------------------------------------------------ the rules, case by case


def test_a_death_stops_both_subsidies_from_the_month_after_and_recovers_what_was_paid(world):
    assert_item(world, "dead", "death")
    assert_settled(world, "dead")
    # last month owed: August
    assert grants(world, "dead") == {
        "living": (GrantStatus.STOPPED, M(2026, 8, 1)),
        "care": (GrantStatus.STOPPED, M(2026, 8, 1)),
    }
    assert world.lines("dead") == EXPECTED_LINES["dead"]
    assert recovery(world, "dead") == EXPECTED_RECOVERIES["dead"]


def test_prison_stops_both_subsidies_from_the_month_after_the_judgment(world):
    assert_item(world, "prison", "prison")
    assert_settled(world, "prison")
    assert grants(world, "prison") == {
        "living": (GrantStatus.STOPPED, M(2026, 9, 1)),
        "care": (GrantStatus.STOPPED, M(2026, 9, 1)),
    }
    assert world.lines("prison") == EXPECTED_LINES["prison"]
    assert recovery(world, "prison") == EXPECTED_RECOVERIES["prison"]


def test_a_release_from_prison_restores_nothing(world):
    # judged 2026-08-10, released 2026-10-25: stopped from September, re-applies after release
    assert_item(world, "released", "prison")
    assert set(world.items_of("released")) == {"prison"}
    assert grants(world, "released") == {"living": (GrantStatus.STOPPED, M(2026, 8, 1))}
    assert world.lines("released") == EXPECTED_LINES["released"]
    assert recovery(world, "released") == EXPECTED_RECOVERIES["released"]


def test_a_move_out_of_the_deployment_stops_from_the_month_after(world):
    assert_item(world, "moved_away", "moved_out")
    assert_settled(world, "moved_away")
    assert grants(world, "moved_away") == {
        "living": (GrantStatus.STOPPED, M(2026, 9, 1)),
        "care": (GrantStatus.STOPPED, M(2026, 9, 1)),
    }
    assert world.lines("moved_away") == EXPECTED_LINES["moved_away"]
    assert recovery(world, "moved_away") == EXPECTED_RECOVERIES["moved_away"]


def test_a_move_within_the_district_raises_nothing(world):
    assert world.items_of(FILLERS[0].key) == {}


def test_a_cancelled_certificate_stops_the_care_subsidy_from_the_month_after(world):
    assert_item(world, "cancelled", "cert_cancelled")
    assert grants(world, "cancelled") == {"care": (GrantStatus.STOPPED, M(2026, 8, 1))}
    assert world.lines("cancelled") == EXPECTED_LINES["cancelled"]
    assert recovery(world, "cancelled") == EXPECTED_RECOVERIES["cancelled"]


def test_a_renewal_reported_by_the_federation_cures_an_expired_registry_certificate(world):
    # the registry's certificate expired 2026-10-15; 残联's 换领 of October says it was renewed
    assert world.items_of("renewed") == {}


def test_a_renewed_certificate_keeps_the_living_subsidy_paid_in_the_payroll(world):
    # cured, the grant is owed for November like any other (DOMAIN.md: a 换领 renewal cures expiry);
    # the comparison and the payroll must read the certificate alike
    held = list(
        HeldGrant.objects.filter(grant__person=world.person("renewed")).values_list("payroll__month", "rule")
    )
    assert world.lines("renewed") == EXPECTED_LINES["renewed"], f"held: {held}"


def test_a_grade_change_within_a_band_changes_no_money_and_raises_nothing(world):
    for key in ("within_band", "within_band_low"):
        assert world.items_of(key) == {}
        assert world.lines(key) == EXPECTED_LINES[key]


def test_a_downgrade_to_grade_3_pays_the_new_rate_from_the_month_after_and_ends_the_care_subsidy(world):
    assert_item(world, "downgrade", "grade_changed")
    assert_settled(world, "downgrade")
    assert grants(world, "downgrade") == {
        "living": (GrantStatus.ACTIVE, None),
        "care": (GrantStatus.STOPPED, M(2026, 9, 1)),
    }
    # the change line named no category: the person keeps 视力 (1)
    periods = GrantPeriod.objects.filter(grant__person=world.person("downgrade"), grant__kind="living")
    assert list(periods.order_by("from_month").values_list("from_month", "grade", "category")) == [
        (M(2025, 1, 1), 2, 1),
        (OCT, 3, 1),
    ]
    # the current month is never counted as overpaid: November is simply paid at 160
    assert world.lines("downgrade") == EXPECTED_LINES["downgrade"]
    assert recovery(world, "downgrade") == EXPECTED_RECOVERIES["downgrade"]


def test_an_upgrade_pays_from_the_certificates_month_with_three_months_of_arrears(world):
    assert_item(world, "upgrade", "grade_changed")
    assert Item.objects.get(pk=world.raised[("upgrade", "grade_changed")].pk).status == ItemStatus.APPROVED
    assert world.lines("upgrade") == EXPECTED_LINES["upgrade"]
    assert recovery(world, "upgrade") is None


def test_an_upgrade_to_grade_2_is_proposed_for_the_care_subsidy(world):
    assert_item(world, "upgrade", "entitled")


def test_work_injury_care_since_2024_stops_both_subsidies_and_counts_every_month_overpaid(world):
    assert_item(world, "injury_early", "work_injury")
    assert grants(world, "injury_early") == {
        "living": (GrantStatus.STOPPED, M(2024, 10, 1)),
        "care": (GrantStatus.STOPPED, M(2024, 10, 1)),
    }
    assert world.lines("injury_early") == EXPECTED_LINES["injury_early"]
    assert recovery(world, "injury_early") == EXPECTED_RECOVERIES["injury_early"]


def test_work_injury_care_since_july_stops_the_living_subsidy_from_august(world):
    assert_item(world, "injury_late", "work_injury")
    assert grants(world, "injury_late") == {"living": (GrantStatus.STOPPED, M(2026, 7, 1))}
    assert world.lines("injury_late") == EXPECTED_LINES["injury_late"]
    assert recovery(world, "injury_late") == EXPECTED_RECOVERIES["injury_late"]


def test_a_higher_elderly_care_allowance_stops_the_care_subsidy_from_the_month_after_its_start(world):
    assert_item(world, "elderly_higher", "overlap")
    assert set(world.items_of("elderly_higher")) == {"overlap"}
    assert grants(world, "elderly_higher") == {
        "living": (GrantStatus.ACTIVE, None),  # 择高 is about 护理补贴 only
        "care": (GrantStatus.STOPPED, M(2026, 8, 1)),
    }
    assert world.lines("elderly_higher") == EXPECTED_LINES["elderly_higher"]
    assert recovery(world, "elderly_higher") == EXPECTED_RECOVERIES["elderly_higher"]


def test_a_lower_elderly_care_allowance_closes_as_kept_not_dismissed(world):
    item = assert_item(world, "elderly_lower", "overlap_kept")
    assert item.direction == "keep"
    assert set(world.items_of("elderly_lower")) == {"overlap_kept"}
    assert_settled(world, "elderly_lower", ItemStatus.KEPT)
    assert grants(world, "elderly_lower") == {"care": (GrantStatus.ACTIVE, None)}
    assert world.lines("elderly_lower") == EXPECTED_LINES["elderly_lower"]


def test_absence_from_the_dibao_roster_stops_the_living_subsidy_from_the_month_compared(world):
    assert_item(world, "dibao_left", "left_dibao")
    assert grants(world, "dibao_left") == {"living": (GrantStatus.STOPPED, OCT)}
    assert world.lines("dibao_left") == []


def test_dibao_ended_in_the_registry_stops_from_the_month_the_payroll_held_the_grant(world):
    assert_item(world, "dibao_ended", "left_dibao")
    # the exit month is the same in the comparison and in the payroll
    held = HeldGrant.objects.filter(grant__person=world.person("dibao_ended"))
    assert list(held.values_list("payroll__month", "rule")) == [(OCTOBER, "income")]
    assert grants(world, "dibao_ended") == {"living": (GrantStatus.STOPPED, SEP)}
    assert world.lines("dibao_ended") == []
    assert recovery(world, "dibao_ended") is None


def test_a_living_subsidy_resting_on_dibao_edge_is_not_raised_by_the_dibao_roster(world):
    assert world.items_of("dibao_edge") == {}
    assert world.lines("dibao_edge") == EXPECTED_LINES["dibao_edge"]


def test_the_tekun_roster_stops_both_subsidies_from_the_month_after_entering_it(world):
    assert_item(world, "tekun", "tekun")
    assert grants(world, "tekun") == {
        "living": (GrantStatus.STOPPED, SEP),
        "care": (GrantStatus.STOPPED, SEP),
    }
    assert world.lines("tekun") == EXPECTED_LINES["tekun"]
    assert recovery(world, "tekun") == EXPECTED_RECOVERIES["tekun"]


def test_a_declaration_of_disappearance_suspends_both_subsidies_from_the_month_after(world):
    assert_item(world, "missing", "missing")
    assert {kind: status for kind, (status, _end) in grants(world, "missing").items()} == {
        "living": GrantStatus.SUSPENDED,
        "care": GrantStatus.SUSPENDED,
    }
    assert world.lines("missing") == EXPECTED_LINES["missing"]
    assert recovery(world, "missing") == EXPECTED_RECOVERIES["missing"]


def test_a_name_and_birth_date_fitting_two_people_raises_an_ambiguous_item_for_each(world):
    assert_item(world, "namesake_a", "death")
    assert_item(world, "namesake_b", "death")
    assert_settled(world, "namesake_a", ItemStatus.APPROVED)
    assert_settled(world, "namesake_b", ItemStatus.DISMISSED)
    assert grants(world, "namesake_a") == {
        "living": (GrantStatus.STOPPED, SEP),
        "care": (GrantStatus.STOPPED, SEP),
    }
    assert grants(world, "namesake_b") == {
        "living": (GrantStatus.ACTIVE, None),
        "care": (GrantStatus.ACTIVE, None),
    }
    assert world.lines("namesake_a") == EXPECTED_LINES["namesake_a"]
    assert world.lines("namesake_b") == EXPECTED_LINES["namesake_b"]
    assert recovery(world, "namesake_a") == EXPECTED_RECOVERIES["namesake_a"]
    assert recovery(world, "namesake_b") is None


def test_an_item_goes_to_the_street_of_residence_and_the_paying_district_approves_it(world):
    item = Item.objects.get(pk=assert_item(world, "prison", "prison").pk)
    assert (item.street_id, item.district_id) == (XIAWAFANG, HEXI)
    assert (item.resolved_by, item.approved_by) == (world.users["xiawafang"], world.users["hexi"])
    with pytest.raises(PermissionDenied):  # the grant's street cannot visit
        comparison.item_confirm(actor=world.users["dayingmen"], item=item, note="x")


def test_a_dibao_person_with_a_certificate_and_no_subsidy_is_proposed(world):
    assert_item(world, "entitled_dibao", "entitled")


def test_a_dibao_edge_person_with_a_certificate_and_no_subsidy_is_proposed(world):
    assert_item(world, "entitled_edge", "entitled")


def test_a_new_grade_1_certificate_is_proposed_for_the_care_subsidy(world):
    assert_item(world, "entitled_new", "entitled")
    assert world.lines("entitled_new") == []  # a proposal, never a payment


def test_a_new_certificate_of_a_tekun_person_proposes_nothing(world):
    # 特困供养 excludes both subsidies (国发〔2015〕52号): an application would be refused
    assert world.items_of("new_but_tekun") == {}


def test_a_new_certificate_of_a_person_on_work_injury_care_proposes_nothing(world):
    # 工伤保险生活护理费 since 2026-09 excludes both subsidies
    assert world.items_of("new_but_injured") == {}


def test_a_dibao_person_whose_household_is_registered_in_another_district_is_not_proposed(world):
    # the application belongs to the 街道 of the household registration (南开区), not to 河西
    assert world.items_of("hukou_elsewhere") == {}


def test_nobody_else_raises_an_item(world):
    """Fillers and bystanders raise nothing, and nobody planted raises a rule not planted for them
    (the cast expected to raise nothing has a test each)."""
    planted = {key for key, _rule in EXPECTED_ITEMS} | {"transfer", *NO_ITEM, *NOT_PROPOSED}
    unplanted = {key: rule for (key, rule) in world.raised if key not in planted}
    assert unplanted == {}
    extra = {
        (key, rule): item.explanation
        for (key, rule), item in world.raised.items()
        if key in {k for k, _r in EXPECTED_ITEMS} and (key, rule) not in EXPECTED_ITEMS
    }
    assert extra == {}


# ------------------------------------------------------------------ the month's payroll


def test_the_cast_nothing_happens_to_is_paid_its_standard_and_proposals_pay_nothing(world):
    keys = [
        "expires_this_month",
        "expires_in_april",
        "expires_in_may",
        "entitled_dibao",
        "entitled_edge",
        "new_but_tekun",
        "new_but_injured",
        "hukou_elsewhere",
    ]
    assert {key: world.lines(key) for key in keys} == {key: EXPECTED_LINES[key] for key in keys}


def test_every_filler_is_paid_its_standard_for_november(world):
    wrong = {}
    for p in FILLERS:
        expected = sorted(
            (
                kind,
                NOV,
                D(300 if kind == "living" and p.grade <= 2 else 160 if kind == "living" else 200),
                REG,
            )
            for kind in p.grants
        )
        if world.lines(p.key) != expected:
            wrong[p.key] = world.lines(p.key)
    assert wrong == {}


def test_the_november_payroll_totals_by_district_and_kind(world):
    """河西, November 2026, net of arrears and recoveries, by hand (every person's lines are checked
    by the case's own test; a difference here follows from one of them):

    生活补贴: fillers 60×300 + 60×300 + 60×160 + 60×160 = 55,200; paid this month 300 (namesake_b)
    + 300 (transfer) + 160 (renewed) + 300 + 160 (within band) + 160 − 140 (downgrade) + 3×140 + 300
    (upgrade) + 300 (elderly_higher) + 160 (dibao_edge) + 160 + 160 (point zero) + 3×300 (expiring)
    = 3,640; recovered 600 (dead) + 300 (namesake_a) + 300 (prison) + 320 (released) + 300 (missing)
    + 300 (moved_away) + 300 (tekun) + 24×300 (injury_early) + 3×160 (injury_late) = 10,100;
    55,200 + 3,640 − 10,100 = 48,740.

    护理补贴: fillers 180×200 = 36,000; paid 200 (namesake_b) + 200 (transfer) + 200 (within band)
    + 200 (elderly_lower) + 3×200 (expiring) = 1,400; recovered 400 (dead) + 200 (namesake_a) + 200
    (prison) + 200 (missing) + 200 (moved_away) + 400 (cancelled) + 200 (downgrade) + 200 (tekun)
    + 24×200 (injury_early) + 400 (elderly_higher) = 7,200; 36,000 + 1,400 − 7,200 = 30,200.
    """
    totals = {
        kind: sum(world.november.lines.filter(kind=kind).values_list("amount", flat=True), D("0"))
        for kind in ("living", "care")
    }
    assert totals == {"living": D("48740.00"), "care": D("30200.00")}
    assert (world.november.district_id, world.november.total) == (HEXI, D("78940.00"))
    # 420 filler lines (240 + 120 + 60) and 97 of the cast
    assert world.november.line_count == 517


def test_the_lock_records_every_recovery_and_nothing_else(world):
    found = {
        world.key_of[person_id]: amount
        for person_id, amount in Recovery.objects.filter(payroll=world.november).values_list(
            "person_id", "amount"
        )
    }
    assert found == EXPECTED_RECOVERIES


def test_october_paid_every_recipient_but_the_one_who_had_left_dibao(world):
    held = set(HeldGrant.objects.filter(payroll=world.october).values_list("grant__person_id", "grant__kind"))
    assert held == {(world.person("dibao_ended").pk, "living")}


def test_expiry_reminders_cover_six_months_including_the_current_one(world):
    # November 2026 and the five months after: certificates expiring 2026-11-20 and 2027-04-30 are
    # listed, one expiring 2027-05-01 (the seventh month) is not yet
    listed = subsidy_selectors.certificates_expiring(world.users["hexi"], today=M(2026, 11, 5))
    keys = {world.key_of[c.person_id] for c in listed}
    assert keys == {"expires_this_month", "expires_in_april"}


# ------------------------------------------------------------------ a move within the deployment


def test_a_move_to_another_district_of_tianjin_transfers_the_grant_from_the_next_month(world):
    """周海燕's household moved from 河西 to 南开 (光明路社区) on 2026-11-02: nothing stops, a transfer
    item goes to 大营门 (where she lives) and 河西 (which pays) approves it; from December 南开 pays
    300 + 200 and 河西 nothing, and no month is paid twice or lost."""
    items = world.items_of("transfer")
    assert "moved_out" not in items, items["moved_out"].explanation
    assert [item.direction for item in items.values()] == ["transfer"], {
        r: i.explanation for r, i in items.items()
    }
    item = next(iter(items.values()))
    assert (item.effective_month, item.amount_at_stake, item.street_id, item.district_id) == (
        DECEMBER,
        D("0.00"),
        DAYINGMEN,
        HEXI,
    )
    assert world.lines("transfer") == EXPECTED_LINES["transfer"]  # November: still 河西's
    person = world.person("transfer")
    with travel(M(2026, 11, 22)):
        # the street that verified the move records it in the registry, as it would
        people_services.life_event_record(
            actor=world.users["dayingmen"],
            person=person,
            kind="move_out",
            occurred_on=M(2026, 11, 2),
            to_region_code=NANKAI_COMMUNITY,
        )
        comparison.item_confirm(actor=world.users["dayingmen"], item=item, note="已核实户籍迁至南开区")
        approved = comparison.item_approve(actor=world.users["hexi"], item=Item.objects.get(pk=item.pk))
    assert approved.status == ItemStatus.APPROVED
    with travel(M(2026, 12, 20)):
        hexi = payroll_services.payroll_run(
            actor=None, district=Region.objects.get(code=HEXI), month=DECEMBER
        )
        nankai = payroll_services.payroll_run(
            actor=None, district=Region.objects.get(code=NANKAI), month=DECEMBER
        )
    assert world.lines("transfer", hexi) == []
    assert world.lines("transfer", nankai) == _lines(
        ("care", DECEMBER, "200", REG), ("living", DECEMBER, "300", REG)
    )
    assert set(Grant.objects.filter(person=person).values_list("district_id", "street_id", "status")) == {
        (NANKAI, NANKAI_STREET, GrantStatus.ACTIVE)
    }
