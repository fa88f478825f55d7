"""Every shipped family SMS fits in two segments, in every language, with long names."""

import pytest

from bot import templates
from bot.firstday.messages import compose
from bot.messaging.segments import encoding, segments

LONG_SCHOOL = "St Bartholomew's CofE Primary"  # 29 characters
LONG_NAMES = ["Maximilian-Alexander", "Anastasia"]  # 20 + 9


def _sms_messages():
    for name in ("first_day", "chase"):
        for lang in templates.languages("sms", name):
            yield name, lang


@pytest.mark.parametrize(("name", "lang"), list(_sms_messages()))
@pytest.mark.parametrize("names", [LONG_NAMES[:1], LONG_NAMES])
def test_family_sms_fit_two_segments(name, lang, names):
    composed = compose(channel="sms", kind=name, language=lang, first_names=names, school=LONG_SCHOOL)
    assert composed.language == lang
    assert segments(composed.body) <= 2, (lang, encoding(composed.body), len(composed.body), composed.body)
    assert all(n in composed.body for n in names)
    assert LONG_SCHOOL in composed.body


def test_diacritics_are_folded_only_when_needed():
    short = compose(channel="sms", kind="chase", language="ro", first_names=["Ana"], school="Oak")
    assert "ș" in short.body and segments(short.body) <= 2
    long = compose(channel="sms", kind="chase", language="ro", first_names=LONG_NAMES, school=LONG_SCHOOL)
    assert "ș" not in long.body and "stim" in long.body and encoding(long.body) == "GSM-7"


def test_required_languages_are_shipped():
    for name in ("first_day", "chase"):
        assert {"en", "pl", "ro", "ur", "ar", "es"} <= set(templates.languages("sms", name))
    assert {"en", "pl", "ro", "ur", "ar", "es"} <= set(templates.languages("email", "first_day"))


def test_unknown_language_falls_back_to_english():
    composed = compose(channel="sms", kind="first_day", language="zz", first_names=["Ada", "Bo"], school="X")
    assert composed.language == "en"
    assert "Ada and Bo are not in school" in composed.body


def test_segment_counting():
    assert segments("a" * 160) == 1
    assert segments("a" * 161) == 2
    assert segments("a" * 306) == 2
    assert segments("a" * 307) == 3
    assert segments("€" * 80) == 1  # extension characters count double: 160 septets
    assert segments("’" + "a" * 69) == 1  # a curly quote makes it UCS-2: 70 per single part
    assert segments("’" + "a" * 70) == 2
    assert segments("ś" * 134) == 2
    assert segments("ś" * 135) == 3
    assert encoding("Zażółć") == "UCS-2"
    assert encoding("Café £5") == "GSM-7"


def test_email_has_subject_and_signed_link():
    composed = compose(channel="email", kind="first_day", language="pl", first_names=["Ola"], school="Oak",
                       link="http://x/r/abc")
    assert composed.subject and "Ola" in composed.subject
    assert "http://x/r/abc" in composed.body
