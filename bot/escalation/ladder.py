"""The escalation ladder as data, and the school-day arithmetic over it.

A ladder is a list of steps ``{"day": 3, "kind": "home_visit_requested", "title": ..., "text": ...}``;
a case snapshots the ladder in force when it opens, so a later policy edit never changes what an
open case does. Nothing here touches the database: the sweep feeds in the facts.
"""

from datetime import date

from bot.calendar import SchoolCalendar
from bot.errors import UserError

REQUIRED_KEYS = ("day", "kind", "title")


def validate(steps: list[dict]) -> list[dict]:
    """Check a ladder a school wants to set; returns it sorted by day. Raises ``UserError``."""
    if not isinstance(steps, list) or not steps:
        raise UserError("An escalation ladder needs at least one step.")
    for step in steps:
        missing = [k for k in REQUIRED_KEYS if not step.get(k)]
        if missing:
            raise UserError(f"Each ladder step needs {', '.join(REQUIRED_KEYS)} (missing {missing}).")
        if not isinstance(step["day"], int) or step["day"] < 1:
            raise UserError("A ladder step's day is a school-day number, 1 or more.")
    ordered = sorted(steps, key=lambda s: s["day"])
    days = [s["day"] for s in ordered]
    if len(set(days)) != len(days):
        raise UserError("Two ladder steps fall on the same school day.")
    return ordered


def ordered(steps: list[dict]) -> list[dict]:
    """The snapshot's steps in day order (a snapshot is never re-validated: it is history)."""
    return sorted(steps or [], key=lambda s: int(s.get("day", 0)))


def due_steps(steps: list[dict], *, day_number: int, next_step: int) -> list[tuple[int, dict]]:
    """Steps not yet taken whose day has come, in order, with their index.

    All of them are returned, not just the latest: a clock that was down for a day must still raise
    the day-3 alert before the day-4 one, never skip it.
    """
    return [(i, s) for i, s in enumerate(ordered(steps)) if i >= next_step and s["day"] <= day_number]


def due_date(cal: SchoolCalendar, *, base: date, steps: list[dict], next_step: int) -> date | None:
    """The school day on which step ``next_step`` falls when day 1 is ``base``; None when done."""
    steps = ordered(steps)
    if next_step >= len(steps):
        return None
    return cal.nth_school_day(base, int(steps[next_step]["day"]))


def render_text(step: dict, *, day: int) -> str:
    """A step's wording with ``{day}`` filled in; bad placeholders in a school's text never crash."""
    text = step.get("text") or step.get("title", "")
    try:
        return text.format(day=day)
    except (KeyError, IndexError, ValueError):
        return text
