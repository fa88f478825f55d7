"""Checking an import's rows, writing nothing: ids unique in the file, then each kind's rows against
the file and the database (a wonde_id or UPN that belongs to someone else, a contact with no way to
reach them, a mark on a day the school is closed...).

Each kind's check reports bad rows on the job (``Job.error``) and returns a plan: what ``write``
needs, already looked up, so the write pass only writes.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import select

from bot import codes
from bot.calendar import load_calendar
from bot.importing.formats import FileFormat
from bot.importing.rows import ImportResult, Job, Row, RowError, show
from bot.phones import display_phone
from bot.register.service import Incoming
from storage.models import CalendarEntry, Contact, Pupil, PupilContact, School, SchoolPolicy, Staff

SCHOOL_TEXT = (
    "local_authority",
    "dsl_email",
    "attendance_lead_email",
    "slack_pastoral_channel",
    "slack_attendance_channel",
    "teams_workflow_url",
    "wonde_id",
)
SCHOOL_POLICY = (
    "am_close",
    "pm_close",
    "chase_times",
    "priority_year_groups",
    "register_check_after_minutes",
    "calls_enabled",
    "call_at_chase",
    "calls_from",
    "calls_until",
)
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "mobile",
    "email",
    "language",
    "sms_opt_out",
    "email_opt_out",
    "phone",
    "prefers_calls",
)
LATE_CODES = {"L", "U"}


def check_duplicates(
    fmt: FileFormat, rows: list[Row], result: ImportResult, *, rejected: list[Row] = ()
) -> None:
    """Two rows with the same id: the second (and any later one) is an error naming the first,
    even when the first was itself a bad row."""
    first_seen: dict[tuple, int] = {}
    unique: list[Row] = []
    bad_lines = {r.line for r in rejected}
    for row in sorted([*rows, *rejected], key=lambda r: r.line):
        key = tuple(row.values[k] for k in fmt.key)
        if row.line in bad_lines:
            first_seen.setdefault(key, row.line)
        elif key in first_seen:
            shown = ", ".join(f"{k} {show(v)}" for k, v in zip(fmt.key, key, strict=True))
            result.errors.append(RowError(row.line, f"duplicate of line {first_seen[key]} ({shown})"))
        else:
            first_seen[key] = row.line
            unique.append(row)
    rows[:] = unique


# --------------------------------------------------------------------------------------------------
# Per kind: check the rows, return the plan ``write`` carries out
# --------------------------------------------------------------------------------------------------


@dataclass
class SchoolPlan:
    urn: str
    school: School | None
    policy: SchoolPolicy | None
    fields: dict[str, Any]
    policy_fields: dict[str, Any]


def schools(job: Job, rows: list[Row]) -> list[SchoolPlan]:
    existing = {s.urn: s for s in job.session.exec(select(School)).all()}
    wonde_owner = {s.wonde_id: s.urn for s in existing.values() if s.wonde_id}
    wonde_lines: dict[str, int] = {}
    policies = {p.school_id: p for p in job.session.exec(select(SchoolPolicy)).all()}
    defaults = SchoolPolicy(school_id=0)
    work = []
    for row in rows:
        v = row.values
        school = existing.get(v["urn"])
        policy = policies.get(school.id) if school else None
        base = policy or defaults
        problem = _closes_problem(v, base) or _wonde_problem(v, wonde_owner, wonde_lines)
        if not problem and v.get("wonde_id"):
            wonde_lines[v["wonde_id"]] = row.line
        problem = problem or _calls_problem(v, base)
        if problem:
            job.error(row.line, problem)
            continue
        fields = {"name": v["name"], **job.optional(row, SCHOOL_TEXT)}
        if job.has("mis_writeback"):
            fields["mis_writeback"] = bool(v["mis_writeback"])
        if job.has("timezone"):
            fields["timezone"] = v["timezone"] or "Europe/London"
        if job.has("phone"):
            fields["phone"] = display_phone(v["phone"]) or None
        policy_fields = {k: v[k] for k in SCHOOL_POLICY if job.has(k) and v[k] is not None}
        work.append(SchoolPlan(v["urn"], school, policy, fields, policy_fields))
    return work


def _closes_problem(v: dict, base: SchoolPolicy) -> str | None:
    am = v.get("am_close") or base.am_close
    pm = v.get("pm_close") or base.pm_close
    if pm <= am:
        return f"pm_close {pm:%H:%M} must be after am_close {am:%H:%M}"
    return None


def _wonde_problem(v: dict, wonde_owner: dict[str, str], wonde_lines: dict[str, int]) -> str | None:
    """A wonde_id that another school holds, or that an earlier row of the file claimed."""
    wonde = v.get("wonde_id")
    if wonde and (wonde_owner.get(wonde, v["urn"]) != v["urn"] or wonde in wonde_lines):
        other = wonde_owner.get(wonde) or f"line {wonde_lines[wonde]}"
        return f"wonde_id {wonde} already belongs to school {other}"
    return None


def _calls_problem(v: dict, base: SchoolPolicy) -> str | None:
    calls_from = v.get("calls_from") or base.calls_from
    calls_until = v.get("calls_until") or base.calls_until
    if calls_until <= calls_from:
        return f"calls_until {calls_until:%H:%M} must be after calls_from {calls_from:%H:%M}"
    if (v.get("call_at_chase") or 0) < 0:
        return "call_at_chase must be 0 (never) or a chase number, 1 or more"
    return None


def calendar(job: Job, rows: list[Row]) -> list[tuple[Row, CalendarEntry | None]]:
    existing = {
        (e.kind, e.start_date): e
        for e in job.session.exec(select(CalendarEntry).where(CalendarEntry.school_id == job.school.id)).all()
    }
    work = []
    for row in rows:
        v = row.values
        if v["end_date"] < v["start_date"]:
            job.error(row.line, f"end_date {v['end_date']} is before start_date {v['start_date']}")
            continue
        work.append((row, existing.get((v["kind"], v["start_date"]))))
    return work


def staff(job: Job, rows: list[Row]) -> list[tuple[Row, Staff | None]]:
    existing = {
        s.staff_code: s for s in job.session.exec(select(Staff).where(Staff.school_id == job.school.id)).all()
    }
    chat_ids: dict[tuple[str, str], str] = {}
    for s in existing.values():
        for attr in ("slack_user_id", "teams_user_id"):
            if getattr(s, attr):
                chat_ids[(attr, getattr(s, attr))] = s.staff_code
    in_file: dict[tuple[str, str], int] = {}
    work = []
    for row in rows:
        v = row.values
        bad = False
        for attr in ("slack_user_id", "teams_user_id"):
            value = v.get(attr)
            if not value:
                continue
            if (attr, value) in in_file:
                job.error(row.line, f"{attr} {value} is also on line {in_file[(attr, value)]}")
                bad = True
            owner = chat_ids.get((attr, value))
            if owner and owner != v["staff_code"]:
                job.error(row.line, f"{attr} {value} already belongs to staff {owner}")
                bad = True
            in_file[(attr, value)] = row.line
        if not bad:
            work.append((row, existing.get(v["staff_code"])))
    return work


def pupils(job: Job, rows: list[Row]) -> list[tuple[Row, Pupil | None]]:
    existing = {
        p.mis_id: p for p in job.session.exec(select(Pupil).where(Pupil.school_id == job.school.id)).all()
    }
    upns = {p.upn: p.mis_id for p in existing.values() if p.upn}
    upn_lines: dict[str, int] = {}
    work = []
    for row in rows:
        v = row.values
        upn = v.get("upn")
        if upn:
            if upn in upn_lines:
                job.error(row.line, f"upn {upn} is also on line {upn_lines[upn]}")
                continue
            owner = upns.get(upn)
            if owner and owner != v["mis_id"]:
                job.error(row.line, f"upn {upn} already belongs to pupil {owner}")
                continue
            upn_lines[upn] = row.line
        if v.get("social_worker") and not v.get("social_worker_email"):
            job.result.warnings.append(
                f"line {row.line}: social_worker is Y but social_worker_email "
                "is blank: the social worker cannot be told of absences"
            )
        work.append((row, existing.get(v["mis_id"])))
    return work


@dataclass
class ContactPlan:
    contacts: dict[str, tuple[int, dict]]  # mis_id -> (first line, the contact's own fields)
    existing: dict[str, Contact]
    links: dict[tuple[int, int], PupilContact]
    rows: list[tuple[Row, int]]  # (row, pupil id)


def contacts(job: Job, rows: list[Row]) -> ContactPlan:
    sid = job.school.id
    pupil_id_of = _pupil_ids(job)
    existing = {c.mis_id: c for c in job.session.exec(select(Contact).where(Contact.school_id == sid)).all()}
    links = {
        (pc.pupil_id, pc.contact_id): pc
        for pc in job.session.exec(select(PupilContact).where(PupilContact.school_id == sid)).all()
    }
    plan = ContactPlan(contacts={}, existing=existing, links=links, rows=[])
    for row in rows:
        v = row.values
        problems = []
        pupil_id = pupil_id_of(v["pupil_mis_id"])
        if pupil_id is None:
            problems.append(
                f"no pupil with mis_id {v['pupil_mis_id']} in this school (import the pupils file first)"
            )
        fields = _contact_fields(job, row)
        current = existing.get(v["mis_id"])
        mobile = fields.get("mobile", current.mobile if current else None)
        email = fields.get("email", current.email if current else None)
        phone = fields.get("phone", current.phone if current else None)
        if not mobile and not email and not phone:
            problems.append("the contact has no mobile, phone or email: the school could not reach them")
        if v["mis_id"] in plan.contacts:
            first_line, first_fields = plan.contacts[v["mis_id"]]
            differ = [k for k in CONTACT_FIELDS if first_fields.get(k) != fields.get(k)]
            if differ:
                problems.append(
                    f"contact {v['mis_id']} has a different {', '.join(differ)} on line "
                    f"{first_line}: a contact's own details must agree on every row"
                )
        else:
            plan.contacts[v["mis_id"]] = (row.line, fields)
        if problems:
            job.error(row.line, "; ".join(problems))
            continue
        plan.rows.append((row, pupil_id))
    return plan


def _pupil_ids(job: Job):
    """Finds a pupil of this school by the file's pupil id: their MIS id, else their UPN."""
    sid = job.school.id
    by_mis = dict(job.session.exec(select(Pupil.mis_id, Pupil.id).where(Pupil.school_id == sid)).all())
    by_upn = dict(
        job.session.exec(
            select(Pupil.upn, Pupil.id).where(Pupil.school_id == sid, Pupil.upn.is_not(None))
        ).all()
    )
    return lambda value: by_mis.get(value) or by_upn.get(str(value).upper())


def _contact_fields(job: Job, row: Row) -> dict[str, Any]:
    v = row.values
    fields: dict[str, Any] = {"first_name": v["first_name"], "last_name": v["last_name"]}
    for name in ("mobile", "email", "phone"):
        if job.has(name):
            fields[name] = v[name]
    if job.has("prefers_calls"):
        fields["prefers_calls"] = bool(v["prefers_calls"])
    if job.has("language"):
        fields["language"] = v["language"] or "en"
    for name in ("sms_opt_out", "email_opt_out"):
        if job.has(name):
            fields[name] = bool(v[name])
    return fields


def marks(job: Job, rows: list[Row]) -> list[Incoming]:
    """Each mark checked: a known pupil, a school day (when the calendar is known), lateness only on
    L and U; "/" and "\\" read as the session's present code."""
    pupil_id_of = _pupil_ids(job)
    cal = load_calendar(job.session, job.school.id)
    check_days = cal.first_day is not None
    why_not: dict[date, str | None] = {}
    incoming: list[Incoming] = []
    for row in rows:
        v = row.values
        problems = []
        pupil_id = pupil_id_of(v["pupil_mis_id"])
        if pupil_id is None:
            problems.append(
                f"no pupil with mis_id {v['pupil_mis_id']} in this school (import the pupils file first)"
            )
        day, name = v["date"], v["session"]
        if check_days:
            if day not in why_not:
                why_not[day] = cal.why_not(day)
            if why_not[day]:
                problems.append(f"{why_not[day]}, not a school day")
        code = v["code"]
        if code in {"/", "\\"}:
            code = codes.present_code_for(name)
        late = v.get("minutes_late")
        if late is not None and late < 0:
            problems.append("minutes_late cannot be negative")
        elif late and code not in LATE_CODES:
            problems.append(f"minutes_late is only for L and U marks, not {code}")
        if problems:
            job.error(row.line, "; ".join(problems))
            continue
        incoming.append(Incoming(pupil_id, day, name, code, late or None))
    return incoming
