"""What happens when a family replies: by SMS (``receive_sms``) or on the reply page (``reply_form``).

A reply is evidence, not a decision: it is recorded verbatim against every case it concerns, the
suggested code goes to staff with one-tap actions, and only staff change the register (through
``bot.register.service.recode``, via the alert actions in ``bot.replies.actions``). What the reply
does on its own:

- a reason (a national code) explains the case, so chasing stops; the parent gets a thank-you in
  their language; staff get the reply with the suggested code;
- ``LATE`` ("running late"): the case is explained with no code, because the register decides
  L or U when the child arrives; staff get the reply and pick the code themselves;
- ``IN_SCHOOL`` ("she left for school at 8"): a missing child, not a reason. Urgent alerts to the
  pastoral team and the DSL at once; the case stays open and chasing goes on;
- a welfare concern (with or without a reason): an alert to the DSL. When the only "reason" is an
  unauthorised one (the understanding says O or G: "not come home", "he won't go, he's bullied")
  the case is NOT explained: a worry is not a reason, and chasing goes on;
- ``STOP``/``START``: the contact's SMS opt-out is mirrored, their unsent texts are cancelled and
  staff are told. Twilio itself answers STOP, so nothing is sent back;
- ``NONE``: nothing is explained and chasing continues; staff still see the reply.

A reply concerns all of the contact's pupils' open cases unless it names children (then only
theirs); with no open case, cases explained in the last two days (a follow-up: a new return date
is kept, nobody is thanked twice). A number shared by contacts in several schools of a trust is
recorded once per school, so each school sees only its own copy.

What a family says also becomes a notice (issue 15, ``bot.notices``): a reason on a case covers it
to the day back, so later N marks of the same absence are not asked about; a reason with nothing
open ("Amy's got a temperature, keeping her off today") is a notice on its own, thanked, and read by
register close. Emails arrive here too (``bot.replies.email``), as do report-page answers
(``bot.replies.report_form``).

An unknown number gets a neutral answer that reveals nothing (at most once a day per number, so
an auto-responder cannot start a loop) and staff are told, with the number masked.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot import clock, templates
from bot.alerts.service import raise_alert
from bot.calendar import load_calendar
from bot.errors import UserError
from bot.messaging import outbox
from bot.replies import decide, noticing, wording
from bot.replies.apply import ReplyOutcome, route
from bot.settings import Settings
from storage.models import AbsenceCase, Contact, InboundMessage, Pupil, PupilContact, School

log = logging.getLogger(__name__)

# Codes the understanding module returns that are not national codes (``decide`` reads them).
LATE, IN_SCHOOL, NONE, STOP, START = decide.LATE, decide.IN_SCHOOL, decide.NONE, decide.STOP, decide.START
# A reply with no open case may follow up a case explained this recently ("back on Thursday").
FOLLOW_UP_WINDOW = timedelta(days=2)

# --------------------------------------------------------------------------------------------------
# Inbound SMS
# --------------------------------------------------------------------------------------------------


def receive_sms(
    session: Session,
    *,
    settings: Settings,
    message_sid: str,
    from_number: str,
    to_number: str = "",
    body: str,
    now: datetime,
) -> ReplyOutcome:
    """Record and act on one inbound text. Safe to call twice with the same ``message_sid``."""
    body = without_controls(body or "")
    if _seen(session, message_sid):
        return ReplyOutcome(status="duplicate")
    number = e164(from_number)
    contacts = _contacts_with_mobile(session, number)
    if not contacts:
        return _unknown_sender(
            session, message_sid=message_sid, from_number=number, to_number=to_number, body=body, now=now
        )

    by_school: dict[int, list[Contact]] = {}
    for c in contacts:
        by_school.setdefault(c.school_id, []).append(c)
    outcome = ReplyOutcome(status="recorded")
    # One InboundMessage per school the number belongs to, so each school sees (only) its own
    # copy. The first carries the MessageSid itself (the unique dedupe key); the others a suffix.
    for n, (school_id, school_contacts) in enumerate(sorted(by_school.items())):
        school = session.get(School, school_id)
        provider_id = message_sid if n == 0 else f"{message_sid}:{school_id}"
        try:
            _reply_for_school(
                session,
                school=school,
                contacts=school_contacts,
                provider_id=provider_id,
                from_address=number,
                body=body,
                now=now,
                outcome=outcome,
            )
        except _Duplicate:
            if n == 0:
                return ReplyOutcome(status="duplicate")
    return outcome


class _Duplicate(Exception):
    pass


def without_controls(text: str) -> str:
    """The text without control characters (line breaks and tabs kept). A phone can send a NUL,
    which PostgreSQL refuses in text: the reply would be lost instead of stored."""
    return "".join(ch for ch in text if ch in "\t\n\r" or not (ord(ch) < 32 or 127 <= ord(ch) < 160))


def _seen(session: Session, message_sid: str) -> bool:
    return (
        session.exec(select(InboundMessage.id).where(InboundMessage.provider_id == message_sid)).first()
        is not None
    )


def e164(raw: str) -> str:
    """The sender's number in E.164 (UK numbers written any common way); as given if unparseable."""
    from bot.phones import normalise_phone

    try:
        normalised = normalise_phone(raw)
    except (ValueError, UserError):
        normalised = None
    return normalised or (raw or "").strip()


def _contacts_with_mobile(session: Session, number: str) -> list[Contact]:
    if not number:
        return []
    return list(session.exec(select(Contact).where(Contact.mobile == number).order_by(Contact.id)).all())


def _insert_inbound(session: Session, inbound: InboundMessage) -> InboundMessage:
    """Insert, turning a concurrent duplicate (same provider id) into ``_Duplicate``."""
    try:
        with session.begin_nested():
            session.add(inbound)
            session.flush()
    except IntegrityError:
        raise _Duplicate() from None
    return inbound


def _reply_for_school(
    session: Session,
    *,
    school: School,
    contacts: list[Contact],
    provider_id: str,
    from_address: str,
    body: str,
    now: datetime,
    outcome: ReplyOutcome,
    channel: str = "sms",
    case_ids: list[int] | None = None,
) -> None:
    """Record and route one message from a school's contact(s).

    ``case_ids`` narrows it to the cases a reply address named (an email reply's token), when any of
    them is still open or just explained.
    """
    from bot.replies.understand import understand

    pupils = _pupils_of(session, [c.id for c in contacts])
    named, chosen, off_roll = _children(session, body, pupils=pupils, contact_ids=[c.id for c in contacts])
    case_list = _cases_for(session, [p.id for p in chosen], now=now)
    if case_ids:
        case_list = [c for c in case_list if c.id in case_ids] or case_list
    calendar = load_calendar(session, school.id)
    today = clock.to_local(now, school.timezone).date()
    u = understand(body, today, is_school_day=calendar.is_school_day)
    sender = {
        "channel": channel,
        "provider_id": provider_id,
        "from_address": from_address,
        "contact_id": contacts[0].id,
    }
    inbound = _insert_inbound(session, _as_read(u, school_id=school.id, body=body, now=now, **sender))
    notice_for = None
    if not case_list:  # a notice given ahead: which day is it about ("dentist tomorrow")?
        about = bool(named or off_roll) or len(chosen) == 1
        notice_for = noticing.notice_for(
            body, today=today, calendar=calendar, pupils=chosen + off_roll, named=about
        )
    route(
        session,
        school=school,
        contact=contacts[0],
        contacts=contacts,
        inbound=inbound,
        case_list=case_list,
        pupils={p.id: p for p in pupils},
        code=inbound.code,
        return_date=u.return_date,
        concern=inbound.concern,
        confidence=inbound.confidence,
        send_thanks=True,
        outcome=outcome,
        now=now,
        language=u.language,
        needs_reading=u.needs_reading,
        notice_for=notice_for,
    )


def _as_read(
    read,
    *,
    school_id: int,
    channel: str,
    provider_id: str,
    from_address: str,
    contact_id: int,
    body: str,
    now: datetime,
) -> InboundMessage:
    """The message kept verbatim with what the reader made of it; "NONE" when it read no code."""
    return InboundMessage(
        school_id=school_id,
        channel=channel,
        provider_id=provider_id,
        from_address=from_address,
        contact_id=contact_id,
        body=body,
        received_at=now,
        code=read.code or NONE,
        return_date=read.return_date,
        concern=bool(read.concern),
        confidence=float(read.confidence or 0.0),
    )


def _children(
    session: Session, body: str, *, pupils: list[Pupil], contact_ids: list[int]
) -> tuple[list[str], list[Pupil], list[Pupil]]:
    """(names the text gives, the pupils it is about, children off roll it names).

    A text that names children is about them only; one that names only a child who has left is
    about that child alone (no case, perhaps a notice); otherwise it is about all the family's pupils.
    """
    from bot.replies.understand import children_named

    named = children_named(body, sorted({n for p in pupils for n in _names(p)}))
    off_roll = [] if named else noticing.off_roll_named(session, contact_ids=contact_ids, body=body)
    if named:
        wanted = {n.casefold() for n in named}
        chosen = [p for p in pupils if wanted & {n.casefold() for n in _names(p)}]
    else:
        chosen = [] if off_roll else pupils
    return named, chosen, off_roll


def _names(p: Pupil) -> list[str]:
    return [n for n in dict.fromkeys([p.first_name, p.display_first_name]) if n]


def _pupils_of(session: Session, contact_ids: list[int]) -> list[Pupil]:
    rows = session.exec(
        select(Pupil)
        .join(PupilContact, PupilContact.pupil_id == Pupil.id)
        .where(PupilContact.contact_id.in_(contact_ids), Pupil.on_roll)
        .order_by(Pupil.id)
    ).all()
    return list({p.id: p for p in rows}.values())  # a pupil linked twice (two contacts) once


def _cases_for(session: Session, pupil_ids: list[int], *, now: datetime) -> list[AbsenceCase]:
    """The pupils' open cases; failing those, cases explained in the last two days (follow-ups)."""
    if not pupil_ids:
        return []
    open_cases = session.exec(
        select(AbsenceCase)
        .where(AbsenceCase.pupil_id.in_(pupil_ids), AbsenceCase.status == "open")
        .order_by(AbsenceCase.id)
    ).all()
    if open_cases:
        return list(open_cases)
    return list(
        session.exec(
            select(AbsenceCase)
            .where(
                AbsenceCase.pupil_id.in_(pupil_ids),
                AbsenceCase.status == "explained",
                AbsenceCase.explained_at >= now - FOLLOW_UP_WINDOW,
            )
            .order_by(AbsenceCase.id)
        ).all()
    )


# --------------------------------------------------------------------------------------------------
# Unknown senders
# --------------------------------------------------------------------------------------------------


def _unknown_sender(
    session: Session, *, message_sid: str, from_number: str, to_number: str, body: str, now: datetime
) -> ReplyOutcome:
    school = _school_for_number(session, to_number)
    try:
        inbound = _insert_inbound(
            session,
            InboundMessage(
                school_id=school.id if school else None,
                channel="sms",
                provider_id=message_sid,
                from_address=from_number,
                body=body,
                received_at=now,
                code=None,
            ),
        )
    except _Duplicate:
        return ReplyOutcome(status="duplicate")
    outcome = ReplyOutcome(status="unknown_sender", inbound_ids=[inbound.id])
    if school is None:
        log.warning("inbound sms %s from an unknown number and no school to answer for", inbound.id)
    day = clock.to_local(now, school.timezone).date() if school else None
    for effect in decide.unknown_sender(inbound_id=inbound.id, from_number=from_number, day=day):
        if isinstance(effect, decide.AnswerNeutrally):
            text, used = templates.render_family("sms", "neutral", _language_of(body, now=now, school=school))
            message, _ = outbox.enqueue(
                session,
                school_id=school.id,
                key=effect.key,
                kind="neutral",
                channel="sms",
                to_address=from_number,
                body=text,
                language=used,
                now=now,
            )
            outcome.message_ids.append(message.id)
        else:
            title, text_body = wording.unknown_sender_text(from_number, body)
            alert, _ = raise_alert(
                session,
                school_id=school.id,
                key=effect.key,
                kind="unknown_sender",
                title=title,
                body=text_body,
                audience="attendance",
                severity="normal",
                data={
                    "inbound_id": inbound.id,
                    "reply": body,
                    "from_masked": wording.mask_number(from_number),
                },
                now=now,
            )
            outcome.alert_ids.append(alert.id)
    return outcome


def _language_of(body: str, *, now: datetime, school: School) -> str:
    """The language an unknown sender wrote in (the reader's language head), for the neutral answer."""
    from bot.replies.understand import understand

    try:
        read = understand(body, clock.to_local(now, school.timezone).date())
    except Exception:  # the answer must go whatever the reader makes of the text
        log.exception("inbound sms: could not read the language of an unknown sender's text")
        return "en"
    return templates.language(read.language)


def _school_for_number(session: Session, to_number: str) -> School | None:
    """The school whose number the text was sent to, when we can tell; else the first school."""
    schools = session.exec(select(School).order_by(School.id)).all()
    wanted = e164(to_number) if to_number else ""
    if wanted:
        for school in schools:
            if school.phone and e164(school.phone) == wanted:
                return school
    return schools[0] if schools else None
