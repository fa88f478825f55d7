"""The concern safety net: explicit alarm phrases, any one of which raises a concern on its own.

A concern is raised when the model, the rules OR one of these phrases says so, because a missed
worry costs far more than a false one. ``IN_SCHOOL`` phrases ("went to school", "dropped him off")
also tell the reader the child may be at school: never missed, whatever the model thinks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from bot.replies.reader.alarm_phrases import CONCERN, IN_SCHOOL
from bot.replies.text import TOKEN, Compiled, compile_table, matches, normalise


@dataclass(frozen=True)
class Alarm:
    in_school: bool
    concern: bool


@lru_cache(maxsize=1)
def _tables() -> tuple[Compiled, Compiled]:
    in_school = compile_table(p for phrases in IN_SCHOOL.values() for p in phrases)
    concern = compile_table(p for phrases in CONCERN.values() for p in phrases)
    return in_school, concern


def check(text: str) -> Alarm:
    """Which alarms the reply sets off (matched on the normalised text, like the rules)."""
    norm = normalise(text)
    tokens = TOKEN.findall(norm)
    in_school, concern = _tables()
    return Alarm(in_school=matches(in_school, norm, tokens), concern=matches(concern, norm, tokens))
