"""Run one command line for one member of staff: parse, check, do, and shape the result.

This is the single entry every chat edge uses (``run_as`` when the edge knows only the chat account,
``run_command`` when it already has the ``Staff`` row). The work runs inside a savepoint, so a
refused or failed command changes nothing, while the refusal itself is still recorded. Users never
see a stack trace: ``UserError`` becomes its friendly message, anything else a reference to the log.
"""

import logging
import uuid
from datetime import date, datetime

from sqlmodel import Session

from bot.commands import grammar, identity, notices, results, service, urgent
from bot.commands.pupils import check_year, resolve, resolve_class
from bot.errors import Ambiguous, PermissionDenied, UserError
from storage.models import Staff

log = logging.getLogger(__name__)

_NAMES = {
    grammar.Absences: "absences",
    grammar.Call: "call",
    grammar.Recode: "recode",
    grammar.PupilTimeline: "pupil",
    grammar.Notice: "notice",
    grammar.Act: "act",
    grammar.Help: "help",
}


def run_as(
    session: Session, *, who: identity.Who, text: str, now: datetime, shared: bool = False
) -> results.CommandResult:
    """Map the chat account to staff (refusing strangers politely), then run the command."""
    try:
        staff = identity.identify(session, who, now=now)
    except identity.Refused as exc:
        return results.error(str(exc), command="identify")
    return run_command(session, staff=staff, text=text, now=now, who=who, shared=shared)


def run_command(
    session: Session,
    *,
    staff: Staff,
    text: str,
    now: datetime,
    who: identity.Who | None = None,
    shared: bool = False,
) -> results.CommandResult:
    """Run ``text`` for ``staff`` at ``now``; "today" is the school's date at ``now``.

    ``shared``: the answer will be seen by a whole channel (Teams' outgoing webhook answers in the
    channel thread), so DSL-only content is left out whatever the requester's role.
    """
    today = service.school_today(session, staff.school_id, now=now)
    request = None
    try:
        request = grammar.parse(text, today=today)
        name = _NAMES[type(request)]
        identity.require_role(staff, name)
        with session.begin_nested():
            return _run(session, staff=staff, request=request, today=today, now=now, shared=shared)
    except Ambiguous as exc:
        return results.ambiguous(str(exc), exc.choices, request)
    except PermissionDenied as exc:
        identity.record_refusal(
            session,
            who=who,
            staff=staff,
            command=_NAMES.get(type(request)),
            reason=type(exc).__name__,
            now=now,
        )
        return results.error(str(exc), command=_NAMES.get(type(request), ""))
    except UserError as exc:
        return results.error(str(exc), command=_NAMES.get(type(request), ""))
    except Exception:
        ref = uuid.uuid4().hex[:8]
        log.exception(
            "command failed ref=%s staff_id=%s school_id=%s command=%s",
            ref,
            staff.id,
            staff.school_id,
            _NAMES.get(type(request)),
        )
        return results.error(
            f"Sorry, something went wrong (ref {ref}). Please tell your administrator.", ref=ref
        )


def _run(
    session: Session, *, staff: Staff, request: grammar.Request, today: date, now: datetime, shared: bool
) -> results.CommandResult:
    if isinstance(request, grammar.Help):
        return results.help_result(request.topic)
    if isinstance(request, grammar.Absences):
        return _absences(session, staff=staff, request=request, today=today, shared=shared)
    if isinstance(request, grammar.Act):
        alert = service.act(
            session, staff=staff, alert_id=request.alert_id, action=request.action, note=request.note, now=now
        )
        return results.act_result(alert, request.action)
    pupil = resolve(session, school_id=staff.school_id, ref=request.pupil)
    if isinstance(request, grammar.Call):
        outcome = service.log_call(
            session,
            staff=staff,
            pupil=pupil,
            outcome=request.outcome,
            note=request.note,
            today=today,
            now=now,
        )
        return results.call_result(outcome)
    if isinstance(request, grammar.Notice):
        outcome = notices.take(session, staff=staff, pupil=pupil, request=request, today=today, now=now)
        return results.notice_result(outcome)
    if isinstance(request, grammar.Recode):
        outcome = service.recode(
            session,
            staff=staff,
            pupil=pupil,
            code=request.code,
            day=request.day,
            sessions=list(request.sessions) if request.sessions else None,
            reason=request.reason,
            now=now,
        )
        return results.recode_result(outcome)
    timeline = service.timeline(session, staff=staff, pupil=pupil, today=today, shared=shared)
    return urgent.pin(
        session, results.timeline_result(timeline), staff=staff, pupil_id=pupil.id, shared=shared
    )


def _absences(
    session: Session, *, staff: Staff, request: grammar.Absences, today: date, shared: bool
) -> results.CommandResult:
    """Who is off, for the whole school, a year group or a class, with urgent items pinned on top.

    An unknown class or an empty year group is an error, never an all-clear.
    """
    class_name = (
        resolve_class(session, school_id=staff.school_id, name=request.class_name)
        if request.class_name
        else None
    )
    if request.year is not None:
        check_year(session, school_id=staff.school_id, year=request.year)
    rows = service.absences(session, staff=staff, day=request.day, year=request.year, class_name=class_name)
    return urgent.pin(
        session,
        results.absences_result(rows, day=request.day, today=today, year=request.year, class_name=class_name),
        staff=staff,
        shared=shared,
    )


__all__ = ["run_as", "run_command", "UserError"]
