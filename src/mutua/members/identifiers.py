"""One canonical spelling for what identifies a person: ID numbers, phones, member numbers.

Input arrives from forms, the API, CSV and Excel files and FHIR bundles, typed on phones
with Chinese input methods: full-width digits (１２３), ideographic spaces, a lower-case x or
m. Every path reads these through the functions here and in idcard.py and phones.py, which
first fold compatibility characters (Unicode NFKC: １ -> 1, Ｘ -> X, U+3000 -> space) and
then accept only ASCII digits and letters. Digits of other scripts (Arabic-Indic ٣, Devanagari
३) are not folded by NFKC and are refused, so an identity number has exactly one stored form
and the database's unique constraint holds on it: one person, one member.

>>> canonical_text("\\u3000１１０１０５Ｘ ")
'110105X'
>>> member_number(" ｍ000000123")
'M000000123'
>>> member_number("M\\u0661\\u0662\\u0663")
Traceback (most recent call last):
...
mutua.errors.ValidationFailed: member_number: must be M followed by 9 digits, got 'M١٢٣'
"""

from __future__ import annotations

import re
import unicodedata

from mutua.errors import ValidationFailed, shown

_MEMBER_NUMBER = re.compile(r"M[0-9]{9,12}")  # M + 9 digits; wider once there are a billion


def canonical_text(value: object) -> str:
    """NFKC-folded and stripped: the form every identifier is checked and stored in."""
    return unicodedata.normalize("NFKC", str(value if value is not None else "")).strip()


def member_number(value: object, *, field: str = "member_number") -> str:
    """A member number (会员号) in its stored form, e.g. M000000123; refused otherwise."""
    number = member_number_or_none(value)
    if number is None:
        raise ValidationFailed(field, "must be M followed by 9 digits, got %(got)s", got=shown(value))
    return number


def member_number_or_none(value: object) -> str | None:
    """The stored form of a member number, or None when the text is not one."""
    text = canonical_text(value).upper()
    return text if _MEMBER_NUMBER.fullmatch(text) else None
