"""Import a school's data from CSV: all or nothing, every bad row reported with its line number.

The import runs in two passes. The first reads the whole file, parses every cell, and checks every
row against the file and the database, writing nothing; if any row is bad the result carries every
problem and the session is untouched. The second pass writes everything with bulk statements (a
term of marks is tens of thousands of rows). The caller owns the transaction: commit after an
import with no errors (``storage.db.session_scope`` does it).

Rows are matched on their ids (``mis_id``, ``staff_code``, (pupil, date, session), (kind, start
date)), so importing the same file twice creates nothing the second time.
"""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlmodel import Session, select

from bot import clock, codes
from bot.calendar import load_calendar
from bot.errors import NotFound, UserError
from bot.importing import aliases, wide
from bot.importing.formats import FORMATS, PUPIL_FLAGS, FileFormat
from bot.phones import display_phone
from bot.policy import DEFAULT_LADDER
from bot.register.service import Incoming, take_marks
from storage.models import (
    CalendarEntry,
    Contact,
    Pupil,
    PupilContact,
    School,
    SchoolPolicy,
    Staff,
)

Progress = Callable[[str, int, int], None]  # (stage, done, total)
PROGRESS_EVERY = 5000
IMPORT_SOURCE = "import"
MAX_CHANGES = 200


@dataclass(frozen=True)
class RowError:
    line: int  # the file's line (the header is line 1); 0 for a problem with the whole file
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class ImportResult:
    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0  # marks not overwritten because staff or the bot amended them
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    detail: str = ""
    changes: list[str] = field(default_factory=list)  # what changed, row by row (for --dry-run)
    changes_total: int = 0

    def note(self, line: str) -> None:
        """Remember a change for ``--dry-run`` (the first ``MAX_CHANGES`` of them)."""
        self.changes_total += 1
        if len(self.changes) < MAX_CHANGES:
            self.changes.append(line)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        parts = [f"{self.created} created", f"{self.updated} updated"]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        if self.kept:
            parts.append(f"{self.kept} kept (amended in the bot, not overwritten)")
        text = f"{self.kind}: " + ", ".join(parts)
        return f"{text} ({self.detail})" if self.detail else text


@dataclass
class _Row:
    line: int
    values: dict[str, Any]  # parsed values of the columns in the header; None for a blank cell


class _Invalid(Exception):
    """The file cannot be read at all (encoding, header); carries the errors found so far."""


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------


def import_file(
    session: Session,
    *,
    kind: str,
    path_or_stream: str | Path | IO,
    school_urn: str | None = None,
    progress: Progress | None = None,
    mapping: list[str] | tuple[str, ...] = (),
    now: datetime,
) -> ImportResult:
    """Validate a whole CSV file, then write it, or write nothing and return every bad row.

    ``mapping``: ``COLUMN=FIELD`` pairs naming which of the file's columns holds which field, over
    the MIS header aliases (``bot.importing.aliases``). Raises ``UserError`` for a wrong call
    (unknown kind or school, a bad mapping); problems in the file are returned in
    ``ImportResult.errors``.
    """
    fmt = FORMATS.get(kind)
    if fmt is None:
        raise UserError(f"'{kind}' is not a kind of file I import (use one of: {', '.join(FORMATS)})")
    columns = aliases.parse_mapping(mapping, kind=kind, names=fmt.names)
    school = None
    if fmt.needs_school:
        if not school_urn:
            raise UserError(f"Say which school the {kind} belong to: --school URN.")
        school = session.exec(select(School).where(School.urn == str(school_urn).strip())).first()
        if school is None:
            raise NotFound(f"No school with URN {school_urn}: import it first with the schools file.")
    elif school_urn:
        raise UserError("A schools file names its own schools by URN: leave out --school.")

    result = ImportResult(kind=kind)
    notify = progress or (lambda _stage, _done, _total: None)
    try:
        header, rows = _read(fmt, path_or_stream, result, columns)
    except _Invalid:
        return result
    parsed, rejected = _parse_rows(fmt, header, rows, result, notify)
    _check_duplicates(fmt, parsed, result, rejected=rejected)
    importer = _IMPORTERS[kind](session=session, school=school, header=header, result=result, now=now)
    writer = importer.plan(parsed)
    if result.errors:
        result.errors.sort(key=lambda e: e.line)
        return result
    writer(notify)
    session.flush()
    return result


# --------------------------------------------------------------------------------------------------
# Reading and parsing
# --------------------------------------------------------------------------------------------------


def _decode(path_or_stream: str | Path | IO, result: ImportResult) -> str:
    """UTF-8 (with or without Excel's byte-order mark), else Windows-1252 (Excel's plain "CSV")."""
    if isinstance(path_or_stream, str | Path):
        raw: bytes | str = Path(path_or_stream).read_bytes()
    else:
        raw = path_or_stream.read()
    if isinstance(raw, str):
        return raw.lstrip("\ufeff")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        result.errors.append(RowError(0, "The file is UTF-16 ('Unicode Text'); save it as 'CSV UTF-8'."))
        raise _Invalid
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        line = raw[: utf8_error.start].count(b"\n") + 1
        result.errors.append(RowError(
            line, "the file is neither UTF-8 nor Windows-1252 (a character on this line cannot be read); "
            "save it as 'CSV UTF-8' and import it again"))
        raise _Invalid from None
    result.warnings.append("the file is not UTF-8: read as Windows-1252 (Excel's plain CSV). Names with "
                           "letters Windows-1252 lacks (ś, ł, ș, ė...) may have been lost in the export: "
                           "save as 'CSV UTF-8' to keep them")
    return text


def _read(
    fmt: FileFormat, path_or_stream, result: ImportResult, mapping: dict[str, str] | None = None
) -> tuple[list[str], list[tuple]]:
    """The header (as the bot's field names) and the rows: (line, cells) or, for a wide register,
    (line, cells, column label)."""
    text = _decode(path_or_stream, result)
    if not text.strip():
        result.errors.append(RowError(0, "The file is empty."))
        raise _Invalid
    first_line = text.split("\n", 1)[0]
    delimiter = ","
    if "," not in first_line:
        delimiter = next((d for d in (";", "\t") if d in first_line), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    raw_header = next(reader)
    rows: list[tuple] = []
    line = 2
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        result.errors.append(RowError(line, f"cannot read this line as CSV ({exc})"))
        raise _Invalid from None

    normalised = [aliases.normalise(h) for h in raw_header]
    seen: set[str] = set()
    for name in normalised:
        if name and name in seen:
            result.errors.append(RowError(1, f"the column '{name}' appears twice in the header"))
        seen.add(name)
    header, renamed, not_found = aliases.resolve(fmt.kind, normalised, fmt.names, mapping or {})
    result.warnings.extend(renamed)
    for column in not_found:
        result.errors.append(RowError(1, f"--map names a column '{column}' that is not in the header"))
    if fmt.kind == "marks" and not {"date", "session"} <= set(header):
        header, rows = _wide_register(header, raw_header, rows, result)
    missing = [c for c in fmt.required if c not in header]
    if missing:
        result.errors.append(RowError(1, f"missing required column{'s' if len(missing) > 1 else ''}: "
                                         f"{', '.join(missing)} (a {fmt.kind} file needs "
                                         f"{', '.join(fmt.required)})"))
    unknown = [h for h in header if h and h not in fmt.names]
    if unknown:
        result.warnings.append(f"ignored unknown column{'s' if len(unknown) > 1 else ''}: "
                               f"{', '.join(unknown)}")
    if not rows and not result.errors:
        result.errors.append(RowError(0, "The file has a header but no rows."))
    if result.errors:
        raise _Invalid
    return header, rows


def _wide_register(header: list[str], raw_header: list[str], rows: list[tuple], result: ImportResult
                   ) -> tuple[list[str], list[tuple]]:
    """A register with one column per session ("Mon 23/11/2026 AM") as one row per session."""
    columns = wide.session_columns(raw_header)
    if not columns:
        return header, rows
    if "pupil_mis_id" not in header:
        result.errors.append(RowError(1, "a register with one column per session needs a pupil id column "
                                         "(pupil_mis_id, Adno, UPN...)"))
        return header, rows
    result.detail = f"register with {len(columns)} session column{'s' if len(columns) != 1 else ''}"
    return ["pupil_mis_id", "date", "session", "code"], wide.to_long(header.index("pupil_mis_id"), columns,
                                                                    raw_header, rows)


def _parse_rows(
    fmt: FileFormat, header: list[str], rows, result: ImportResult, notify: Progress
) -> tuple[list[_Row], list[_Row]]:
    """(good rows, bad rows whose id columns still parsed — so a later duplicate can name them)."""
    columns = [(i, fmt.column(name)) for i, name in enumerate(header) if name in fmt.names]
    width = len(header)
    parsed: list[_Row] = []
    rejected: list[_Row] = []
    total = len(rows)
    for n, (line, cells, *label) in enumerate(rows, 1):
        problems: list[str] = []
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            problems.append(f"has {len(cells)} cells but the header has {width} columns")
        values: dict[str, Any] = {}
        for i, col in columns:
            raw = cells[i] if i < len(cells) else ""
            if not raw.strip():
                if col.required:
                    problems.append(f"{col.name} is empty")
                values[col.name] = None
                continue
            try:
                values[col.name] = col.parse(raw)
            except ValueError as exc:
                problems.append(f"{col.name}: {exc}")
        if problems:
            where = f"column '{label[0]}': " if label else ""
            result.errors.append(RowError(line, where + "; ".join(problems)))
            if all(values.get(k) is not None for k in fmt.key):
                rejected.append(_Row(line, values))
        else:
            parsed.append(_Row(line, values))
        if n % PROGRESS_EVERY == 0:
            notify("reading", n, total)
    notify("reading", total, total)
    return parsed, rejected


def _check_duplicates(
    fmt: FileFormat, rows: list[_Row], result: ImportResult, *, rejected: list[_Row] = ()
) -> None:
    """Two rows with the same id: the second (and any later one) is an error naming the first,
    even when the first was itself a bad row."""
    first_seen: dict[tuple, int] = {}
    unique: list[_Row] = []
    bad_lines = {r.line for r in rejected}
    for row in sorted([*rows, *rejected], key=lambda r: r.line):
        key = tuple(row.values[k] for k in fmt.key)
        if row.line in bad_lines:
            first_seen.setdefault(key, row.line)
        elif key in first_seen:
            shown = ", ".join(f"{k} {_show(v)}" for k, v in zip(fmt.key, key, strict=True))
            result.errors.append(RowError(row.line, f"duplicate of line {first_seen[key]} ({shown})"))
        else:
            first_seen[key] = row.line
            unique.append(row)
    rows[:] = unique


def _show(value: Any) -> str:
    if value is None or value == "":
        return "(blank)"
    return value.isoformat() if isinstance(value, date) else str(value)


def _label(row: Any) -> str:
    """How a row is named in --dry-run's list of changes: its kind and its id in the file."""
    kind = type(row).__name__.lower()
    for attr in ("urn", "staff_code", "mis_id"):
        if getattr(row, attr, None):
            return f"{kind} {getattr(row, attr)}"
    if isinstance(row, CalendarEntry):
        return f"calendar {row.kind} from {_show(row.start_date)}"
    if isinstance(row, SchoolPolicy):
        return "school policy"
    if isinstance(row, PupilContact):
        return "contact link"
    return kind


# --------------------------------------------------------------------------------------------------
# Per-kind checks and writes
# --------------------------------------------------------------------------------------------------


class _Importer:
    """Checks rows against the database (``plan``) and returns the function that writes them."""

    def __init__(
        self,
        *,
        session: Session,
        school: School | None,
        header: list[str],
        result: ImportResult,
        now: datetime,
    ):
        self.session = session
        self.now = now
        self.today = clock.to_local(now, school.timezone if school else None).date()
        self.school = school
        self.header = set(header)
        self.result = result

    def error(self, line: int, message: str) -> None:
        self.result.errors.append(RowError(line, message))

    def has(self, column: str) -> bool:
        return column in self.header

    def apply(self, row_obj: Any, changes: dict[str, Any]) -> bool:
        """Set the changed attributes; True if anything changed (each change noted for --dry-run)."""
        changed = False
        for attr, value in changes.items():
            before = getattr(row_obj, attr)
            if before != value:
                setattr(row_obj, attr, value)
                self.result.note(f"{_label(row_obj)}: {attr} {_show(before)} → {_show(value)}")
                changed = True
        return changed

    def upsert(self, found: Any, fields: dict[str, Any], *, model: type, **keys: Any) -> None:
        """Update ``found`` with ``fields``, or add a new ``model`` row of this school with its
        ``keys``; counted either way."""
        if found is None:
            row = model(school_id=self.school.id, **keys, **fields)
            self.session.add(row)
            self.result.note(f"new {_label(row)}")
            self.count(created=True, changed=True)
        else:
            self.count(created=False, changed=self.apply(found, fields))

    def count(self, *, created: bool, changed: bool) -> None:
        if created:
            self.result.created += 1
        elif changed:
            self.result.updated += 1
        else:
            self.result.unchanged += 1

    def optional(self, row: _Row, names: Iterable[str | tuple[str, str]]) -> dict[str, Any]:
        """Attributes for the optional columns present in the file (a blank cell clears the value)."""
        out = {}
        for name in names:
            column, attr = name if isinstance(name, tuple) else (name, name)
            if self.has(column):
                out[attr] = row.values[column]
        return out

    def plan(self, rows: list[_Row]) -> Callable[[Progress], None]:  # pragma: no cover - abstract
        raise NotImplementedError


class _Schools(_Importer):
    TEXT = ("local_authority", "dsl_email", "attendance_lead_email", "slack_pastoral_channel",
            "slack_attendance_channel", "teams_workflow_url", "wonde_id")
    POLICY = ("am_close", "pm_close", "chase_times", "priority_year_groups", "register_check_after_minutes",
              "calls_enabled", "call_at_chase", "calls_from", "calls_until")

    def plan(self, rows):
        existing = {s.urn: s for s in self.session.exec(select(School)).all()}
        wonde_owner = {s.wonde_id: s.urn for s in existing.values() if s.wonde_id}
        wonde_lines: dict[str, int] = {}
        policies = {p.school_id: p for p in self.session.exec(select(SchoolPolicy)).all()}
        defaults = SchoolPolicy(school_id=0)
        work = []
        for row in rows:
            v = row.values
            school = existing.get(v["urn"])
            policy = policies.get(school.id) if school else None
            base = policy or defaults
            am = v.get("am_close") or base.am_close
            pm = v.get("pm_close") or base.pm_close
            if pm <= am:
                self.error(row.line, f"pm_close {pm:%H:%M} must be after am_close {am:%H:%M}")
                continue
            wonde = v.get("wonde_id")
            if wonde and (wonde_owner.get(wonde, v["urn"]) != v["urn"] or wonde in wonde_lines):
                other = wonde_owner.get(wonde) or f"line {wonde_lines[wonde]}"
                self.error(row.line, f"wonde_id {wonde} already belongs to school {other}")
                continue
            if wonde:
                wonde_lines[wonde] = row.line
            calls_from = v.get("calls_from") or base.calls_from
            calls_until = v.get("calls_until") or base.calls_until
            if calls_until <= calls_from:
                self.error(row.line, f"calls_until {calls_until:%H:%M} must be after calls_from "
                                     f"{calls_from:%H:%M}")
                continue
            if (v.get("call_at_chase") or 0) < 0:
                self.error(row.line, "call_at_chase must be 0 (never) or a chase number, 1 or more")
                continue
            fields = {"name": v["name"], **self.optional(row, self.TEXT)}
            if self.has("mis_writeback"):
                fields["mis_writeback"] = bool(v["mis_writeback"])
            if self.has("timezone"):
                fields["timezone"] = v["timezone"] or "Europe/London"
            if self.has("phone"):
                fields["phone"] = display_phone(v["phone"]) or None
            policy_fields = {k: v[k] for k in self.POLICY if self.has(k) and v[k] is not None}
            work.append((v["urn"], school, policy, fields, policy_fields))

        def write(_notify):
            for urn, school, policy, fields, policy_fields in work:
                created = school is None
                if created:
                    school = School(urn=urn, **fields)
                    self.session.add(school)
                    self.session.flush()
                    changed = True
                else:
                    changed = self.apply(school, fields)
                if policy is None:
                    policy = SchoolPolicy(school_id=school.id,
                                          escalation_ladder=[dict(step) for step in DEFAULT_LADDER])
                    self.session.add(policy)
                changed = self.apply(policy, policy_fields) or changed
                self.count(created=created, changed=changed)

        return write


class _Calendar(_Importer):
    def plan(self, rows):
        existing = {(e.kind, e.start_date): e for e in self.session.exec(
            select(CalendarEntry).where(CalendarEntry.school_id == self.school.id)).all()}
        work = []
        for row in rows:
            v = row.values
            if v["end_date"] < v["start_date"]:
                self.error(row.line, f"end_date {v['end_date']} is before start_date {v['start_date']}")
                continue
            work.append((row, existing.get((v["kind"], v["start_date"]))))

        def write(_notify):
            for row, entry in work:
                v = row.values
                fields = {"end_date": v["end_date"]}
                if self.has("name"):
                    fields["name"] = v["name"] or ""
                self.upsert(entry, fields, model=CalendarEntry, kind=v["kind"], start_date=v["start_date"])

        return write


class _Staff(_Importer):
    def plan(self, rows):
        existing = {s.staff_code: s for s in self.session.exec(
            select(Staff).where(Staff.school_id == self.school.id)).all()}
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
                    self.error(row.line, f"{attr} {value} is also on line {in_file[(attr, value)]}")
                    bad = True
                owner = chat_ids.get((attr, value))
                if owner and owner != v["staff_code"]:
                    self.error(row.line, f"{attr} {value} already belongs to staff {owner}")
                    bad = True
                in_file[(attr, value)] = row.line
            if not bad:
                work.append((v, row))

        def write(_notify):
            for v, row in work:
                fields = {"name": v["name"], "role": v["role"],
                          **self.optional(row, ["email", "slack_user_id", "teams_user_id"])}
                if self.has("active"):
                    fields["active"] = True if v["active"] is None else v["active"]
                self.upsert(existing.get(v["staff_code"]), fields, model=Staff, staff_code=v["staff_code"])

        return write


class _Pupils(_Importer):
    TEXT = ("upn", "preferred_name", "year_group", "class_name", "date_of_birth", "social_worker_email",
            "yot_worker_email", "admission_date", "leaving_date")

    def plan(self, rows):
        existing = {p.mis_id: p for p in self.session.exec(
            select(Pupil).where(Pupil.school_id == self.school.id)).all()}
        upns = {p.upn: p.mis_id for p in existing.values() if p.upn}
        upn_lines: dict[str, int] = {}
        work = []
        for row in rows:
            v = row.values
            upn = v.get("upn")
            if upn:
                if upn in upn_lines:
                    self.error(row.line, f"upn {upn} is also on line {upn_lines[upn]}")
                    continue
                owner = upns.get(upn)
                if owner and owner != v["mis_id"]:
                    self.error(row.line, f"upn {upn} already belongs to pupil {owner}")
                    continue
                upn_lines[upn] = row.line
            if v.get("social_worker") and not v.get("social_worker_email"):
                self.result.warnings.append(f"line {row.line}: social_worker is Y but social_worker_email "
                                            "is blank: the social worker cannot be told of absences")
            work.append(row)

        def write(_notify):
            for row in work:
                v = row.values
                fields = {"first_name": v["first_name"], "last_name": v["last_name"],
                          **self.optional(row, self.TEXT)}
                for column, attr, _help in PUPIL_FLAGS:
                    if self.has(column):
                        fields[attr] = bool(v[column])
                if self.has("on_roll"):
                    fields["on_roll"] = True if v["on_roll"] is None else v["on_roll"]
                elif v.get("leaving_date") is not None:
                    # A leaver is marked off roll, never deleted: the history and audit stay.
                    fields["on_roll"] = v["leaving_date"] > self.today
                self.upsert(existing.get(v["mis_id"]), fields, model=Pupil, mis_id=v["mis_id"])

        return write


class _Contacts(_Importer):
    CONTACT_FIELDS = ("first_name", "last_name", "mobile", "email", "language", "sms_opt_out",
                      "email_opt_out", "phone", "prefers_calls")

    def plan(self, rows):
        sid = self.school.id
        pupils = dict(self.session.exec(select(Pupil.mis_id, Pupil.id).where(Pupil.school_id == sid)).all())
        by_upn = dict(self.session.exec(
            select(Pupil.upn, Pupil.id).where(Pupil.school_id == sid, Pupil.upn.is_not(None))).all())
        existing = {c.mis_id: c for c in self.session.exec(
            select(Contact).where(Contact.school_id == sid)).all()}
        links = {(pc.pupil_id, pc.contact_id): pc for pc in self.session.exec(
            select(PupilContact).where(PupilContact.school_id == sid)).all()}
        contacts: dict[str, tuple[int, dict]] = {}  # mis_id -> (first line, contact fields)
        work = []
        for row in rows:
            v = row.values
            problems = []
            pupil_id = pupils.get(v["pupil_mis_id"]) or by_upn.get(str(v["pupil_mis_id"]).upper())
            if pupil_id is None:
                problems.append(f"no pupil with mis_id {v['pupil_mis_id']} in this school "
                                "(import the pupils file first)")
            fields = self._contact_fields(row)
            current = existing.get(v["mis_id"])
            mobile = fields.get("mobile", current.mobile if current else None)
            email = fields.get("email", current.email if current else None)
            phone = fields.get("phone", current.phone if current else None)
            if not mobile and not email and not phone:
                problems.append("the contact has no mobile, phone or email: "
                                "the school could not reach them")
            if v["mis_id"] in contacts:
                first_line, first_fields = contacts[v["mis_id"]]
                differ = [k for k in self.CONTACT_FIELDS if first_fields.get(k) != fields.get(k)]
                if differ:
                    problems.append(f"contact {v['mis_id']} has a different {', '.join(differ)} on line "
                                    f"{first_line}: a contact's own details must agree on every row")
            else:
                contacts[v["mis_id"]] = (row.line, fields)
            if problems:
                self.error(row.line, "; ".join(problems))
                continue
            work.append((row, pupil_id))

        def write(_notify):
            touched: dict[str, tuple[Contact, bool, bool]] = {}
            for mis_id, (_line, fields) in contacts.items():
                contact = existing.get(mis_id)
                if contact is None:
                    fields = {"language": "en", **{k: v for k, v in fields.items() if v is not None}}
                    contact = Contact(school_id=sid, mis_id=mis_id, **fields)
                    self.session.add(contact)
                    touched[mis_id] = (contact, True, True)
                else:
                    # An opt-out is the parent's choice (a STOP text): a file can set it, never clear it.
                    for name in ("sms_opt_out", "email_opt_out"):
                        if name in fields:
                            fields = {**fields, name: fields[name] or getattr(contact, name)}
                    touched[mis_id] = (contact, False, self.apply(contact, fields))
            self.session.flush()
            link_changed: set[str] = set()
            for row, pupil_id in work:
                v = row.values
                contact = touched[v["mis_id"]][0]
                primary = v.get("primary_contact")
                fields = {"priority": v.get("priority") or (2 if primary is False else 1),
                          "relationship": v.get("relationship") or "parent"}
                if self.has("parental_responsibility"):
                    pr = v["parental_responsibility"]
                    fields["parental_responsibility"] = True if pr is None else pr
                link = links.get((pupil_id, contact.id))
                if link is None:
                    self.session.add(PupilContact(school_id=sid, pupil_id=pupil_id, contact_id=contact.id,
                                                  **fields))
                    link_changed.add(v["mis_id"])
                elif self.apply(link, fields):
                    link_changed.add(v["mis_id"])
            for mis_id, (_contact, created, changed) in touched.items():
                self.count(created=created, changed=changed or mis_id in link_changed)
            self.result.detail = f"{len(work)} pupil links"

        return write

    def _contact_fields(self, row: _Row) -> dict[str, Any]:
        v = row.values
        fields: dict[str, Any] = {"first_name": v["first_name"], "last_name": v["last_name"]}
        for name in ("mobile", "email", "phone"):
            if self.has(name):
                fields[name] = v[name]
        if self.has("prefers_calls"):
            fields["prefers_calls"] = bool(v["prefers_calls"])
        if self.has("language"):
            fields["language"] = v["language"] or "en"
        for name in ("sms_opt_out", "email_opt_out"):
            if self.has(name):
                fields[name] = bool(v[name])
        return fields


class _Marks(_Importer):
    """The register: checked row by row here, then taken as the MIS shows it (``take_marks``).

    A mark staff or the bot amended is kept while the file still shows the MIS's old entry (the
    amendment is on its way to the MIS, or the office will type it in); if the file shows anything
    else, the MIS was changed since and its code wins (the attendance officer is told).
    """

    LATE_CODES = {"L", "U"}

    def plan(self, rows):
        sid = self.school.id
        pupils = dict(self.session.exec(select(Pupil.mis_id, Pupil.id).where(Pupil.school_id == sid)).all())
        by_upn = dict(self.session.exec(
            select(Pupil.upn, Pupil.id).where(Pupil.school_id == sid, Pupil.upn.is_not(None))).all())
        calendar = load_calendar(self.session, sid)
        check_days = calendar.first_day is not None
        why_not: dict[date, str | None] = {}
        incoming: list[Incoming] = []
        for row in rows:
            v = row.values
            problems = []
            pupil_id = pupils.get(v["pupil_mis_id"]) or by_upn.get(str(v["pupil_mis_id"]).upper())
            if pupil_id is None:
                problems.append(f"no pupil with mis_id {v['pupil_mis_id']} in this school "
                                "(import the pupils file first)")
            day, name = v["date"], v["session"]
            if check_days:
                if day not in why_not:
                    why_not[day] = calendar.why_not(day)
                if why_not[day]:
                    problems.append(f"{why_not[day]}, not a school day")
            code = v["code"]
            if code in {"/", "\\"}:
                code = codes.present_code_for(name)
            late = v.get("minutes_late")
            if late is not None and late < 0:
                problems.append("minutes_late cannot be negative")
            elif late and code not in self.LATE_CODES:
                problems.append(f"minutes_late is only for L and U marks, not {code}")
            if problems:
                self.error(row.line, "; ".join(problems))
                continue
            incoming.append(Incoming(pupil_id, day, name, code, late or None))

        def write(notify):
            notify("writing", 0, len(incoming))
            taken = take_marks(self.session, school_id=sid, marks=incoming, source=IMPORT_SOURCE,
                               now=self.now)
            notify("writing", len(incoming), len(incoming))
            self.result.created += taken.created
            self.result.updated += taken.updated + len(taken.overridden)
            self.result.unchanged += taken.unchanged + taken.adopted
            self.result.kept += taken.kept
            if taken.changes:
                ids = dict(self.session.exec(
                    select(Pupil.id, Pupil.mis_id).where(Pupil.school_id == sid)).all())
                for pupil_id, when, session_name, before, code in taken.changes[:MAX_CHANGES]:
                    self.result.note(f"mark {ids.get(pupil_id)} {when.isoformat()} {session_name}: "
                                     f"{before or '(none)'} → {code}")
                self.result.changes_total += max(0, len(taken.changes) - MAX_CHANGES)
            if taken.overridden:
                n = len(taken.overridden)
                self.result.warnings.append(
                    f"{n} mark(s) amended in the bot were changed in the MIS since: the MIS's code now "
                    "stands and the attendance officer is told")

        return write


_IMPORTERS: dict[str, type[_Importer]] = {
    "schools": _Schools,
    "calendar": _Calendar,
    "staff": _Staff,
    "pupils": _Pupils,
    "contacts": _Contacts,
    "marks": _Marks,
}
