"""Checking one policy value at a time, and reading a policy file's YAML without surprises.

Apart from ``policy_admin`` (the settings table, whole-policy checks, writing with an audit row) so
each file reads in one sitting. Every checker takes the raw value from the file and returns the
clean one, or raises ``ValueError`` with a message fit to show after the setting's name.
"""

import re
from collections.abc import Callable
from datetime import time
from typing import Any

import yaml

from bot.errors import UserError
from bot.phones import InvalidPhone, is_mobile, parse_phone
from bot.policy import DEFAULT_RETENTION, REGISTER_MIN_YEARS, ROLES

AUDIENCES = ("pastoral", "dsl", "attendance")
SEVERITIES = ("urgent", "high", "normal")
EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


class PolicyError(UserError):
    """The policy was refused; ``problems`` names each one (the message lists them all)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Policy not changed:\n" + "\n".join(f"  - {p}" for p in problems))


# --------------------------------------------------------------------------------------------------
# Reading YAML without surprises
# --------------------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads an unquoted ``13:15`` as the number 795 (base 60); a policy means a time."""


_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _NUMBERS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]+$|^[-+]?[0-9][0-9_]*\.$"),
    list("-+0123456789."),
)


def load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise PolicyError([f"the file is not valid YAML{where}: {getattr(exc, 'problem', exc)}"]) from None


# --------------------------------------------------------------------------------------------------
# Checking one value (each raises ValueError with a message fit to show after the setting's name)
# --------------------------------------------------------------------------------------------------


def _time(v: Any) -> time:
    m = re.fullmatch(r"(\d{1,2})[:.](\d{2})", str(v).strip())
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise ValueError(f"'{v}' is not a time (write HH:MM, e.g. '09:15')")
    return time(int(m[1]), int(m[2]))


def _int(lo: int, hi: int) -> Callable[[Any], int]:
    def whole(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"'{v}' is not a whole number")
        if not lo <= v <= hi:
            raise ValueError(f"{v} is out of range ({lo} to {hi})")
        return v

    return whole


def _percent(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 100:
        raise ValueError(f"'{v}' is not a percentage from 0 to 100")
    return float(v)


def _choice(*options: str) -> Callable[[Any], str]:
    def one_of(v: Any) -> str:
        if v not in options:
            raise ValueError(f"'{v}' is not one of {', '.join(options)}")
        return v

    return one_of


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"'{v}' is not true or false")
    return v


def _list(v: Any) -> list:
    if not isinstance(v, list):
        raise ValueError("must be a list, e.g. [11:00, 14:30]")
    return v


def _times(v: Any) -> list[str]:
    return sorted(f"{_time(x):%H:%M}" for x in _list(v))


def _years(v: Any) -> list[int]:
    years = []
    for x in _list(v):
        y = 0 if str(x).strip().upper() in ("R", "RECEPTION") else x
        if isinstance(y, bool) or not isinstance(y, int) or not -1 <= y <= 14:
            raise ValueError(f"'{x}' is not a year group (R or 0 for Reception, 1 to 14)")
        years.append(y)
    if len(set(years)) != len(years):
        raise ValueError("a year group is listed twice")
    return years


def _roles(v: Any) -> list[str]:
    roles = [str(r).strip().lower().replace(" ", "_") for r in _list(v)]
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        not_these = f" (not {', '.join(bad)})" if bad else ""
        raise ValueError(f"roles must be some of {', '.join(ROLES)}{not_these}")
    return sorted(set(roles), key=roles.index)


def _email(v: Any) -> str | None:
    if v in (None, ""):
        return None
    if not EMAIL.match(str(v).strip()):
        raise ValueError(f"'{v}' is not an email address")
    return str(v).strip().lower()


def _mobile(v: Any) -> str | None:
    if v in (None, ""):
        return None
    try:
        number = parse_phone(str(v))
    except InvalidPhone as exc:
        raise ValueError(str(exc)) from None
    if not is_mobile(number):
        raise ValueError(f"'{v}' is not a mobile number: it cannot receive texts")
    return number


def _step(n: int, step: Any, problems: list[str]) -> dict | None:
    """One ladder step checked; its problems are added to ``problems``."""
    if not isinstance(step, dict):
        problems.append(f"step {n} is not a mapping of day, kind, title, text, audience")
        return None
    unknown = set(step) - {"day", "kind", "title", "text", "audience", "severity"}
    day, kind, title = step.get("day"), str(step.get("kind") or ""), str(step.get("title") or "").strip()
    text, audience = str(step.get("text") or "").strip(), step.get("audience", "pastoral")
    if unknown:
        problems.append(f"step {n}: unknown field(s) {', '.join(sorted(unknown))}")
    if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 60:
        problems.append(f"step {n}: day must be a school-day number from 1 to 60")
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", kind):
        problems.append(f"step {n}: kind must be a short name in lower case, e.g. home_visit_requested")
    if not title:
        problems.append(f"step {n}: a title is required (it heads the alert)")
    if audience not in AUDIENCES:
        problems.append(f"step {n}: audience (who is told) must be one of {', '.join(AUDIENCES)}")
    if "severity" in step and step["severity"] not in SEVERITIES:
        problems.append(f"step {n}: severity must be one of {', '.join(SEVERITIES)}")
    try:
        text.format(day=1)
    except (KeyError, IndexError, ValueError):
        problems.append(f"step {n}: the text may use {{day}} and no other {{...}} placeholder")
    row = {"day": day, "kind": kind, "title": title, "audience": audience}
    if text:
        row["text"] = text
    if "severity" in step:
        row["severity"] = step["severity"]
    return row


def _ladder(v: Any, *, allow_default: bool = False) -> list[dict]:
    """Steps ``{day, kind, title, text, audience, severity}``: who is told what on which school day."""
    if allow_default and v in ("default", None, []):
        return []
    steps = _list(v)
    if not steps:
        raise ValueError("needs at least one step")
    problems: list[str] = []
    out = [row for n, step in enumerate(steps, 1) if (row := _step(n, step, problems)) is not None]
    days = [s["day"] for s in out if isinstance(s["day"], int)]
    if len(set(days)) != len(days):
        problems.append("two steps fall on the same school day")
    if problems:
        raise ValueError("; ".join(problems))
    return sorted(out, key=lambda s: s["day"])


THRESHOLD_CHECKS: dict[str, Callable[[Any], Any]] = {
    "penalty_sessions": _int(1, 100),
    "penalty_weeks": _int(1, 39),
    "la_unauthorised_days": _int(1, 60),
    "la_illness_days": _int(1, 100),
    "cme_days": _int(1, 60),
    "letter_concern": _percent,
    "letter_formal": _percent,
    "letter_serious": _percent,
    "persistent": _percent,
    "severe": _percent,
}


def _mapping(v: Any, checks: dict[str, Callable[[Any], Any]], *, what: str, example: str) -> dict:
    """A mapping whose every key is known and every value passes its check; all problems named."""
    if not isinstance(v, dict):
        raise ValueError(f"must be a mapping, e.g. {example}")
    out, problems = {}, []
    for k, x in v.items():
        if k not in checks:
            problems.append(f"unknown {what} '{k}' (known: {', '.join(checks)})")
            continue
        try:
            out[k] = checks[k](x)
        except ValueError as exc:
            problems.append(f"{k}: {exc}")
    if problems:
        raise ValueError("; ".join(problems))
    return out


def _thresholds(v: Any) -> dict:
    return _mapping(
        v, THRESHOLD_CHECKS, what="threshold", example="{penalty_sessions: 10, penalty_weeks: 10}"
    )


def _register_years(v: Any) -> int:
    years = _int(1, 100)(v)
    if years < REGISTER_MIN_YEARS:
        raise ValueError(
            f"{years} is shorter than the {REGISTER_MIN_YEARS} years the 2024 regulations "
            "require the register and its amendments to be kept"
        )
    return years


RETENTION_CHECKS: dict[str, Callable[[Any], Any]] = {
    "messages_months": _int(1, 120),
    "replies_months": _int(1, 120),
    "alerts_months": _int(1, 120),
    "links_months": _int(1, 120),
    "register_years": _register_years,
}
assert set(RETENTION_CHECKS) == set(DEFAULT_RETENTION)


def _retention(v: Any) -> dict:
    """How long each kind of data is kept (months; the register in years, at least six)."""
    return _mapping(
        v, RETENTION_CHECKS, what="retention period", example="{messages_months: 13, register_years: 6}"
    )


def _tiers(v: Any) -> list[dict]:
    """Graduated-response tiers, highest first: a pupil is in the first tier whose floor they meet."""
    out = []
    for n, t in enumerate(_list(v), 1):
        if not isinstance(t, dict) or set(t) != {"name", "min_percent"} or not str(t["name"]).strip():
            raise ValueError(f"tier {n} must be {{name: ..., min_percent: ...}}")
        out.append({"name": str(t["name"]).strip(), "min_percent": _percent(t["min_percent"])})
    if len(out) < 2:
        raise ValueError("needs at least two tiers")
    if len({t["name"] for t in out}) != len(out) or len({t["min_percent"] for t in out}) != len(out):
        raise ValueError("tier names and floors must all differ")
    out.sort(key=lambda t: -t["min_percent"])
    if out[-1]["min_percent"] != 0:
        raise ValueError("the lowest tier must start at 0 so that every pupil has a tier")
    return out
