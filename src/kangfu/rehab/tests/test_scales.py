"""Assessment scales as data: every shipped scale scores as its form says, by hand-computed totals.

Expected totals and bands below are worked out by hand from the scale files, never recomputed with the
engine, so a wrong file or a wrong engine both show up.
"""

import itertools
import tomllib
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kangfu.rehab import scales
from kangfu.rehab.models import Scale
from kangfu.rehab.scales import SCALES_DIR, ScaleError

SHIPPED = {"sdss", "psp", "risk", "psychosocial", "mental_status", "social_adaptation"}
LOCAL_DEFAULTS = {"psychosocial", "mental_status", "social_adaptation"}


def definition(code: str) -> dict:
    with (SCALES_DIR / f"{code}.toml").open("rb") as handle:
        return tomllib.load(handle)


def refusal(code: str, answers: dict) -> str:
    """The ValidationError messages scoring these answers raises, joined."""
    with pytest.raises(ValidationError) as caught:
        scales.score(definition(code), answers)
    return " ".join(caught.value.messages)


# --- the scale files ---------------------------------------------------------------------------


def test_every_file_in_the_directory_validates_and_the_six_scales_are_shipped():
    codes = set()
    for path in sorted(SCALES_DIR.glob("*.toml")):
        with path.open("rb") as handle:
            loaded = tomllib.load(handle)
        scales.validate(loaded)
        assert path.stem == loaded["code"]
        codes.add(loaded["code"])
    assert codes >= SHIPPED


def test_the_locally_defined_scales_are_marked_as_local_defaults_to_be_replaced():
    for code in SHIPPED:
        text = (SCALES_DIR / f"{code}.toml").read_text(encoding="utf-8")
        stored = Scale.objects.get(code=code, version=1)
        if code in LOCAL_DEFAULTS:
            assert definition(code)["local_default"] is True and stored.local_default
            header = text.split("\ncode =")[0]
            assert "No national definition" in header and "version 2" in header
            assert "本地默认" in definition(code)["name"]
        else:
            assert definition(code)["local_default"] is False and not stored.local_default


def _reachable(loaded: dict) -> tuple[int, int]:
    """Lowest and highest total a complete set of answers can reach (not-applicable counts 0)."""
    low = high = 0
    for item in loaded["items"]:
        options = item.get("options") or loaded["options"]
        values = [0 if o.get("not_applicable") else o.get("score", o["value"]) for o in options]
        low, high = low + min(values), high + max(values)
    return low, high


@pytest.mark.parametrize("code", sorted(SHIPPED))
def test_bands_cover_every_possible_total_without_gaps_or_overlaps(code):
    loaded = definition(code)
    if loaded["scoring"] == "sum":
        low, high = _reachable(loaded)
    else:
        glob = next(i for i in loaded["items"] if i["key"] == loaded["global_item"])
        low, high = glob["min"], glob["max"]
    bands = sorted(loaded["bands"], key=lambda b: b["min"])
    assert bands[0]["min"] <= low and bands[-1]["max"] >= high
    for band in bands:
        assert band["min"] <= band["max"] and band["meaning"] and band["label"]
    for below, above in itertools.pairwise(bands):
        assert above["min"] == below["max"] + 1


@pytest.mark.parametrize("code", sorted(SHIPPED))
def test_every_scale_says_which_way_is_better_how_much_change_counts_and_how_to_rate(code):
    loaded = definition(code)
    assert loaded["better"] in ("lower", "higher")
    assert loaded["meaningful_change"] > 0
    assert loaded["instructions"] and loaded["short"]


def test_the_reachable_ranges_of_the_local_defaults_are_as_their_headers_say():
    assert _reachable(definition("psychosocial")) == (10, 50)
    assert _reachable(definition("mental_status")) == (0, 44)
    assert _reachable(definition("social_adaptation")) == (0, 30)
    assert [len(definition(c)["items"]) for c in ("psychosocial", "mental_status", "social_adaptation")] == [
        10,
        11,
        10,
    ]


# --- SDSS ----------------------------------------------------------------------------------------

SDSS_KEYS = [
    "work",
    "marriage",
    "parenting",
    "withdrawal",
    "outside_activities",
    "home_activities",
    "family_role",
    "self_care",
    "interest",
    "responsibility",
]


def sdss(**answers) -> dict:
    return {key: 0 for key in SDSS_KEYS} | answers


def test_sdss_leaves_not_applicable_marriage_and_parenting_out_of_the_total():
    # eight applicable items rated 1, marriage and parenting 9 (unmarried): 8, not 26
    result = scales.score(definition("sdss"), {key: 1 for key in SDSS_KEYS} | {"marriage": 9, "parenting": 9})
    assert result.total == 8
    assert result.band == "deficit"
    assert set(result.not_applicable) == {"marriage", "parenting"}


def test_sdss_a_mixed_pattern_adds_up_by_hand():
    # work 2 + withdrawal 1 + interest 2 + responsibility 1 = 6; parenting 9 left out
    result = scales.score(
        definition("sdss"), sdss(work=2, withdrawal=1, interest=2, responsibility=1, parenting=9)
    )
    assert (result.total, result.band, result.not_applicable) == (6, "deficit", ("parenting",))


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        (sdss(), 0, "normal"),
        (sdss(withdrawal=1), 1, "normal"),
        (sdss(withdrawal=1, marriage=9, parenting=9), 1, "normal"),
        (sdss(withdrawal=1, interest=1), 2, "deficit"),
        (sdss(work=2), 2, "deficit"),
        ({key: 2 for key in SDSS_KEYS}, 20, "deficit"),
    ],
)
def test_sdss_one_is_normal_and_two_is_a_deficit(answers, total, band):
    result = scales.score(definition("sdss"), answers)
    assert result.total == total and result.band == band
    assert result.band_label == {"normal": "无明显社会功能缺陷", "deficit": "存在社会功能缺陷"}[band]


def test_sdss_a_missing_item_is_refused_by_its_chinese_label():
    answers = sdss()
    del answers["withdrawal"]
    message = refusal("sdss", answers)
    assert "社会性退缩" in message and "未填写" in message
    # an empty answer is missing too, and every missing item is named
    assert "家庭职能" in refusal("sdss", sdss(family_role="") | {"withdrawal": None})
    assert "社会性退缩" in refusal("sdss", sdss(family_role="") | {"withdrawal": None})


def test_sdss_an_option_not_on_the_form_is_refused():
    message = refusal("sdss", sdss(work=3))
    assert "“职业和工作”的选项“3”不在量表中" in message
    assert "不在量表中" in refusal("sdss", sdss(interest=-1))


def test_an_item_not_on_the_form_is_refused():
    assert "量表中没有这些项目：mood" in refusal("sdss", sdss(mood=1))


SDSS_OPTIONS = st.sampled_from([0, 1, 2, 9])


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], max_examples=200)
@given(st.fixed_dictionaries({key: SDSS_OPTIONS for key in SDSS_KEYS}))
def test_sdss_total_is_the_sum_of_the_applicable_answers_for_any_answers(answers):
    result = scales.score(definition("sdss"), answers)
    applicable = [value for value in answers.values() if value != 9]
    assert result.total == sum(applicable)
    assert 0 <= result.total <= 20
    assert (result.band == "deficit") == (result.total >= 2)
    assert set(result.not_applicable) == {key for key, value in answers.items() if value == 9}


# --- risk ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "band"),
    [(0, "none"), (1, "low"), (2, "low"), (3, "high"), (4, "high"), (5, "high")],
)
def test_risk_levels_fall_in_their_bands(level, band):
    result = scales.score(definition("risk"), {"level": level})
    assert result.total == level and result.band == band


def test_risk_refuses_a_missing_level_and_a_level_beyond_five():
    assert "危险性等级" in refusal("risk", {})
    assert "“危险性等级”的选项“6”不在量表中" in refusal("risk", {"level": 6})


# --- PSP -----------------------------------------------------------------------------------------


def psp(global_score, useful=0, relations=0, self_care=0, disturbing=0) -> dict:
    return {
        "useful": useful,
        "relations": relations,
        "self_care": self_care,
        "disturbing": disturbing,
        "global": global_score,
    }


# Domain ratings (0 无 … 5 非常严重) and the interval psp.toml selects for them, worked by hand:
PSP_PATTERNS = [
    # nothing rated: no interval matches, default_range
    (dict(), 81, 100),
    # one of a-c mild
    (dict(useful=1), 71, 80),
    # one of a-c manifest, or d mild
    (dict(relations=2), 61, 70),
    (dict(disturbing=1), 61, 70),
    (dict(useful=1, relations=1, self_care=1, disturbing=1), 61, 70),
    # one of a-c marked, or d manifest
    (dict(self_care=3), 51, 60),
    (dict(disturbing=2, useful=1), 51, 60),
    # two of a-c marked; or one severe alone
    (dict(useful=3, relations=3), 41, 50),
    (dict(useful=4), 41, 50),
    # one severe and another marked, or d marked
    (dict(useful=4, relations=3), 31, 40),
    (dict(disturbing=3), 31, 40),
    # two of a-c severe, or d severe
    (dict(useful=4, self_care=4), 21, 30),
    (dict(disturbing=4, useful=2), 21, 30),
    # all three of a-c severe, or d very severe
    (dict(useful=4, relations=4, self_care=4), 11, 20),
    (dict(disturbing=5), 11, 20),
    # all three of a-c very severe, or d very severe with a-c all severe
    (dict(useful=5, relations=5, self_care=5), 1, 10),
    (dict(useful=4, relations=5, self_care=4, disturbing=5), 1, 10),
]


@pytest.mark.parametrize(("ratings", "low", "high"), PSP_PATTERNS)
def test_psp_global_score_inside_the_selected_interval_is_accepted(ratings, low, high):
    for value in (low, (low + high) // 2, high):
        assert scales.score(definition("psp"), psp(value, **ratings)).total == value


@pytest.mark.parametrize(("ratings", "low", "high"), PSP_PATTERNS)
def test_psp_global_score_outside_the_selected_interval_is_refused_naming_the_interval(ratings, low, high):
    for value in (low - 1, high + 1):
        if not 1 <= value <= 100:
            continue
        message = refusal("psp", psp(value, **ratings))
        assert f"应在 {low}–{high} 之间" in message and "总分（1–100）" in message


@pytest.mark.parametrize(
    ("ratings", "value", "band"),
    [
        (dict(disturbing=4), 30, "intensive"),
        (dict(disturbing=3), 31, "manifest"),
        (dict(relations=2), 70, "manifest"),
        (dict(useful=1), 71, "mild"),
        (dict(), 100, "mild"),
        (dict(useful=5, relations=5, self_care=5), 1, "intensive"),
    ],
)
def test_psp_bands_at_their_boundaries(ratings, value, band):
    assert scales.score(definition("psp"), psp(value, **ratings)).band == band


def test_psp_refuses_a_missing_global_score_and_a_missing_domain_by_label():
    answers = psp(None)
    assert "总分（1–100）" in refusal("psp", answers)
    answers = psp(75, useful=1)
    del answers["self_care"]
    assert "自我照料" in refusal("psp", answers)
    assert "“扰乱及攻击行为”的选项“6”不在量表中" in refusal("psp", psp(10, disturbing=6))
    assert "“总分（1–100）”的选项“多”不在量表中" in refusal("psp", psp("多"))


def test_psp_a_global_score_that_is_not_a_whole_number_is_refused_as_a_validation_error():
    for value in ("NaN", "sNaN", "Infinity", 65.5):
        with pytest.raises(ValidationError):
            scales.score(definition("psp"), psp(value))


def test_a_flag_is_not_an_answer():
    with pytest.raises(ValidationError):
        scales.score(definition("risk"), {"level": True})


def test_a_scale_whose_bands_leave_a_gap_is_refused_when_loaded():
    broken = {
        **definition("risk"),
        "bands": [
            {"min": 0, "max": 0, "code": "a", "label": "a"},
            {"min": 2, "max": 5, "code": "b", "label": "b"},
        ],
    }
    with pytest.raises(scales.ScaleError):
        scales.validate(broken)
    short = {**definition("risk"), "bands": [{"min": 0, "max": 3, "code": "a", "label": "a"}]}
    with pytest.raises(scales.ScaleError):
        scales.validate(short)


# --- the local defaults --------------------------------------------------------------------------

PSYCHOSOCIAL_KEYS = [
    "emotion",
    "interpersonal",
    "daily_routine",
    "self_care",
    "family",
    "community",
    "medication",
    "stress",
    "self_awareness",
    "help_seeking",
]


def psychosocial(*values: int) -> dict:
    return dict(zip(PSYCHOSOCIAL_KEYS, values, strict=True))


@pytest.mark.parametrize(
    ("values", "total", "band"),
    [
        ((1,) * 10, 10, "poor"),
        ((2, 2, 2, 2, 2, 2, 3, 3, 3, 3), 24, "poor"),
        ((2, 2, 2, 2, 2, 3, 3, 3, 3, 3), 25, "fair"),
        ((2, 3, 4, 5, 3, 2, 4, 2, 3, 2), 30, "fair"),
        ((4, 4, 4, 4, 4, 4, 4, 4, 4, 3), 39, "fair"),
        ((4,) * 10, 40, "good"),
        ((5,) * 10, 50, "good"),
    ],
)
def test_psychosocial_totals_and_bands(values, total, band):
    result = scales.score(definition("psychosocial"), psychosocial(*values))
    assert (result.total, result.band) == (total, band)


def test_psychosocial_refuses_a_missing_item_and_a_zero_rating():
    answers = psychosocial(*(3,) * 10)
    del answers["medication"]
    assert "服药管理" in refusal("psychosocial", answers)
    assert "“情绪管理”的选项“0”不在量表中" in refusal("psychosocial", psychosocial(0, *(3,) * 9))


MENTAL_KEYS = [
    "hallucination",
    "delusion",
    "thought_disorder",
    "low_mood",
    "anxiety",
    "excitement",
    "bizarre_behaviour",
    "blunted_affect",
    "self_harm",
    "insight",
    "sleep",
]


def mental(*values: int) -> dict:
    return dict(zip(MENTAL_KEYS, values, strict=True))


@pytest.mark.parametrize(
    ("values", "total", "band"),
    [
        ((0,) * 11, 0, "stable"),
        ((1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0), 10, "stable"),
        ((1,) * 11, 11, "moderate"),
        ((3, 2, 1, 0, 1, 0, 2, 1, 0, 3, 2), 15, "moderate"),
        ((2,) * 11, 22, "moderate"),
        ((3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2), 23, "marked"),
        ((4,) * 11, 44, "marked"),
    ],
)
def test_mental_status_totals_and_bands(values, total, band):
    result = scales.score(definition("mental_status"), mental(*values))
    assert (result.total, result.band) == (total, band)


def test_mental_status_refuses_a_missing_insight_rating_and_a_rating_of_five():
    answers = mental(*(1,) * 11)
    del answers["insight"]
    assert "自知力" in refusal("mental_status", answers)
    assert "“睡眠”的选项“5”不在量表中" in refusal("mental_status", mental(*(1,) * 10, 5))


SOCIAL_KEYS = [
    "self_care",
    "housework",
    "money",
    "transport",
    "public_services",
    "communication",
    "social_contact",
    "social_rules",
    "time_management",
    "work_study",
]


def social(*values: int) -> dict:
    return dict(zip(SOCIAL_KEYS, values, strict=True))


@pytest.mark.parametrize(
    ("values", "total", "band", "not_applicable"),
    [
        ((0,) * 10, 0, "poor", ()),
        ((1,) * 10, 10, "poor", ()),
        ((1, 1, 1, 1, 1, 1, 1, 1, 1, 9), 9, "poor", ("work_study",)),
        ((2, 1, 1, 1, 1, 1, 1, 1, 1, 1), 11, "partial", ()),
        ((3, 3, 2, 1, 2, 2, 1, 3, 2, 0), 19, "partial", ()),
        ((2,) * 10, 20, "partial", ()),
        ((3, 2, 2, 2, 2, 2, 2, 2, 2, 2), 21, "good", ()),
        ((3, 3, 3, 3, 3, 3, 3, 3, 3, 9), 27, "good", ("work_study",)),
        ((3,) * 10, 30, "good", ()),
    ],
)
def test_social_adaptation_totals_bands_and_not_applicable_work(values, total, band, not_applicable):
    result = scales.score(definition("social_adaptation"), social(*values))
    assert (result.total, result.band, result.not_applicable) == (total, band, not_applicable)


def test_social_adaptation_offers_not_applicable_only_for_work_or_study():
    message = refusal("social_adaptation", social(9, 3, 3, 3, 3, 3, 3, 3, 3, 3))
    assert "“生活自理”的选项“9”不在量表中" in message
    answers = social(*(2,) * 10)
    del answers["work_study"]
    assert "工作或学习" in refusal("social_adaptation", answers)


# --- outcome -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "baseline", "latest", "expected"),
    [
        # SDSS: lower is better, a change of 2 counts
        ("sdss", 9, 7, "improved"),
        ("sdss", 9, 8, "unchanged"),
        ("sdss", 9, 10, "unchanged"),
        ("sdss", 9, 11, "worse"),
        ("sdss", Decimal(2), Decimal(0), "improved"),
        # risk: lower is better, any level counts
        ("risk", 3, 2, "improved"),
        ("risk", 2, 2, "unchanged"),
        ("risk", 1, 3, "worse"),
        # PSP: higher is better, 10 points count
        ("psp", 45, 55, "improved"),
        ("psp", 45, 54, "unchanged"),
        ("psp", 45, 36, "unchanged"),
        ("psp", 45, 35, "worse"),
        # 心理社交: higher is better, 5 points count
        ("psychosocial", 25, 30, "improved"),
        ("psychosocial", 25, 29, "unchanged"),
        ("psychosocial", 25, 21, "unchanged"),
        ("psychosocial", 25, 20, "worse"),
        # 精神状况: lower is better, 4 points count
        ("mental_status", 20, 16, "improved"),
        ("mental_status", 20, 17, "unchanged"),
        ("mental_status", 20, 23, "unchanged"),
        ("mental_status", 20, 24, "worse"),
        # 社会适应: higher is better, 3 points count
        ("social_adaptation", 12, 15, "improved"),
        ("social_adaptation", 12, 14, "unchanged"),
        ("social_adaptation", 12, 10, "unchanged"),
        ("social_adaptation", 12, 9, "worse"),
    ],
)
def test_outcome_follows_the_direction_and_the_meaningful_change(code, baseline, latest, expected):
    assert scales.outcome(definition(code), baseline, latest) == expected


def test_the_same_fall_is_an_improvement_on_a_lower_better_scale_and_worse_on_a_higher_better_one():
    assert scales.outcome(definition("sdss"), 12, 6) == "improved"
    assert scales.outcome(definition("social_adaptation"), 12, 6) == "worse"


# --- loading -------------------------------------------------------------------------------------


def test_load_is_idempotent():
    Scale.objects.all().delete()
    assert scales.load() == len(list(SCALES_DIR.glob("*.toml")))
    before = list(Scale.objects.order_by("code", "version").values_list("code", "version", "is_current"))
    assert scales.load() == 0
    assert scales.load() == 0
    after = list(Scale.objects.order_by("code", "version").values_list("code", "version", "is_current"))
    assert after == before
    assert {code for code, _, current in after if current} >= SHIPPED


def test_a_changed_definition_under_the_same_version_is_refused(tmp_path):
    text = (SCALES_DIR / "sdss.toml").read_text(encoding="utf-8")
    changed = text.replace('label = "职业和工作"', 'label = "职业和学习"')
    assert changed != text
    (tmp_path / "sdss.toml").write_text(changed, encoding="utf-8")
    with pytest.raises(ScaleError, match="量表 sdss 第 1 版已经载入且内容不同"):
        scales.load(tmp_path)
    stored = Scale.objects.get(code="sdss", version=1)
    assert stored.definition["items"][0]["label"] == "职业和工作"
    assert Scale.objects.filter(code="sdss").count() == 1


def test_a_comment_only_change_is_not_a_new_definition(tmp_path):
    text = (SCALES_DIR / "sdss.toml").read_text(encoding="utf-8")
    (tmp_path / "sdss.toml").write_text("# reformatted by a region\n\n" + text, encoding="utf-8")
    assert scales.load(tmp_path) == 0


def test_a_higher_version_becomes_current_and_the_older_one_stays(tmp_path):
    text = (SCALES_DIR / "sdss.toml").read_text(encoding="utf-8")
    version_two = text.replace("version = 1", "version = 2", 1).replace(
        'label = "职业和工作"', 'label = "职业和学习"'
    )
    (tmp_path / "sdss.toml").write_text(version_two, encoding="utf-8")
    assert scales.load(tmp_path) == 1
    old, new = Scale.objects.get(code="sdss", version=1), Scale.objects.get(code="sdss", version=2)
    assert new.is_current and not old.is_current
    assert old.definition["items"][0]["label"] == "职业和工作"
    assert new.definition["items"][0]["label"] == "职业和学习"
    # loading the shipped directory again does not bring version 1 back as current
    assert scales.load() == 0
    assert Scale.objects.get(code="sdss", is_current=True).version == 2
    assert Scale.objects.get(code="psp", is_current=True).version == 1
