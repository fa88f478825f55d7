"""Reading an import file: bytes to text (UTF-8 or Excel's Windows-1252), text to a header of the
bot's field names (``aliases``), and every row's cells parsed by its column (``formats``), with a
wide register (one column per session) turned into one row per session (``wide``).
"""

import csv
import io
from pathlib import Path
from typing import IO, Any

from bot.importing import aliases, wide
from bot.importing.formats import FileFormat
from bot.importing.rows import ImportResult, Progress, Row, RowError

PROGRESS_EVERY = 5000


class Invalid(Exception):
    """The file cannot be read at all (encoding, header); carries the errors found so far."""


def decode(path_or_stream: str | Path | IO, result: ImportResult) -> str:
    """UTF-8 (with or without Excel's byte-order mark), else Windows-1252 (Excel's plain "CSV")."""
    if isinstance(path_or_stream, str | Path):
        raw: bytes | str = Path(path_or_stream).read_bytes()
    else:
        raw = path_or_stream.read()
    if isinstance(raw, str):
        return raw.lstrip("\ufeff")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        result.errors.append(RowError(0, "The file is UTF-16 ('Unicode Text'); save it as 'CSV UTF-8'."))
        raise Invalid
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        line = raw[: utf8_error.start].count(b"\n") + 1
        result.errors.append(
            RowError(
                line,
                "the file is neither UTF-8 nor Windows-1252 (a character on this line cannot be read); "
                "save it as 'CSV UTF-8' and import it again",
            )
        )
        raise Invalid from None
    result.warnings.append(
        "the file is not UTF-8: read as Windows-1252 (Excel's plain CSV). Names with "
        "letters Windows-1252 lacks (ś, ł, ș, ė...) may have been lost in the export: "
        "save as 'CSV UTF-8' to keep them"
    )
    return text


def read(
    fmt: FileFormat, path_or_stream, result: ImportResult, mapping: dict[str, str] | None = None
) -> tuple[list[str], list[tuple]]:
    """The header (as the bot's field names) and the rows: (line, cells) or, for a wide register,
    (line, cells, column label)."""
    text = decode(path_or_stream, result)
    if not text.strip():
        result.errors.append(RowError(0, "The file is empty."))
        raise Invalid
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
        raise Invalid from None

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
        header, rows = wide_register(header, raw_header, rows, result)
    missing = [c for c in fmt.required if c not in header]
    if missing:
        result.errors.append(
            RowError(
                1,
                f"missing required column{'s' if len(missing) > 1 else ''}: "
                f"{', '.join(missing)} (a {fmt.kind} file needs "
                f"{', '.join(fmt.required)})",
            )
        )
    unknown = [h for h in header if h and h not in fmt.names]
    if unknown:
        result.warnings.append(
            f"ignored unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}"
        )
    if not rows and not result.errors:
        result.errors.append(RowError(0, "The file has a header but no rows."))
    if result.errors:
        raise Invalid
    return header, rows


def wide_register(
    header: list[str], raw_header: list[str], rows: list[tuple], result: ImportResult
) -> tuple[list[str], list[tuple]]:
    """A register with one column per session ("Mon 23/11/2026 AM") as one row per session."""
    columns = wide.session_columns(raw_header)
    if not columns:
        return header, rows
    if "pupil_mis_id" not in header:
        result.errors.append(
            RowError(
                1,
                "a register with one column per session needs a pupil id column (pupil_mis_id, Adno, UPN...)",
            )
        )
        return header, rows
    result.detail = f"register with {len(columns)} session column{'s' if len(columns) != 1 else ''}"
    return ["pupil_mis_id", "date", "session", "code"], wide.to_long(
        header.index("pupil_mis_id"), columns, raw_header, rows
    )


def parse_rows(
    fmt: FileFormat, header: list[str], rows, result: ImportResult, notify: Progress
) -> tuple[list[Row], list[Row]]:
    """(good rows, bad rows whose id columns still parsed — so a later duplicate can name them)."""
    columns = [(i, fmt.column(name)) for i, name in enumerate(header) if name in fmt.names]
    width = len(header)
    parsed: list[Row] = []
    rejected: list[Row] = []
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
                rejected.append(Row(line, values))
        else:
            parsed.append(Row(line, values))
        if n % PROGRESS_EVERY == 0:
            notify("reading", n, total)
    notify("reading", total, total)
    return parsed, rejected
