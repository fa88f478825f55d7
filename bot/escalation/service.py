"""Escalating unexplained absence, derived from stored facts every time the sweep runs.

Nothing here is a timer. For each open case the sweep asks: which school day of the episode is it
(from the marks, not from when the sweep last ran), which ladder steps have come due and not yet
been taken (``case.next_step``), and raises their alerts under unique keys. Running it twice, on two
clocks at once, or a day late, raises each step exactly once and in order.

It also re-raises alerts nobody acted on, emails the DSL about them past the school's deadline, and
tells a pupil's social worker or YOT worker on day 1.
"""

from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from bot.alerts.service import raise_alert
from bot.calendar import SchoolCalendar
from bot.cases.service import log
from bot.escalation import ladder as ladders
from bot.escalation.facts import Facts, case_facts, contact_history, local_date
from bot.escalation.facts import last_contact as last_contact  # re-exported: bot.thresholds reads it here
from bot.escalation.wording import alert_body, alert_data, worker_email
from bot.messaging.outbox import enqueue
from bot.pupils import flag_words
from storage.models import AbsenceCase, Alert, AlertAction, Pupil, School, SchoolPolicy

ALERT_KIND = "escalation"
ACTIONS = ["home_visit_seen", "home_visit_no_answer", "referred_mash", "police_informed", "close_case"]


# --------------------------------------------------------------------------------------------------
# The ladder on one case
# --------------------------------------------------------------------------------------------------


def _severity(step: dict, *, last: bool) -> str:
    if step.get("severity") in ("urgent", "high", "normal"):
        return step["severity"]
    return "urgent" if last else "high"


def advance_case(
    session: Session,
    *,
    case: AbsenceCase,
    pupil: Pupil,
    school: School,
    policy: SchoolPolicy,
    cal: SchoolCalendar,
    now: datetime,
) -> tuple[list[Alert], Facts]:
    """Raise every ladder step that has come due on this case and move ``next_step`` past it."""
    tz = school.timezone
    today = local_date(now, tz)
    steps = ladders.ordered(case.ladder)
    facts = case_facts(session, case=case, policy=policy, cal=cal, today=today, tz=tz)
    if facts.seen:
        return [], facts
    raised: list[Alert] = []
    due = ladders.due_steps(steps, day_number=facts.day_number, next_step=case.next_step)
    if due:
        facts.history = contact_history(session, case=case, tz=tz)
    for index, step in due:
        data = alert_data(
            case=case,
            pupil=pupil,
            step=step,
            index=index,
            facts=facts,
            flags=flag_words(pupil),
            actions=ACTIONS,
        )
        alert, created = raise_alert(
            session,
            school_id=case.school_id,
            key=f"esc:{case.id}:{index}:{step['kind']}",
            kind=ALERT_KIND,
            title=f"{step['title']}: {pupil.first_name} {pupil.last_name}",
            body=alert_body(data),
            audience=step.get("audience", "pastoral"),
            severity=_severity(step, last=index == len(steps) - 1),
            pupil_id=pupil.id,
            case_id=case.id,
            data=data,
            now=now,
        )
        if created:
            alert.raised_count, alert.last_raised_at = 1, now
            session.add(alert)
            raised.append(alert)
    new_next = max([case.next_step] + [i + 1 for i, _ in due])
    new_due = ladders.due_date(cal, base=facts.base, steps=steps, next_step=new_next)
    if (new_next, new_due) != (case.next_step, case.next_step_due):
        # Conditional: only the sweep that saw the old step moves it on.
        session.execute(
            update(AbsenceCase)
            .where(AbsenceCase.id == case.id, AbsenceCase.next_step == case.next_step)
            .values(next_step=new_next, next_step_due=new_due)
        )
        case.next_step, case.next_step_due = new_next, new_due
    return raised, facts


def inform_workers(
    session: Session, *, case: AbsenceCase, pupil: Pupil, school: School, now: datetime
) -> int:
    """Day 1: tell the pupil's social worker / YOT worker by email (once per case, by key)."""
    queued = 0
    for flag, address, role, prefix in (
        (
            pupil.has_social_worker or pupil.child_protection or pupil.looked_after,
            pupil.social_worker_email,
            "social worker",
            "sw",
        ),
        (pupil.has_yot_worker, pupil.yot_worker_email, "youth offending worker", "yot"),
    ):
        if not (flag and address):
            continue
        subject, body = worker_email(school=school, pupil=pupil, case=case, role=role)
        _, created = enqueue(
            session,
            school_id=school.id,
            key=f"{prefix}:{case.id}",
            kind="staff_email",
            channel="email",
            to_address=address,
            subject=subject,
            body=body,
            case_ids=[case.id],
            now=now,
        )
        if created:
            queued += 1
            log(
                session,
                school_id=school.id,
                case_id=case.id,
                pupil_id=pupil.id,
                kind="worker_informed",
                summary=f"{role.capitalize()} informed by email",
                data={"role": role},
                now=now,
            )
    return queued


# --------------------------------------------------------------------------------------------------
# Alerts nobody acted on
# --------------------------------------------------------------------------------------------------


def _is_latest_step(alert: Alert, case: AbsenceCase) -> bool:
    """The alert is for the last ladder step taken on its case (``next_step`` is one past it)."""
    return (alert.data or {}).get("index", case.next_step - 1) == case.next_step - 1


def _unacted_open_alerts(session: Session, *, school_id: int):
    """Open escalation alerts on open cases with no action, the latest step of each case only.

    A day-3 alert nobody answered is overtaken by the day-4 one; raising both again is noise. The
    query drops alerts a newer one on the same case overtook; callers also check the step against
    the case's own ``next_step`` (``_is_latest_step``), which holds even for a step raised in the
    same transaction.
    """
    acted = select(AlertAction.id).where(AlertAction.alert_id == Alert.id).exists()
    newer = aliased(Alert)
    overtaken = (
        select(newer.id)
        .where(newer.case_id == Alert.case_id, newer.kind == ALERT_KIND, newer.id > Alert.id)
        .exists()
    )
    return (
        select(Alert, AbsenceCase)
        .join(AbsenceCase, AbsenceCase.id == Alert.case_id)
        .where(
            Alert.school_id == school_id,
            Alert.kind == ALERT_KIND,
            Alert.status == "open",
            AbsenceCase.status == "open",
            ~acted,
            ~overtaken,
        )
    )


def reraise_unacted(
    session: Session, *, school: School, policy: SchoolPolicy, cal: SchoolCalendar, now: datetime
) -> int:
    """Post again any escalation alert nobody has acted on within ``realert_after_minutes``.

    An alert whose pupil has since been seen in school is not raised again.
    """
    cutoff = now - timedelta(minutes=policy.realert_after_minutes)
    rows = session.exec(
        _unacted_open_alerts(session, school_id=school.id).where(
            func.coalesce(Alert.last_raised_at, Alert.created_at) <= cutoff
        )
    ).all()
    count = 0
    today = local_date(now, school.timezone)
    for alert, case in rows:
        if not _is_latest_step(alert, case):
            continue
        facts = case_facts(session, case=case, policy=policy, cal=cal, today=today, tz=school.timezone)
        if facts.seen:
            continue
        facts.history = contact_history(session, case=case, tz=school.timezone)
        data = _refreshed_data(alert, case=case, pupil=session.get(Pupil, case.pupil_id), facts=facts)
        if _reraise_once(session, alert=alert, data=data, now=now):
            count += 1
            log(
                session,
                school_id=school.id,
                case_id=case.id,
                pupil_id=case.pupil_id,
                kind="alert_reraised",
                summary=f"Alert raised again: nobody has acted ({alert.title})",
                data={"alert_id": alert.id, "raised_count": data["raised_count"]},
                now=now,
            )
    return count


def _refreshed_data(alert: Alert, *, case: AbsenceCase, pupil: Pupil, facts: Facts) -> dict:
    """The alert's data with today's count and contact history; the step's own day stays as raised."""
    fresh = alert_data(
        case=case,
        pupil=pupil,
        step=alert.data.get("step", {}),
        index=alert.data.get("index", 0),
        facts=facts,
        flags=flag_words(pupil),
        actions=ACTIONS,
    )
    return dict(
        alert.data,
        contact=fresh["contact"],
        flags=fresh["flags"],
        through=fresh["through"],
        workers=fresh["workers"],
        day_now=fresh["day"],
        raised_count=alert.raised_count + 1,
    )


def _reraise_once(session: Session, *, alert: Alert, data: dict, now: datetime) -> bool:
    """Post the alert again with ``data``; False if another sweep already did.

    The UPDATE is conditional on the ``raised_count`` this sweep read, so two sweeps at once
    re-raise it once.
    """
    result = session.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.raised_count == alert.raised_count, Alert.status == "open")
        .values(
            raised_count=alert.raised_count + 1,
            last_raised_at=now,
            delivered_at=None,
            data=data,
            body=alert_body(data),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    session.expire(alert)
    return True


def email_dsl_overdue(session: Session, *, school: School, policy: SchoolPolicy, now: datetime) -> int:
    """Past ``dsl_email_after_minutes`` with nobody acting, the DSL gets the alert by email too."""
    if not school.dsl_email:
        return 0
    cutoff = now - timedelta(minutes=policy.dsl_email_after_minutes)
    rows = session.exec(
        _unacted_open_alerts(session, school_id=school.id).where(
            Alert.created_at <= cutoff, Alert.dsl_emailed_at.is_(None)
        )
    ).all()
    count = 0
    for alert, case in rows:
        if not _is_latest_step(alert, case):
            continue
        result = session.execute(
            update(Alert)
            .where(Alert.id == alert.id, Alert.dsl_emailed_at.is_(None))
            .values(dsl_emailed_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue
        session.expire(alert)
        minutes = int((now - alert.created_at).total_seconds() // 60)
        body = (
            f"No one has acted on this alert for {minutes} minutes.\n\n{alert.body}\n\n"
            f"— {school.name} attendance bot"
        )
        _, created = enqueue(
            session,
            school_id=school.id,
            key=f"dsl-alert:{alert.id}",
            kind="staff_email",
            channel="email",
            to_address=school.dsl_email,
            subject=f"Unanswered: {alert.title}",
            body=body,
            case_ids=[case.id],
            now=now,
        )
        if created:
            count += 1
            log(
                session,
                school_id=school.id,
                case_id=case.id,
                pupil_id=case.pupil_id,
                kind="dsl_emailed",
                summary="DSL emailed: alert unanswered",
                data={"alert_id": alert.id},
                now=now,
            )
    return count


# --------------------------------------------------------------------------------------------------
# The sweep over one school
# --------------------------------------------------------------------------------------------------


def overdue_cases(session: Session, *, school_id: int, today: date) -> list[int]:
    """Open cases with a step still to take that is overdue, or was never armed (the safety net's list).

    The sweep recomputes every open case from the marks anyway; this list is what it re-arms, and
    its length is reported so a missed run shows up in the job summary.
    """
    rows = session.exec(
        select(AbsenceCase).where(
            AbsenceCase.school_id == school_id,
            AbsenceCase.status == "open",
            or_(AbsenceCase.next_step_due.is_(None), AbsenceCase.next_step_due < today),
        )
    ).all()
    return [c.id for c in rows if c.next_step < len(c.ladder or [])]


def sweep(
    session: Session, *, school: School, policy: SchoolPolicy, cal: SchoolCalendar, now: datetime
) -> dict:
    """One pass over a school's open cases. Safe to repeat and to run on two clocks at once.

    The job runner holds the school's advisory lock (``bot.jobs.lock_school``), so a second sweep,
    register close or chase of the same school waits for this one to commit and then sees what it
    raised. Cases are still claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so a case a
    parent's reply is changing at this instant is left to the next sweep rather than waited on. On
    SQLite the transaction is ``BEGIN IMMEDIATE`` and so runs alone.
    """
    today = local_date(now, school.timezone)
    summary = {
        "cases": 0,
        "alerts": 0,
        "overdue": 0,
        "seen": 0,
        "workers_informed": 0,
        "reraised": 0,
        "dsl_emailed": 0,
    }
    summary["overdue"] = len(overdue_cases(session, school_id=school.id, today=today))
    cases = session.exec(
        select(AbsenceCase)
        .where(AbsenceCase.school_id == school.id, AbsenceCase.status == "open")
        .order_by(AbsenceCase.id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)  # the locked row's values, not ones read before
    ).all()
    for case in cases:
        pupil = session.get(Pupil, case.pupil_id)
        summary["cases"] += 1
        summary["workers_informed"] += inform_workers(session, case=case, pupil=pupil, school=school, now=now)
        raised, facts = advance_case(
            session, case=case, pupil=pupil, school=school, policy=policy, cal=cal, now=now
        )
        summary["seen"] += int(facts.seen)
        summary["alerts"] += len(raised)
    session.flush()
    summary["reraised"] = reraise_unacted(session, school=school, policy=policy, cal=cal, now=now)
    summary["dsl_emailed"] = email_dsl_overdue(session, school=school, policy=policy, now=now)
    return summary
