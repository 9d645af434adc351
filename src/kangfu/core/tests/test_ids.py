import datetime as dt
import unicodedata

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from kangfu.core import ids

TODAY = dt.date(2026, 11, 23)


@st.composite
def valid_ids(draw):
    county = draw(st.sampled_from(["120101", "120103", "340524", "360121", "440308", "810000", "999999"]))
    born = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY))
    seq = draw(st.integers(min_value=0, max_value=999))
    first17 = f"{county}{born:%Y%m%d}{seq:03d}"
    return first17 + ids.check_character(first17)


@pytest.mark.parametrize("number", ["34052419800101001X", "360121197011210013", "440308199901101512"])
def test_published_examples_are_accepted(number):
    assert ids.normalize_id_number(number, today=TODAY).number == number


@given(valid_ids())
def test_every_valid_number_is_accepted_with_its_birth_date_and_sex(number):
    facts = ids.normalize_id_number(number, today=TODAY)
    assert facts.number == number
    assert facts.birth_date == dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert facts.sex == ("M" if int(number[16]) % 2 else "F")


@given(valid_ids(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_every_single_character_change_is_rejected(number, position, replacement):
    if number[position] == replacement or (position < 17 and replacement == "X"):
        return
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(ValidationError):
        ids.normalize_id_number(changed, today=TODAY)


def test_lowercase_x_spaces_and_fullwidth_digits_are_normalised():
    assert ids.normalize_id_number(" 34052419800101001x ", today=TODAY).number == "34052419800101001X"
    assert (
        ids.normalize_id_number("３６０１２１１９７０１１２１００１３", today=TODAY).number
        == "360121197011210013"
    )


def test_fifteen_digit_numbers_are_converted_to_eighteen():
    facts = ids.normalize_id_number("360121701121001", today=TODAY)
    assert facts.number == "360121197011210013"
    assert facts.birth_date == dt.date(1970, 11, 21)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("", ids.ID_REQUIRED),
        ("3601211970112100", ids.ID_BAD_LENGTH),
        ("36012119701121001A", ids.ID_BAD_CHARS),
        ("360121197002300013", ids.ID_BAD_DATE),
        ("360121197011210014", ids.ID_BAD_CHECK),
        ("120101203001010011", ids.ID_FUTURE_DATE),
    ],
)
def test_bad_numbers_get_a_precise_chinese_message(number, message):
    with pytest.raises(ValidationError) as caught:
        ids.normalize_id_number(number, today=TODAY)
    assert caught.value.messages == [message]


def test_certificate_number_gives_category_and_grade():
    facts = ids.parse_certificate_number("36012119701121001343", id_number="360121197011210013")
    assert (facts.category, facts.grade) == (4, 3)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("3601211970112100134", ids.CERT_BAD_FORMAT),
        ("34052419800101001X43", ids.CERT_ID_MISMATCH),
        ("36012119701121001383", ids.CERT_BAD_CATEGORY),
        ("36012119701121001305", ids.CERT_BAD_CATEGORY),
        ("36012119701121001345", ids.CERT_BAD_GRADE),
    ],
)
def test_certificate_numbers_that_do_not_fit_the_person_are_refused(number, message):
    with pytest.raises(ValidationError) as caught:
        ids.parse_certificate_number(number, id_number="360121197011210013")
    assert caught.value.messages == [message]


def test_masks_keep_only_what_a_receipt_shows():
    assert ids.mask_id_number("12010119800101123X") == "120101********123X"
    assert ids.mask_phone("13812345678") == "138****5678"
    assert ids.mask_account("6222021234567890123") == "**** **** 0123"


@pytest.mark.parametrize("raw", ["+86 138 1234 5678", "13812345678", "022-23456789"])
def test_phone_numbers_are_normalised(raw):
    assert ids.normalize_phone(raw) in {"13812345678", "022-23456789"}


def test_a_bad_phone_number_is_refused():
    with pytest.raises(ValidationError) as caught:
        ids.normalize_phone("12345")
    assert caught.value.messages == [ids.PHONE_BAD]


# Digits of other scripts: `str.isdigit` and `\d` take them, and int() reads some of them, so one
# of them in an ID number once made a second record for an existing person (or a 500).
OTHER_DIGITS = st.sampled_from(
    [chr(0x0660 + d) for d in range(10)]  # Arabic-Indic
    + [chr(0x06F0 + d) for d in range(10)]  # Extended Arabic-Indic (Persian)
    + [chr(0x0966 + d) for d in range(10)]  # Devanagari
    + [chr(0x1D7CE + d) for d in range(10)]  # mathematical bold digits: NFKC makes them ASCII
    + ["²", "³", "¹", "①", "⑨", "⁰"]  # superscript and circled: NFKC makes them ASCII
)


@given(valid_ids(), st.integers(min_value=0, max_value=16), OTHER_DIGITS)
def test_a_digit_of_another_script_is_refused_or_read_as_the_ascii_digit_it_stands_for(
    number, position, digit
):
    """Never a 500, never a number that differs from the ASCII one it was read as."""
    changed = number[:position] + digit + number[position + 1 :]
    try:
        facts = ids.normalize_id_number(changed, today=TODAY)
    except ValidationError:
        return
    assert facts.number.isascii()
    assert facts.number == unicodedata.normalize("NFKC", changed).upper()


@given(
    valid_ids(), st.integers(min_value=0, max_value=16), st.sampled_from([chr(0x0660 + d) for d in range(10)])
)
def test_arabic_indic_digits_are_never_taken_for_ascii_ones(number, position, digit):
    changed = number[:position] + digit + number[position + 1 :]
    with pytest.raises(ValidationError) as caught:
        ids.normalize_id_number(changed, today=TODAY)
    assert caught.value.messages == [ids.ID_BAD_CHARS]


@pytest.mark.parametrize("raw", ["1３９0000111١", "139٠0001111", "¹³⁹00001111"])
def test_a_phone_number_with_other_scripts_digits_is_refused_or_read_in_ascii(raw):
    try:
        value = ids.normalize_phone(raw)
    except ValidationError:
        return
    assert value.isascii() and value == "13900001111"
