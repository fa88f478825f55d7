"""A loopback server speaking Wonde's API (v1.0), for the bot's real Wonde client to talk to.

- ``GET /v1.0/schools/{id}/students|employees|deletions|attendance/session`` and
  ``GET /v1.0/attendance-codes``: Wonde's list shape ``{"data": [...], "meta": {"pagination":
  {"next": <full URL or null>, "previous", "more", "per_page", "current_page"}}}``, ``per_page`` (up
  to 200, default 50), ``page``, ``updated_after=YYYY-MM-DD HH:MM:SS`` (UTC) and ``include=`` (nested
  objects as ``{"data": ...}``; ``contacts.contact_details`` nests the contacts' details). Dates are
  Wonde's objects ``{"date": "2026-11-23 09:05:00.000000", "timezone_type": 3, "timezone": "UTC"}``.
- ``POST /v1.0/schools/{id}/attendance/session`` with ``{"attendance": [{"student_id", "date",
  "session", "attendance_code_id", "comment", "minutes_late"}]}``: 200 ``{"writeback_id"}``, or 422
  with Laravel-style ``{"errors": {"attendance.0.attendance_code_id": [...]}}``.
- Auth: ``Authorization: Bearer <token>`` (or HTTP basic with the token as user); 401 otherwise,
  403 for a school that has not approved the token.

Controls for tests: ``now`` (the stand-in's clock, which stamps ``updated_at``), ``mode`` ("up",
"down": connections dropped without an answer, "503"), ``fail_next(status, retry_after=...)``,
``reject(student_id, message)`` (422 for that student's write-backs), ``apply_writebacks`` (apply
at once, as the MIS eventually does, or hold them in ``pending``). Every request is recorded.

Point the bot at it with ``WONDE_API_BASE_URL`` (``settings.wonde_api_base_url = peer.base_url``).
"""

import base64
import json
import random
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlencode, urlsplit

from bot import codes
from tests.peers.http import serve_handler

TOKEN = "wonde-peer-token-0123456789abcdef"


def wonde_date(value: date | datetime | None, tz: str = "UTC") -> dict | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
        tz = "Europe/London"
    return {
        "date": value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.000000")
        if tz == "UTC"
        else value.strftime("%Y-%m-%d %H:%M:%S.000000"),
        "timezone_type": 3,
        "timezone": tz,
    }


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    status: int
    body: dict | None = None


@dataclass
class SchoolData:
    id: str
    tokens: set[str]
    students: dict[str, dict] = field(default_factory=dict)
    contacts: dict[str, dict] = field(default_factory=dict)
    employees: dict[str, dict] = field(default_factory=dict)
    marks: dict[tuple[str, str, str], dict] = field(default_factory=dict)  # (student, date, session)
    deletions: list[dict] = field(default_factory=list)


@dataclass
class WondePeer:
    token: str = TOKEN
    base_url: str = ""
    now: datetime = field(default_factory=lambda: datetime(2026, 9, 1, 6, 0, tzinfo=UTC))
    mode: str = "up"  # up | down | 503
    apply_writebacks: bool = True
    schools: dict[str, SchoolData] = field(default_factory=dict)
    codes: list[dict] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    writebacks: list[dict] = field(default_factory=list)
    pending: list[dict] = field(default_factory=list)
    rejects: dict[str, str] = field(default_factory=dict)
    _fail: list[tuple[int, float | None, str | None]] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self):
        if not self.codes:
            self.codes = [
                {
                    "id": f"AC{n:04d}",
                    "code": c,
                    "description": code.meaning,
                    "type": code.category.name,
                    "physical_meaning": None,
                }
                for n, (c, code) in enumerate(codes.CODES.items(), 1)
            ]
            self.codes.append({"id": "AC9999", "code": "-", "description": "No mark", "type": "NO_MARK"})

    # -- data -----------------------------------------------------------------------------------

    def school(self, school_id: str, *, tokens: set[str] | None = None) -> SchoolData:
        with self._lock:
            if school_id not in self.schools:
                self.schools[school_id] = SchoolData(school_id, tokens or {self.token})
            return self.schools[school_id]

    def code_id(self, code: str) -> str:
        return next(c["id"] for c in self.codes if c["code"] == code)

    def code_of(self, code_id: str) -> str | None:
        return next((c["code"] for c in self.codes if c["id"] == code_id), None)

    def put_student(self, school_id: str, student: dict, *, contacts: list[tuple[dict, dict]] = ()) -> dict:
        """Add or replace a student; ``contacts`` are (contact, relationship) pairs."""
        with self._lock:
            school = self.school(school_id)
            student = {**student, "updated_at": self.now, "_contacts": []}
            student.setdefault("created_at", self.now)
            for contact, relationship in contacts:
                contact = {**contact, "updated_at": self.now}
                school.contacts[contact["id"]] = contact
                student["_contacts"].append((contact["id"], relationship))
            school.students[student["id"]] = student
            return student

    def touch(self, school_id: str, student_id: str, **changes) -> None:
        """Change a student's fields (or private include parts) as the MIS would; bumps updated_at."""
        with self._lock:
            student = self.schools[school_id].students[student_id]
            student.update(changes)
            student["updated_at"] = self.now

    def delete(self, school_id: str, kind: str, wonde_id: str) -> None:
        with self._lock:
            school = self.schools[school_id]
            if kind == "student":
                school.students.pop(wonde_id, None)
            elif kind == "contact":
                school.contacts.pop(wonde_id, None)
                for student in school.students.values():
                    student["_contacts"] = [(c, r) for c, r in student["_contacts"] if c != wonde_id]
            school.deletions.append(
                {"id": wonde_id, "type": kind, "mis_id": None, "deleted_at": self.now, "restored_at": None}
            )

    def set_mark(
        self,
        school_id: str,
        student_id: str,
        day: date,
        session: str,
        code: str,
        minutes_late: int | None = None,
        comment: str | None = None,
    ) -> None:
        """The register taken (or changed) in the MIS at ``now``."""
        with self._lock:
            school = self.schools[school_id]
            key = (student_id, day.isoformat(), session)
            old = school.marks.get(key)
            school.marks[key] = {
                "id": old["id"] if old else f"SA{secrets.token_hex(6)}",
                "code_id": self.code_id(code),
                "minutes_late": minutes_late,
                "comment": comment,
                "created_at": old["created_at"] if old else self.now,
                "updated_at": self.now,
            }

    def take_register(
        self, school_id: str, day: date, session: str, codes_by_student: dict[str, str]
    ) -> None:
        for student_id, code in codes_by_student.items():
            self.set_mark(school_id, student_id, day, session, code)

    def mark(self, school_id: str, student_id: str, day: date, session: str) -> str | None:
        with self._lock:
            m = self.schools[school_id].marks.get((student_id, day.isoformat(), session))
            return self.code_of(m["code_id"]) if m else None

    # -- faults ---------------------------------------------------------------------------------

    def fail_next(
        self, status: int, *, retry_after: float | None = None, method: str | None = None, count: int = 1
    ) -> None:
        with self._lock:
            self._fail.extend([(status, retry_after, method)] * count)

    def reject(self, student_id: str, message: str) -> None:
        """Write-backs for this student are refused with 422 and ``message``."""
        self.rejects[student_id] = message

    def take_failure(self, method: str) -> tuple[int, float | None] | None:
        with self._lock:
            for i, (status, retry_after, only) in enumerate(self._fail):
                if only is None or only == method:
                    del self._fail[i]
                    return status, retry_after
        return None

    def apply_pending(self) -> None:
        with self._lock:
            for wb in self.pending:
                self._apply(wb)
            self.pending.clear()

    def _apply(self, wb: dict) -> None:
        for rec in wb["attendance"]:
            code = self.code_of(rec["attendance_code_id"])
            self.set_mark(
                wb["school"],
                rec["student_id"],
                date.fromisoformat(rec["date"]),
                rec["session"],
                code,
                rec.get("minutes_late"),
                rec.get("comment"),
            )

    def posted(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST"]

    def record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)


# --------------------------------------------------------------------------------------------------
# Serialising
# --------------------------------------------------------------------------------------------------


def _student_json(school: SchoolData, s: dict, includes: set[str]) -> dict:
    out = {k: v for k, v in s.items() if not k.startswith("_")}
    for k in ("created_at", "updated_at", "restored_at"):
        out[k] = wonde_date(s.get(k))
    out["date_of_birth"] = wonde_date(s.get("date_of_birth"))
    if "extended_details" in includes:
        out["extended_details"] = {"data": s.get("_extended", {})}
    if "education_details" in includes:
        edu = dict(s.get("_education", {}))
        for k in ("admission_date", "leaving_date"):
            edu[k] = wonde_date(edu.get(k))
        out["education_details"] = {"data": edu}
    if "year" in includes:
        out["year"] = {"data": s.get("_year")}
    if "groups" in includes:
        out["groups"] = {"data": s.get("_groups", [])}
    if "classes" in includes:
        out["classes"] = {"data": s.get("_classes", [])}
    if "contact_details" in includes:
        out["contact_details"] = {"data": {"emails": {}, "phones": {}}}
    if "contacts" in includes or "contacts.contact_details" in includes:
        contacts = []
        for contact_id, relationship in s["_contacts"]:
            c = school.contacts.get(contact_id)
            if c is None:
                continue
            cj = {k: v for k, v in c.items() if not k.startswith("_")}
            cj["updated_at"] = wonde_date(c.get("updated_at"))
            cj["relationship"] = relationship
            if "contacts.contact_details" in includes:
                cj["contact_details"] = {"data": c.get("_details", {"emails": {}, "phones": {}})}
            contacts.append(cj)
        out["contacts"] = {"data": contacts}
    return out


def _mark_json(student_id: str, day: str, session: str, m: dict) -> dict:
    return {
        "id": m["id"],
        "student": student_id,
        "session": session,
        "date": {"date": f"{day} 00:00:00.000000", "timezone_type": 3, "timezone": "Europe/London"},
        "attendance_code": m["code_id"],
        "comment": m["comment"],
        "minutes_late": m["minutes_late"],
        "created_at": wonde_date(m["created_at"]),
        "updated_at": wonde_date(m["updated_at"]),
    }


def _after(query: dict) -> datetime | None:
    raw = query.get("updated_after")
    if not raw:
        return None
    return datetime.strptime(raw, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = -1

    def log_message(self, *args):  # quiet
        return

    @property
    def peer(self) -> WondePeer:
        return self.server.peer  # type: ignore[attr-defined]

    def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _token(self) -> str | None:
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return header[7:].strip()
        if header.startswith("Basic "):
            try:
                return base64.b64decode(header[6:]).decode().split(":", 1)[0]
            except ValueError:
                return None
        return None

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        body = None
        if method == "POST":
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
        rec = Recorded(method, parts.path, query, 0, body)
        peer = self.peer
        if peer.mode == "down":
            rec.status = -1
            peer.record(rec)
            self.close_connection = True
            return  # no answer at all: the client sees the connection dropped
        status, payload, headers = self._route(method, parts.path, query, body)
        rec.status = status
        peer.record(rec)
        self._send(status, payload, headers)

    def _route(self, method: str, path: str, query: dict, body) -> tuple[int, dict, dict]:
        peer = self.peer
        if peer.mode == "503":
            return 503, {"error": "service_unavailable"}, {}
        failure = peer.take_failure(method)
        if failure is not None:
            status, retry_after = failure
            headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            return status, {"error": "too_many_requests" if status == 429 else "server_error"}, headers
        token = self._token()
        if token is None or token not in {peer.token, *(t for s in peer.schools.values() for t in s.tokens)}:
            return 401, {"error": "unauthenticated", "error_description": "Invalid access token"}, {}
        if not path.startswith("/v1.0/"):
            return 404, {"error": "not_found"}, {}
        bits = path[len("/v1.0/") :].strip("/").split("/")
        if bits == ["attendance-codes"] and method == "GET":
            return 200, *self._page(peer.codes, query, path), {}
        if len(bits) < 2 or bits[0] != "schools" or bits[1] not in peer.schools:
            return 404, {"error": "not_found"}, {}
        school = peer.schools[bits[1]]
        if token not in school.tokens:
            return 403, {"error": "access_denied", "error_description": "School has not approved access"}, {}
        rest = "/".join(bits[2:])
        with peer._lock:
            if method == "POST" and rest == "attendance/session":
                return self._writeback(school, body)
            if method != "GET":
                return 405, {"error": "method_not_allowed"}, {}
            rows = self._rows(school, rest, query)
        if rows is None:
            return 404, {"error": "not_found"}, {}
        return 200, *self._page(rows, query, path), {}

    def _rows(self, school: SchoolData, what: str, query: dict) -> list[dict] | None:
        after = _after(query)
        includes = set(filter(None, (query.get("include") or "").split(",")))

        def fresh(stamp: datetime) -> bool:
            return after is None or stamp > after

        if what == "students":
            return [
                _student_json(school, s, includes) for s in school.students.values() if fresh(s["updated_at"])
            ]
        if what == "employees":
            details = "contact_details" in includes
            return [
                {k: v for k, v in e.items() if not k.startswith("_")}
                | ({"contact_details": {"data": e.get("_details", {})}} if details else {})
                for e in school.employees.values()
            ]
        if what == "deletions":
            return [
                {**d, "deleted_at": wonde_date(d["deleted_at"])}
                for d in school.deletions
                if fresh(d["deleted_at"])
            ]
        if what == "attendance/session":
            return [
                _mark_json(st, day, sess, m)
                for (st, day, sess), m in sorted(school.marks.items())
                if fresh(m["updated_at"])
            ]
        return None

    def _page(self, rows: list[dict], query: dict, path: str) -> tuple[dict, ...]:
        per_page = max(1, min(200, int(query.get("per_page") or 50)))
        page = max(1, int(query.get("page") or 1))
        chunk = rows[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(rows)

        def link(n: int) -> str:
            return f"{self.peer.base_url.rsplit('/v1.0', 1)[0]}{path}?{urlencode({**query, 'page': n})}"

        return (
            {
                "data": chunk,
                "meta": {
                    "pagination": {
                        "next": link(page + 1) if more else None,
                        "previous": link(page - 1) if page > 1 else None,
                        "more": more,
                        "per_page": per_page,
                        "current_page": page,
                    }
                },
            },
        )

    def _writeback(self, school: SchoolData, body) -> tuple[int, dict, dict]:
        peer = self.peer
        records = body.get("attendance") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records:
            return (
                422,
                {
                    "error": "validation_failed",
                    "error_description": "The given data was invalid.",
                    "errors": {"attendance": ["The attendance field is required."]},
                },
                {},
            )
        errors: dict[str, list[str]] = {}
        for i, rec in enumerate(records):
            student = rec.get("student_id")
            if student not in school.students:
                errors[f"attendance.{i}.student_id"] = ["The selected student id is invalid."]
            elif student in peer.rejects:
                errors[f"attendance.{i}.attendance_code_id"] = [peer.rejects[student]]
            if rec.get("session") not in {"AM", "PM"}:
                errors[f"attendance.{i}.session"] = ["The selected session is invalid."]
            if peer.code_of(rec.get("attendance_code_id") or "") is None:
                errors[f"attendance.{i}.attendance_code_id"] = ["The selected attendance code id is invalid."]
            try:
                date.fromisoformat(rec.get("date") or "")
            except ValueError:
                errors[f"attendance.{i}.date"] = ["The date is not a valid date."]
        if errors:
            return (
                422,
                {
                    "error": "validation_failed",
                    "error_description": "The given data was invalid.",
                    "errors": errors,
                },
                {},
            )
        wb = {"writeback_id": f"WB{secrets.token_hex(8)}", "school": school.id, "attendance": records}
        peer.writebacks.append(wb)
        if peer.apply_writebacks:
            peer._apply(wb)
        else:
            peer.pending.append(wb)
        return 200, {"writeback_id": wb["writeback_id"]}, {}

    def do_GET(self):  # noqa: N802 - http.server naming
        self._handle("GET")

    def do_POST(self):  # noqa: N802
        self._handle("POST")


@contextmanager
def wonde_api(**kw) -> Iterator[WondePeer]:
    """Run a Wonde API peer; yields it with ``base_url`` set (``http://127.0.0.1:PORT/v1.0``)."""
    peer = WondePeer(**kw)
    with serve_handler(_Handler, peer=peer) as running:
        peer.base_url = running.base_url + "/v1.0"
        yield peer


# --------------------------------------------------------------------------------------------------
# A school's data, as an MIS would hold it
# --------------------------------------------------------------------------------------------------

FIRST = [
    "Amelia",
    "Oliver",
    "Zofia",
    "Yusuf",
    "Maya",
    "Noah",
    "Aisha",
    "Leo",
    "Ivy",
    "Ibrahim",
    "Ruby",
    "Jakub",
    "Freya",
    "Musa",
    "Elsie",
    "Arjun",
    "Ada",
    "Kacper",
    "Isla",
    "Hamza",
]
LAST = [
    "Khan",
    "Smith",
    "Wiśniewska",
    "Jones",
    "Patel",
    "Nowak",
    "Taylor",
    "Ahmed",
    "Brown",
    "Popescu",
    "Evans",
    "Hussain",
    "Walker",
    "Kowalski",
    "Wright",
    "Begum",
]
CLASS_NAMES = ["Birch", "Oak", "Maple", "Willow", "Ash", "Rowan", "Elm", "Hazel"]


def populate(
    peer: WondePeer,
    school_id: str,
    *,
    pupils: int = 1000,
    seed: int = 1,
    classes_per_year: int = 2,
    years: range = range(0, 7),
) -> list[str]:
    """A school of ``pupils`` students (two contacts each, the first with a mobile); returns their ids
    in order. Registration groups are named like "4 Birch"."""
    rng = random.Random(f"wonde:{school_id}:{seed}")
    ids = []
    groups = [(y, f"{'R' if y == 0 else y} {CLASS_NAMES[c]}") for y in years for c in range(classes_per_year)]
    for n in range(pupils):
        year, group = groups[n % len(groups)]
        sid = f"{school_id}S{n:05d}"
        last = rng.choice(LAST)
        student = {
            "id": sid,
            "mis_id": f"{n + 1001}",
            "upn": f"A{rng.randrange(10**12):012d}",
            "forename": rng.choice(FIRST),
            "legal_forename": None,
            "surname": last,
            "legal_surname": last,
            "gender": rng.choice("MF"),
            "date_of_birth": date(2021 - year, 1 + n % 12, 1 + n % 28),
            "_extended": {
                "free_school_meals": n % 5 == 0,
                "in_lea_care": n % 97 == 0,
                "sen_status": "E" if n % 53 == 0 else "N",
                "home_language": "POL" if n % 9 == 0 else "ENG",
                "young_carer": n % 61 == 0,
            },
            "_education": {
                "admission_date": date(2026, 9, 2) if n % 50 else date(2026, 11, 2),
                "leaving_date": None,
                "current_nc_year": year,
            },
            "_year": {
                "id": f"Y{year}",
                "code": str(year),
                "name": "Reception" if year == 0 else f"Year {year}",
            },
            "_groups": [
                {"id": f"G{group}", "name": group, "type": "REGISTRATION"},
                {"id": f"Y{year}", "name": f"Year {year}", "type": "YEAR"},
            ],
            "_classes": [
                {"id": f"C{group}", "name": f"{group} Maths"},
                {"id": f"E{group}", "name": f"{group} English"},
            ],
        }
        student["legal_forename"] = student["forename"]
        contacts = [
            (
                {
                    "id": f"{sid}C1",
                    "mis_id": f"C{n + 1001}a",
                    "forename": rng.choice(FIRST),
                    "surname": last,
                    "_details": {
                        "phones": {"mobile": f"07700 900{n % 1000:03d}", "home": "0113 496 0000"},
                        "emails": {"email": f"parent{n}a@example.com"},
                    },
                },
                {
                    "relationship": "Mother",
                    "priority": 1,
                    "parental_responsibility": True,
                    "lives_with_pupil": True,
                },
            ),
            (
                {
                    "id": f"{sid}C2",
                    "mis_id": f"C{n + 1001}b",
                    "forename": rng.choice(FIRST),
                    "surname": last,
                    "_details": {
                        "phones": {"mobile": f"07700 900{(n + 500) % 1000:03d}"},
                        "emails": {"email": f"parent{n}b@example.com"},
                    },
                },
                {
                    "relationship": "Father",
                    "priority": 2,
                    "parental_responsibility": True,
                    "lives_with_pupil": False,
                },
            ),
        ]
        peer.put_student(school_id, student, contacts=contacts)
        ids.append(sid)
    return ids
