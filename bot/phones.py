"""Phone numbers: one stored form (E.164) whatever way a school's MIS or a parent typed them.

Twilio sends to and reports from E.164 numbers (``+447700900123``), and inbound replies are matched
to contacts by that string, so every number is normalised here, once, on the way in.

The Ofcom drama range (07700 900000 to 07700 900999) is reserved for fiction and is not "valid" in
the ``phonenumbers`` metadata; we accept it as a mobile so the sample trust, the sandbox and the tests
can use numbers that can never reach a real person.
"""

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from bot.errors import UserError

REGION = "GB"
_DRAMA_MOBILE = re.compile(r"^\+447700900\d{3}$")
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


class InvalidPhone(UserError):
    """The text is not a phone number we can send to; the message says why."""


def is_fictional(e164: str) -> bool:
    """True for numbers in the Ofcom drama range: safe in samples, never a real person."""
    return bool(_DRAMA_MOBILE.match(e164 or ""))


def parse_phone(raw: str, *, region: str = REGION) -> str:
    """Return ``raw`` as E.164 or raise ``InvalidPhone`` with a reason a school office understands.

    ``07700 900123``, ``+44 7700 900123``, ``447700900123`` and ``(07700) 900-123`` all give
    ``+447700900123``. Numbers from other countries must carry their ``+`` prefix.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("no phone number given")
    digits = re.sub(r"\D", "", text)
    candidates = [text]
    # "447700900123" (a UK number missing its +) parses as a national number without this.
    if not text.startswith(("+", "0")) and digits.startswith("44") and len(digits) == 12:
        candidates.insert(0, "+" + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except NumberParseException:
            continue
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(number) or is_fictional(e164):
            return e164
    if len(digits) < 10:
        raise InvalidPhone(f"'{text}' is too short to be a phone number")
    if len(digits) > 15:
        raise InvalidPhone(f"'{text}' is too long to be a phone number")
    raise InvalidPhone(f"'{text}' is not a valid UK phone number (numbers abroad need their + prefix)")


def normalise_phone(raw: str | None, *, region: str = REGION) -> str | None:
    """E.164 for a valid number; None for a blank or invalid one (use ``parse_phone`` for the reason)."""
    try:
        return parse_phone(raw or "", region=region)
    except InvalidPhone:
        return None


def is_mobile(e164: str | None) -> bool:
    """Whether a number can receive SMS: a mobile (or a number that may be one) or a drama number."""
    if not e164:
        return False
    if is_fictional(e164):
        return True
    try:
        number = phonenumbers.parse(e164, REGION)
    except NumberParseException:
        return False
    return phonenumbers.number_type(number) in _MOBILE_TYPES


def display_phone(e164: str | None) -> str:
    """A number as people write it: national form for UK numbers, international otherwise."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, REGION)
    except NumberParseException:
        return e164
    if number.country_code == 44:
        if is_fictional(e164):
            return "0" + e164[3:7] + " " + e164[7:]
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
