"""Mobile phone numbers, parsed and validated by Google's libphonenumber (``phonenumbers``).

Stored in one form, E.164 (+8613800138000), whatever was typed: spaces, dashes, brackets,
full-width digits (NFKC-folded first). Digits of other scripts are refused, not converted:
libphonenumber would read them, but they are no one's way of writing a Chinese mobile.
"""

from __future__ import annotations

import re

import phonenumbers

from mutua.errors import ValidationFailed, shown
from mutua.members.identifiers import canonical_text

# Fast path for the common case, a plain Chinese mobile number (bulk imports check 100,000s):
# an 11-digit number that fully matches libphonenumber's own CN mobile pattern is a valid
# mobile number, since no other CN number type of that shape starts with 1.
_CN_PLAIN = re.compile(r"(?:\+86|0086)?(1[0-9]{10})")
_CN_MOBILE = re.compile(
    phonenumbers.PhoneMetadata.metadata_for_region("CN").mobile.national_number_pattern,
    re.ASCII)
# What a typed phone may hold once folded: ASCII digits, a leading +, and separators.
_TYPED = re.compile(r"[+0-9 ()\-.]{1,30}")


def normalise_phone(text: str, *, field: str = "phone", region: str = "CN") -> str:
    """Return the number in E.164 form if it is a valid mobile number, else raise.

    >>> normalise_phone("138 0013 8000"), normalise_phone("１３８００１３８０００")
    ('+8613800138000', '+8613800138000')
    """
    typed = canonical_text(text)
    if region == "CN":
        plain = _CN_PLAIN.fullmatch(typed.replace(" ", "").replace("-", ""))
        if plain and _CN_MOBILE.fullmatch(plain.group(1)):
            return "+86" + plain.group(1)
    if not _TYPED.fullmatch(typed):
        raise ValidationFailed(field, "is not a phone number: %(got)s", got=shown(text))
    try:
        number = phonenumbers.parse(typed, region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed(field, "is not a phone number: %(got)s", got=shown(text)) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(field, "is not a valid phone number: %(got)s", got=shown(text))
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE,
                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise ValidationFailed(field, "must be a mobile number (for SMS notices)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
