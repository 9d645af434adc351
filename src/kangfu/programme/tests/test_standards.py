"""Standards as data: the shipped assessment standard is the weights used before, so no result moved; a
revision makes a new version once one is used and never changes a closed year; a contract's acceptance
is scored at or after its end on an acceptance standard, each score within its item's range, confirmed
by a second person, and only then lets the final payment be requested; confirmed acceptances feed the
next year's assessment. Each refusal leaves nothing saved."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kangfu.core import access
from kangfu.core.models import AuditEntry
from kangfu.core.transitions import Conflict
from kangfu.programme import selectors_standards as standards_read
from kangfu.programme.models import (
    Acceptance,
    AcceptanceResult,
    AcceptanceStatus,
    Milestone,
    PaymentRequest,
    Standard,
    StandardItem,
    StandardVersion,
)
from kangfu.programme.services import contracts
from kangfu.programme.services import standards as svc
from kangfu.programme.standards import ACCEPTANCE_CODE, ASSESSMENT_CODE
from kangfu.programme.tests import factories as pf
from kangfu.programme.tests.test_services import delivered  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

ENDED = dt.date(2026, 11, 20)  # before the tests' today, 2026-11-23


def _items(standard_code: str):
    version = Standard.objects.get(code=standard_code).versions.get(is_current=True)
    return version, list(version.items.order_by("seq"))


def _lines(items) -> list[svc.StandardItemData]:
    return [svc.StandardItemData(i.text, i.max_score, i.min_score, i.weight, i.indicator) for i in items]


@pytest.fixture
def ended(admin, fund, institution):
    return pf.contract(admin, fund, institution, ends_on=ENDED, title="已到期的服务项目")


def _accept(actor, contract, *, scores=("9", "8", "10"), on=ENDED):
    version, items = _items(ACCEPTANCE_CODE)
    scored = [i for i in items if not i.indicator]
    return svc.acceptance_score(
        actor=actor,
        contract=contract,
        data=svc.AcceptanceData(
            version=version,
            accepted_on=on,
            team="区民政局、财政局、卫健委联合验收组",
            scores={i.pk: Decimal(s) for i, s in zip(scored, scores, strict=True)},
        ),
    )


class TestAssessmentStandard:
    def test_the_shipped_standard_is_the_weights_used_before(self):
        version = standards_read.assessment_version(2026)
        items = list(version.items.order_by("seq"))
        assert version.number == 1 and version.year_from <= 2026
        assert [(i.indicator, i.kind, i.min_score, i.max_score, i.weight) for i in items] == [
            ("delivery", "auto", 0, 100, 30),
            ("follow_ups", "auto", 0, 100, 20),
            ("outcomes", "auto", 0, 100, 15),
            ("training", "auto", 0, 100, 10),
            ("supervision", "score", 0, 100, 25),
        ]

    def test_a_revision_for_next_year_leaves_this_years_results_as_they_were(
        self,
        admin,
        city_admin,
        institution,
        contract,
        delivered,  # noqa: F811
    ):
        before = standards_read.assessment(admin, year=2026)
        _, items = _items(ASSESSMENT_CODE)
        heavier = [
            *_lines(items[:1]),
            svc.StandardItemData("随访及时率", Decimal(100), weight=Decimal(80), indicator="follow_ups"),
        ]
        version = svc.standard_revise(
            actor=city_admin,
            standard=Standard.objects.get(code=ASSESSMENT_CODE),
            items=heavier,
            year_from=2027,
        )

        assert (version.number, version.year_from) == (2, 2027)
        assert standards_read.assessment(admin, year=2026) == before  # v1 still governs 2026
        assert (
            StandardItem.objects.filter(version__number=1, version__standard__code=ASSESSMENT_CODE).count()
            == 5
        )
        got = standards_read.assessment(admin, year=2027)[0]
        assert list(got["indicators"]) == ["delivery", "follow_ups"]
        # A correction of 2027's version before the year begins is made in place.
        again = svc.standard_revise(
            actor=city_admin,
            standard=Standard.objects.get(code=ASSESSMENT_CODE),
            items=heavier[:1],
            year_from=2027,
        )
        assert again.pk == version.pk and again.items.count() == 1

    def test_a_closed_year_cannot_be_given_another_standard(self, city_admin):
        _, items = _items(ASSESSMENT_CODE)
        standard = Standard.objects.get(code=ASSESSMENT_CODE)
        with pytest.raises(ValidationError) as exc:
            svc.standard_revise(actor=city_admin, standard=standard, items=_lines(items), year_from=2025)
        assert exc.value.message_dict["year_from"] == [svc.YEAR_CLOSED.format(year=2026)]
        assert standard.versions.count() == 2

    def test_items_that_cannot_be_computed_are_refused_with_their_line(self, city_admin):
        standard = Standard.objects.get(code=ASSESSMENT_CODE)
        bad = [
            svc.StandardItemData("满意度", Decimal(100), indicator="happiness"),
            svc.StandardItemData("完成率", Decimal(10), indicator="delivery"),
            svc.StandardItemData("现场印象", Decimal(10)),
        ]
        with pytest.raises(ValidationError) as exc:
            svc.standard_revise(actor=city_admin, standard=standard, items=bad, year_from=2027)
        problems = exc.value.message_dict["items"]
        assert problems[0].startswith("第 1 项：指标代码“happiness”不是可用于年度考核的指标")
        assert problems[1] == f"第 2 项：{svc.AUTO_RANGE}"
        assert problems[2] == f"第 3 项：{svc.ASSESSMENT_NEEDS_INDICATORS}"
        assert standard.versions.count() == 2

    def test_only_the_city_sets_standards(self, admin):
        _, items = _items(ASSESSMENT_CODE)
        with pytest.raises(PermissionDenied):
            svc.standard_revise(
                actor=admin,
                standard=Standard.objects.get(code=ASSESSMENT_CODE),
                items=_lines(items),
                year_from=2027,
            )


class TestAcceptance:
    def test_an_ended_contract_is_scored_confirmed_by_another_and_its_final_payment_freed(
        self,
        admin,
        colleague,
        worker,
        ended,
        delivered,  # noqa: F811
    ):
        final = pf.milestone(admin, ended, name="尾款", amount="60000.00", final=True)
        with pytest.raises(ValidationError) as exc:
            contracts.payment_request(actor=worker, milestone=final)
        assert exc.value.messages == [svc.FINAL_NEEDS_ACCEPTANCE]

        acceptance = _accept(admin, ended)

        version, items = _items(ACCEPTANCE_CODE)
        values = {s.item.indicator or s.item_id: s.value for s in acceptance.scores.select_related("item")}
        figures = standards_read.contract_indicators(ended, items)
        assert values["delivery"] == figures["delivery"] == Decimal("82.5")  # as the assessment counts it
        expected = sum(
            (values[i.indicator or i.pk] - i.min_score) / (i.max_score - i.min_score) * 100 * i.weight
            for i in items
            if values[i.indicator or i.pk] is not None
        ) / sum(i.weight for i in items if values[i.indicator or i.pk] is not None)
        assert acceptance.score == expected.quantize(Decimal("0.1"), ROUND_HALF_UP)
        # Late follow-ups pull it under the pass line: passed after rectification, which frees the
        # final payment like a pass.
        assert version.rectify_score <= acceptance.score < version.pass_score
        assert acceptance.result == AcceptanceResult.RECTIFY
        assert acceptance.status == AcceptanceStatus.SCORED
        # Not yet confirmed: the final payment still waits.
        with pytest.raises(ValidationError):
            contracts.payment_request(actor=worker, milestone=final)
        with pytest.raises(PermissionDenied) as exc:
            svc.acceptance_confirm(actor=admin, acceptance=acceptance)
        assert str(exc.value) == access.SAME_ACTOR

        svc.acceptance_confirm(actor=colleague, acceptance=acceptance, note="同意")

        assert Acceptance.objects.get(pk=acceptance.pk).confirmed_by == colleague
        payment = contracts.payment_request(actor=worker, milestone=Milestone.objects.get(pk=final.pk))
        assert payment.amount == Decimal("60000.00")
        assert AuditEntry.objects.filter(summary__contains="验收评分").count() == 1
        with pytest.raises(Conflict):
            svc.acceptance_confirm(actor=colleague, acceptance=acceptance)

    def test_a_score_outside_its_items_range_is_refused_and_nothing_saved(self, admin, ended):
        with pytest.raises(ValidationError) as exc:
            _accept(admin, ended, scores=("9", "11", "10"))
        assert exc.value.message_dict["scores"] == [
            svc.SCORE_OUT_OF_RANGE.format(
                item="服务对象及家属满意度（现场抽查）", score="11", low="0.0", high="10.0"
            )
        ]
        assert not Acceptance.objects.exists()

    def test_a_contract_still_running_is_not_accepted(self, admin, contract):
        with pytest.raises(ValidationError) as exc:
            _accept(admin, contract, on=dt.date(2026, 11, 23))
        assert exc.value.message_dict["accepted_on"] == [svc.NOT_ENDED.format(ends_on=contract.ends_on)]

    def test_a_failed_acceptance_never_frees_the_final_payment(self, admin, colleague, worker, ended):
        final = pf.milestone(admin, ended, name="尾款", amount="60000.00", final=True)
        acceptance = _accept(admin, ended, scores=("0", "0", "0"))  # nothing delivered, nothing scored
        assert acceptance.result == AcceptanceResult.FAILED
        svc.acceptance_confirm(actor=colleague, acceptance=acceptance)
        with pytest.raises(ValidationError) as exc:
            contracts.payment_request(actor=worker, milestone=final)
        assert exc.value.messages == [svc.FINAL_FAILED]
        assert not PaymentRequest.objects.exists()

    def test_one_live_acceptance_per_contract_and_a_returned_one_may_be_redone(self, admin, colleague, ended):
        first = _accept(admin, ended)
        with pytest.raises(Conflict):
            _accept(admin, ended)
        with pytest.raises(ValidationError):
            svc.acceptance_return(actor=colleague, acceptance=first, note=" ")
        svc.acceptance_return(actor=colleague, acceptance=first, note="满意度抽查样本不足")
        again = _accept(admin, ended)
        assert again.pk != first.pk and Acceptance.objects.count() == 2

    def test_a_used_acceptance_standard_is_revised_into_a_new_version(self, admin, city_admin, ended):
        acceptance = _accept(admin, ended)
        version, items = _items(ACCEPTANCE_CODE)
        new = svc.standard_revise(
            actor=city_admin,
            standard=version.standard,
            items=_lines(items[:3]),
            pass_score="85",
            rectify_score="70",
        )
        assert new.number == 2 and new.pass_score == Decimal("85.0")
        assert StandardVersion.objects.get(pk=version.pk).items.count() == 5
        assert Acceptance.objects.get(pk=acceptance.pk).version_id == version.pk

    def test_another_districts_administrator_may_not_accept(self, outsider, ended):
        with pytest.raises(PermissionDenied):
            _accept(outsider, ended)

    def test_a_confirmed_acceptance_feeds_the_next_years_assessment(
        self, admin, colleague, city_admin, institution, ended
    ):
        svc.acceptance_confirm(actor=colleague, acceptance=_accept(admin, ended))
        svc.standard_revise(
            actor=city_admin,
            standard=Standard.objects.get(code=ASSESSMENT_CODE),
            items=[
                svc.StandardItemData(
                    "上年度合同验收得分", Decimal(100), weight=Decimal(10), indicator="acceptance"
                )
            ],
            year_from=2027,
        )
        row = standards_read.assessment(admin, year=2027)[0]
        assert row["indicators"] == {"acceptance": Acceptance.objects.get().score}
        assert row["total"] == Acceptance.objects.get().score


def test_the_satisfaction_survey_is_an_indicator_of_the_standard_from_2027(
    admin,
    city_admin,
    worker,
    institution,
    contract,
    delivered,  # noqa: F811
):
    from kangfu.rehab.models.satisfaction import SCORED_FIELDS
    from kangfu.rehab.services.satisfaction import SurveyData, survey_record

    shipped = standards_read.assessment_version(2027)
    assert (shipped.number, shipped.year_from) == (2, 2027)
    assert "satisfaction" in {i.indicator for i in shipped.items.all()}
    assert "satisfaction" not in standards_read.assessment(admin, year=2026)[0]["indicators"]
    for case, overall in zip(delivered, (4, 5), strict=False):
        scores = dict.fromkeys(SCORED_FIELDS, 4) | {"overall": overall}
        survey_record(
            actor=worker,
            case=case,
            data=SurveyData(filled_on=dt.date(2026, 11, 16), respondent="user", scores=scores),
        )
    # Brought forward to this year (not yet used, so corrected in place): the surveys count.
    _, items = _items(ASSESSMENT_CODE)
    svc.standard_revise(actor=city_admin, standard=shipped.standard, items=_lines(items), year_from=2026)
    row = standards_read.assessment(admin, year=2026)[0]
    assert row["indicators"]["satisfaction"] == Decimal("90.0")  # mean 4.5 of 5
