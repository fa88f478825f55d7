"""Every table of the attendance bot.

Every row that belongs to a school carries ``school_id`` so each query can be scoped to one school.
Times are stored in UTC (``UTCDateTime``); dates (register dates, calendar days) are plain dates in
the school's own zone.

Long because: one class per table, the whole schema read in one place; ``tests/test_migrations.py``
compares it with the migrations as a whole.
"""

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _ts(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


def _json(default_factory=dict) -> Any:
    return Field(default_factory=default_factory, sa_type=JSON)


# --------------------------------------------------------------------------------------------------
# Schools and their policy
# --------------------------------------------------------------------------------------------------


class School(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("wonde_id", name="uq_school_wonde"),)
    id: int | None = Field(default=None, primary_key=True)
    urn: str = Field(unique=True, index=True, max_length=16)
    name: str
    timezone: str = "Europe/London"
    local_authority: str | None = None
    phone: str | None = None
    dsl_email: str | None = None
    # The DSL's mobile (E.164): "child may be missing" and welfare alerts are texted to it as well.
    dsl_mobile: str | None = Field(default=None, max_length=20)
    attendance_lead_email: str | None = None
    slack_team_id: str | None = None
    slack_pastoral_channel: str | None = None
    slack_attendance_channel: str | None = None
    teams_workflow_url: str | None = None
    # The school's id in Wonde (e.g. "A1930499544"), set once the school has approved the bot's Wonde
    # app; None for a school that sends its register as CSV.
    wonde_id: str | None = Field(default=None, max_length=32)
    # Write amendments back to the MIS (the school approved write access in Wonde).
    mis_writeback: bool = False


class SchoolPolicy(SQLModel, table=True):
    """Local policy: every number a school may set, with the seeds' values as defaults.

    Escalation ladders are lists of ``{"day": 3, "kind": "home_visit", "title": ..., "text": ...}``;
    a case snapshots the ladder in force when it opens.
    """

    school_id: int = Field(foreign_key="school.id", primary_key=True)
    am_close: time = time(9, 15)
    pm_close: time = time(13, 45)
    chase_times: list[str] = _json(lambda: ["11:00", "14:30"])
    next_contact_after_minutes: int = 90
    email_mode: str = "fallback"  # "fallback": email only without a mobile; "also": SMS and email
    priority_year_groups: list[int] = _json(list)
    vulnerable_first: bool = True
    escalation_basis: str = "unexplained"  # or "no_contact"
    escalation_ladder: list[dict] = _json(list)
    vulnerable_ladder: list[dict] = _json(list)
    realert_after_minutes: int = 120
    dsl_email_after_minutes: int = 240
    # "Child may be missing" and welfare-concern alerts are raised again this often until someone acts.
    urgent_realert_minutes: int = Field(default=5, sa_column_kwargs={"server_default": "5"})
    n_to_o_school_days: int = 5
    thresholds: dict = _json(dict)
    recode_roles: list[str] = _json(lambda: ["attendance_officer", "headteacher", "admin"])
    recode_n_roles: list[str] = _json(
        lambda: ["attendance_officer", "pastoral", "dsl", "headteacher", "admin"]
    )
    # Minutes after each register close when classes with no marks raise "Register not taken".
    register_check_after_minutes: int = 15
    # Automated calls (bot.calls): on at all (families with no mobile, or who prefer calls), from
    # which chase of an episode unanswered families are also phoned (0: never, the default: calls
    # cost money, so a school opts in), and the hours a call may ring (school's local time).
    calls_enabled: bool = True
    call_at_chase: int = 0
    calls_from: time = time(8, 0)
    calls_until: time = time(19, 0)
    # How long what families wrote and were sent is kept, and the register (``bot.privacy``): only
    # the keys a school changed; ``bot.policy.retention`` fills in the rest (register at least 6 years).
    retention: dict = Field(default_factory=dict, sa_type=JSON, sa_column_kwargs={"server_default": "{}"})


class PolicyChange(SQLModel, table=True):
    """Who changed which policy setting of a school, when, from what to what (``attendance-bot policy``)."""

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    at: datetime = _ts()
    changed_by: str
    source: str = Field(max_length=16)  # set | import
    changes: dict = _json(dict)  # {setting: {"from": old, "to": new}}


class CalendarEntry(SQLModel, table=True):
    """A span of the school calendar.

    ``kind`` is ``term`` (days the school is open, weekdays only), or one of ``holiday``, ``inset``,
    ``bank_holiday``, ``closure`` (days inside a term when pupils are not expected).
    """

    __table_args__ = (UniqueConstraint("school_id", "kind", "start_date", name="uq_calendar_span"),)
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    kind: str = Field(max_length=16)
    start_date: date
    end_date: date
    name: str = ""


# --------------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------------


class Pupil(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("school_id", "mis_id", name="uq_pupil_mis"),
        UniqueConstraint("school_id", "wonde_id", name="uq_pupil_wonde"),
    )
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    mis_id: str = Field(max_length=64)
    wonde_id: str | None = Field(default=None, max_length=32)  # the student's id in Wonde
    upn: str | None = Field(default=None, max_length=13, index=True)
    first_name: str
    last_name: str
    preferred_name: str | None = None
    year_group: int | None = None
    class_name: str | None = None
    has_social_worker: bool = False
    child_protection: bool = False  # child-protection plan or child in need
    looked_after: bool = False
    send_ehcp: bool = False
    young_carer: bool = False
    has_yot_worker: bool = False
    free_school_meals: bool = False
    social_worker_email: str | None = None
    yot_worker_email: str | None = None
    # Compulsory school age starts the term after the fifth birthday (``bot.pupils``): statutory
    # thresholds leave younger pupils out. Unknown (None) is treated as of compulsory school age.
    date_of_birth: date | None = None
    on_roll: bool = True
    tier: str | None = None
    admission_date: date | None = None
    leaving_date: date | None = None  # set for leavers (who are marked off roll, never deleted)

    @property
    def display_first_name(self) -> str:
        return self.preferred_name or self.first_name

    @property
    def vulnerable(self) -> bool:
        """A social worker, a child-protection or child-in-need plan, looked after, or a YOT worker:
        contacted first, a day-1 alert to the DSL and the school's shorter escalation ladder."""
        return self.has_social_worker or self.child_protection or self.looked_after or self.has_yot_worker


class Contact(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("school_id", "mis_id", name="uq_contact_mis"),
        UniqueConstraint("school_id", "wonde_id", name="uq_contact_wonde"),
    )
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    mis_id: str = Field(max_length=64)
    wonde_id: str | None = Field(default=None, max_length=32)
    first_name: str
    last_name: str
    mobile: str | None = Field(default=None, index=True, max_length=20)  # E.164
    email: str | None = None
    language: str = Field(default="en", max_length=8)
    sms_opt_out: bool = False
    email_opt_out: bool = False
    phone: str | None = Field(default=None, max_length=20)  # E.164; a landline or other number to call
    prefers_calls: bool = False  # the family asked to be phoned rather than texted


class PupilContact(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("pupil_id", "contact_id", name="uq_pupil_contact"),)
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    pupil_id: int = Field(foreign_key="pupil.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    relationship: str = "parent"
    priority: int = 1
    parental_responsibility: bool = True


class Staff(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("school_id", "staff_code", name="uq_staff_code"),)
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    staff_code: str = Field(max_length=64)
    name: str
    role: str = Field(max_length=32)
    email: str | None = None
    slack_user_id: str | None = Field(default=None, index=True)
    teams_user_id: str | None = Field(default=None, index=True)
    active: bool = True
    wonde_id: str | None = Field(default=None, max_length=32)  # the matching Wonde employee (by email)


# --------------------------------------------------------------------------------------------------
# The register
# --------------------------------------------------------------------------------------------------


class Mark(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("pupil_id", "date", "session", name="uq_mark_session"),
        # Covering on PostgreSQL: the per-pupil tallies read a school's year of marks from the index
        # alone (an index-only scan), never visiting the table.
        Index("ix_mark_school_date", "school_id", "date", "session", postgresql_include=["pupil_id", "code"]),
    )
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id")
    pupil_id: int = Field(foreign_key="pupil.id")
    date: date
    session: str = Field(max_length=2)  # AM | PM
    code: str = Field(max_length=2)
    minutes_late: int | None = None
    source: str = Field(default="mis", max_length=16)  # mis | import | bot | staff
    recorded_at: datetime = _ts()
    # The code the MIS (Wonde or its CSV export) showed when the bot last read it. A later read that
    # differs from it is a change made in the MIS, which wins over the bot's own amendment.
    mis_code: str | None = Field(default=None, max_length=2)


class MarkAmendment(SQLModel, table=True):
    """The audit the 2024 regulations require, kept six years."""

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    mark_id: int = Field(foreign_key="mark.id", index=True)
    pupil_id: int = Field(foreign_key="pupil.id", index=True)
    date: date
    session: str = Field(max_length=2)
    original_code: str = Field(max_length=2)
    amended_code: str = Field(max_length=2)
    reason: str
    amended_at: datetime = _ts()
    amended_by_name: str
    amended_by_role: str
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    source: str = Field(default="bot", max_length=16)  # bot | staff (through recode) | mis | import
    written_back_at: datetime | None = _ts(default=None)  # when the MIS accepted it (write-back)
    writeback_id: str | None = Field(default=None, max_length=64)


class MisWriteback(SQLModel, table=True):
    """A change of a mark waiting to be written back to the MIS: the outbox of the register.

    Queued by ``recode`` in the transaction of the ``MarkAmendment`` (so it exists if and only if the
    amendment does), sent by the write-back job, which records only what the MIS answered.
    ``base_code`` is the MIS's code when the bot last read it: if the MIS shows anything else before
    the change is sent, the MIS's own change stands and staff are told (status ``conflict``).
    """

    __table_args__ = (Index("ix_miswriteback_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    amendment_id: int = Field(foreign_key="markamendment.id", unique=True)
    mark_id: int = Field(foreign_key="mark.id", index=True)
    pupil_id: int = Field(foreign_key="pupil.id")
    date: date
    session: str = Field(max_length=2)
    code: str = Field(max_length=2)
    base_code: str | None = Field(default=None, max_length=2)
    comment: str = ""
    minutes_late: int | None = None
    # queued | sent | confirmed | rejected | conflict | superseded
    status: str = Field(default="queued", max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    sent_at: datetime | None = _ts(default=None)
    writeback_id: str | None = Field(default=None, max_length=64)
    error: str | None = None


class MisConnection(SQLModel, table=True):
    """What the bot knows of one school's link to its MIS (through Wonde): cursors, health, codes."""

    school_id: int = Field(foreign_key="school.id", primary_key=True)
    sync_cursor: datetime | None = _ts(default=None)  # ``updated_after`` of the next delta sync
    synced_at: datetime | None = _ts(default=None)
    marks_cursor: datetime | None = _ts(default=None)  # ``updated_after`` of the next marks read
    marks_read_at: datetime | None = _ts(default=None)  # the last read that succeeded
    failing_since: datetime | None = _ts(default=None)  # first failure of the current outage
    last_error: str | None = None
    outage_alerted: bool = False
    codes: dict = _json(dict)  # Wonde attendance code id -> national code
    codes_read_at: datetime | None = _ts(default=None)


# --------------------------------------------------------------------------------------------------
# Absence cases and what happens on them
# --------------------------------------------------------------------------------------------------


class AbsenceCase(SQLModel, table=True):
    """One episode of absence without a reason, from the first N to a reason or closure."""

    __table_args__ = (
        Index(
            "uq_case_open_per_pupil",
            "pupil_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    pupil_id: int = Field(foreign_key="pupil.id", index=True)
    status: str = Field(default="open", max_length=12, index=True)  # open | explained | closed
    first_date: date
    first_session: str = Field(max_length=2)
    last_absent_date: date
    opened_at: datetime = _ts()
    explained_at: datetime | None = _ts(default=None)
    explained_by: str | None = None  # reply | call | mark | staff
    suggested_code: str | None = Field(default=None, max_length=12)
    return_date: date | None = None
    last_contact_at: datetime | None = _ts(default=None)
    contact_round: int = 0  # index into the family's contacts in priority order
    chase_count: int = 0  # chases this episode has had (the policy's call_at_chase counts them)
    round_started_at: datetime | None = _ts(default=None)
    ladder: list[dict] = _json(list)
    next_step: int = 0
    next_step_due: date | None = None
    closed_at: datetime | None = _ts(default=None)
    closed_reason: str | None = None


class CaseEvent(SQLModel, table=True):
    """Append-only log per case; it drives the timeline shown to staff."""

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="absencecase.id", index=True)
    pupil_id: int | None = Field(default=None, foreign_key="pupil.id", index=True)
    at: datetime = _ts()
    kind: str = Field(max_length=32)
    actor: str = "system"
    summary: str = ""
    data: dict = _json(dict)


class OutboxMessage(SQLModel, table=True):
    """A message to a family, written in the same transaction as the change that caused it."""

    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    idempotency_key: str = Field(unique=True, max_length=200)
    kind: str = Field(max_length=24)  # first_day | chase | thanks | neutral | staff_email | ...
    channel: str = Field(max_length=8)  # sms | email | voice
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    to_address: str
    subject: str | None = None
    body: str
    language: str = "en"
    status: str = Field(default="queued", max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    provider_id: str | None = Field(default=None, unique=True, max_length=64)
    error_code: str | None = None
    error: str | None = None
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(default=None)
    updated_at: datetime = _ts()
    rerouted: bool = False  # a failure of this message has already moved the family on
    # After this the message is worthless (a first-day text after its school day): it is cancelled
    # as expired, never failed against the family (bot.messaging.outbox.valid_until). NULL: never.
    valid_until: datetime | None = _ts(default=None)
    # Tries that ended through no fault of the family (provider down, no answer, a crash): they do
    # not count towards OUTBOX_MAX_ATTEMPTS (bot.messaging.sender).
    outage_tries: int = 0
    resends: int = 0  # resends of a message whose first send had no answer (at most one)
    claimed_by: str | None = Field(default=None, max_length=64)  # the sender's stable name
    claim_token: str | None = Field(default=None, max_length=16)  # that sender process's run


class ProviderHealth(SQLModel, table=True):
    """Whether a delivery provider (Twilio, the SMTP relay) is answering, for the operators.

    Written by the sender after each group of results; read by the health check
    (``bot.messaging.health.provider_problems``). A provider outage is the operators' business,
    never the pastoral team's and never a family's.
    """

    name: str = Field(primary_key=True, max_length=16)  # twilio | smtp
    failing_since: datetime | None = _ts(default=None)  # first failure of the current outage
    last_error: str | None = None  # the error code and class, never an address
    last_ok_at: datetime | None = _ts(default=None)
    updated_at: datetime = _ts()


class MessageCase(SQLModel, table=True):
    """Which absence cases a message is about (one message covers siblings)."""

    message_id: int = Field(foreign_key="outboxmessage.id", primary_key=True)
    case_id: int = Field(foreign_key="absencecase.id", primary_key=True, index=True)


class InboundMessage(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    school_id: int | None = Field(default=None, foreign_key="school.id", index=True)
    channel: str = Field(default="sms", max_length=8)  # sms | web | voice (a message left on a call)
    provider_id: str | None = Field(default=None, unique=True, max_length=64)
    from_address: str
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    body: str
    received_at: datetime = _ts()
    code: str | None = None
    return_date: date | None = None
    concern: bool = False
    confidence: float = 0.0


class ReplyCase(SQLModel, table=True):
    inbound_id: int = Field(foreign_key="inboundmessage.id", primary_key=True)
    case_id: int = Field(foreign_key="absencecase.id", primary_key=True, index=True)


class VoiceCall(SQLModel, table=True):
    """What happened on an automated call (an outbox message on the ``voice`` channel).

    Written by Twilio's signed webhooks only: who answered (``answered_by``: a person, a machine),
    the key pressed, and a voice message's recording, shown to staff with the case and nowhere else.
    ``outcome`` is the furthest the call got: ``placed`` | ``answered`` | ``voicemail`` (a machine: a short
    message was left) | ``no_choice`` | ``put_through`` (to the school office) | ``office_no_answer``
    | ``message_left``.
    """

    message_id: int = Field(foreign_key="outboxmessage.id", primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    call_sid: str | None = Field(default=None, max_length=64, index=True)
    answered_by: str | None = Field(default=None, max_length=24)
    outcome: str = Field(default="placed", max_length=20)
    digits: str | None = Field(default=None, max_length=8)
    recording_sid: str | None = Field(default=None, unique=True, max_length=64)
    recording_url: str | None = None
    recording_seconds: int | None = None
    inbound_id: int | None = Field(default=None, foreign_key="inboundmessage.id")
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class CallLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    pupil_id: int = Field(foreign_key="pupil.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="absencecase.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    outcome: str = Field(max_length=16)
    reason_code: str | None = None
    note: str = ""
    at: datetime = _ts()


class AbsenceNotice(SQLModel, table=True):
    """What the family told the school about one child's absence, and the sessions it covers.

    Every way a family reports an absence ends here: a text before the register closes, a reply to
    the bot's message, the "report an absence" page, an email, a call staff logged, or staff writing
    down what a parent said at the office (``source``). Register close, chasing and escalation read
    it: an N mark inside first..last is already explained, so nobody is asked again. ``last_date``
    None means "until further notice"; a notice ends (``status`` = ended) when the child is next
    marked present. One row per child: a text about two children makes two notices.
    """

    __table_args__ = (Index("ix_notice_pupil_first", "pupil_id", "first_date"),)
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    pupil_id: int = Field(foreign_key="pupil.id")
    first_date: date
    first_session: str = Field(max_length=2)  # AM | PM
    last_date: date | None = None  # None: until further notice (ends when the child is seen)
    last_session: str | None = Field(default=None, max_length=2)
    return_date: date | None = None  # the day back, as the family gave it
    words: str  # verbatim
    child_named: bool = True  # False: the family did not say which of their children (all are covered)
    understood: str = Field(max_length=12)  # what the reader made of it: a national code, LATE, NONE
    suggested_code: str | None = Field(default=None, max_length=2)
    source: str = Field(max_length=12)  # sms | email | reply_page | report_form | call | staff
    reported_by: str = ""
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    inbound_id: int | None = Field(default=None, foreign_key="inboundmessage.id")
    case_id: int | None = Field(default=None, foreign_key="absencecase.id", index=True)
    received_at: datetime = _ts()
    status: str = Field(default="active", max_length=12)  # active | ended | withdrawn
    ended_reason: str | None = None
    accepted_code: str | None = Field(default=None, max_length=2)  # staff's decision, kept for later sessions
    accepted_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    accepted_at: datetime | None = _ts(default=None)


class FamilyLink(SQLModel, table=True):
    """A contact's standing link to the "report an absence" page: signed, revocable, one live per contact.

    The link carries this row's id and an HMAC of the id and ``nonce`` (bot.notices.links); revoking
    sets ``revoked_at`` and the next link sent is a new row with a new nonce.
    """

    __table_args__ = (
        Index(
            "uq_family_link_live",
            "contact_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    contact_id: int = Field(foreign_key="contact.id")
    nonce: str = Field(max_length=32)
    created_at: datetime = _ts()
    revoked_at: datetime | None = _ts(default=None)
    revoked_by: str | None = None


class Alert(SQLModel, table=True):
    """Something staff must see; the idempotency key makes every alert fire once per episode."""

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    pupil_id: int | None = Field(default=None, foreign_key="pupil.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="absencecase.id", index=True)
    idempotency_key: str = Field(unique=True, max_length=200)
    kind: str = Field(max_length=32)
    audience: str = Field(default="pastoral", max_length=16)  # pastoral | dsl | attendance
    severity: str = Field(default="normal", max_length=8)  # urgent | high | normal
    title: str
    body: str = ""
    data: dict = _json(dict)
    status: str = Field(default="open", max_length=12, index=True)  # open | acted | closed
    created_at: datetime = _ts()
    raised_count: int = 0
    last_raised_at: datetime | None = _ts(default=None)
    delivered_at: datetime | None = _ts(default=None)
    dsl_emailed_at: datetime | None = _ts(default=None)
    slack_channel: str | None = None
    slack_ts: str | None = None


class AlertAction(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    action: str = Field(max_length=32)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    actor_name: str
    at: datetime = _ts()
    note: str = ""


# --------------------------------------------------------------------------------------------------
# The clock
# --------------------------------------------------------------------------------------------------


class ClockLease(SQLModel, table=True):
    """Who may act as the clock; also the heartbeat the health check reads."""

    name: str = Field(primary_key=True, max_length=32)
    holder: str
    expires_at: datetime = _ts()
    heartbeat_at: datetime = _ts()


class JobRun(SQLModel, table=True):
    """One run of a scheduled job for one school and slot; the unique key stops a second run."""

    id: int | None = Field(default=None, primary_key=True)
    job_key: str = Field(unique=True, max_length=200)
    school_id: int | None = Field(default=None, foreign_key="school.id", index=True)
    job: str = Field(max_length=32)
    slot: datetime = _ts()
    started_at: datetime = _ts()
    finished_at: datetime | None = _ts(default=None)
    status: str = "running"  # running | done | skipped | failed | interrupted
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON))
    # Which clock ran it (a run "running" under a clock that no longer holds the lease is retried at
    # once), how many times it was tried, and when a failed run may be tried again (backoff).
    holder: str | None = Field(default=None, max_length=120)
    attempts: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    retry_at: datetime | None = _ts(default=None)


# --------------------------------------------------------------------------------------------------
# The sandbox (local try-out page only)
# --------------------------------------------------------------------------------------------------


class SandboxClock(SQLModel, table=True):
    """The simulated "now" of one school on the sandbox page, shared by the web's threads."""

    school_id: int = Field(foreign_key="school.id", primary_key=True)
    now: datetime = _ts()
