"""A school's retention policy as cut-offs: anything older than a cut-off is due for the purge.

The periods are in the school's policy (``retention``; ``bot.policy.DEFAULT_RETENTION`` fills in
what the school did not set). A policy that would keep the register less than six years is refused
here, before anything is touched, whatever wrote it to the database.
"""

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, time

from bot import clock
from bot.errors import UserError
from bot.policy import REGISTER_MIN_YEARS, retention
from storage.models import School, SchoolPolicy


class RetentionRefused(UserError):
    """The school's retention policy cannot be applied (nothing was purged)."""


@dataclass(frozen=True)
class Cutoffs:
    messages: datetime  # messages to families created before this are redacted
    replies: datetime  # families' words received before this are redacted
    alerts: datetime  # alert texts raised before this are redacted
    links: datetime  # links revoked before this are deleted
    register_date: date  # marks of days before this (and their amendments) are deleted...
    register_instant: datetime  # ...unless amended at or after this instant


def months_before(instant: datetime, months: int) -> datetime:
    """The same wall-clock instant ``months`` calendar months earlier (31 March - 1 month: 28/29 Feb)."""
    years, month0 = divmod(instant.month - 1 - months, 12)
    year, month = instant.year + years, month0 + 1
    return instant.replace(year=year, month=month, day=min(instant.day, monthrange(year, month)[1]))


def years_before(day: date, years: int) -> date:
    year = day.year - years
    return day.replace(year=year, day=min(day.day, monthrange(year, day.month)[1]))


def _whole(periods: dict, key: str, least: int) -> int:
    value = periods.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise RetentionRefused(
            f"the retention period {key} is {value!r}; it must be a whole number of at least {least}"
        )
    return value


def cutoffs(*, school: School, policy: SchoolPolicy, now: datetime) -> Cutoffs:
    """The cut-offs at ``now``; ``RetentionRefused`` (with what to set) if the policy is not usable."""
    periods = retention(policy)
    years = periods.get("register_years")
    if isinstance(years, int) and not isinstance(years, bool) and years < REGISTER_MIN_YEARS:
        raise RetentionRefused(
            f"School {school.urn}: the register is to be kept {years} year(s), shorter than the "
            f"{REGISTER_MIN_YEARS} years the 2024 regulations require for the register and its "
            f"amendments. Nothing was purged. Set it with: attendance-bot policy set --school {school.urn} "
            f"retention.register_years {REGISTER_MIN_YEARS}"
        )
    try:
        months = {
            key: _whole(periods, f"{key}_months", 1) for key in ("messages", "replies", "alerts", "links")
        }
        years = _whole(periods, "register_years", REGISTER_MIN_YEARS)
    except RetentionRefused as exc:
        raise RetentionRefused(f"School {school.urn}: {exc}. Nothing was purged.") from None
    today = clock.to_local(now, school.timezone).date()
    register_date = years_before(today, years)
    return Cutoffs(
        **{key: months_before(now, n) for key, n in months.items()},
        register_date=register_date,
        register_instant=clock.at_local(register_date, time(0, 0), school.timezone),
    )
