"""Offline understanding of a parent's SMS reply to an absence text.

A reply such as "Maisie has a high temperature, hopefully back tomorrow" becomes a suggested national
attendance code, the school day the child is expected back, whether the words suggest a safeguarding
or welfare worry, how sure the reading is and the reply's language. The suggestion is evidence for
staff, never a decision: a parent's reply cannot authorise an absence, and staff accept or pick the
code themselves.

How a reply is read, and why this way (no network, nothing downloaded at run time):

1. STOP/START as the whole message are the carrier's opt-out words: rules, exactly (``rules``).
2. The rules read the reply (``rules``): reasons named in so many words, typo-tolerant.
3. The learned reader (``reader.model``), trained on the labelled corpus in ``corpus/``, reads it
   with the rules' reading as one of its inputs, and picks the code. Vocabulary written against one
   small set did not generalise to replies nobody had seen (54% on a multilingual held-out set);
   the model measured far better on held-out replies (``bench/reader_compare.py``).
4. The safety net: a concern is raised when the model, the rules OR an explicit alarm phrase
   (``reader.alarm_phrases``) says so. "Went to school" / "dropped him off" in any language makes
   the code IN_SCHOOL whenever the model gives it any weight: a child who may be missing is never
   read as a reason.
5. Only then, with the final code known, the date grammar (``dates``) finds the day back, always a
   school day of the school's calendar, including "after half term" and replies that give only a date.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from rapidfuzz.distance import OSA

from bot.replies import dates, rules
from bot.replies.reader import alarms, language
from bot.replies.reader.model import shipped
from bot.replies.text import TOKEN, fold

IN_SCHOOL, LATE, NONE, STOP, START = "IN_SCHOOL", "LATE", "NONE", "STOP", "START"
# Model probability of a concern at or above which the reply is a concern (recall first: chosen by
# cross-validation on the corpus so that almost no concern is missed; bench/reader_compare.py).
CONCERN_AT = 0.5
# With an IN_SCHOOL alarm phrase, this much model probability for IN_SCHOOL makes the code IN_SCHOOL.
IN_SCHOOL_AT = 0.05
# Opting a family out of texts on a guess would cut a safety channel: the model's STOP or START
# needs this much probability (the carrier's own words as the whole message are rules: exact).
OPT_AT = 0.6
# Below this confidence a reply "needs reading": staff are asked to read it at once.
NEEDS_READING_BELOW = 0.5


@dataclass(frozen=True)
class Understanding:
    """What a reply says: suggested code, day back, whether it is a welfare worry, and how sure."""

    code: str
    return_date: date | None
    concern: bool
    confidence: float
    language: str | None = None  # "pl", "ur-latn"...; None when not read by the model
    needs_reading: bool = False

    def as_json(self) -> dict:
        """The four keys ``attendance-bot reason`` has always printed, and only those."""
        return {
            "code": self.code,
            "return_date": self.return_date.isoformat() if self.return_date else None,
            "concern": self.concern,
            "confidence": round(self.confidence, 2),
        }


def _weekdays_only(day: date) -> bool:
    return day.weekday() < 5


def understand(
    text: str, today: date, *, is_school_day: Callable[[date], bool] | None = None
) -> Understanding:
    """Understand a parent's reply received on `today` (dates land on `is_school_day` days)."""
    school_day = is_school_day or _weekdays_only
    opted = rules.opt_word(text)
    if opted:
        return Understanding(opted, None, False, 0.99, language="en")
    rule = rules.read(text)
    alarm = alarms.check(text)
    model = shipped()
    if model is None:  # the model file has not been built: the rules alone
        code, confidence, concern, lang, in_school_p = rule.code, rule.confidence, rule.concern, None, 0.0
    else:
        m = model.read(text, rule.code, rule.confidence)
        code, confidence, in_school_p = m.code, m.confidence, m.in_school
        if code in (STOP, START) and confidence < OPT_AT:
            code, confidence = m.second, m.second_confidence
        concern = m.concern >= CONCERN_AT or rule.concern
        lang = m.language if m.language_confidence >= language.SURE else "en"
    if code != IN_SCHOOL and (rule.code == IN_SCHOOL or (alarm.in_school and in_school_p >= IN_SCHOOL_AT)):
        code = IN_SCHOOL
    concern = concern or alarm.concern or alarm.in_school or code == IN_SCHOOL
    if rule.corrected:  # the rules' evidence rested on a guessed spelling
        confidence *= 0.9
    return_date = None
    if code not in (IN_SCHOOL, STOP, START):
        return_date = dates.return_date(rule.norm, today, school_day, late=code == LATE)
    return Understanding(
        code,
        return_date,
        concern,
        max(0.05, min(confidence, 1.0)),
        language=lang,
        needs_reading=confidence < NEEDS_READING_BELOW,
    )


def children_named(text: str, first_names: Iterable[str]) -> list[str]:
    """Which of `first_names` the text mentions, in the order given.

    Case-insensitive and accent-insensitive; a name of five letters or more may have one typo
    ("Isabell" for "Isabelle"), unless the word is exactly another of the names (Sophie vs Sophia).
    """
    names = list(dict.fromkeys(first_names))
    tokens = TOKEN.findall(fold(re.sub(r"['’]s\b", "", text)))  # "Zoë's" -> "zoe"
    folded = {name: " ".join(TOKEN.findall(fold(name))) for name in names}
    exact_names = set(folded.values())
    found = []
    for name in names:
        target = folded[name]
        if not target:
            continue
        parts = target.split()
        n = len(parts)
        windows = [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        typo_ok = len(target.replace(" ", "")) >= 5
        if (
            target in windows
            or typo_ok
            and any(
                w not in exact_names and abs(len(w) - len(target)) <= 1 and OSA.distance(w, target) <= 1
                for w in windows
            )
        ):
            found.append(name)
    return found
