"""A school's policy as a document it can read, edit and load: ``attendance-bot policy show|set|import``.

The policy file is YAML, one key per setting (``docs/policy.md`` describes each, and ``policy show``
prints the school's current file with a comment above every key, ready to edit and import). A file
may hold only the keys to change. Everything is checked before anything is written: bad input is
refused with every problem named, and nothing changes. Every change is written with an audit row
(``PolicyChange``: who, when, each setting's old and new value).

The clock rebuilds each school's timetable from the policy every few minutes, so new register
close and chase times apply without a restart. Ladders are snapshotted by each case when it opens:
a new ladder applies to absences that start after the change.
"""

import textwrap
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import yaml
from sqlmodel import Session, select

from bot.policy import DEFAULT_LADDER, DEFAULT_VULNERABLE_LADDER, REGISTER_MIN_YEARS, policy_for
from bot.policy import retention as merged_retention
from bot.policy import thresholds as merged_thresholds
from bot.policy_values import (
    THRESHOLD_CHECKS,
    PolicyError,
    _bool,
    _choice,
    _email,
    _int,
    _ladder,
    _mobile,
    _retention,
    _roles,
    _thresholds,
    _tiers,
    _time,
    _times,
    _years,
    load_yaml,
)
from storage.models import PolicyChange, School, SchoolPolicy

# --------------------------------------------------------------------------------------------------
# The settings
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    key: str
    help: str
    check: Callable[[Any], Any]
    read: Callable[[School, SchoolPolicy], Any]
    write: Callable[[School, SchoolPolicy, Any], None]


def _field(name: str, *, on_school: bool = False) -> tuple[Callable, Callable]:
    def read(school: School, policy: SchoolPolicy) -> Any:
        value = getattr(school if on_school else policy, name)
        return f"{value:%H:%M}" if isinstance(value, time) else deepcopy(value)

    def write(school: School, policy: SchoolPolicy, value: Any) -> None:
        setattr(school if on_school else policy, name, value)

    return read, write


def _ladder_setting(name: str, default: list[dict], help_: str, *, allow_default: bool) -> Setting:
    def read(school: School, policy: SchoolPolicy) -> Any:
        # Who is told is always spelled out (a step without one tells the pastoral team).
        return [
            {**step, "audience": step.get("audience", "pastoral")}
            for step in deepcopy(getattr(policy, name) or default)
        ]

    def write(school: School, policy: SchoolPolicy, value: Any) -> None:
        setattr(policy, name, value)

    return Setting(name, help_, lambda v: _ladder(v, allow_default=allow_default), read, write)


def _thr_read(school: School, policy: SchoolPolicy) -> dict:
    merged = merged_thresholds(policy)
    return {k: merged[k] for k in THRESHOLD_CHECKS}


def _thr_write(school: School, policy: SchoolPolicy, value: dict) -> None:
    policy.thresholds = {**(policy.thresholds or {}), **value}


def _retention_read(school: School, policy: SchoolPolicy) -> dict:
    return merged_retention(policy)


def _retention_write(school: School, policy: SchoolPolicy, value: dict) -> None:
    policy.retention = {**(policy.retention or {}), **value}


def _tiers_read(school: School, policy: SchoolPolicy) -> list[dict]:
    return deepcopy(merged_thresholds(policy)["tiers"])


def _tiers_write(school: School, policy: SchoolPolicy, value: list[dict]) -> None:
    policy.thresholds = {**(policy.thresholds or {}), "tiers": value}


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting(
            "am_close",
            "Morning register closes (HH:MM): pupils marked N then are followed up and their "
            "families messaged.",
            _time,
            *_field("am_close"),
        ),
        Setting("pm_close", "Afternoon register closes (HH:MM).", _time, *_field("pm_close")),
        Setting(
            "chase_times",
            "When families of still-unexplained absences are chased each school day.",
            _times,
            *_field("chase_times"),
        ),
        Setting(
            "contact_deadline_minutes",
            "Minutes a contact has to answer before the chase moves to the next contact.",
            _int(5, 1440),
            *_field("next_contact_after_minutes"),
        ),
        Setting(
            "email_mode",
            "fallback: email only a contact with no usable mobile; also: text and email.",
            _choice("fallback", "also"),
            *_field("email_mode"),
        ),
        Setting(
            "priority_year_groups",
            "Year groups whose families are contacted first, in order (R or 0 for Reception).",
            _years,
            *_field("priority_year_groups"),
        ),
        Setting(
            "vulnerable_first",
            "Contact the families of vulnerable pupils before everyone else.",
            _bool,
            *_field("vulnerable_first"),
        ),
        Setting(
            "calls_enabled",
            "Automated calls (in the family's language) to contacts with no mobile but a "
            "phone, or who prefer calls.",
            _bool,
            *_field("calls_enabled"),
        ),
        Setting(
            "call_at_chase",
            "From this chase of an absence on, families who have not answered the texts "
            "are also phoned; 0 never.",
            _int(0, 20),
            *_field("call_at_chase"),
        ),
        Setting(
            "calls_from", "No automated call rings before this time (HH:MM).", _time, *_field("calls_from")
        ),
        Setting(
            "calls_until",
            "No automated call rings after this time (HH:MM); a call still waiting then is "
            "dropped for the day.",
            _time,
            *_field("calls_until"),
        ),
        Setting(
            "escalation_basis",
            "Count ladder days from the first absence (unexplained) or from the "
            "last contact with the family (no_contact).",
            _choice("unexplained", "no_contact"),
            *_field("escalation_basis"),
        ),
        _ladder_setting(
            "escalation_ladder",
            DEFAULT_LADDER,
            "Steps by school day of unexplained absence: day, kind, title, text ({day} is "
            "filled in), audience (who is told: pastoral, dsl or attendance), severity "
            "(urgent, high or normal; the last step is urgent unless set).",
            allow_default=False,
        ),
        _ladder_setting(
            "vulnerable_ladder",
            DEFAULT_VULNERABLE_LADDER,
            "The shorter ladder for pupils with a social worker, a protection or child-in-need "
            "plan, looked after or with a youth offending worker ('default' for the built-in).",
            allow_default=True,
        ),
        Setting(
            "realert_after_minutes",
            "An escalation alert nobody acted on is raised again after this.",
            _int(10, 1440),
            *_field("realert_after_minutes"),
        ),
        Setting(
            "dsl_email_after_minutes",
            "...and emailed to the DSL after this.",
            _int(10, 2880),
            *_field("dsl_email_after_minutes"),
        ),
        Setting(
            "urgent_realert_minutes",
            "'Child may be missing' and welfare alerts are raised again (chat, "
            "the DSL's email and mobile) this often until someone acts.",
            _int(1, 60),
            *_field("urgent_realert_minutes"),
        ),
        Setting(
            "n_to_o_school_days",
            "School days after which an unresolved N becomes O (the law allows at most 5).",
            _int(1, 5),
            *_field("n_to_o_school_days"),
        ),
        Setting(
            "register_check_after_minutes",
            "Minutes after each register close when each class with no "
            'marks is reported to the attendance officer ("Register not taken").',
            _int(1, 120),
            *_field("register_check_after_minutes"),
        ),
        Setting(
            "thresholds",
            "Statutory and letter thresholds (only the ones given change). Penalty, "
            "persistent absence and local-authority thresholds apply to pupils of compulsory school age.",
            _thresholds,
            _thr_read,
            _thr_write,
        ),
        Setting(
            "tiers",
            "Graduated-response tiers, each {name, min_percent}; the lowest starts at 0.",
            _tiers,
            _tiers_read,
            _tiers_write,
        ),
        Setting(
            "retention",
            "How long personal data is kept before the nightly purge removes or redacts "
            "it: messages to families, their replies, alert texts and revoked links (months, 1-120); the "
            "register and its "
            f"amendments (register_years, at least {REGISTER_MIN_YEARS}: the 2024 regulations).",
            _retention,
            _retention_read,
            _retention_write,
        ),
        Setting("recode_roles", "Roles that may change any mark.", _roles, *_field("recode_roles")),
        Setting(
            "recode_n_roles", "Roles that may replace an N with a reason.", _roles, *_field("recode_n_roles")
        ),
        Setting(
            "dsl_email",
            "The DSL's email: DSL alerts, unanswered alerts, alerts when there is no chat.",
            _email,
            *_field("dsl_email", on_school=True),
        ),
        Setting(
            "dsl_mobile",
            "The DSL's mobile: 'child may be missing' and welfare alerts are texted to it.",
            _mobile,
            *_field("dsl_mobile", on_school=True),
        ),
        Setting(
            "attendance_lead_email",
            "The attendance lead's email: attendance and pastoral alerts when the "
            "school has no chat, threshold emails.",
            _email,
            *_field("attendance_lead_email", on_school=True),
        ),
    )
}


# --------------------------------------------------------------------------------------------------
# Reading, checking and writing a whole policy
# --------------------------------------------------------------------------------------------------


def current(session: Session, *, school: School) -> dict:
    policy = policy_for(session, school.id)
    return {key: s.read(school, policy) for key, s in SETTINGS.items()}


def _yaml_entry(key: str, value: Any) -> str:
    """One ``key: value`` entry: scalars and lists of scalars on one line, the rest as blocks."""
    if isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict)):
        return yaml.safe_dump(
            {key: value}, allow_unicode=True, sort_keys=False, width=100, default_flow_style=False
        ).rstrip()
    flat = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=1000).strip()
    return f"{key}: {flat.removesuffix('...').strip()}"


def render_yaml(school: School, values: dict) -> str:
    """The policy file: a comment above each key, values a person can edit."""
    out = [
        f"# Attendance policy of {school.name} (URN {school.urn}).",
        "# Edit and load with: attendance-bot policy import FILE --school URN (see docs/policy.md).",
        "",
    ]
    for key, setting in SETTINGS.items():
        out += [f"# {line}" for line in textwrap.wrap(setting.help, 96)]
        out += [_yaml_entry(key, values[key]), ""]
    return "\n".join(out)


def check(session: Session, *, school: School, values: Any) -> dict:
    """Every problem with ``values`` (a mapping of settings), or the checked values to store."""
    if not isinstance(values, dict) or not values:
        raise PolicyError(
            [
                "a policy file is a mapping of settings (e.g. 'am_close: 09:00'); this one is "
                "empty or is not one"
            ]
        )
    problems, checked = [], {}
    for key, raw in values.items():
        setting = SETTINGS.get(key)
        if setting is None:
            problems.append(f"unknown setting '{key}' (known: {', '.join(SETTINGS)})")
            continue
        try:
            checked[key] = setting.check(raw)
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
    problems += _cross_checks(session, school=school, checked=checked)
    if problems:
        raise PolicyError(problems)
    return checked


def _cross_checks(session: Session, *, school: School, checked: dict) -> list[str]:
    """Rules between settings, against the values the school keeps for those not being changed."""
    now = current(session, school=school)
    am = checked.get("am_close") or _time(now["am_close"])
    pm = checked.get("pm_close") or _time(now["pm_close"])
    problems = []
    if am >= pm:
        problems.append(f"am_close ({am:%H:%M}) must be before pm_close ({pm:%H:%M})")
    for t in checked.get("chase_times", []):
        if _time(t) <= am:
            problems.append(f"chase_times: {t} is not after the morning register closes ({am:%H:%M})")
    calls_from = checked.get("calls_from") or _time(now["calls_from"])
    calls_until = checked.get("calls_until") or _time(now["calls_until"])
    if calls_from >= calls_until:
        problems.append(f"calls_from ({calls_from:%H:%M}) must be before calls_until ({calls_until:%H:%M})")
    th = {**now["thresholds"], **checked.get("thresholds", {})}
    if not th["letter_concern"] > th["letter_formal"] > th["letter_serious"]:
        problems.append("thresholds: letter_concern > letter_formal > letter_serious is required")
    if th["persistent"] >= th["severe"]:
        problems.append("thresholds: persistent (absence %) must be below severe")
    return problems


def _plain(value: Any) -> Any:
    return f"{value:%H:%M}" if isinstance(value, time) else value


def apply(
    session: Session, *, school: School, values: Any, changed_by: str, source: str, now: datetime
) -> dict:
    """Check everything, then store what changed with one audit row; returns {key: {from, to}}.

    Raises ``PolicyError`` naming every problem, with nothing changed.
    """
    if not (changed_by or "").strip():
        raise PolicyError(["say who is making the change (--by NAME)"])
    checked = check(session, school=school, values=values)
    policy = policy_for(session, school.id)
    changes = {}
    for key, value in checked.items():
        before = SETTINGS[key].read(school, policy)
        SETTINGS[key].write(school, policy, value)
        after = SETTINGS[key].read(school, policy)
        if before != after:
            changes[key] = {"from": _plain(before), "to": _plain(after)}
    if changes:
        session.add(school)
        session.add(policy)
        session.add(
            PolicyChange(
                school_id=school.id, at=now, changed_by=changed_by.strip(), source=source, changes=changes
            )
        )
        session.flush()
    return changes


def parse_assignment(key: str, raw: str) -> dict:
    """``policy set`` arguments as settings: ``thresholds.penalty_sessions 8`` -> {thresholds: {...}}."""
    value = load_yaml(raw) if raw.strip() else None
    if "." in key:
        head, _, sub = key.partition(".")
        if head not in ("thresholds", "retention"):
            raise PolicyError(
                [
                    f"'{key}': only thresholds and retention have parts "
                    "(thresholds.penalty_sessions, retention.messages_months ...)"
                ]
            )
        return {head: {sub: value}}
    return {key: value}


def history(session: Session, *, school: School, limit: int = 50) -> list[PolicyChange]:
    return list(
        session.exec(
            select(PolicyChange)
            .where(PolicyChange.school_id == school.id)
            .order_by(PolicyChange.id.desc())
            .limit(limit)
        ).all()
    )
