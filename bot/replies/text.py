"""Text normalisation and table matching shared by the rule reader and the date grammar.

``normalise`` folds case and diacritics (NFKD), so "gorączkę", "gorączke" and "goraczke" are one
word, and glues English contractions ("won't" -> "wont"). ``spell_correct`` replaces a word that is
not known but is one typo (two for long words) away from a vocabulary word ("temprature" ->
"temperature"); the first letter must agree and common English words are never corrected.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA

from bot.replies.date_words import MONTHS, NEXT_WEEK, REST_OF_WEEK, TOMORROW, WEEKDAYS
from bot.replies.vocabulary import COMMON_WORDS, CONCERN, ILL_MEANS_I_WILL_BEFORE, TYPO_TARGETS, VOCAB

# --------------------------------------------------------------------------------------------------
# Normalisation and matching
# --------------------------------------------------------------------------------------------------

_ILL_MEANS_I_WILL = f"(?:{'|'.join(ILL_MEANS_I_WILL_BEFORE)})"
_FOLD = str.maketrans(
    {
        "ł": "l",
        "Ł": "l",
        "ø": "o",
        "Ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ß": "ss",
        "đ": "d",
        "ı": "i",
        "’": "'",
        "‘": "'",
        "`": "'",
        "´": "'",
        "ʼ": "'",
        "–": "-",
        "—": "-",
    }
)
TOKEN = re.compile(r"[^\W_]+(?:&[^\W_]+)?")
# Latin and Cyrillic entries match as words, stems and phrases; other scripts as substrings.
_LATIN = re.compile(r"^[a-z0-9&*\s\u0400-\u04ff]+$")


def fold(text: str) -> str:
    """Lower-case and drop diacritics: "Gorączkę" -> "goraczke", "Zoë" -> "zoe"."""
    t = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in t if not unicodedata.combining(c)).lower()


def normalise(text: str) -> str:
    """Fold, and expand or glue contractions so every table entry is written one way."""
    t = fold(text)
    # "I'll" must not read as "ill": expand the contractions that make other words, glue the rest
    for short, full in (("ll", " will"), ("re", " are"), ("ve", " have"), ("m", " am"), ("d", " would")):
        t = re.sub(rf"(?<=[a-z])'{short}\b", full, t)
    t = re.sub(r"(?<=[a-z])'(s|t)\b", r"\1", t)  # won't -> wont, he's -> hes
    t = re.sub(rf"\bill (?={_ILL_MEANS_I_WILL}\b)", "i will ", t)  # "Ill call you" without apostrophe
    t = t.replace("'", " ")
    t = re.sub(r"\b([ad])\s*(?:&|\+|\band\b)\s*([ev])\b", r"\1&\2", t)  # d and v -> d&v, a & e -> a&e
    t = re.sub(r"(?<=[^\W\d_])-(?=[^\W\d_])", " ", t)  # self-harm -> self harm, rendez-vous
    return re.sub(r"\s+", " ", t).strip()


@dataclass(frozen=True)
class Compiled:
    """One table compiled for fast matching."""

    words: frozenset[str]
    stems: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]


def _phrase_regex(phrase: str) -> str:
    parts = [re.escape(p[:-1]) + r"\w*" if p.endswith("*") else re.escape(p) for p in phrase.split()]
    return r"(?<![\w&])" + r"\s+".join(parts) + (r"" if phrase.endswith("*") else r"(?![\w&])")


def compile_table(entries: Iterable[str]) -> Compiled:
    words: set[str] = set()
    stems: list[str] = []
    patterns: list[re.Pattern[str]] = []
    for entry in entries:
        if entry.startswith("re:"):
            patterns.append(re.compile(entry[3:]))
            continue
        e = normalise(entry.rstrip("*")) + ("*" if entry.endswith("*") else "")
        if not _LATIN.match(e):
            patterns.append(re.compile(re.escape(e)))
        elif " " in e:
            patterns.append(re.compile(_phrase_regex(e)))
        elif e.endswith("*"):
            stems.append(e[:-1])
        else:
            words.add(e)
    return Compiled(frozenset(words), tuple(stems), tuple(patterns))


def matches(table: Compiled, text: str, tokens: list[str]) -> bool:
    if any(t in table.words for t in tokens):
        return True
    if any(t.startswith(s) for t in tokens for s in table.stems):
        return True
    return any(p.search(text) for p in table.patterns)


TABLES = {code: compile_table(entries) for code, entries in VOCAB.items()}
CONCERN_TABLE = compile_table(CONCERN)
WEEKDAY_TABLES = {d: compile_table(words) for d, words in WEEKDAYS.items()}


def _known_single_words() -> tuple[frozenset[str], tuple[str, ...]]:
    """All single vocabulary words and stems: what the spell corrector may correct towards."""
    words: set[str] = set()
    stems: set[str] = set()
    tables = [*TABLES.values(), CONCERN_TABLE, *WEEKDAY_TABLES.values()]
    for table in tables:
        words |= table.words
        stems |= set(table.stems)
    for group in (TOMORROW, *MONTHS.values(), REST_OF_WEEK, NEXT_WEEK):
        for w in group:
            words |= set(normalise(w).split())
    return frozenset(words), tuple(sorted(stems))


_KNOWN_WORDS, _KNOWN_STEMS = _known_single_words()
_CORRECTION_TARGETS = tuple(sorted(w for w in TYPO_TARGETS if len(w) >= 5))


@lru_cache(maxsize=4096)
def _correct(token: str) -> str | None:
    """The vocabulary word one typo from `token` (two for long words), or None."""
    if len(token) < 5 or not token.isalpha() or token in COMMON_WORDS or token in _KNOWN_WORDS:
        return None
    if any(token.startswith(s) for s in _KNOWN_STEMS):
        return None
    limit = 1 if len(token) < 8 else 2
    candidates = [w for w in _CORRECTION_TARGETS if w[0] == token[0] and abs(len(w) - len(token)) <= limit]
    if not candidates:
        return None
    best = min(candidates, key=lambda w: (OSA.distance(token, w), w))
    return best if OSA.distance(token, best) <= limit else None


def spell_correct(text: str) -> tuple[str, bool]:
    """Replace typo'd words by the vocabulary word they were meant to be; say if any changed."""
    changed = False

    def fix(m: re.Match[str]) -> str:
        nonlocal changed
        better = _correct(m.group(0))
        if better is None:
            return m.group(0)
        changed = True
        return better

    return TOKEN.sub(fix, text), changed
