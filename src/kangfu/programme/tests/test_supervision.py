"""Supervision: a quarter's visit scored on a versioned checklist, findings rectified by the institution
and verified by civil affairs; scores outside their item's range and checklists changed after scoring
are refused or versioned, never rewritten, and nothing is half-saved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from kangfu.core.transitions import Conflict
from kangfu.programme import selectors
from kangfu.programme.models import (
    ChecklistItem,
    ChecklistVersion,
    Finding,
    RectificationStatus,
    Visit,
    VisitScore,
)
from kangfu.programme.services import supervision
from kangfu.programme.tests import factories as pf

pytestmark = pytest.mark.django_db

VISITED = dt.date(2026, 11, 16)


@pytest.fixture
def checklist(city_admin):
    return pf.checklist(city_admin)


def _version(checklist) -> ChecklistVersion:
    return checklist.versions.get(is_current=True)


def _scores(version, *values) -> dict[int, object]:
    return {item.pk: value for item, value in zip(version.items.order_by("seq"), values, strict=True)}


def _visit(actor, institution, version, scores, **overrides):
    values = {
        "institution": institution,
        "year": 2026,
        "quarter": 4,
        "visited_on": VISITED,
        "version": version,
        "team": "区民政局、区卫健委督导组",
        "scores": scores,
        "findings": [supervision.FindingData("服务档案缺少随访记录", dt.date(2026, 12, 15), "王主任")],
        **overrides,
    }
    return supervision.visit_record(actor=actor, data=supervision.VisitData(**values))


def test_a_visit_is_scored_out_of_a_hundred_by_weight(admin, institution, checklist):
    version = _version(checklist)
    visit = _visit(admin, institution, version, _scores(version, "8", "15", "3.5"))
    # Independently: (8-0)/10×2 + (15-0)/20×1 + (3.5-0)/5×1 = 1.6 + 0.75 + 0.7 = 3.05 of weight 4.
    assert visit.score == Decimal("76.3")
    assert VisitScore.objects.filter(visit=visit).count() == 3
    assert Finding.objects.get().status == RectificationStatus.OPEN


def test_a_score_outside_its_items_range_is_refused_and_nothing_is_saved(admin, institution, checklist):
    version = _version(checklist)
    with pytest.raises(ValidationError) as exc:
        _visit(admin, institution, version, _scores(version, "11", "15", "-1"))
    assert exc.value.message_dict == {
        "scores": [
            supervision.SCORE_OUT_OF_RANGE.format(item="服务场所与设施", score="11", low="0.0", high="10.0"),
            supervision.SCORE_OUT_OF_RANGE.format(item="工作人员培训", score="-1", low="0.0", high="5.0"),
        ]
    }
    assert not Visit.objects.exists() and not Finding.objects.exists()


def test_a_score_for_an_item_named_by_something_other_than_its_number_is_refused(
    admin, institution, checklist
):
    # A forged form or API body: refused with the checklist's message, never a server error.
    version = _version(checklist)
    scores = {**_scores(version, "8", "15", "3"), "第一项": "5"}
    with pytest.raises(ValidationError) as exc:
        _visit(admin, institution, version, scores)
    assert exc.value.message_dict == {"scores": [supervision.UNKNOWN_ITEM]}
    assert not Visit.objects.exists()


def test_every_item_must_be_scored(admin, institution, checklist):
    version = _version(checklist)
    scores = _scores(version, "8", "15", "3")
    scores.popitem()
    with pytest.raises(ValidationError) as exc:
        _visit(admin, institution, version, scores)
    assert exc.value.message_dict == {"scores": [supervision.MISSING_SCORES.format(items="工作人员培训")]}


def test_one_visit_per_institution_and_quarter(admin, institution, checklist):
    version = _version(checklist)
    _visit(admin, institution, version, _scores(version, 1, 1, 1))
    with pytest.raises(ValidationError) as exc:
        _visit(admin, institution, version, _scores(version, 2, 2, 2), visited_on=dt.date(2026, 11, 20))
    assert exc.value.messages == [
        supervision.ALREADY_VISITED.format(institution=institution.name, year=2026, quarter=4)
    ]
    assert Visit.objects.count() == 1 and Finding.objects.count() == 1


def test_a_checklist_changed_after_scoring_becomes_a_new_version(admin, city_admin, institution, checklist):
    first = _version(checklist)
    visit = _visit(admin, institution, first, _scores(first, 8, 15, 3))
    before = list(first.items.values_list("text", "max_score", "weight"))
    second = supervision.checklist_revise(
        actor=city_admin,
        checklist=checklist,
        items=[supervision.ItemData("服务场所与设施", Decimal("20"), weight=Decimal("3"))],
        note="2027 年标准",
    )
    assert (second.number, second.is_current) == (2, True)
    first.refresh_from_db()
    assert first.is_current is False
    assert list(first.items.values_list("text", "max_score", "weight")) == before
    assert Visit.objects.get(pk=visit.pk).version == first
    # A visit on the old version after the change is refused.
    with pytest.raises(ValidationError) as exc:
        _visit(admin, institution, first, _scores(first, 1, 1, 1), quarter=3, visited_on=dt.date(2026, 9, 1))
    assert exc.value.message_dict == {"version": [supervision.NOT_CURRENT]}


def test_a_checklist_not_yet_scored_is_corrected_in_place(city_admin, checklist):
    version = supervision.checklist_revise(
        actor=city_admin, checklist=checklist, items=[supervision.ItemData("服务场所与设施", Decimal("10"))]
    )
    assert version.number == 1
    assert ChecklistVersion.objects.count() == 1
    assert ChecklistItem.objects.count() == 1


def test_a_bad_item_range_is_refused(city_admin):
    with pytest.raises(ValidationError) as exc:
        pf.checklist(city_admin, items=[supervision.ItemData("甲", Decimal("5"), min_score=Decimal("5"))])
    assert exc.value.message_dict == {
        "items": [supervision.BAD_ITEM.format(n=1, problem=supervision.ITEM_RANGE)]
    }


def test_only_the_city_sets_checklists(admin):
    with pytest.raises(PermissionDenied):
        pf.checklist(admin)


def test_a_finding_is_answered_by_the_institution_and_verified_by_civil_affairs(
    admin, worker, outsider, institution, checklist
):
    version = _version(checklist)
    _visit(admin, institution, version, _scores(version, 5, 5, 5))
    finding = Finding.objects.get()
    assert selectors.finding_get_for_user(user=worker, pk=finding.pk) == finding
    with pytest.raises(Http404):
        selectors.finding_get_for_user(user=outsider, pk=finding.pk)
    with pytest.raises(PermissionDenied):
        supervision.finding_answer(actor=admin, finding=finding, answer="已补")

    supervision.finding_answer(actor=worker, finding=finding, answer="已补全 10 月随访记录")
    with pytest.raises(Conflict):
        supervision.finding_answer(actor=worker, finding=finding, answer="再补")
    supervision.finding_verify(actor=admin, finding=finding, accepted=False, note="仍缺 11 月记录")
    assert Finding.objects.get().status == RectificationStatus.OPEN
    supervision.finding_answer(actor=worker, finding=Finding.objects.get(), answer="11 月记录已补")
    supervision.finding_verify(actor=admin, finding=Finding.objects.get(), accepted=True)
    assert Finding.objects.get().status == RectificationStatus.VERIFIED
    with pytest.raises(Conflict):
        supervision.finding_verify(actor=admin, finding=Finding.objects.get(), accepted=True)


def test_another_district_may_not_visit_an_institution(outsider, institution, checklist):
    version = _version(checklist)
    with pytest.raises(ValidationError) as exc:
        _visit(outsider, institution, version, _scores(version, 1, 1, 1))
    assert exc.value.message_dict == {"institution": [supervision.NOT_AN_INSTITUTION]}


def test_a_date_outside_the_quarter_is_refused(admin, institution, checklist):
    version = _version(checklist)
    with pytest.raises(ValidationError) as exc:
        _visit(admin, institution, version, _scores(version, 1, 1, 1), quarter=3)
    assert "不在 2026 年第 3 季度内" in exc.value.messages[0]
