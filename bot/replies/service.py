"""What happens when a family replies: by SMS (``receive_sms``) or on the reply page (``receive_web_reply``).

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
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot import clock, codes, templates
from bot.alerts.owner import OWNER_ACTIONS
from bot.alerts.service import raise_alert
from bot.calendar import load_calendar
from bot.cases import service as cases
from bot.errors import NotFound, UserError
from bot.messaging import outbox
from bot.notices import taking
from bot.replies import noticing, rules, views
from bot.settings import Settings
from bot.templates import join_names
from storage.models import (
    AbsenceCase,
    Contact,
    InboundMessage,
    OutboxMessage,
    Pupil,
    PupilContact,
    ReplyCase,
    School,
)

log = logging.getLogger(__name__)

# Codes the understanding module returns that are not national codes.
LATE, IN_SCHOOL, NONE, STOP, START = "LATE", "IN_SCHOOL", "NONE", "STOP", "START"
# A reply with no open case may follow up a case explained this recently ("back on Thursday").
FOLLOW_UP_WINDOW = timedelta(days=2)
# Reasons offered on the reply page and the code each suggests ("other" is read from the note).
WEB_REASONS: dict[str, str | None] = {
    "ill": "I",
    "medical": "M",
    "religious": "R",
    "emergency": "C",
    "other": None,
}
MAX_NOTE = 1000
MAX_RETURN_DAYS = 60


@dataclass
class ReplyOutcome:
    """What a reply did; the edges use ``status``, tests and the sandbox read the rest."""

    status: str  # recorded | duplicate | unknown_sender | already_explained
    code: str | None = None
    concern: bool = False
    inbound_ids: list[int] = field(default_factory=list)
    case_ids: list[int] = field(default_factory=list)
    explained_case_ids: list[int] = field(default_factory=list)
    alert_ids: list[int] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)
    cancelled_message_ids: list[int] = field(default_factory=list)
    notice_ids: list[int] = field(default_factory=list)


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
        return _unknown_sender(session, message_sid=message_sid, from_number=number,
                               to_number=to_number, body=body, now=now)

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
            _reply_for_school(session, school=school, contacts=school_contacts, provider_id=provider_id,
                              from_address=number, body=body, now=now, outcome=outcome)
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
    return session.exec(
        select(InboundMessage.id).where(InboundMessage.provider_id == message_sid)
    ).first() is not None


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
    pupils = _pupils_of(session, [c.id for c in contacts])
    from bot.replies.understand import children_named, understand

    named = children_named(body, sorted({n for p in pupils for n in _names(p)}))
    contact_ids = [c.id for c in contacts]
    off_roll = [] if named else noticing.off_roll_named(session, contact_ids=contact_ids, body=body)
    if named:
        wanted = {n.casefold() for n in named}
        chosen = [p for p in pupils if wanted & {n.casefold() for n in _names(p)}]
    else:
        chosen = [] if off_roll else pupils  # it names only a child who has left: about them alone
    case_list = _cases_for(session, [p.id for p in chosen], now=now)
    if case_ids:
        case_list = [c for c in case_list if c.id in case_ids] or case_list
    calendar = load_calendar(session, school.id)
    today = clock.to_local(now, school.timezone).date()
    u = understand(body, today, is_school_day=calendar.is_school_day)
    code = u.code or NONE

    inbound = _insert_inbound(session, InboundMessage(
        school_id=school.id, channel=channel, provider_id=provider_id, from_address=from_address,
        contact_id=contacts[0].id, body=body, received_at=now, code=code,
        return_date=u.return_date, concern=bool(u.concern), confidence=float(u.confidence or 0.0),
    ))
    notice_for = None
    if not case_list:  # a notice given ahead: which day is it about ("dentist tomorrow")?
        notice_for = noticing.notice_for(body, today=today, calendar=calendar, pupils=chosen + off_roll,
                                         named=bool(named or off_roll) or len(chosen) == 1)
    _route(session, school=school, contact=contacts[0], contacts=contacts, inbound=inbound,
           case_list=case_list, pupils={p.id: p for p in pupils}, code=code, return_date=u.return_date,
           concern=bool(u.concern), confidence=float(u.confidence or 0.0), send_thanks=True,
           outcome=outcome, now=now, language=u.language, needs_reading=u.needs_reading,
           notice_for=notice_for)


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
    return list(session.exec(
        select(AbsenceCase)
        .where(
            AbsenceCase.pupil_id.in_(pupil_ids),
            AbsenceCase.status == "explained",
            AbsenceCase.explained_at >= now - FOLLOW_UP_WINDOW,
        )
        .order_by(AbsenceCase.id)
    ).all())


# --------------------------------------------------------------------------------------------------
# Routing: what a reply does
# --------------------------------------------------------------------------------------------------


def _route(
    session: Session,
    *,
    school: School,
    contact: Contact,
    contacts: list[Contact],
    inbound: InboundMessage,
    case_list: list[AbsenceCase],
    pupils: dict[int, Pupil],
    code: str,
    return_date: date | None,
    concern: bool,
    confidence: float,
    send_thanks: bool,
    outcome: ReplyOutcome,
    now: datetime,
    reason_given: bool | None = None,
    language: str | None = None,
    needs_reading: bool = False,
    notice_for: "noticing.NoticeFor | None" = None,
) -> None:
    """Record the reply on each case, then act on it (see the module docstring).

    ``reason_given`` defaults to "the code is a national code or LATE, or the family says when the
    child will be back"; the reply page passes True for a free-text reason that suggests no code.
    With no case to explain, a reason becomes a notice about ``notice_for`` (bot.notices).
    """
    outcome.inbound_ids.append(inbound.id)
    outcome.code = code
    outcome.concern = outcome.concern or concern
    for case in case_list:
        session.add(ReplyCase(inbound_id=inbound.id, case_id=case.id))
        outcome.case_ids.append(case.id)
    session.flush()
    for case in case_list:
        cases.log(session, school_id=case.school_id, case_id=case.id, pupil_id=case.pupil_id,
                  kind="reply", summary=inbound.body, actor=f"{inbound.channel}:contact:{contact.id}",
                  data={"inbound_id": inbound.id, "channel": inbound.channel, "code": code,
                        "return_date": return_date.isoformat() if return_date else None,
                        "concern": concern, "confidence": confidence, "contact_id": contact.id},
                  now=now)

    ctx = views.ReplyContext(school=school, contact=contact, body=inbound.body, code=code,
                             return_date=return_date, confidence=confidence, channel=inbound.channel,
                             language=language)
    # Targets: each case; a reply that concerns no case is still routed once, without one.
    targets: list[AbsenceCase | None] = list(case_list) or [None]
    only_pupil = next(iter(pupils.values())) if len(pupils) == 1 else None

    def pupil_of(case: AbsenceCase | None) -> Pupil | None:
        return pupils.get(case.pupil_id) if case is not None else only_pupil

    # A missing child is already the DSL's most urgent alert, carrying the reply: a second, welfare
    # alert about the same words would only split who acts on what.
    if concern and code != IN_SCHOOL:
        for case in targets:
            _alert(session, outcome, school_id=school.id, key=_key("welfare_concern", inbound, case),
                   kind="welfare_concern", audience="dsl", severity="high", case=case,
                   pupil=pupil_of(case), ctx=ctx, extra={"actions": list(OWNER_ACTIONS)}, now=now)

    if needs_reading and code not in (STOP, START):
        # The reader is unsure: a person reads it now, whatever routing does next (never silently
        # left as chasing, nor silently kept as a notice).
        for case in [c for c in case_list if c.status == "open"] or ([None] if not case_list else []):
            _alert(session, outcome, school_id=school.id, key=_key("needs_reading", inbound, case),
                   kind="needs_reading", audience="attendance", severity="high", case=case,
                   pupil=pupil_of(case), ctx=ctx, now=now)

    if code in (STOP, START):
        if rules.opt_word(inbound.body) == code:  # the carrier's own word: Twilio has acted already
            _opt(session, school=school, contacts=contacts, inbound=inbound, stop=code == STOP, ctx=ctx,
                 outcome=outcome, pupil=only_pupil, now=now)
        else:
            # "Please stop texting me" is read as a wish, not the carrier's keyword: Twilio keeps
            # delivering, and opting a family out on a guess would cut a safety channel. A person
            # decides (and records it); nothing changes on its own.
            kind = "asks_opt_out" if code == STOP else "asks_opt_in"
            _alert(session, outcome, school_id=school.id, key=f"{kind}:{inbound.id}", kind=kind,
                   audience="attendance", severity="normal", case=None, pupil=only_pupil, ctx=ctx, now=now)
        return

    if code == IN_SCHOOL:
        for case in targets:
            keys = {a: _key(f"missing_child:{a}", inbound, case) for a in ("pastoral", "dsl")}
            for audience, key in keys.items():
                # Twins: whoever acts on one has acted on both (``bot.commands.acting``).
                _alert(session, outcome, school_id=school.id, key=key, kind="missing_child",
                       audience=audience, severity="urgent", case=case, pupil=pupil_of(case), ctx=ctx,
                       extra={"actions": list(OWNER_ACTIONS),
                              "twins": [k for a, k in keys.items() if a != audience]}, now=now)
        return

    if reason_given is None:
        # "Off till Wednesday" tells us when the child is back without saying why: the absence is
        # reported (nobody is chased); staff ask the reason if they need it and pick the code.
        reason_given = code == LATE or code in codes.CODES or (code == NONE and bool(return_date))
        if concern and code in codes.UNAUTHORISED:
            # "Not come home", "he won't go, he's being bullied": the understanding suggests O or G,
            # but a worry is not a reason. Keep chasing; the DSL has the reply.
            reason_given = False
    if not reason_given:  # NONE: chasing continues; staff see the reply all the same
        # A reply about cases already explained ("thanks", "she's feeling better") is a follow-up.
        follow_up = bool(case_list) and all(c.status != "open" for c in case_list)
        kind = "reply_follow_up" if follow_up else "reply_no_reason"
        for case in targets:
            _alert(session, outcome, school_id=school.id, key=_key(kind, inbound, case), kind=kind,
                   audience="attendance", severity="normal", case=case, pupil=pupil_of(case), ctx=ctx,
                   now=now)
        return

    national = code if code in codes.CODES else None
    if not case_list and notice_for is not None and not notice_for.past:
        # Nothing open: the family is telling us before the register (a notice), or about a new day.
        who = notice_for.pupils
        said = noticing.said_by_family(inbound, contact, understood=code, code=national,
                                       return_date=notice_for.return_date(return_date))
        made = taking.without_case(session, school=school, pupils=who, said=said, now=now,
                                   first=notice_for.first, named=notice_for.named)
        outcome.notice_ids += [n.id for n in made]
        on_roll = [p for p in who if p.on_roll]
        if send_thanks and made and on_roll:
            _thank(session, school=school, contact=contact, inbound=inbound, pupils=on_roll, outcome=outcome,
                   now=now, language=language)
        return
    for case in case_list:
        explained = cases.explain(session, case=case, by="reply", code=national, return_date=return_date,
                                  summary=views.explained_summary(ctx), now=now)
        if explained:
            outcome.explained_case_ids.append(case.id)
        elif return_date and case.status == "explained":  # a follow-up: "back on Thursday"
            case.return_date = return_date
            session.add(case)
    said = noticing.said_by_family(inbound, contact, understood=code, code=national, return_date=return_date)
    made = taking.for_cases(session, school=school, case_list=case_list, pupils=pupils, said=said, now=now)
    outcome.notice_ids += [n.id for n in made]
    for case in targets:
        actions = ["accept_code", "pick_code"] if national else ["pick_code"]
        if case is None:
            actions = []  # nothing to recode without a case
        _alert(session, outcome, school_id=school.id, key=_key("reply", inbound, case), kind="reply",
               audience="attendance", severity="normal", case=case, pupil=pupil_of(case), ctx=ctx,
               extra={"actions": actions, "suggested_code": national, "late": code == LATE,
                      "understood": code}, now=now)
    if send_thanks and outcome.explained_case_ids:  # a follow-up on an explained case is not thanked twice
        _thank(session, school=school, contact=contact, inbound=inbound,
               pupils=[pupils[c.pupil_id] for c in case_list if c.pupil_id in pupils], outcome=outcome,
               now=now, language=language)


def _key(kind: str, inbound: InboundMessage, case: AbsenceCase | None) -> str:
    return f"{kind}:{inbound.id}:{case.id if case else 'none'}"


def _alert(
    session: Session,
    outcome: ReplyOutcome,
    *,
    school_id: int,
    key: str,
    kind: str,
    audience: str,
    severity: str,
    case: AbsenceCase | None,
    pupil: Pupil | None,
    ctx: "views.ReplyContext",
    now: datetime,
    extra: dict | None = None,
) -> None:
    title, body = views.alert_text(kind, ctx, pupil=pupil, case=case)
    data = views.alert_data(ctx, pupil=pupil, case=case)
    data.update(extra or {})
    alert, _ = raise_alert(session, school_id=school_id, key=key, kind=kind, title=title, body=body,
                           audience=audience, severity=severity, pupil_id=pupil.id if pupil else None,
                           case_id=case.id if case else None, data=data, now=now)
    outcome.alert_ids.append(alert.id)


def _thank(
    session: Session,
    *,
    school: School,
    contact: Contact,
    inbound: InboundMessage,
    pupils: list[Pupil],
    outcome: ReplyOutcome,
    now: datetime,
    language: str | None = None,
) -> None:
    """A short thank-you: the child's first name and the school, no more.

    In the contact's recorded language when we ship it; failing that, in the language the family
    wrote in (a contact recorded as English who texts in Polish is thanked in Polish); otherwise in
    English.
    """
    # An email is thanked by email (the family may have no mobile); anything else by text.
    channel = "email" if inbound.channel == "email" else "sms"
    address = contact.email if channel == "email" else contact.mobile
    if not address or (contact.email_opt_out if channel == "email" else contact.sms_opt_out):
        return
    first_names = list(dict.fromkeys(p.display_first_name for p in pupils))
    shipped = [templates.language(wanted) for wanted in (contact.language, language)]
    lang = next((code for code in shipped if code != "en"), "en")
    names = join_names(first_names, lang)
    text, used = templates.render_family(channel, "thanks", lang, names=names, count=len(first_names),
                                         school=school.name)
    subject = None
    if channel == "email":
        head, _, text = text.partition("\n")
        subject, text = head.removeprefix("Subject:").strip(), text.strip()
    # Not linked to the cases (MessageCase): the sender drops messages whose cases are all closed
    # or explained, which is exactly what a thank-you follows. The reply links it (ReplyCase).
    message, _ = outbox.enqueue(session, school_id=school.id, key=f"thanks:{inbound.id}", kind="thanks",
                                channel=channel, to_address=address, body=text, subject=subject,
                                contact_id=contact.id, language=used, now=now)
    outcome.message_ids.append(message.id)


def _opt(
    session: Session,
    *,
    school: School,
    contacts: list[Contact],
    inbound: InboundMessage,
    stop: bool,
    ctx: "views.ReplyContext",
    outcome: ReplyOutcome,
    pupil: Pupil | None,
    now: datetime,
) -> None:
    """Mirror Twilio's opt-out in our rows; chasing then skips SMS to these contacts."""
    for contact in contacts:
        contact.sms_opt_out = stop
        session.add(contact)
        if stop:
            outcome.cancelled_message_ids += cancel_queued_sms(session, contact_id=contact.id, now=now)
    kind = "opt_out" if stop else "opt_in"
    _alert(session, outcome, school_id=school.id, key=f"{kind}:{inbound.id}", kind=kind,
           audience="attendance", severity="normal", case=None, pupil=pupil, ctx=ctx, now=now)


def cancel_queued_sms(session: Session, *, contact_id: int, now: datetime) -> list[int]:
    """Cancel a contact's texts that have not gone yet (sending to an opted-out number fails)."""
    rows = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.contact_id == contact_id,
            OutboxMessage.channel == "sms",
            OutboxMessage.status == "queued",
        ).with_for_update()
    ).all()
    cancelled = []
    for message in rows:
        if outbox.advance_status(message, "cancelled", now=now):
            message.error = "contact opted out of SMS"
            session.add(message)
            cancelled.append(message.id)
    return cancelled


# --------------------------------------------------------------------------------------------------
# Unknown senders
# --------------------------------------------------------------------------------------------------


def _unknown_sender(
    session: Session, *, message_sid: str, from_number: str, to_number: str, body: str, now: datetime
) -> ReplyOutcome:
    school = _school_for_number(session, to_number)
    try:
        inbound = _insert_inbound(session, InboundMessage(
            school_id=school.id if school else None, channel="sms", provider_id=message_sid,
            from_address=from_number, body=body, received_at=now, code=None,
        ))
    except _Duplicate:
        return ReplyOutcome(status="duplicate")
    outcome = ReplyOutcome(status="unknown_sender", inbound_ids=[inbound.id])
    if school is None:
        log.warning("inbound sms %s from an unknown number and no school to answer for", inbound.id)
        return outcome
    text, used = templates.render_family("sms", "neutral", _language_of(body, now=now, school=school))
    day = clock.to_local(now, school.timezone).date()
    # One neutral answer per number per day: two auto-responders must not talk to each other forever.
    message, _ = outbox.enqueue(session, school_id=school.id, key=f"neutral:{from_number}:{day.isoformat()}",
                                kind="neutral", channel="sms", to_address=from_number, body=text,
                                language=used, now=now)
    outcome.message_ids.append(message.id)
    title, text_body = views.unknown_sender_text(from_number, body)
    alert, _ = raise_alert(session, school_id=school.id, key=f"unknown_sender:{inbound.id}",
                           kind="unknown_sender", title=title, body=text_body, audience="attendance",
                           severity="normal",
                           data={"inbound_id": inbound.id, "from_masked": views.mask_number(from_number),
                                 "reply": body},
                           now=now)
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


# --------------------------------------------------------------------------------------------------
# The reply page
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkTarget:
    """What a reply link points at, checked against the database."""

    case: AbsenceCase
    pupil: Pupil
    school: School
    contact: Contact | None


def link_target(session: Session, *, case_id: int, contact_id: int | None) -> LinkTarget:
    """The case, pupil, school and contact behind a link; ``NotFound`` if they no longer belong together."""
    case = session.get(AbsenceCase, case_id)
    if case is None:
        raise NotFound("This link is not valid.")
    pupil = session.get(Pupil, case.pupil_id)
    school = session.get(School, case.school_id)
    contact = session.get(Contact, contact_id) if contact_id is not None else None
    if contact_id is not None:
        linked = session.exec(select(PupilContact.id).where(
            PupilContact.pupil_id == case.pupil_id, PupilContact.contact_id == contact_id)).first()
        if contact is None or contact.school_id != case.school_id or linked is None:
            raise NotFound("This link is not valid.")
    return LinkTarget(case=case, pupil=pupil, school=school, contact=contact)


def receive_web_reply(
    session: Session,
    *,
    settings: Settings,
    case_id: int,
    contact_id: int | None,
    reason: str,
    note: str = "",
    return_date: date | None = None,
    now: datetime,
) -> ReplyOutcome:
    """A reason given on the reply page: recorded and routed like a text, for this one case only.

    The chosen reason sets the suggested code; the note is read too, so a note that says the child
    left for school, or raises a welfare concern, alerts staff as a text would. No thank-you text is
    sent: the page itself thanks the parent.
    """
    note = (note or "").strip()
    if reason not in WEB_REASONS:
        raise UserError("Please choose a reason.")
    if reason == "other" and not note:
        raise UserError("Please tell us the reason in the box.")
    if len(note) > MAX_NOTE:
        raise UserError(f"Please keep the note under {MAX_NOTE} characters.")
    target = link_target(session, case_id=case_id, contact_id=contact_id)
    school = target.school
    today = clock.to_local(now, school.timezone).date()
    if return_date is not None and not (today <= return_date <= today + timedelta(days=MAX_RETURN_DAYS)):
        raise UserError("Please choose a return date from today onwards.")
    case = session.exec(select(AbsenceCase).where(AbsenceCase.id == case_id).with_for_update()).one()
    if case.status != "open":
        return ReplyOutcome(status="already_explained", case_ids=[case.id])

    from bot.replies.understand import understand

    calendar = load_calendar(session, school.id)
    read = understand(note, today, is_school_day=calendar.is_school_day) if note else None
    code = WEB_REASONS[reason]
    if code is None and read is not None and read.code in codes.CODES:
        code = read.code
    if read is not None and read.code == IN_SCHOOL:
        code = IN_SCHOOL
    return_date = return_date or (read.return_date if read else None)
    concern = bool(read and read.concern)
    confidence = 1.0 if WEB_REASONS[reason] else float(read.confidence if read else 0.0)

    contact = target.contact
    body = views.web_body(reason, note)
    inbound = InboundMessage(
        school_id=school.id, channel="web", provider_id=None,
        from_address=f"web:contact:{contact.id}" if contact else "web",
        contact_id=contact.id if contact else None,
        body=body, received_at=now, code=code, return_date=return_date, concern=concern,
        confidence=confidence,
    )
    session.add(inbound)
    session.flush()
    outcome = ReplyOutcome(status="recorded")
    placeholder = contact or Contact(school_id=school.id, mis_id="", first_name="A parent", last_name="")
    _route(session, school=school, contact=placeholder, contacts=[contact] if contact else [],
           inbound=inbound, case_list=[case], pupils={target.pupil.id: target.pupil}, code=code,
           return_date=return_date, concern=concern, confidence=confidence, send_thanks=False,
           outcome=outcome, reason_given=code != IN_SCHOOL, now=now)
    return outcome
