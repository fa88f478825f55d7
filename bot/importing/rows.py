"""The shapes an import passes around: a parsed row, the result with every error, and the job that
checks rows against the database and writes them (its small helpers count and note each change).

``read`` turns a file into rows, ``validate`` checks them, ``write`` writes them; ``service`` runs
the three in order.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from bot import clock
from storage.models import CalendarEntry, PupilContact, School, SchoolPolicy

Progress = Callable[[str, int, int], None]  # (stage, done, total)
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
class Row:
    line: int
    values: dict[str, Any]  # parsed values of the columns in the header; None for a blank cell


def show(value: Any) -> str:
    if value is None or value == "":
        return "(blank)"
    return value.isoformat() if isinstance(value, date) else str(value)


def label(row: Any) -> str:
    """How a row is named in --dry-run's list of changes: its kind and its id in the file."""
    kind = type(row).__name__.lower()
    for attr in ("urn", "staff_code", "mis_id"):
        if getattr(row, attr, None):
            return f"{kind} {getattr(row, attr)}"
    if isinstance(row, CalendarEntry):
        return f"calendar {row.kind} from {show(row.start_date)}"
    if isinstance(row, SchoolPolicy):
        return "school policy"
    if isinstance(row, PupilContact):
        return "contact link"
    return kind


class Job:
    """One import of one kind for one school (None for the schools file): what ``validate`` and
    ``write`` share."""

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
                self.result.note(f"{label(row_obj)}: {attr} {show(before)} → {show(value)}")
                changed = True
        return changed

    def upsert(self, found: Any, fields: dict[str, Any], *, model: type, **keys: Any) -> None:
        """Update ``found`` with ``fields``, or add a new ``model`` row of this school with its
        ``keys``; counted either way."""
        if found is None:
            row = model(school_id=self.school.id, **keys, **fields)
            self.session.add(row)
            self.result.note(f"new {label(row)}")
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

    def optional(self, row: Row, names: Iterable[str | tuple[str, str]]) -> dict[str, Any]:
        """Attributes for the optional columns present in the file (a blank cell clears the value)."""
        out = {}
        for name in names:
            column, attr = name if isinstance(name, tuple) else (name, name)
            if self.has(column):
                out[attr] = row.values[column]
        return out
