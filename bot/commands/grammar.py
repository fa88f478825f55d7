"""The staff command language, shared by every chat tool.

Slack sends ``/recode`` and its text, Teams sends ``@Attendance recode ...``, the sandbox sends a
line: each edge turns what it got into one line (``recode Amelia Khan I am ill``) and ``parse``
turns that into a typed request. Nothing here touches the database: who the pupil is, whether the
date is a school day and whether the user may act are the service's questions.

Long because: the command language is read whole — the requests, the words, the help staff see and
the parser that must agree with that help; about a fifth of it is the help's prose.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot import codes
from bot.errors import UserError

# --------------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Absences:
    day: date
    year: int | None = None
    class_name: str | None = None
    explicit_day: bool = False


@dataclass(frozen=True)
class Call:
    pupil: str
    outcome: str
    note: str = ""
    tail: str = field(default="", compare=False)  # the text after PUPIL, to rebuild the command


@dataclass(frozen=True)
class Recode:
    pupil: str
    code: str
    day: date
    sessions: tuple[str, ...] | None  # None: every session marked that day
    reason: str
    tail: str = field(default="", compare=False)


@dataclass(frozen=True)
class PupilTimeline:
    pupil: str
    tail: str = field(default="", compare=False)


@dataclass(frozen=True)
class Notice:
    """A notice staff take for a family (a phone call to the office, a word at the gate)."""

    pupil: str
    text: str
    start: date | None = None  # "from DATE"; else the day the words name, else today
    open_ended: bool = False  # "until further notice"
    withdraw: bool = False  # "cancel": the family's notices stop covering anything from today
    tail: str = field(default="", compare=False)


@dataclass(frozen=True)
class Act:
    alert_id: int
    action: str
    note: str = ""


@dataclass(frozen=True)
class Help:
    topic: str | None = None


Request = Absences | Call | Recode | PupilTimeline | Notice | Act | Help

# --------------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------------

COMMANDS = {
    "absences": "absences",
    "absence": "absences",
    "abs": "absences",
    "call": "call",
    "recode": "recode",
    "pupil": "pupil",
    "timeline": "pupil",
    "notice": "notice",
    "report": "notice",
    "act": "act",
    "help": "help",
    "attendance-help": "help",
    "attendance": "help",
    "?": "help",
}

OUTCOMES = {
    "spoke": "spoke",
    "spoken": "spoke",
    "answered": "spoke",
    "spoke-to": "spoke",
    "no-answer": "no-answer",
    "noanswer": "no-answer",
    "na": "no-answer",
    "no-reply": "no-answer",
    "voicemail": "voicemail",
    "vm": "voicemail",
    "answerphone": "voicemail",
    "wrong-number": "wrong-number",
    "wrongnumber": "wrong-number",
    "unobtainable": "unobtainable",
    "unreachable": "unobtainable",
    "dead-line": "unobtainable",
    "message-left": "message-left",
    "left-message": "message-left",
    "messageleft": "message-left",
}
OUTCOME_NAMES = ("spoke", "no-answer", "voicemail", "wrong-number", "unobtainable", "message-left")

SESSION_WORDS = {"am": ("AM",), "pm": ("PM",), "both": ("AM", "PM"), "all": ("AM", "PM"), "day": ("AM", "PM")}

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_QUOTES = {'"': '"', "“": "”", "'": "'"}

# --------------------------------------------------------------------------------------------------
# Help
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandHelp:
    name: str
    usage: str
    what: str
    examples: tuple[str, ...]


HELP: dict[str, CommandHelp] = {
    "absences": CommandHelp(
        "absences",
        "/absences [today|DATE] [year N|class X]",
        "Unexplained absences (N marks) for your school, most urgent first: vulnerable pupils, then "
        "the school's priority year groups. Each shows messages sent/delivered, replies, calls "
        "logged and the day of absence.",
        (
            "/absences",
            "/absences year 6",
            "/absences class 4 Birch",
            "/absences 2026-09-14 class 4B",
            "/absences yesterday",
        ),
    ),
    "call": CommandHelp(
        "call",
        "/call PUPIL OUTCOME [note]",
        "Log a call to the family. OUTCOME is one of: " + ", ".join(OUTCOME_NAMES) + ". "
        "'spoke' needs the reason you heard, and explains the absence.",
        (
            "/call Amelia Khan no-answer",
            "/call Amelia Khan spoke ill with a temperature, back Thursday",
            "/call A123456789012 voicemail left a message at 9:40",
        ),
    ),
    "recode": CommandHelp(
        "recode",
        "/recode PUPIL CODE [DATE] [am|pm|both] REASON",
        "Change a mark through the audited path (original, new code, reason, date, your name and "
        "role are kept). Attendance staff may change N marks; other codes need a role the school "
        "permits. Codes are the 2024 national codes. Without a date it is today; without a "
        "session, every session marked that day.",
        (
            "/recode Amelia Khan I ill, mum phoned",
            "/recode Amelia Khan M 2026-09-14 am dentist, letter seen",
            '/recode "Jo Li" C pm funeral, agreed by head',
        ),
    ),
    "pupil": CommandHelp(
        "pupil",
        "/pupil PUPIL",
        "The case timeline: marks for the last two weeks, messages, replies, calls, alerts and amendments.",
        ("/pupil Amelia Khan", "/pupil A123456789012", "/pupil amelia"),
    ),
    "notice": CommandHelp(
        "notice",
        "/notice PUPIL: WHAT THE FAMILY SAID  (or: from DATE ..., until further notice ..., cancel)",
        "Record an absence a family reported to the office (by phone, in person). It is read like "
        "a text: the reason suggests a code and 'back Wednesday' sets the day back. The sessions it "
        "covers get no 'no reason' message and no chasing; staff still choose the code. PUPIL is the "
        "first two words unless quoted or followed by a colon.",
        (
            "/notice Amelia Khan: ill with a temperature, back Wednesday",
            "/notice Amelia Khan: from tomorrow, hospital appointment",
            '/notice "Jo Li" until further notice, in hospital',
            "/notice Amelia Khan: cancel",
        ),
    ),
    "act": CommandHelp(
        "act",
        "act ALERT_ID ACTION [note]",
        "Act on an alert (the buttons in Slack; typed in Teams). The alert shows the actions it accepts.",
        ("act 42 acknowledge", "act 42 close_case", "act 57 child_found_safe"),
    ),
}

PUPIL_HELP = (
    "PUPIL is a name (a close spelling is fine; you get buttons when several pupils match), a "
    "UPN or an MIS id, always within your own school."
)


def help_text(topic: str | None = None) -> str:
    """The help for one command, or for all of them."""
    topic = COMMANDS.get((topic or "").lstrip("/").lower()) if topic else None
    items = [HELP[topic]] if topic in HELP else list(HELP.values())
    out = []
    for h in items:
        out.append(f"{h.usage}\n  {h.what}\n  e.g. " + "\n       ".join(h.examples))
    out.append(PUPIL_HELP)
    return "\n\n".join(out)


def usage_error(command: str, problem: str) -> UserError:
    h = HELP[command]
    example = h.examples[{"call": 1, "notice": 0}.get(command, -1)]
    return UserError(f"{problem}\nUsage: {h.usage}\nExample: {example}")


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------


def split_command(text: str) -> tuple[str, str]:
    """``"/recode Amelia I ill"`` -> ``("recode", "Amelia I ill")``; unknown words raise."""
    text = (text or "").strip()
    if not text:
        return "help", ""
    word, _, rest = text.partition(" ")
    name = COMMANDS.get(word.lstrip("/").lower())
    if name is None:
        raise UserError(
            f"I don't know the command '{word[:30]}'. Try: absences, call, notice, recode, pupil or help."
        )
    return name, rest.strip()


def parse(text: str, *, today: date) -> Request:
    """Parse one command line (the command word first, with or without a slash)."""
    name, rest = split_command(text)
    if name == "help":
        return Help(rest.split()[0] if rest.split() else None)
    if name == "absences":
        return _absences(rest, today)
    if name == "call":
        return _call(rest)
    if name == "recode":
        return _recode(rest, today)
    if name == "act":
        return _act(rest)
    if name == "notice":
        return _notice(rest, today)
    return _pupil(rest)


def parse_date(token: str, *, today: date) -> date | None:
    """One-word dates staff type: today, yesterday, a weekday (the last one), ISO, 14/09[/2026]."""
    t = token.strip().lower().rstrip(",")
    if t == "today":
        return today
    if t == "yesterday":
        return today - timedelta(days=1)
    for i, name in enumerate(_WEEKDAYS):
        if len(t) >= 3 and name.startswith(t):
            back = (today.weekday() - i) % 7
            return today - timedelta(days=back)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
        try:
            return date.fromisoformat(t)
        except ValueError:
            raise UserError(f"'{token}' is not a real date.") from None
    m = re.fullmatch(r"(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2}|\d{4}))?", t)
    if m:
        day, month = int(m.group(1)), int(m.group(2))
        year = m.group(3)
        try:
            if year is None:
                found = date(today.year, month, day)
                # "14/07" typed in September means last July, not next.
                if found > today + timedelta(days=31):
                    found = date(today.year - 1, month, day)
                return found
            y = int(year)
            return date(y + 2000 if y < 100 else y, month, day)
        except ValueError:
            raise UserError(f"'{token}' is not a real date.") from None
    return None


def _tokens(text: str) -> list[str]:
    return text.split()


def _take_pupil(command: str, text: str) -> tuple[str, str]:
    """A quoted pupil (``"Jo Li" ...``): returns (pupil, rest). Unquoted: ("", text)."""
    text = text.strip()
    if text[:1] in _QUOTES:
        close = text.find(_QUOTES[text[0]], 1)
        if close == -1:
            raise usage_error(command, "A quote around the pupil's name is not closed.")
        return text[1:close].strip(), text[close + 1 :].strip()
    return "", text


def _absences(rest: str, today: date) -> Absences:
    tokens = _tokens(rest)
    day, year, class_name, explicit = today, None, None, False
    i = 0
    while i < len(tokens):
        t = tokens[i].lower()
        if t in {"year", "yr", "y"} and i + 1 < len(tokens):
            year = _year(tokens[i + 1])
            i += 2
            continue
        if re.fullmatch(r"(?:y|yr|year)(\d{1,2})", t):
            year = _year(re.sub(r"\D", "", t))
            i += 1
            continue
        if t in {"class", "form", "c"} and i + 1 < len(tokens):
            class_name, i = _class_words(tokens, i + 1, today=today, date_taken=explicit)
            continue
        parsed = parse_date(t, today=today)
        if parsed is not None and not explicit:
            day, explicit = parsed, True
            i += 1
            continue
        raise usage_error("absences", f"I didn't understand '{tokens[i][:30]}'.")
    return Absences(day=day, year=year, class_name=class_name, explicit_day=explicit)


def _class_words(tokens: list[str], i: int, *, today: date, date_taken: bool) -> tuple[str, int]:
    """A class name from token ``i`` on (``4 Birch``, ``R Willow``, ``"Year 4 Birch"``) and where it ends.

    Class names often have spaces, so the name runs on until a word that starts another filter: a
    year (``year 6``, ``Y6``) or, if no date was given yet, a date. A quoted name runs to its
    closing quote.
    """
    first = tokens[i]
    if first[:1] in _QUOTES:
        words, j = [first[1:]], i + 1
        while not words[-1].endswith(_QUOTES[first[0]]) and j < len(tokens):
            words.append(tokens[j])
            j += 1
        if not words[-1].endswith(_QUOTES[first[0]]):
            raise usage_error("absences", "A quote around the class name is not closed.")
        return " ".join(words)[:-1].strip(), j
    words, j = [first], i + 1
    while j < len(tokens):
        t = tokens[j].lower()
        if t in {"year", "yr", "y"} or re.fullmatch(r"(?:y|yr|year)\d{1,2}", t):
            break
        if not date_taken and parse_date(t, today=today) is not None:
            break
        words.append(tokens[j])
        j += 1
    return " ".join(words), j


def _year(raw: str) -> int:
    raw = raw.upper().lstrip("Y")
    if raw == "R":
        return 0
    if not raw.isdigit() or not 0 <= int(raw) <= 14:
        raise usage_error("absences", f"'{raw}' is not a year group (R, 1 to 13).")
    return int(raw)


def _outcome_at(tokens: list[str], i: int) -> tuple[str, int] | None:
    """The call outcome starting at token ``i`` and how many tokens it used."""
    if i + 1 < len(tokens):
        pair = f"{tokens[i]}-{tokens[i + 1]}".lower().rstrip(",:")
        if pair in OUTCOMES:
            return OUTCOMES[pair], 2
    word = tokens[i].lower().rstrip(",:").replace("_", "-")
    if word in OUTCOMES:
        return OUTCOMES[word], 1
    return None


def _call(rest: str) -> Call:
    quoted, after = _take_pupil("call", rest)
    tokens = _tokens(after)
    start = 0 if quoted else 1
    for i in range(start, len(tokens)):
        found = _outcome_at(tokens, i)
        if found is None:
            continue
        outcome, used = found
        pupil = quoted or " ".join(tokens[:i])
        note = " ".join(tokens[i + used :]).strip(" -:,")
        return Call(pupil=pupil, outcome=outcome, note=note, tail=" ".join(tokens[i:]))
    if not (quoted or tokens):
        raise usage_error("call", "Which pupil, and how did the call go?")
    raise usage_error("call", "Say how the call went: " + ", ".join(OUTCOME_NAMES) + ".")


def _looks_like_code(token: str) -> bool:
    norm = codes.normalise(token)
    return norm in codes.CODES or norm in codes.RETIRED


def _recode(rest: str, today: date) -> Recode:
    quoted, after = _take_pupil("recode", rest)
    tokens = _tokens(after)
    start = 0 if quoted else 1
    at = next((i for i in range(start, len(tokens)) if _looks_like_code(tokens[i])), None)
    if at is None:
        # No national code: name the short word that was probably meant as one.
        guess = next((t for t in tokens[start:] if len(t) <= 2), None)
        if guess is not None:
            raise UserError(
                f"'{guess}' is not a national attendance code. "
                "Use one of the 2024 codes, e.g. I (illness) or M (medical)."
            )
        raise usage_error("recode", "Which code should the mark become?")
    pupil = quoted or " ".join(tokens[:at])
    if not pupil:
        raise usage_error("recode", "Which pupil?")
    try:
        code = codes.lookup(tokens[at]).code
    except codes.UnknownCode as exc:
        raise UserError(str(exc)) from None
    i = at + 1
    day, sessions = today, None
    if i < len(tokens):
        parsed = parse_date(tokens[i], today=today)
        if parsed is not None:
            day, i = parsed, i + 1
    if i < len(tokens) and tokens[i].lower().rstrip(",") in SESSION_WORDS:
        sessions, i = SESSION_WORDS[tokens[i].lower().rstrip(",")], i + 1
    reason = " ".join(tokens[i:]).strip(" -:,")
    if not reason:
        raise usage_error("recode", "Give the reason for the change: the register's audit keeps it.")
    return Recode(
        pupil=pupil, code=code, day=day, sessions=sessions, reason=reason, tail=" ".join(tokens[at:])
    )


def _pupil(rest: str) -> PupilTimeline:
    quoted, after = _take_pupil("pupil", rest)
    pupil = quoted or after.strip()
    if not pupil:
        raise usage_error("pupil", "Which pupil?")
    return PupilTimeline(pupil=pupil)


def _act(rest: str) -> Act:
    tokens = _tokens(rest)
    if len(tokens) < 2 or not tokens[0].lstrip("#").isdigit():
        raise usage_error("act", "Give the alert number and the action.")
    return Act(alert_id=int(tokens[0].lstrip("#")), action=tokens[1].lower(), note=" ".join(tokens[2:]))


_ONE_WORD_PUPIL = re.compile(r"^(?:#\d+|[A-Za-z]\d{11}[0-9A-Za-z]|\S*\d\S*)$")  # #id, UPN, MIS id
_WITHDRAW = {"cancel", "cancelled", "withdraw", "withdrawn", "delete"}
_FURTHER_NOTICE = re.compile(r"\b(?:until|till|til)\s+further\s+notice\b[\s,.:;-]*", re.IGNORECASE)


def _notice(rest: str, today: date) -> Notice:
    """``notice PUPIL: words`` / ``notice "PUPIL" words`` / ``notice First Last words``."""
    quoted, after = _take_pupil("notice", rest)
    if quoted:
        pupil, words = quoted, after
    elif ":" in rest:
        pupil, _, words = rest.partition(":")
    else:
        tokens = rest.split()
        n = 1 if tokens and _ONE_WORD_PUPIL.match(tokens[0]) else 2
        pupil, words = " ".join(tokens[:n]), " ".join(tokens[n:])
    pupil, words = pupil.strip(), words.strip(" ,-")
    tail = words
    if not pupil:
        raise usage_error("notice", "Which pupil?")
    if words.lower().rstrip(".!") in _WITHDRAW:
        return Notice(pupil=pupil, text="", withdraw=True, tail=words)
    open_ended = bool(_FURTHER_NOTICE.search(words))
    words = _FURTHER_NOTICE.sub("", words).strip(" ,-")
    start = None
    tokens = words.split()
    if len(tokens) >= 2 and tokens[0].lower() == "from":
        start = _next_date(tokens[1], today)
        if start is None:
            raise usage_error("notice", f"I didn't understand the date '{tokens[1][:20]}'.")
        words = " ".join(tokens[2:]).strip(" ,-")
    if not words:
        raise usage_error("notice", "Say what the family told you: the reason, and when the child is back.")
    return Notice(pupil=pupil, text=words, start=start, open_ended=open_ended, tail=tail)


def _next_date(token: str, today: date) -> date | None:
    """A day ahead: today, tomorrow, a weekday (the next one), or a date as ``parse_date`` reads it."""
    t = token.strip().lower().rstrip(",")
    if t in ("tomorrow", "tmrw"):
        return today + timedelta(days=1)
    for i, name in enumerate(_WEEKDAYS):
        if len(t) >= 3 and name.startswith(t):
            return today + timedelta(days=(i - today.weekday()) % 7)
    found = parse_date(t, today=today)
    if found is not None and found < today and re.fullmatch(r"\d{1,2}[/.]\d{1,2}", t):
        found = found.replace(year=found.year + 1)  # "01/09" typed in July is next September
    return found


def with_pupil(request: Call | Recode | PupilTimeline | Notice, ref: str) -> str:
    """The same command with PUPIL replaced (a choice button re-runs it with ``#<id>``)."""
    name = {Call: "call", Recode: "recode", PupilTimeline: "pupil", Notice: "notice"}[type(request)]
    if isinstance(request, Notice):
        return f"{name} {ref}: {request.tail}".strip()
    return f"{name} {ref} {request.tail}".strip()


def describe_date(day: date, today: date) -> str:
    if day == today:
        return "today"
    return datetime.combine(day, datetime.min.time()).strftime("%a %d %b %Y")
