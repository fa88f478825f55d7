"""What happens on an automated call, as Twilio's signed webhooks report it.

The sender places the call (an outbox message on the ``voice`` channel); from then on Twilio asks
our webhooks what to say and tells us what happened. These functions only record, in the call's
``VoiceCall`` row, the case log and the outbox status (forward only), and hand the handler the
words to say:

- the call is answered (``answer``): by a person, who hears who is calling, the child's first
  name, that they are not in school, and the menu; or by a machine (``AnsweredBy``), which gets a
  short message asking the family to call the school;
- a key is pressed (``choice``): 1 puts them through to the school office (the school's phone),
  2 records a short message; nothing, or another key, repeats the menu once, then says goodbye;
- the office leg ends (``dialled``): a conversation counts as contact (a ``CallLog`` "spoke" row,
  as when staff phone); an office that did not answer is offered as a message instead;
- a message is recorded (``recording``): it is a reply from the family. It is recorded against the
  cases like a text (an ``InboundMessage`` on the ``voice`` channel, so it counts as contact for the
  chase and escalation), and staff get an alert with the recording's link, never anyone else.
  Nobody can read a recording automatically, so the case stays open and a person listens;
- the call's status changes (``record_status``): Twilio's call statuses mapped onto the outbox's,
  never backwards. No answer or busy is a failed delivery, and ``bot.firstday.reroute`` moves the
  family on as it does for a failed text.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.alerts.service import raise_alert
from bot.calls.script import Script, compose_script
from bot.cases import service as cases
from bot.messaging.outbox import advance_status
from storage.models import (
    AbsenceCase,
    CallLog,
    Contact,
    InboundMessage,
    MessageCase,
    OutboxMessage,
    Pupil,
    ReplyCase,
    School,
    VoiceCall,
)

log = logging.getLogger(__name__)

# Twilio CallStatus -> outbox status. An answered call is "sent"; it is "delivered" once completed
# (a person or a machine heard it); nobody answering is a failed delivery.
CALL_STATUS = {
    "queued": "accepted",
    "initiated": "accepted",
    "ringing": "sent",
    "in-progress": "sent",
    "answered": "sent",
    "completed": "delivered",
    "busy": "undelivered",
    "no-answer": "undelivered",
    "failed": "failed",
    "canceled": "cancelled",
}
MACHINE = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax")
# How far a call got; a later webhook never moves it back (a repeated request changes nothing).
OUTCOME_ORDER = {
    "placed": -1,
    "answered": 0,
    "no_choice": 1,
    "voicemail": 2,
    "office_no_answer": 2,
    "put_through": 3,
    "message_left": 4,
}


@dataclass(frozen=True)
class Call:
    """What the handler needs to answer one webhook: the words, and where "press 1" goes."""

    message_id: int
    script: Script
    office_number: str | None


def load(session: Session, *, message_id: int, call_sid: str) -> tuple[OutboxMessage, Call] | None:
    """The call's message and script; None for an unknown message or one placed as another call.

    The CallSid may not be stored yet (Twilio asks for the script before the sender's commit); the
    Twilio signature over the URL already proves the message id came from us.
    """
    message = session.get(OutboxMessage, message_id)
    if message is None or message.channel != "voice":
        return None
    if message.provider_id and call_sid and message.provider_id != call_sid:
        log.warning("voice: call %s does not belong to message %s", call_sid, message_id)
        return None
    school = session.get(School, message.school_id)
    names = [p.display_first_name for p in _pupils(session, message.id)]
    # The family's language, not the one spoken: a Somali family hears English with an apology.
    contact = session.get(Contact, message.contact_id) if message.contact_id else None
    script = compose_script(
        language=contact.language if contact else message.language,
        first_names=names or [""],
        school=school.name,
        office_line=bool(school.phone),
    )
    return message, Call(message.id, script, _dialable(school.phone))


def answer(
    session: Session, *, message_id: int, call_sid: str, answered_by: str | None, now: datetime
) -> tuple[Call, bool] | None:
    """The call was answered. Returns (call, answered by a machine)."""
    found = load(session, message_id=message_id, call_sid=call_sid)
    if found is None:
        return None
    message, call = found
    machine = (answered_by or "").lower() in MACHINE
    row = _row(session, message, call_sid=call_sid, now=now)
    row.answered_by = answered_by or row.answered_by
    _advance(
        session,
        message,
        row,
        "voicemail" if machine else "answered",
        summary="automated call: a short message was left on an answering machine"
        if machine
        else "automated call answered",
        now=now,
    )
    return call, machine


def choice(session: Session, *, message_id: int, call_sid: str, digits: str, now: datetime) -> Call | None:
    """A key was pressed (or none: ``digits`` empty)."""
    found = load(session, message_id=message_id, call_sid=call_sid)
    if found is None:
        return None
    message, call = found
    row = _row(session, message, call_sid=call_sid, now=now)
    row.digits = (digits or "")[:8] or None
    if not digits:
        _advance(session, message, row, "no_choice", summary="automated call: no key pressed", now=now)
    session.add(row)
    return call


def dialled(
    session: Session, *, message_id: int, call_sid: str, dial_status: str, now: datetime
) -> tuple[Call, bool] | None:
    """The leg to the school office ended. Returns (call, the office answered)."""
    found = load(session, message_id=message_id, call_sid=call_sid)
    if found is None:
        return None
    message, call = found
    row = _row(session, message, call_sid=call_sid, now=now)
    spoke = dial_status == "completed"
    if spoke:
        if _advance(
            session,
            message,
            row,
            "put_through",
            summary="automated call: put through to the school office",
            now=now,
        ):
            for case in _open_cases(session, message.id):
                session.add(
                    CallLog(
                        school_id=case.school_id,
                        pupil_id=case.pupil_id,
                        case_id=case.id,
                        outcome="spoke",
                        note="Automated call put through to the school office",
                        at=now,
                    )
                )
    else:
        _advance(
            session,
            message,
            row,
            "office_no_answer",
            summary=f"automated call: the office did not answer ({dial_status or 'no status'})",
            now=now,
        )
    return call, spoke


def recording(
    session: Session,
    *,
    message_id: int,
    call_sid: str,
    recording_sid: str,
    recording_url: str,
    seconds: int | None,
    now: datetime,
) -> Call | None:
    """A message was recorded on the call: record it as the family's reply and tell staff.

    Twilio reports a recording twice (the ``<Record>`` action and the recording status callback);
    the RecordingSid makes the second report change nothing.
    """
    found = load(session, message_id=message_id, call_sid=call_sid)
    if found is None:
        return None
    message, call = found
    if not recording_sid or not recording_url or not seconds:
        return call  # hung up before saying anything: nothing to listen to
    row = _row(session, message, call_sid=call_sid, now=now)
    if row.recording_sid:
        return call
    contact = session.get(Contact, message.contact_id) if message.contact_id else None
    inbound = InboundMessage(
        school_id=message.school_id,
        channel="voice",
        provider_id=recording_sid,
        from_address=message.to_address,
        contact_id=message.contact_id,
        body=f"[voice message, {seconds} s]",
        received_at=now,
        code=None,
    )
    try:
        with session.begin_nested():
            session.add(inbound)
            session.flush()
    except IntegrityError:
        return call  # the other report got here first
    row.recording_sid, row.recording_seconds, row.inbound_id = recording_sid, seconds, inbound.id
    row.recording_url = _listen_url(recording_url)
    _advance(session, message, row, "message_left", summary=f"voice message left ({seconds} s)", now=now)
    for case in _open_cases(session, message.id):
        session.add(ReplyCase(inbound_id=inbound.id, case_id=case.id))
        pupil = session.get(Pupil, case.pupil_id)
        _alert_staff(
            session, case=case, pupil=pupil, contact=contact, row=row, language=call.script.wanted, now=now
        )
    return call


def record_status(
    session: Session,
    *,
    call_sid: str,
    call_status: str,
    answered_by: str | None = None,
    error_code: str | None = None,
    now: datetime,
) -> OutboxMessage | None:
    """Apply one call status callback; forward only. None when the CallSid is unknown (yet)."""
    message = session.exec(
        select(OutboxMessage).where(OutboxMessage.provider_id == call_sid).with_for_update()
    ).first()
    if message is None:
        log.info("voice status: unknown call %s", call_sid)
        return None
    status = CALL_STATUS.get((call_status or "").lower())
    if status and advance_status(message, status, now=now):
        if status in ("undelivered", "failed"):
            message.error_code = str(error_code)[:32] if error_code else call_status
            message.error = f"call {call_status}"
        session.add(message)
        log.info("voice status: message=%s contact=%s now %s", message.id, message.contact_id, message.status)
    if answered_by:
        row = _row(session, message, call_sid=call_sid, now=now)
        row.answered_by = row.answered_by or answered_by
        session.add(row)
    return message


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _row(session: Session, message: OutboxMessage, *, call_sid: str, now: datetime) -> VoiceCall:
    row = session.get(VoiceCall, message.id)
    if row is None:
        row = VoiceCall(
            message_id=message.id,
            school_id=message.school_id,
            call_sid=call_sid or None,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # two webhooks of one call at once: take the other's row
            row = session.get(VoiceCall, message.id, populate_existing=True)
    if call_sid and not row.call_sid:
        row.call_sid = call_sid
    return row


def _advance(
    session: Session, message: OutboxMessage, row: VoiceCall, outcome: str, *, summary: str, now: datetime
) -> bool:
    """Move the call's outcome forward and log it on the cases; False if it was already there."""
    if OUTCOME_ORDER[outcome] > OUTCOME_ORDER.get(row.outcome, -1):
        row.outcome = outcome
        row.updated_at = now
        session.add(row)
        for case in _open_cases(session, message.id):
            cases.log(
                session,
                school_id=case.school_id,
                case_id=case.id,
                pupil_id=case.pupil_id,
                kind=f"call_{outcome}",
                summary=summary,
                actor="voice",
                data={"message_id": message.id, "contact_id": message.contact_id},
                now=now,
            )
        return True
    session.add(row)
    return False


def _pupils(session: Session, message_id: int) -> list[Pupil]:
    return list(
        session.exec(
            select(Pupil)
            .join(AbsenceCase, AbsenceCase.pupil_id == Pupil.id)
            .join(MessageCase, MessageCase.case_id == AbsenceCase.id)
            .where(MessageCase.message_id == message_id)
            .order_by(Pupil.id)
        ).all()
    )


def _open_cases(session: Session, message_id: int) -> list[AbsenceCase]:
    return list(
        session.exec(
            select(AbsenceCase)
            .join(MessageCase, MessageCase.case_id == AbsenceCase.id)
            .where(MessageCase.message_id == message_id, AbsenceCase.status == "open")
            .order_by(AbsenceCase.id)
        ).all()
    )


def _dialable(phone: str | None) -> str | None:
    """The school's office number as Twilio dials it (E.164), or None."""
    if not phone:
        return None
    from bot.phones import parse_phone

    try:
        return parse_phone(phone)
    except Exception:  # a school number we cannot dial: no "press 1" rather than a broken call
        log.warning("voice: the school's phone number cannot be dialled")
        return None


def _listen_url(url: str) -> str:
    """Twilio's RecordingUrl plays as WAV; ``.mp3`` is smaller for staff on a phone."""
    return url if url.endswith((".mp3", ".wav")) else url + ".mp3"


def _alert_staff(
    session: Session,
    *,
    case: AbsenceCase,
    pupil: Pupil,
    contact: Contact | None,
    row: VoiceCall,
    language: str,
    now: datetime,
) -> None:
    from bot.templates import ENGLISH_NAMES

    who = f"{contact.first_name} {contact.last_name}".strip() if contact else "The family"
    group = f" ({pupil.class_name})" if pupil.class_name else ""
    name = f"{pupil.display_first_name} {pupil.last_name}{group}"
    raise_alert(
        session,
        school_id=case.school_id,
        key=f"voice_message:{row.inbound_id}:{case.id}",
        kind="voice_message",
        title=f"Voice message about {name}: listen and pick the code",
        body=(
            f"{who} left a {row.recording_seconds}-second message on the automated call"
            f" (their language: {ENGLISH_NAMES.get(language, language)}).\nListen: {row.recording_url}\n"
            "The case stays open until you pick a code; chasing this family pauses for today."
        ),
        audience="attendance",
        severity="high",
        pupil_id=pupil.id,
        case_id=case.id,
        data={
            "actions": ["pick_code"],
            "recording_url": row.recording_url,
            "recording_seconds": row.recording_seconds,
            "inbound_id": row.inbound_id,
            "channel": "voice",
            "contact_id": contact.id if contact else None,
            "message_id": row.message_id,
        },
        now=now,
    )
