"""Phone numbers are stored one way (E.164) however the MIS or a parent wrote them."""

import pytest

from bot.phones import InvalidPhone, display_phone, is_fictional, is_mobile, normalise_phone, parse_phone


@pytest.mark.parametrize(
    "raw",
    [
        "07700 900123",
        "+44 7700 900123",
        "447700900123",
        "(07700) 900-123",
        "07700900123",
        " 0044 7700 900123 ",
        "+44 (0)7700 900123",
    ],
)
def test_uk_mobile_forms_all_become_one_e164(raw):
    assert normalise_phone(raw) == "+447700900123"


def test_real_and_foreign_numbers():
    assert normalise_phone("07911 123456") == "+447911123456"
    assert normalise_phone("+48 512 345 678") == "+48512345678"
    assert normalise_phone("0113 496 0000") == "+441134960000"


@pytest.mark.parametrize(
    "raw", ["", None, "   ", "07700 9", "12345", "not a number", "07700 901123", "0770090012345678"]
)
def test_invalid_numbers_give_none(raw):
    assert normalise_phone(raw) is None


def test_parse_phone_says_why():
    with pytest.raises(InvalidPhone, match="too short"):
        parse_phone("07700 9")
    with pytest.raises(InvalidPhone, match="no phone number"):
        parse_phone("")
    with pytest.raises(InvalidPhone, match="not a valid UK phone number"):
        parse_phone("07700 901123")  # outside the drama range and not allocated


def test_mobile_or_landline():
    assert is_mobile("+447700900123")  # drama range counts as a mobile
    assert is_mobile("+447911123456")
    assert not is_mobile("+441134960000")
    assert not is_mobile(None)
    assert is_fictional("+447700900999") and not is_fictional("+447700901000")


def test_display_form():
    assert display_phone("+447700900123") == "07700 900123"
    assert display_phone("+441134960123") == "0113 496 0123"
    assert display_phone("+48512345678") == "+48 512 345 678"
