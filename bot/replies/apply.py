"""Carrying out what a reply should do: the reply recorded on its cases, then each effect of
``decide.decide`` applied in order (alerts raised, cases explained, notices taken, the family thanked,
an SMS opt-out mirrored).

Every way a family tells us something comes through ``route``: texts and emails
(``service.receive_sms``, ``email``), the reply page (``reply_form.receive_web_reply``) and the report
page (``report_form``).
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, select

from bot import templates
from bot.alerts.service import raise_alert
from bot.cases import service as cases
from bot.messaging import outbox
from bot.notices import taking
from bot.replies import decide, noticing, wording
from bot.templates import join_names
from storage.models import AbsenceCase, Contact, InboundMessage, OutboxMessage, Pupil, ReplyCase, School


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


def route(
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
    """Record the reply on each case, then do what ``decide`` says it should (see the module docstring).

    ``reason_given`` defaults to "the code is a national code or LATE, or the family says when the
    child will be back"; the reply page passes True for a free-text reason that suggests no code.
    With no case to explain, a reason becomes a notice about ``notice_for`` (bot.notices).
    """
    reply = decide.Reply(
        inbound_id=inbound.id,
        body=inbound.body,
        code=code,
        return_date=return_date,
        concern=concern,
        needs_reading=needs_reading,
        cases=tuple(case_list),
        pupils=pupils,
        send_thanks=send_thanks,
        reason_given=reason_given,
        notice_for=notice_for,
    )
    ctx = _context(reply, inbound, school=school, contact=contact, confidence=confidence, language=language)
    _record(session, reply=reply, inbound=inbound, ctx=ctx, outcome=outcome, now=now)
    done = _Done()
    for effect in decide.decide(reply):
        _apply(
            session,
            effect,
            reply=reply,
            contacts=contacts,
            inbound=inbound,
            ctx=ctx,
            outcome=outcome,
            done=done,
            now=now,
        )


def _context(
    reply: "decide.Reply",
    inbound: InboundMessage,
    *,
    school: School,
    contact: Contact,
    confidence: float,
    language: str | None,
) -> "wording.ReplyContext":
    """What the staff alerts and case summaries are worded from: the reply as recorded."""
    return wording.ReplyContext(
        school=school,
        contact=contact,
        body=inbound.body,
        code=reply.code,
        return_date=reply.return_date,
        confidence=confidence,
        channel=inbound.channel,
        language=language,
    )


def _record(
    session: Session,
    *,
    reply: "decide.Reply",
    inbound: InboundMessage,
    ctx: "wording.ReplyContext",
    outcome: ReplyOutcome,
    now: datetime,
) -> None:
    """The reply against every case it concerns (``ReplyCase``) and in each case's log."""
    outcome.inbound_ids.append(inbound.id)
    outcome.code = reply.code
    outcome.concern = outcome.concern or reply.concern
    for case in reply.cases:
        session.add(ReplyCase(inbound_id=inbound.id, case_id=case.id))
        outcome.case_ids.append(case.id)
    session.flush()
    for case in reply.cases:
        cases.log(
            session,
            school_id=case.school_id,
            case_id=case.id,
            pupil_id=case.pupil_id,
            kind="reply",
            summary=inbound.body,
            actor=f"{inbound.channel}:contact:{ctx.contact.id}",
            data={
                "inbound_id": inbound.id,
                "channel": inbound.channel,
                "code": reply.code,
                "return_date": reply.return_date.isoformat() if reply.return_date else None,
                "concern": reply.concern,
                "confidence": ctx.confidence,
                "contact_id": ctx.contact.id,
            },
            now=now,
        )


@dataclass
class _Done:
    """What the effects applied so far made, for a ``Thank`` that follows them."""

    notices: list = field(default_factory=list)


def _apply(
    session: Session,
    effect: "decide.Effect",
    *,
    reply: "decide.Reply",
    contacts: list[Contact],
    inbound: InboundMessage,
    ctx: "wording.ReplyContext",
    outcome: ReplyOutcome,
    done: _Done,
    now: datetime,
) -> None:
    """Carry out one effect of ``decide.decide``; the school and the contact are the context's."""
    match effect:
        case decide.RaiseAlert():
            _alert(session, effect, ctx=ctx, outcome=outcome, now=now)
        case decide.SetSmsOptOut():
            _set_opt_out(session, contacts=contacts, stop=effect.stop, outcome=outcome, now=now)
        case decide.ExplainCases():
            _explain(
                session,
                cases_=reply.cases,
                code=effect.code,
                return_date=reply.return_date,
                ctx=ctx,
                outcome=outcome,
                now=now,
            )
        case decide.NoticeForCases():
            _notice_for_cases(
                session, effect, reply=reply, inbound=inbound, ctx=ctx, outcome=outcome, now=now
            )
        case decide.NoticeAhead():
            done.notices = _notice_ahead(session, effect, reply=reply, inbound=inbound, ctx=ctx, now=now)
            outcome.notice_ids += [n.id for n in done.notices]
        case decide.Thank():
            # ``explained_case_ids`` as the outcome holds them: a follow-up is not thanked twice.
            if done.notices if effect.after == "notice" else outcome.explained_case_ids:
                _thank(
                    session,
                    school=ctx.school,
                    contact=ctx.contact,
                    inbound=inbound,
                    pupils=list(effect.pupils),
                    outcome=outcome,
                    now=now,
                    language=ctx.language,
                )


def _notice_for_cases(
    session: Session,
    effect: "decide.NoticeForCases",
    *,
    reply: "decide.Reply",
    inbound: InboundMessage,
    ctx: "wording.ReplyContext",
    outcome: ReplyOutcome,
    now: datetime,
) -> None:
    """A reason on open cases also covers the rest of that absence, so later marks are not asked about."""
    said = noticing.said_by_family(
        inbound, ctx.contact, understood=reply.code, code=effect.code, return_date=reply.return_date
    )
    made = taking.for_cases(
        session, school=ctx.school, case_list=list(reply.cases), pupils=reply.pupils, said=said, now=now
    )
    outcome.notice_ids += [n.id for n in made]


def _notice_ahead(
    session: Session,
    effect: "decide.NoticeAhead",
    *,
    reply: "decide.Reply",
    inbound: InboundMessage,
    ctx: "wording.ReplyContext",
    now: datetime,
) -> list:
    """The notices a reason given with nothing open makes; a ``Thank`` after them needs to know."""
    ahead = effect.notice_for
    said = noticing.said_by_family(
        inbound,
        ctx.contact,
        understood=reply.code,
        code=effect.code,
        return_date=ahead.return_date(reply.return_date),
    )
    return taking.without_case(
        session,
        school=ctx.school,
        pupils=ahead.pupils,
        said=said,
        now=now,
        first=ahead.first,
        named=ahead.named,
    )


def _explain(
    session: Session,
    *,
    cases_: tuple[AbsenceCase, ...],
    code: str | None,
    return_date: date | None,
    ctx: "wording.ReplyContext",
    outcome: ReplyOutcome,
    now: datetime,
) -> None:
    for case in cases_:
        explained = cases.explain(
            session,
            case=case,
            by="reply",
            code=code,
            return_date=return_date,
            summary=wording.explained_summary(ctx),
            now=now,
        )
        if explained:
            outcome.explained_case_ids.append(case.id)
        elif return_date and case.status == "explained":  # a follow-up: "back on Thursday"
            case.return_date = return_date
            session.add(case)


def _alert(
    session: Session,
    effect: "decide.RaiseAlert",
    *,
    ctx: "wording.ReplyContext",
    outcome: ReplyOutcome,
    now: datetime,
) -> None:
    """The staff alert ``decide`` asked for, worded from the reply (``wording.alert_text``)."""
    pupil, case = effect.pupil, effect.case
    title, body = wording.alert_text(effect.kind, ctx, pupil=pupil, case=case)
    data = wording.alert_data(ctx, pupil=pupil, case=case)
    data.update(effect.extra)
    alert, _ = raise_alert(
        session,
        school_id=ctx.school.id,
        key=effect.key,
        kind=effect.kind,
        title=title,
        body=body,
        audience=effect.audience,
        severity=effect.severity,
        pupil_id=pupil.id if pupil else None,
        case_id=case.id if case else None,
        data=data,
        now=now,
    )
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
    text, used = templates.render_family(
        channel, "thanks", lang, names=names, count=len(first_names), school=school.name
    )
    subject = None
    if channel == "email":
        head, _, text = text.partition("\n")
        subject, text = head.removeprefix("Subject:").strip(), text.strip()
    # Not linked to the cases (MessageCase): the sender drops messages whose cases are all closed
    # or explained, which is exactly what a thank-you follows. The reply links it (ReplyCase).
    message, _ = outbox.enqueue(
        session,
        school_id=school.id,
        key=f"thanks:{inbound.id}",
        kind="thanks",
        channel=channel,
        to_address=address,
        body=text,
        subject=subject,
        contact_id=contact.id,
        language=used,
        now=now,
    )
    outcome.message_ids.append(message.id)


def _set_opt_out(
    session: Session, *, contacts: list[Contact], stop: bool, outcome: ReplyOutcome, now: datetime
) -> None:
    """Mirror Twilio's opt-out in our rows; chasing then skips SMS to these contacts."""
    for contact in contacts:
        contact.sms_opt_out = stop
        session.add(contact)
        if stop:
            outcome.cancelled_message_ids += cancel_queued_sms(session, contact_id=contact.id, now=now)


def cancel_queued_sms(session: Session, *, contact_id: int, now: datetime) -> list[int]:
    """Cancel a contact's texts that have not gone yet (sending to an opted-out number fails)."""
    rows = session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.contact_id == contact_id,
            OutboxMessage.channel == "sms",
            OutboxMessage.status == "queued",
        )
        .with_for_update()
    ).all()
    cancelled = []
    for message in rows:
        if outbox.advance_status(message, "cancelled", now=now):
            message.error = "contact opted out of SMS"
            session.add(message)
            cancelled.append(message.id)
    return cancelled
