"""The rule reader: what the vocabulary tables say a reply means, exactly and explainably.

Rules stay for what they do exactly: STOP/START as the whole message, reasons named in so many words
("dentist", "funeral", "Eid"), and dates. Their reading is also an input to the learned reader (see
``bot.replies.reader.model``), which learned from the corpus how far to trust it.

How a reading is made: the text is normalised and typo-corrected (``bot.replies.text``); each code
whose table matches is a candidate and ``PRIORITY`` picks one, the most specific reason winning
("Dentist at 10, I'll bring him in after" is M, not LATE). A parent saying *they* are ill is taken
out first (their illness is not the child's), and a child caring for someone is a concern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.replies.text import CONCERN_TABLE, TABLES, TOKEN, matches, normalise, spell_correct
from bot.replies.vocabulary import CARING, NEGATED_ILLNESS, OPT_IN, OPT_OUT, PARENT_ILL, PRIORITY

STOP, START = "STOP", "START"


@dataclass(frozen=True)
class RuleReading:
    """The rules' code, how sure they are, whether they see a concern, and the text they read."""

    code: str
    confidence: float
    concern: bool
    norm: str  # normalised and typo-corrected: what the date grammar reads
    corrected: bool


def opt_word(text: str) -> str | None:
    """STOP or START when the whole message is one of the carrier's opt-out / opt-in words."""
    bare = re.sub(r"[^\w]", "", normalise(text))
    if bare in OPT_OUT:
        return STOP
    if bare in OPT_IN:
        return START
    return None


def read(text: str) -> RuleReading:
    """The rules' reading of a reply (opt-out words are the caller's: see ``opt_word``)."""
    norm, corrected = spell_correct(normalise(text))
    parent_ill, caring = PARENT_ILL.search(norm), CARING.search(norm)
    reason_text = PARENT_ILL.sub(" ", norm) if parent_ill else norm
    reason_text = NEGATED_ILLNESS.sub(" ", reason_text)  # "not ill, just tired" is not I
    tokens = TOKEN.findall(reason_text)
    found = [code for code in PRIORITY if matches(TABLES[code], reason_text, tokens)]
    if caring:  # "looking after her sister as the baby is sick": the child is not the one ill
        found = [c for c in found if c not in ("I", "I?")]
    # A parent who is ill is not a concern by itself ("I've got a migraine, no one to take him");
    # a child caring for them is.
    concern = bool(caring) or matches(CONCERN_TABLE, norm, TOKEN.findall(norm))
    code, confidence = _choose_code(found, concern)
    if code == "IN_SCHOOL":
        concern = True
    if corrected:
        confidence -= 0.1
    return RuleReading(code, max(0.05, min(confidence, 1.0)), concern, norm, corrected)


def _choose_code(found: list[str], concern: bool) -> tuple[str, float]:
    """Pick the highest-priority code found; fewer rival reasons means more confidence."""
    reasons = [c for c in found if c != "NONE"]
    if not reasons:
        if concern:
            return "O", 0.6
        return "NONE", 0.8 if found else 0.3
    best = reasons[0]
    if concern and best in ("G?", "C?", "R?", "J1?"):
        return "O", 0.6  # "she ran away last night": a worry, not a weak reason
    confidence = 0.6 if best.endswith("?") else 0.9
    rivals = {c.rstrip("?@") for c in reasons[1:]} - {best.rstrip("?@"), "LATE", "O", "G", "Y1"}
    confidence -= 0.1 * min(len(rivals), 3)
    return best.rstrip("?@"), confidence
