"""Register close and chasing: open cases for N marks and queue messages to families.

Messages are queued in the same transaction as the case changes (``bot.messaging.outbox``) and
delivered later by the sender, which re-checks each message's cases just before sending.
"""

import logging
from datetime import date, datetime

from sqlalchemy import func, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from bot import clock, codes
from bot.calendar import load_calendar
from bot.cases import service as cases
from bot.firstday.messages import compose
from bot.firstday.routing import Route, family_contacts, raise_unreachable, usable_channels
from bot.messaging.outbox import enqueue_many
from bot.policy import policy_for
from bot.replies.links import reply_link
from bot.settings import Settings, get_settings
from storage.models import AbsenceCase, Mark, Pupil, School, SchoolPolicy

log = logging.getLogger(__name__)


def urgency(pupil: Pupil, policy: SchoolPolicy) -> tuple:
    """Sort key, most urgent first: vulnerable pupils, then the school's priority year groups."""
    vulnerable = pupil.vulnerable or pupil.has_yot_worker
    priority_years = policy.priority_year_groups or []
    year_rank = (
        priority_years.index(pupil.year_group) if pupil.year_group in priority_years else len(priority_years)
    )
    first = 0 if (policy.vulnerable_first and vulnerable) else 1
    return (first, year_rank, pupil.last_name, pupil.first_name)


def queue_family_message(
    session: Session,
    *,
    case_ids: list[int],
    route: Route,
    kind: str,
    key: str,
    session_name: str,
    policy: SchoolPolicy,
    settings: Settings | None = None,
) -> bool:
    """Queue one message to one contact about one or more children's cases. True if new."""
    [created] = queue_family_messages(
        session, [(case_ids, route, key)], kind=kind, session_name=session_name, policy=policy,
        settings=settings,
    )
    return created


def queue_family_messages(
    session: Session,
    batch: list[tuple[list[int], Route, str]],
    *,
    kind: str,
    session_name: str,
    policy: SchoolPolicy,
    settings: Settings | None = None,
) -> list[bool]:
    """Queue ``(case_ids, route, key)`` messages of one kind for one school; True for each new one.

    The messages, the cases' contact times and the case-log entries are written set-based: a
    trust's register close queues thousands of messages inside one short job.
    """
    settings = settings or get_settings()
    school = session.get(School, policy.school_id)
    items = []
    for case_ids, route, key in batch:
        case_rows = [session.get(AbsenceCase, i) for i in case_ids]
        pupils = [session.get(Pupil, c.pupil_id) for c in case_rows]
        link = (
            reply_link(settings, case_id=case_ids[0], contact_id=route.contact.id)
            if route.channel == "email"
            else None
        )
        composed = compose(
            channel=route.channel, kind=kind, language=route.contact.language,
            first_names=[p.display_first_name for p in pupils], school=school.name,
            session_name=session_name, link=link,
        )
        items.append({
            "school_id": school.id, "key": key, "kind": kind, "channel": route.channel,
            "to_address": route.address, "body": composed.body, "subject": composed.subject,
            "contact_id": route.contact.id, "language": composed.language, "case_ids": case_ids,
        })
    results = enqueue_many(session, items)
    now = clock.now()
    events = []
    contacted: list[int] = []
    for (case_ids, route, _key), (message, created) in zip(batch, results, strict=True):
        if not created:
            continue
        for case_id in case_ids:
            case = session.get(AbsenceCase, case_id)
            contacted.append(case_id)
            events.append({
                "school_id": school.id, "case_id": case.id, "pupil_id": case.pupil_id,
                "kind": "message_queued",
                "summary": f"{kind.replace('_', ' ')} {route.channel} to contact {route.contact.id}",
                "data": {"message_id": message.id, "channel": route.channel,
                         "contact_id": route.contact.id},
            })
    if contacted:
        # One set-based update instead of one ORM flush per case (a round starts at its first
        # contact); the loaded cases are brought in line by hand, as "evaluate" would.
        session.execute(update(AbsenceCase).where(AbsenceCase.id.in_(contacted))
                        .values(last_contact_at=now,
                                round_started_at=func.coalesce(AbsenceCase.round_started_at, now)),
                        execution_options={"synchronize_session": False})
        for case_id in dict.fromkeys(contacted):
            case = session.get(AbsenceCase, case_id)
            set_committed_value(case, "last_contact_at", now)
            set_committed_value(case, "round_started_at", case.round_started_at or now)
    cases.log_many(session, events)
    return [created for _, created in results]


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


def reconcile_case(session: Session, *, case: AbsenceCase, day: date) -> str | None:
    """Bring one open case in line with the register as it is now; returns what changed.

    A pupil marked present on ``day`` is seen: the case closes and chasing stops. An episode whose
    N marks have all been replaced in the MIS (a trip code after close, say) is explained by the
    mark. The sender calls this just before a message goes, so a late register change stops it.
    """
    if case.status != "open":
        return None
    if cases.seen_in_school(session, case=case, day=day):
        cases.close(session, case=case, reason="marked present")
        return "closed"
    if not cases.remaining_n(session, case=case):
        latest = session.exec(
            select(Mark.code)
            .where(Mark.pupil_id == case.pupil_id, Mark.date >= case.first_date,
                   Mark.date <= case.last_absent_date)
            .order_by(Mark.date.desc(), Mark.session.desc())
        ).first()
        if latest is not None and codes.category(latest) is codes.Category.PRESENT:
            cases.close(session, case=case, reason="marked present")
            return "closed"
        cases.explain(session, case=case, by="mark", code=latest, summary=f"Register now shows {latest}")
        return "explained"
    return None


def reconcile(session: Session, *, school: School, day: date) -> dict:
    """Reconcile every open case of a school with today's register."""
    changed = {"closed": 0, "explained": 0}
    open_cases = session.exec(
        select(AbsenceCase).where(AbsenceCase.school_id == school.id, AbsenceCase.status == "open")
    ).all()
    for case in open_cases:
        outcome = reconcile_case(session, case=case, day=day)
        if outcome:
            changed[outcome] += 1
    return changed


def recheck_before_send(session: Session, *, case_ids: list[int], now: datetime) -> None:
    """Re-read the register for these cases (on each school's own date) just before sending."""
    schools: dict[int, School] = {}
    for case in session.exec(select(AbsenceCase).where(AbsenceCase.id.in_(case_ids),
                                                       AbsenceCase.status == "open")).all():
        school = schools.get(case.school_id) or session.get(School, case.school_id)
        schools[case.school_id] = school
        reconcile_case(session, case=case, day=clock.to_local(now, school.timezone).date())


def register_close(
    session: Session,
    *,
    school: School,
    day: date,
    session_name: str,
    settings: Settings | None = None,
) -> dict:
    """At register close: open or extend a case for every N and message the families of new cases."""
    session_name = session_name.upper()
    calendar = load_calendar(session, school.id)
    if not calendar.is_school_day(day):
        return {"skipped": calendar.why_not(day)}
    policy = policy_for(session, school.id)
    rows = session.exec(
        select(Mark, Pupil)
        .join(Pupil, Pupil.id == Mark.pupil_id)
        .where(Mark.school_id == school.id, Mark.date == day, Mark.session == session_name,
               Mark.code == codes.NO_REASON, Pupil.on_roll == True)  # noqa: E712
    ).all()
    summary = {"n_marks": len(rows), "cases_opened": 0, "cases_extended": 0, "messages_queued": 0,
               "unreachable": 0}
    pupils = sorted((pupil for _mark, pupil in rows), key=lambda p: urgency(p, policy))
    opened, extended = cases.open_or_extend_many(session, pupils=pupils, day=day,
                                                 session_name=session_name)
    summary["cases_opened"], summary["cases_extended"] = len(opened), len(extended)
    by_pupil = {p.id: p for p in pupils}
    new_cases = [(case, by_pupil[case.pupil_id]) for case in opened]
    new_cases.sort(key=lambda cp: urgency(cp[1], policy))

    def first_contact(case, contacts):
        return usable_channels(contacts[0], policy) if contacts else []

    grouped, unreachable = _group_by_contact(session, new_cases, policy, first_contact)
    batch = [
        (case_ids, route, f"fd:{school.id}:{day.isoformat()}:{session_name}:{contact_id}:{channel}")
        for (contact_id, channel), (route, case_ids) in grouped.items()
    ]
    created = queue_family_messages(session, batch, kind="first_day", session_name=session_name,
                                    policy=policy, settings=settings)
    summary["messages_queued"] = sum(created)
    for case, pupil in unreachable:
        raise_unreachable(session, case=case, pupil=pupil,
                          why="We hold no mobile number or email address we may use for this family.")
        summary["unreachable"] += 1
    log.info("register close school=%s %s %s: %s", school.id, day, session_name, summary)
    return summary


def chase(
    session: Session,
    *,
    school: School,
    now: datetime,
    slot: str,
    settings: Settings | None = None,
) -> dict:
    """At a chase time: contact the families of cases still unexplained, moving down the contacts.

    When the contact being chased has not replied within the school's deadline, the next contact in
    priority order is tried (cycling back to the first when all have been tried).
    """
    day = clock.to_local(now, school.timezone).date()
    calendar = load_calendar(session, school.id)
    if not calendar.is_school_day(day):
        return {"skipped": calendar.why_not(day)}
    policy = policy_for(session, school.id)
    settled = reconcile(session, school=school, day=day)
    rows = session.exec(
        select(AbsenceCase, Pupil)
        .join(Pupil, Pupil.id == AbsenceCase.pupil_id)
        .where(AbsenceCase.school_id == school.id, AbsenceCase.status == "open")
    ).all()
    todo = sorted(rows, key=lambda r: urgency(r[1], policy))
    deadline = policy.next_contact_after_minutes * 60
    moved = 0

    def current_contact(case, contacts):
        nonlocal moved
        if not contacts:
            return []
        started = case.round_started_at or case.opened_at
        if (now - started).total_seconds() >= deadline and len(contacts) > 1:
            case.contact_round = (case.contact_round + 1) % len(contacts)
            case.round_started_at = now
            session.add(case)
            moved += 1
        return usable_channels(contacts[case.contact_round % len(contacts)], policy)

    grouped, unreachable = _group_by_contact(session, todo, policy, current_contact)
    batch = [
        (case_ids, route, f"chase:{school.id}:{day.isoformat()}:{slot}:{contact_id}:{channel}")
        for (contact_id, channel), (route, case_ids) in grouped.items()
    ]
    queued = sum(queue_family_messages(session, batch, kind="chase", session_name="AM", policy=policy,
                                       settings=settings))
    for case, pupil in unreachable:
        raise_unreachable(session, case=case, pupil=pupil,
                          why="We hold no mobile number or email address we may use for this family.")
    return {"open_cases": len(todo), "messages_queued": queued, "moved_to_next_contact": moved,
            "unreachable": len(unreachable), **{f"cases_{k}": v for k, v in settled.items()}}
