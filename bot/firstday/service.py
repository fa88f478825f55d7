"""Register close and chasing: open cases for N marks and queue messages to families.

Messages are queued in the same transaction as the case changes (``bot.firstday.outreach``) and
delivered later by the sender, which asks ``check_before_send`` just before each batch goes: the
register is re-read, and messages whose cases no longer need them are cancelled.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import and_, func
from sqlmodel import Session, select

from bot import clock, codes
from bot.calendar import load_calendar
from bot.cases import service as cases
from bot.firstday.outreach import queue_family_messages
from bot.firstday.routing import Route, call_route, family_contacts, raise_unreachable, usable_channels
from bot.notices.close import at_register_close as notices_at_close
from bot.policy import policy_for
from bot.pupils import urgency
from bot.register.taken import no_register_warning
from bot.settings import Settings
from bot.summary import JobSummary
from storage.models import (
    AbsenceCase,
    InboundMessage,
    Mark,
    MessageCase,
    OutboxMessage,
    Pupil,
    ReplyCase,
    School,
    SchoolPolicy,
    VoiceCall,
)

log = logging.getLogger(__name__)

NO_CHANNEL = "We hold no mobile number, phone number or email address we may use for this family."
# Marks that show a pupil was seen in school (``cases.seen_in_school``).
SEEN_CODES = sorted(cases.SEEN_CODES)


def _group_by_contact(
    session: Session, todo: list[tuple[AbsenceCase, Pupil]], policy: SchoolPolicy, pick
) -> tuple[dict[tuple[int, str], tuple[Route, list[int]]], list[tuple[AbsenceCase, Pupil]]]:
    """Group cases by the route that should get them, so siblings share one message per contact."""
    contacts = family_contacts(session, [p.id for _, p in todo])
    grouped: dict[tuple[int, str], tuple[Route, list[int]]] = {}
    unreachable: list[tuple[AbsenceCase, Pupil]] = []
    for case, pupil in todo:
        routes = pick(case, [c for c in contacts.get(pupil.id, []) if usable_channels(c, policy)])
        if not routes:
            unreachable.append((case, pupil))
            continue
        for route in routes:
            slot = grouped.setdefault((route.contact.id, route.channel), (route, []))
            slot[1].append(case.id)
    return grouped, unreachable


def reconcile_case(session: Session, *, case: AbsenceCase, now: datetime, day: date) -> str | None:
    """Bring one open case in line with the register as it is now; returns what changed.

    A pupil seen in school after the case's latest unexplained session (``cases.seen_in_school``:
    per session, so a morning ``/`` never explains an afternoon ``N``) closes the case and chasing
    stops. An episode whose N marks have all been replaced in the MIS (a trip code after close,
    say) is explained by the mark. The sender calls this just before a message goes, so a late
    register change stops it.
    """
    if case.status != "open":
        return None
    if cases.seen_in_school(session, case=case, day=day):
        cases.close(session, case=case, reason="marked present", now=now)
        return "closed"
    if not cases.remaining_n(session, case=case):
        latest = session.exec(
            select(Mark.code)
            .where(
                Mark.pupil_id == case.pupil_id,
                Mark.date >= case.first_date,
                Mark.date <= case.last_absent_date,
            )
            .order_by(Mark.date.desc(), Mark.session.desc())
        ).first()
        if latest is not None and codes.category(latest) is codes.Category.PRESENT:
            cases.close(session, case=case, reason="marked present", now=now)
            return "closed"
        cases.explain(
            session, case=case, by="mark", code=latest, summary=f"Register now shows {latest}", now=now
        )
        return "explained"
    return None


def reconcile(session: Session, *, school: School, now: datetime) -> dict:
    """Reconcile every open case of a school with today's register."""
    day = clock.to_local(now, school.timezone).date()
    changed = {"closed": 0, "explained": 0}
    open_cases = session.exec(
        select(AbsenceCase).where(AbsenceCase.school_id == school.id, AbsenceCase.status == "open")
    ).all()
    for case in open_cases:
        outcome = reconcile_case(session, case=case, now=now, day=day)
        if outcome:
            changed[outcome] += 1
    return changed


def check_before_send(session: Session, *, message_ids: list[int], now: datetime) -> dict[int, str]:
    """The sender's pre-send check: which of these messages should no longer go, and why.

    The register is re-read first for the cases whose marks changed since register close (a trip
    code, a late arrival), which explains or closes them (``reconcile_case``); then any message
    whose cases are none of them open any more is to be cancelled. Messages about no case (staff
    emails, thank-yous) always go.
    """
    for case_id, tz in _cases_whose_register_changed(session, message_ids, now=now):
        case = session.get(AbsenceCase, case_id)
        reconcile_case(session, case=case, now=now, day=clock.to_local(now, tz).date())
    with_cases = session.exec(
        select(MessageCase.message_id, func.count(AbsenceCase.id))
        .join(
            AbsenceCase,
            and_(AbsenceCase.id == MessageCase.case_id, AbsenceCase.status == "open"),
            isouter=True,
        )
        .where(MessageCase.message_id.in_(message_ids))
        .group_by(MessageCase.message_id)
    ).all()
    return {message_id: "cases no longer open" for message_id, open_count in with_cases if open_count == 0}


def _cases_whose_register_changed(
    session: Session, message_ids: list[int], *, now: datetime
) -> list[tuple[int, str]]:
    """The open cases of these messages that ``reconcile_case`` would change, found in two queries.

    ``reconcile_case`` acts only when no N mark is left in the episode or the pupil was seen in
    school after the episode's latest unexplained session (``cases.seen_after_absence``: an AM
    ``/`` does not explain a PM ``N``); everything else is left alone. Checking that set-based first
    keeps a register close of thousands of texts from paying several queries per case. Returns
    (case id, the school's time zone) pairs.
    """
    # The status is filtered here, not in SQL: with it in the WHERE clause SQLite starts from the
    # status index (every open case in the database) instead of from this batch's messages.
    rows = [
        (case_id, pupil_id, tz, (first_date, first_session), n_left)
        for case_id, pupil_id, tz, status, first_date, first_session, n_left in session.execute(
            select(
                AbsenceCase.id,
                AbsenceCase.pupil_id,
                School.timezone,
                AbsenceCase.status,
                AbsenceCase.first_date,
                AbsenceCase.first_session,
                func.count(Mark.id),
            )
            .join(MessageCase, MessageCase.case_id == AbsenceCase.id)
            .join(School, School.id == AbsenceCase.school_id)
            .join(
                Mark,
                and_(
                    Mark.pupil_id == AbsenceCase.pupil_id,
                    Mark.code == "N",
                    Mark.date >= AbsenceCase.first_date,
                    Mark.date <= AbsenceCase.last_absent_date,
                ),
                isouter=True,
            )
            .where(MessageCase.message_id.in_(message_ids))
            .group_by(
                AbsenceCase.id,
                AbsenceCase.pupil_id,
                School.timezone,
                AbsenceCase.status,
                AbsenceCase.first_date,
                AbsenceCase.first_session,
            )
        ).all()
        if status == "open"
    ]
    if not rows:
        return []
    zone_of = {case_id: tz for case_id, _pupil, tz, _first, _n in rows}
    changed = {case_id for case_id, _pupil, _tz, _first, n_left in rows if n_left == 0}
    day_of = {case_id: clock.to_local(now, tz).date() for case_id, _pupil, tz, _first, _n in rows}
    # Only pupils with a seen mark today can have been seen since their absence; their episodes'
    # marks are then read in one query and checked session by session.
    seen_today = set(
        session.execute(
            select(Mark.pupil_id, Mark.date).where(
                Mark.pupil_id.in_({pupil_id for _c, pupil_id, _tz, _f, _n in rows}),
                Mark.date.in_(set(day_of.values())),
                Mark.code.in_(SEEN_CODES),
            )
        ).all()
    )
    candidates = [
        (case_id, pupil_id, first)
        for case_id, pupil_id, _tz, first, _n in rows
        if (pupil_id, day_of[case_id]) in seen_today and case_id not in changed
    ]
    if candidates:
        marks: dict[int, list] = {}
        for pupil_id, d, s, code in session.execute(
            select(Mark.pupil_id, Mark.date, Mark.session, Mark.code).where(
                Mark.pupil_id.in_({p for _c, p, _f in candidates}),
                Mark.date >= min(first[0] for _c, _p, first in candidates),
                Mark.date <= max(day_of.values()),
            )
        ).all():
            marks.setdefault(pupil_id, []).append((d, s, code))
        for case_id, pupil_id, first in candidates:
            upto = [m for m in marks.get(pupil_id, []) if m[0] <= day_of[case_id]]
            if cases.seen_after_absence(upto, first=first):
                changed.add(case_id)
    return [(case_id, zone_of[case_id]) for case_id in sorted(changed)]


@dataclass
class InTouch:
    """Families who got through: the last time per case, and the cases whose family left a voice
    message or was put through to the office since ``since`` (chasing pauses for them)."""

    last: dict[int, datetime] = field(default_factory=dict)
    spoke_today: set[int] = field(default_factory=set)


def family_in_touch(session: Session, case_ids: list[int], *, since: datetime) -> InTouch:
    """Replies (text, reply page, a message left on a call) and calls put through, per case."""
    out = InTouch()
    if not case_ids:
        return out
    for case_id, at in session.execute(
        select(ReplyCase.case_id, func.max(InboundMessage.received_at))
        .join(InboundMessage, InboundMessage.id == ReplyCase.inbound_id)
        .where(ReplyCase.case_id.in_(case_ids))
        .group_by(ReplyCase.case_id)
    ).all():
        out.last[case_id] = _utc(at)
    for case_id, at in session.execute(
        select(MessageCase.case_id, func.max(VoiceCall.updated_at))
        .join(VoiceCall, VoiceCall.message_id == MessageCase.message_id)
        .join(OutboxMessage, OutboxMessage.id == MessageCase.message_id)
        .where(MessageCase.case_id.in_(case_ids), VoiceCall.outcome.in_(("message_left", "put_through")))
        .group_by(MessageCase.case_id)
    ).all():
        at = _utc(at)
        out.last[case_id] = max(at, out.last.get(case_id, at))
        if at >= since:
            out.spoke_today.add(case_id)
    return out


# Statuses of a message the provider has taken: the chase deadline counts from then.
TAKEN = ("accepted", "sent", "delivered")


def provider_took(session: Session, case_ids: list[int]) -> dict[int, list[tuple[int, datetime, datetime]]]:
    """Per case: (contact id, queued at, taken by the provider at) of its messages the provider took.

    The move to the next contact waits for the family to have had a real chance to answer: a text
    held in our queue through a provider outage gave them none.
    """
    out: dict[int, list[tuple[int, datetime, datetime]]] = {}
    if not case_ids:
        return out
    for case_id, contact_id, created, sent in session.execute(
        select(MessageCase.case_id, OutboxMessage.contact_id, OutboxMessage.created_at, OutboxMessage.sent_at)
        .join(OutboxMessage, OutboxMessage.id == MessageCase.message_id)
        .where(
            MessageCase.case_id.in_(case_ids),
            OutboxMessage.status.in_(TAKEN),
            OutboxMessage.sent_at.is_not(None),
            OutboxMessage.contact_id.is_not(None),
        )
    ).all():
        out.setdefault(case_id, []).append((contact_id, created, sent))
    return out


def round_reached_at(case: AbsenceCase, contact_id: int, took: dict) -> datetime | None:
    """When the provider first took a message of this round to this contact (None: not yet)."""
    since = case.round_started_at or case.opened_at
    times = [sent for cid, created, sent in took.get(case.id, []) if cid == contact_id and created >= since]
    return min(times, default=None)


def _round_over(
    case: AbsenceCase,
    contacts: list,
    *,
    took: dict,
    last_reply: datetime | None,
    now: datetime,
    after_seconds: int,
) -> bool:
    """Has the contact being chased had the school's deadline to answer? It counts from the provider
    taking this round's message (not from queueing: an outage must not move the family on), or from
    the family's last reply if later."""
    reached = round_reached_at(case, contacts[case.contact_round % len(contacts)].id, took)
    if reached is None:
        return False
    started = max(t for t in (reached, last_reply) if t)
    return (now - started).total_seconds() >= after_seconds


def _chase_routes(case: AbsenceCase, contact, policy: SchoolPolicy) -> list[Route]:
    """The contact's usual routes, plus a call from the chase the school's policy says
    (``call_at_chase``): families who have not answered the texts are also phoned."""
    routes = usable_channels(contact, policy)
    if policy.call_at_chase and case.chase_count >= policy.call_at_chase:
        call = call_route(contact, policy, mobile_too=True)
        if call and all(r.channel != "voice" for r in routes):
            routes.append(call)
    return routes


def _utc(value) -> datetime:
    """An aggregate's time: SQLite hands MAX() back as text or naive, outside the column's type."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _first_messages(new_cases, expected_back: dict) -> list[tuple[str, str, list]]:
    """The first message of each new case: "no reason yet", or a follow-up when a notice ran out.

    A child still away after the day the family said they would be back gets "we expected Amy back
    today" (``expected_back``); after a notice that gave no return day, "Amy is still not in school"
    (``still_absent``). Each kind has its own idempotency-key prefix.
    """
    groups: dict[str, list] = {"first_day": [], "expected_back": [], "still_absent": []}
    for case, pupil in new_cases:
        notice = expected_back.get(pupil.id)
        kind = "first_day" if notice is None else ("expected_back" if notice.return_date else "still_absent")
        groups[kind].append((case, pupil))
    prefixes = {"first_day": "fd", "expected_back": "eb", "still_absent": "sa"}
    return [(kind, prefixes[kind], todo) for kind, todo in groups.items() if todo]


def register_close(
    session: Session,
    *,
    school: School,
    session_name: str,
    settings: Settings,
    now: datetime,
    pupil_ids: set[int] | None = None,
) -> JobSummary:
    """At register close: open or extend a case for every N and message the families of new cases.

    The register is the one of the school's date at ``now``. ``pupil_ids`` limits it to these pupils
    (a class whose register the MIS showed only after close). A register with no marks at all is
    said so in the summary, never reported as "0 N marks" (``bot.register.taken``).
    """
    session_name = session_name.upper()
    day = clock.to_local(now, school.timezone).date()
    calendar = load_calendar(session, school.id)
    if not calendar.is_school_day(day):
        return JobSummary.skip(calendar.why_not(day))
    policy = policy_for(session, school.id)
    rows = _n_marks(session, school=school, day=day, session_name=session_name, pupil_ids=pupil_ids)
    summary = {
        "n_marks": len(rows),
        "cases_opened": 0,
        "cases_extended": 0,
        "cases_closed_seen": 0,
        "messages_queued": 0,
        "unreachable": 0,
    }
    pupils = sorted((pupil for _mark, pupil in rows), key=lambda p: urgency(p, policy))
    # A child seen in school since their open case's last absence (in all morning, gone after
    # lunch) starts a new episode: its own case, its own first-day message.
    summary["cases_closed_seen"] = cases.close_seen_before(
        session, pupils=pupils, day=day, session_name=session_name, now=now
    )
    # What families already told us: covered N marks are explained, not messaged (bot.notices.close).
    honoured = notices_at_close(
        session,
        school=school,
        policy=policy,
        calendar=calendar,
        pupils=pupils,
        day=day,
        session_name=session_name,
        now=now,
    )
    summary.update(honoured.counts)
    pupils = honoured.uncovered
    opened, extended = cases.open_or_extend_many(
        session, pupils=pupils, day=day, session_name=session_name, now=now
    )
    summary["cases_opened"], summary["cases_extended"] = len(opened), len(extended)
    by_pupil = {p.id: p for p in pupils}
    new_cases = [(case, by_pupil[case.pupil_id]) for case in opened]
    new_cases.sort(key=lambda cp: urgency(cp[1], policy))

    def first_contact(case, contacts):
        return usable_channels(contacts[0], policy) if contacts else []

    unreachable = []
    for kind, prefix, todo in _first_messages(new_cases, honoured.expected_back):
        grouped, missed = _group_by_contact(session, todo, policy, first_contact)
        unreachable += missed
        key = f"{prefix}:{school.id}:{day.isoformat()}:{session_name}"
        created = _queue_grouped(
            session,
            grouped,
            key=key,
            kind=kind,
            session_name=session_name,
            policy=policy,
            settings=settings,
            now=now,
        )
        summary["messages_queued"] += sum(created)
    for case, pupil in unreachable:
        raise_unreachable(session, case=case, pupil=pupil, now=now, why=NO_CHANNEL)
        summary["unreachable"] += 1
    log.info("register close school=%s %s %s: %s", school.id, day, session_name, summary)
    warning = (
        None
        if pupil_ids is not None
        else _no_register(session, school=school, day=day, session_name=session_name)
    )
    return JobSummary(counts=summary, details={"warning": warning} if warning else {})


def _no_register(session: Session, *, school: School, day: date, session_name: str) -> str | None:
    """The summary's warning when the register has no marks at all (``bot.register.taken``)."""
    warning = no_register_warning(session, school=school, day=day, session_name=session_name)
    if warning:
        log.warning("register close school=%s %s %s: no marks at all", school.id, day, session_name)
    return warning


def _n_marks(
    session: Session, *, school: School, day: date, session_name: str, pupil_ids: set[int] | None
) -> list[tuple[Mark, Pupil]]:
    """The session's N marks of pupils on roll (of ``pupil_ids`` only, when given)."""
    query = (
        select(Mark, Pupil)
        .join(Pupil, Pupil.id == Mark.pupil_id)
        .where(
            Mark.school_id == school.id,
            Mark.date == day,
            Mark.session == session_name,
            Mark.code == codes.NO_REASON,
            Pupil.on_roll.is_(True),
        )
    )
    if pupil_ids is not None:
        query = query.where(Mark.pupil_id.in_(sorted(pupil_ids)))
    return list(session.exec(query).all())


def _open_cases(session: Session, *, school: School) -> list[tuple[AbsenceCase, Pupil]]:
    return list(
        session.exec(
            select(AbsenceCase, Pupil)
            .join(Pupil, Pupil.id == AbsenceCase.pupil_id)
            .where(AbsenceCase.school_id == school.id, AbsenceCase.status == "open")
        ).all()
    )


def _queue_grouped(
    session: Session,
    grouped: dict,
    *,
    key: str,
    kind: str,
    session_name: str,
    policy: SchoolPolicy,
    settings: Settings,
    now: datetime,
) -> list[bool]:
    """One message per (contact, channel) group; its key is ``key`` plus the contact and channel."""
    batch = [
        (case_ids, route, f"{key}:{contact_id}:{channel}")
        for (contact_id, channel), (route, case_ids) in grouped.items()
    ]
    return queue_family_messages(
        session, batch, kind=kind, session_name=session_name, policy=policy, settings=settings, now=now
    )


def chase(session: Session, *, school: School, now: datetime, slot: str, settings: Settings) -> JobSummary:
    """At a chase time: contact the families of cases still unexplained, moving down the contacts.

    When the contact being chased has not replied within the school's deadline, counted from when
    the provider took the round's message (``round_reached_at``), the next contact in priority order
    is tried (cycling back to the first when all have been tried).
    """
    day = clock.to_local(now, school.timezone).date()
    calendar = load_calendar(session, school.id)
    if not calendar.is_school_day(day):
        return JobSummary.skip(calendar.why_not(day))
    policy = policy_for(session, school.id)
    settled = reconcile(session, school=school, now=now)
    rows = _open_cases(session, school=school)
    day_start = clock.at_local(day, time(0, 0), school.timezone)
    in_touch = family_in_touch(session, [case.id for case, _ in rows], since=day_start)
    # A family who left a voice message or spoke to the office today is waiting for staff, not for
    # another chase; the deadline to move to the next contact counts from their last contact.
    todo = sorted(
        ((c, p) for c, p in rows if c.id not in in_touch.spoke_today), key=lambda r: urgency(r[1], policy)
    )
    deadline = policy.next_contact_after_minutes * 60
    took = provider_took(session, [case.id for case, _ in todo])
    moved = 0
    called = 0

    def current_contact(case, contacts):
        nonlocal moved, called
        if not contacts:
            return []
        if len(contacts) > 1 and _round_over(
            case, contacts, took=took, last_reply=in_touch.last.get(case.id), now=now, after_seconds=deadline
        ):
            case.contact_round = (case.contact_round + 1) % len(contacts)
            case.round_started_at = now
            moved += 1
        case.chase_count += 1
        session.add(case)
        contact = contacts[case.contact_round % len(contacts)]
        routes = _chase_routes(case, contact, policy)
        called += len(routes) > len(usable_channels(contact, policy))
        return routes

    grouped, unreachable = _group_by_contact(session, todo, policy, current_contact)
    key = f"chase:{school.id}:{day.isoformat()}:{slot}"
    queued = sum(
        _queue_grouped(
            session,
            grouped,
            key=key,
            kind="chase",
            session_name="AM",
            policy=policy,
            settings=settings,
            now=now,
        )
    )
    for case, pupil in unreachable:
        raise_unreachable(session, case=case, pupil=pupil, now=now, why=NO_CHANNEL)
    return JobSummary(
        counts={
            "open_cases": len(todo),
            "messages_queued": queued,
            "moved_to_next_contact": moved,
            "calls_added": called,
            "in_touch_today": len(in_touch.spoke_today),
            "unreachable": len(unreachable),
            **{f"cases_{k}": v for k, v in settled.items()},
        }
    )
