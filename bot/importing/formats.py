"""The CSV formats the bot imports: one column list per kind of file, each cell parsed by a parser
from ``bot.importing.cells``.

A column spec says what a cell holds and whether it must be filled; ``docs/csv-formats.md`` is
written from the same facts, so a school office reading the docs sees what this code enforces.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.importing.cells import (
    attendance_code,
    boolean,
    calendar_kind,
    clock_time,
    day,
    email,
    https_url,
    integer,
    language,
    mobile,
    phone,
    positive,
    role,
    session_name,
    slack_channel,
    text,
    time_list,
    timezone,
    upn,
    urn,
    wonde_id,
    year_group,
    year_list,
)
from bot.policy import ROLES

# --------------------------------------------------------------------------------------------------
# Column specs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], Any] = text
    required: bool = False  # the column must be in the header and every cell filled
    help: str = ""
    example: str = ""


@dataclass(frozen=True)
class FileFormat:
    kind: str
    title: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # what makes a row unique; a re-import updates the row with this key
    needs_school: bool = True
    notes: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


FLAG = "Y/N, true/false, 1/0 or blank (no)"

SCHOOLS = FileFormat(
    kind="schools",
    title="Schools",
    needs_school=False,
    key=("urn",),
    columns=(
        Column("urn", urn, True, "The school's unique reference number (GIAS).", "100001"),
        Column("name", text, True, "The name families know.", "Oakfield Primary School"),
        Column("timezone", timezone, False, "IANA time zone; blank means Europe/London.", "Europe/London"),
        Column("local_authority", text, False, "The local authority.", "Oakshire"),
        Column("phone", phone, False, "Office number given to families (any UK format).", "0113 496 0123"),
        Column("dsl_email", email, False, "Designated safeguarding lead's email.", "dsl@oakfield.example"),
        Column(
            "attendance_lead_email", email, False, "Attendance lead's email.", "attendance@oakfield.example"
        ),
        Column(
            "slack_pastoral_channel", slack_channel, False, "Where alerts go in Slack.", "#oakfield-pastoral"
        ),
        Column(
            "slack_attendance_channel",
            slack_channel,
            False,
            "Daily summaries in Slack.",
            "#oakfield-attendance",
        ),
        Column(
            "teams_workflow_url",
            https_url,
            False,
            "Teams Workflows webhook for alerts.",
            "https://prod-00.westeurope.logic.azure.com/...",
        ),
        Column(
            "wonde_id",
            wonde_id,
            False,
            "The school's id in Wonde, once it has approved the bot's Wonde "
            "app: the bot then syncs pupils nightly and reads the register live.",
            "A1930499544",
        ),
        Column(
            "mis_writeback",
            boolean,
            False,
            f"Write changes of marks back to the MIS (the school approved write access in Wonde). {FLAG}.",
            "Y",
        ),
        Column(
            "register_check_after_minutes",
            positive,
            False,
            "Minutes after each register close when "
            "classes with no marks are reported to the attendance officer (policy; default 15).",
            "15",
        ),
        Column("am_close", clock_time, False, "AM register close, HH:MM (policy; default 09:15).", "09:00"),
        Column("pm_close", clock_time, False, "PM register close, HH:MM (policy; default 13:45).", "13:15"),
        Column(
            "chase_times",
            time_list,
            False,
            "When to chase unexplained absences, `;`-separated (default 11:00;14:30).",
            "11:00;14:30",
        ),
        Column(
            "priority_year_groups",
            year_list,
            False,
            "Year groups contacted first, in order, `;`-separated (default none).",
            "6;5",
        ),
        Column(
            "calls_enabled",
            boolean,
            False,
            f"Automated calls to families with no mobile or who prefer calls (policy; default Y). {FLAG}.",
            "Y",
        ),
        Column(
            "call_at_chase",
            integer,
            False,
            "From this chase of an absence on, families who have not "
            "answered the texts are also called; 0 never (policy; default 0).",
            "2",
        ),
        Column(
            "calls_from",
            clock_time,
            False,
            "No automated call before this time, HH:MM (policy; default 08:00).",
            "08:00",
        ),
        Column(
            "calls_until",
            clock_time,
            False,
            "No automated call after this time, HH:MM (policy; default 19:00).",
            "19:00",
        ),
    ),
    notes=(
        "A new school gets a policy with the defaults (escalation ladder: home visit requested on day 3, "
        "home visit due on day 4, MASH referral on day 5). On a re-import, a blank or missing policy "
        "column keeps the school's current value.",
        "The phone number is stored in its national form (`0113 496 0123`), the way families dial it.",
    ),
)

PUPIL_FLAGS = (
    ("social_worker", "has_social_worker", "Has a social worker."),
    ("child_protection", "child_protection", "Child-protection plan or child in need."),
    ("looked_after", "looked_after", "Looked-after child."),
    ("send_ehcp", "send_ehcp", "Has an education, health and care plan."),
    ("young_carer", "young_carer", "Young carer."),
    ("yot_worker", "has_yot_worker", "Has a youth offending team worker."),
    ("fsm", "free_school_meals", "Eligible for free school meals."),
)

PUPILS = FileFormat(
    kind="pupils",
    title="Pupils",
    key=("mis_id",),
    columns=(
        Column("mis_id", text, True, "The pupil's id in the MIS (unique in the school).", "P1001"),
        Column("upn", upn, False, "Unique pupil number, 13 characters.", "A820100110001"),
        Column("first_name", text, True, "Legal first name.", "Amelia"),
        Column("last_name", text, True, "Last name.", "Khan"),
        Column("preferred_name", text, False, "Name used in messages to the family, if different.", "Millie"),
        Column("year_group", year_group, False, "0 (or R) for Reception, 1 to 14.", "3"),
        Column(
            "class_name",
            text,
            False,
            "Class or registration group (the register is checked per class).",
            "3 Maple",
        ),
        Column("date_of_birth", day, False, "Date of birth (`dob` too).", "2018-03-14"),
        Column(
            "admission_date",
            day,
            False,
            "Date of admission (not expected in registers before it).",
            "2026-09-02",
        ),
        Column(
            "leaving_date",
            day,
            False,
            "Date the pupil left or leaves; a date passed takes the pupil off roll.",
            "",
        ),
        *(Column(name, boolean, False, f"{help_} {FLAG}.", "N") for name, _attr, help_ in PUPIL_FLAGS),
        Column(
            "social_worker_email", email, False, "Told of an unexplained absence.", "sw.team@oakshire.example"
        ),
        Column("yot_worker_email", email, False, "Told of an unexplained absence.", "yot@oakshire.example"),
        Column("on_roll", boolean, False, "Still on roll? Blank means yes; N for a pupil who left.", "Y"),
    ),
    notes=(
        "Pupils missing from a later file are left as they are; mark leavers with `on_roll` = N.",
        "A pupil with `social_worker` = Y should have a `social_worker_email` (a warning if not).",
    ),
)

CONTACTS = FileFormat(
    kind="contacts",
    title="Contacts",
    key=("mis_id", "pupil_mis_id"),
    columns=(
        Column("mis_id", text, True, "The contact's id in the MIS.", "C1001"),
        Column("pupil_mis_id", text, True, "The pupil this row links the contact to.", "P1001"),
        Column("first_name", text, True, "", "Sara"),
        Column("last_name", text, True, "", "Khan"),
        Column("relationship", text, False, "How the contact is related (default parent).", "mother"),
        Column("priority", positive, False, "Order of contact for this pupil: 1 is first (default 1).", "1"),
        Column("parental_responsibility", boolean, False, "Y/N, true/false or 1/0; blank means yes.", "Y"),
        Column(
            "mobile", mobile, False, "UK mobile in any usual form; numbers abroad with +.", "07700 900123"
        ),
        Column("email", email, False, "", "sara.khan@example.com"),
        Column(
            "language", language, False, "ISO 639-1 code of the language for messages (default en).", "ur"
        ),
        Column(
            "primary_contact",
            boolean,
            False,
            "Y for the contact to try first; sets the priority "
            "(1, else 2) when the file has no priority column.",
            "Y",
        ),
        Column("sms_opt_out", boolean, False, f"The contact asked for no texts. {FLAG}.", "N"),
        Column("email_opt_out", boolean, False, f"The contact asked for no emails. {FLAG}.", "N"),
        Column(
            "phone",
            phone,
            False,
            "Another number to call (a landline): used for automated calls when there is no mobile to text.",
            "0113 496 0001",
        ),
        Column(
            "prefers_calls", boolean, False, f"The family asked to be phoned rather than texted. {FLAG}.", "N"
        ),
    ),
    notes=(
        "One row per pupil-contact link: a parent of two siblings has two rows, one per pupil, with the "
        "same `mis_id`; the contact's own fields (name, mobile, email, language, opt-outs) must agree on "
        "every row.",
        "A contact needs a mobile, a phone or an email. Numbers are stored as E.164: `07700 900123`, "
        "`+44 7700 900123`, `447700900123` and `(07700) 900-123` all become `+447700900123`.",
    ),
)

STAFF = FileFormat(
    kind="staff",
    title="Staff",
    key=("staff_code",),
    columns=(
        Column("staff_code", text, True, "The staff member's code in the MIS.", "OAK-ATT1"),
        Column("name", text, True, "Full name, shown in the register's audit.", "Jo Patel"),
        Column("role", role, True, f"One of {', '.join(ROLES)}.", "attendance_officer"),
        Column("email", email, False, "", "j.patel@oakfield.example"),
        Column("slack_user_id", text, False, "Slack member id, to recognise them in Slack.", "U0OAKATT1"),
        Column(
            "teams_user_id",
            text,
            False,
            "Teams user id (AAD object id).",
            "6f1c2d9e-0000-4000-8000-000000000001",
        ),
        Column("active", boolean, False, "Blank means yes; N for someone who left.", "Y"),
    ),
)

MARKS = FileFormat(
    kind="marks",
    title="Marks (the register)",
    key=("pupil_mis_id", "date", "session"),
    columns=(
        Column("pupil_mis_id", text, True, "", "P1001"),
        Column(
            "date",
            day,
            True,
            "YYYY-MM-DD or DD/MM/YYYY; must be a school day if the calendar is loaded.",
            "2026-09-03",
        ),
        Column("session", session_name, True, "AM or PM.", "AM"),
        Column(
            "code",
            attendance_code,
            True,
            "A national attendance code (2024); `/` and `\\` are both read as present for the row's session.",
            "/",
        ),
        Column("minutes_late", integer, False, "Minutes late, for L and U marks.", "10"),
    ),
    notes=(
        "A mark that staff or the bot amended (through the audited recode) is never overwritten by an "
        "import: the amendment wins and the import reports it as kept. Every other mark is replaced "
        "by the file's code.",
        "Retired codes (H, F, J, Y) are refused with an explanation.",
    ),
)

CALENDAR = FileFormat(
    kind="calendar",
    title="School calendar",
    key=("kind", "start_date"),
    columns=(
        Column("kind", calendar_kind, True, "term, holiday, inset, bank_holiday or closure.", "term"),
        Column("start_date", day, True, "First day of the span.", "2026-09-02"),
        Column("end_date", day, True, "Last day of the span (included).", "2026-10-23"),
        Column("name", text, False, "", "Autumn 1"),
    ),
    notes=(
        "A school day is a weekday inside a `term` span that no other span covers. Spans are matched by "
        "(kind, start_date): a re-import can move an end date or rename a span.",
    ),
)

FORMATS: dict[str, FileFormat] = {f.kind: f for f in (SCHOOLS, PUPILS, CONTACTS, STAFF, MARKS, CALENDAR)}
KINDS_IN_ORDER = ("schools", "calendar", "staff", "pupils", "contacts", "marks")
