"""Official codes and personal identifiers: format, check characters and normal form.

- Administrative division codes (GB/T 2260): six digits, ``PPCCDD``; a province ends in
  ``0000``, a prefecture-level city in ``00``, anything else is county level.
- School identification codes (学校标识码, Ministry of Education): ten digits.
- Unified social credit codes (GB 32100-2015): 18 characters from a 31-symbol alphabet,
  the last a weighted modulo-31 check character.
- Resident identity card numbers (GB 11643-1999): 17 digits and an ISO 7064 MOD 11-2 check
  character (``0``-``9`` or ``X``), with the holder's birth date in positions 7-14.
- Mainland mobile numbers: eleven digits ``1[3-9]xxxxxxxxx``, stored without the country
  code and shown in E.164 (``+86...``).

Every ``normalise_*`` function returns the canonical form or raises ``InvalidCode``
whose ``key`` names the catalog message; none of them puts the value in the message,
since these are personal identifiers.
"""

from __future__ import annotations

import datetime as dt
import re

from idp.directory import InvalidCode

# Province-level prefixes of GB/T 2260 (71 Taiwan, 81 Hong Kong, 82 Macao).
PROVINCE_PREFIXES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
    "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
    "63", "64", "65", "71", "81", "82",
})
# GB/T 2260 has no code for the whole country; 100000 is the value national geographic
# data services conventionally use for it, and the directory's national root uses it.
NATIONAL_CODE = "100000"

_DIVISION = re.compile(r"\d{6}")
_SCHOOL = re.compile(r"[1-9]\d{9}")

# GB 32100-2015: digits and capitals except I, O, S, V, Z.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

# GB 11643 / ISO 7064 MOD 11-2: weight of position i (from the left) is 2^(17-i) mod 11.
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK = "10X98765432"  # check character for (sum mod 11) = 0, 1, 2, ...
_ID_PREFIXES = PROVINCE_PREFIXES | {"83"}  # 83: Taiwan residents' residence permits

_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE_PUNCTUATION = re.compile(r"[\s\-().\u00a0]")

DIVISION_LEVELS = ("national", "province", "city", "county")


def compact_code(value: str) -> str:
    """A code without any whitespace, uppercased: the form codes are compared in."""
    return re.sub(r"\s", "", value).upper()


# -- administrative divisions and schools -------------------------------------------------

def normalise_division_code(value: str) -> str:
    """A six-digit administrative division code with a known province prefix (or the
    national root's ``100000``)."""
    code = compact_code(value)
    if code == NATIONAL_CODE:
        return code
    if not _DIVISION.fullmatch(code) or code[:2] not in PROVINCE_PREFIXES:
        raise InvalidCode("code.bad_division")
    return code


def division_level(code: str) -> str:
    """``national``, ``province``, ``city`` or ``county`` for a normalised division code."""
    if code == NATIONAL_CODE:
        return "national"
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


def division_prefix(code: str) -> str:
    """The leading digits every division inside this one shares ('' for the country)."""
    level = division_level(code)
    return {"national": "", "province": code[:2], "city": code[:4]}.get(level, code)


def normalise_school_code(value: str) -> str:
    """A ten-digit school identification code (学校标识码)."""
    code = compact_code(value)
    if not _SCHOOL.fullmatch(code):
        raise InvalidCode("code.bad_school")
    return code


# -- unified social credit codes --------------------------------------------------------

def credit_code_check_character(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters."""
    total = 0
    for ch, weight in zip(first17, _CREDIT_WEIGHTS, strict=True):
        index = CREDIT_CODE_ALPHABET.find(ch)
        if index < 0:
            raise InvalidCode("code.bad_credit_code")
        total += index * weight
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def normalise_credit_code(value: str) -> str:
    """An 18-character unified social credit code whose check character matches."""
    code = compact_code(value)
    if (len(code) != 18 or any(ch not in CREDIT_CODE_ALPHABET for ch in code)
            or not code[2:8].isdigit()):
        raise InvalidCode("code.bad_credit_code")
    if credit_code_check_character(code[:17]) != code[17]:
        raise InvalidCode("code.bad_credit_check")
    return code


def normalise_org_code(kind: str, value: str) -> str:
    """The code of an organisation of ``kind``: division code for the national root and
    divisions (whose level must match the kind), school code for schools, unified social
    credit code for bureaus and enterprises."""
    if kind in DIVISION_LEVELS:
        code = normalise_division_code(value)
        if division_level(code) != kind:
            raise InvalidCode("code.level_mismatch")
        return code
    if kind == "school":
        return normalise_school_code(value)
    if kind in ("bureau", "enterprise"):
        return normalise_credit_code(value)
    raise InvalidCode("code.bad_kind")


# -- resident identity card numbers ------------------------------------------------------

def id_card_check_character(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character for 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise InvalidCode("code.bad_id_card")
    total = sum(int(ch) * weight for ch, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalise_id_card(value: str, *, today: dt.date | None = None) -> str:
    """An 18-character resident ID number: region prefix, a real birth date not in the
    future, and a matching check character; a lowercase ``x`` becomes ``X``."""
    number = compact_code(value)
    if len(number) != 18 or not number[:17].isascii() or not number[:17].isdigit():
        raise InvalidCode("code.bad_id_card")
    if number[:2] not in _ID_PREFIXES and number[0] != "9":
        # "9" starts the 2023 foreign permanent residents' ID, same layout and check.
        raise InvalidCode("code.bad_id_card")
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidCode("code.bad_id_card_date") from None
    if born.year < 1900 or born > (today or dt.date.today()):
        raise InvalidCode("code.bad_id_card_date")
    if id_card_check_character(number[:17]) != number[17]:
        raise InvalidCode("code.bad_id_card_check")
    return number


def birth_date_of_id_card(number: str) -> dt.date:
    """The birth date written in a normalised ID number."""
    return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


# -- mobile numbers -----------------------------------------------------------------------

def normalise_phone(value: str) -> str:
    """A mainland mobile number as eleven digits: spaces, hyphens, dots and brackets
    dropped, and a ``+86``, ``0086`` or ``86`` country code removed."""
    digits = _PHONE_PUNCTUATION.sub("", value)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
            break
    if not _MOBILE.fullmatch(digits):
        raise InvalidCode("code.bad_phone")
    return digits


def phone_e164(number: str) -> str:
    """A normalised mainland mobile number in E.164, as OIDC's ``phone_number`` wants."""
    return "+86" + number


# -- everything else the directory checks --------------------------------------------------

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
_STUDENT_NUMBER = re.compile(r"[A-Z0-9]{1,32}")


def normalise_username(value: str) -> str:
    """2 to 64 characters: lowercase ASCII letters, digits, ``.``, ``_``, ``-``, starting
    with a letter or digit (case folded to lowercase)."""
    name = value.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise InvalidCode("code.bad_username")
    return name


def normalise_email(value: str) -> str:
    """An address with one ``@`` and a dotted domain; the domain is lowercased."""
    address = value.strip()
    if len(address) > 254 or not _EMAIL.fullmatch(address):
        raise InvalidCode("code.bad_email")
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def normalise_student_number(value: str) -> str:
    """A student number (学籍号): 1 to 32 letters and digits, letters uppercased."""
    number = compact_code(value)
    if not _STUDENT_NUMBER.fullmatch(number):
        raise InvalidCode("code.bad_student_number")
    return number
