"""Chinese resident ID numbers (GB 11643-1999), disability certificate numbers, and masking.

Every message here is shown to a user as it is; tests assert on the constants.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from stdnum.cn import ric

ID_REQUIRED = "请填写身份证号。"
ID_BAD_LENGTH = "身份证号应为18位（旧版15位也可），请核对。"
ID_BAD_CHARS = "身份证号只能由数字和末位的X组成。"
ID_BAD_DATE = "身份证号中的出生日期（第7至14位）不是有效日期。"
ID_FUTURE_DATE = "身份证号中的出生日期晚于今天。"
ID_BAD_CHECK = "身份证号校验位（第18位）不正确，请逐位核对。"
CERT_BAD_FORMAT = "残疾人证号应为20位：18位身份证号加残疾类别和等级各1位。"
CERT_ID_MISMATCH = "残疾人证号的前18位与本人身份证号不一致。"
CERT_BAD_CATEGORY = "残疾人证号第19位（残疾类别）应为1至7。"
CERT_BAD_GRADE = "残疾人证号第20位（残疾等级）应为1至4。"
PHONE_BAD = "手机号应为以1开头的11位数字，固定电话请带区号（如022-23456789）。"

# \d alone would take any script's digits (Arabic-Indic, Devanagari …): only ASCII ones are digits here.
_CN_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$", re.ASCII)
_DIGITS = re.compile(r"[0-9]+")


def _is_digits(value: str) -> bool:
    return bool(_DIGITS.fullmatch(value))


def unified(raw: str) -> str:
    """NFKC first: fullwidth, superscript and circled digits become the ASCII ones they stand for, so
    one number has one form everywhere it enters (a page, the API, an import, a feed, a public form);
    whatever is still not ASCII is then refused by the checks, never stored as a second person."""
    return unicodedata.normalize("NFKC", raw or "")


@dataclass(frozen=True)
class IdFacts:
    """What an ID number says about its holder."""

    number: str
    birth_date: dt.date
    sex: str  # "M" or "F"
    address_code: str


def _clean(raw: str) -> str:
    return re.sub(r"\s+", "", unified(raw)).upper()


def check_character(first17: str) -> str:
    """The 18th character for 17 leading digits (GB 11643: weighted sum mod 11)."""
    # python-stdnum expects all 18 characters and ignores the last one.
    return ric.calc_check_digit(first17 + "0")


def _birth_date(digits: str) -> dt.date:
    try:
        return dt.date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise ValidationError(ID_BAD_DATE, code="id_bad_date") from None


def normalize_id_number(raw: str, *, today: dt.date | None = None) -> IdFacts:
    """Validate an ID number and return it in 18-character form with what it encodes.

    Old 15-digit numbers get `19` inserted into the year and a computed check character. The
    address code is not checked against a list: counties are abolished, old cards stay valid.
    """
    value = _clean(raw)
    if not value:
        raise ValidationError(ID_REQUIRED, code="id_required")
    if len(value) == 15:
        if not _is_digits(value):
            raise ValidationError(ID_BAD_CHARS, code="id_bad_chars")
        first17 = value[:6] + "19" + value[6:]
        _birth_date(first17[6:14])
        value = first17 + check_character(first17)
    if len(value) != 18:
        raise ValidationError(ID_BAD_LENGTH, code="id_bad_length")
    if not (_is_digits(value[:17]) and (_is_digits(value[17]) or value[17] == "X")):
        raise ValidationError(ID_BAD_CHARS, code="id_bad_chars")
    birth = _birth_date(value[6:14])
    if birth.year < 1880:
        raise ValidationError(ID_BAD_DATE, code="id_bad_date")
    if birth > (today or dt.date.today()):
        raise ValidationError(ID_FUTURE_DATE, code="id_future_date")
    if check_character(value[:17]) != value[17]:
        raise ValidationError(ID_BAD_CHECK, code="id_bad_check")
    return IdFacts(
        number=value,
        birth_date=birth,
        sex="M" if int(value[16]) % 2 else "F",
        address_code=value[:6],
    )


@dataclass(frozen=True)
class CertificateFacts:
    number: str
    category: int
    grade: int


def parse_certificate_number(raw: str, *, id_number: str) -> CertificateFacts:
    """Validate a second-generation disability certificate number against its holder's ID."""
    value = _clean(raw)
    if len(value) != 20 or not (_is_digits(value[:17]) and _is_digits(value[18:])):
        raise ValidationError(CERT_BAD_FORMAT, code="cert_bad_format")
    if value[:18] != id_number:
        raise ValidationError(CERT_ID_MISMATCH, code="cert_id_mismatch")
    category, grade = int(value[18]), int(value[19])
    if not 1 <= category <= 7:
        raise ValidationError(CERT_BAD_CATEGORY, code="cert_bad_category")
    if not 1 <= grade <= 4:
        raise ValidationError(CERT_BAD_GRADE, code="cert_bad_grade")
    return CertificateFacts(number=value, category=category, grade=grade)


def normalize_phone(raw: str) -> str:
    """A mobile or landline number with spaces and the +86 prefix removed; '' stays ''."""
    value = re.sub(r"[\s()（）]", "", unified(raw))
    if value.startswith("+86"):
        value = value[3:]
    if not value:
        return ""
    if not _CN_PHONE.match(value):
        raise ValidationError(PHONE_BAD, code="phone_bad")
    return value


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def mask_id_number(value: str) -> str:
    """120101********123X: the issuing county and the last four, as on a receipt."""
    if not value:
        return ""
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def mask_phone(value: str) -> str:
    if not value:
        return ""
    return value[:3] + "****" + value[-4:] if len(value) >= 11 else value[:2] + "****" + value[-2:]


def mask_account(value: str) -> str:
    if not value:
        return ""
    return "**** **** " + value[-4:]
