"""The alerts that need someone now, shown at the top of ``/absences`` and ``/pupil``.

"Child may be missing" and welfare concerns (``bot.alerts.owner``) stay open until someone records
what was done. Whoever looks at the day's absences or a pupil's timeline sees them first, with the
``act`` lines to record it. DSL-only alerts are listed only for the DSL and the headteacher, as
everywhere else.
"""

from sqlmodel import Session, select

from bot import clock
from bot.alerts.actions import available
from bot.alerts.owner import OWNED_KINDS
from bot.chat.message import CommandResult, Section
from bot.commands.identity import DSL_ROLES
from storage.models import Alert, School, Staff


def open_owned(
    session: Session, *, staff: Staff, pupil_id: int | None = None, shared: bool = False
) -> list[Alert]:
    """Open owned alerts of the staff member's school (of one pupil if given), oldest first.

    ``shared``: the list is shown to a channel, so DSL-only alerts are left out for everyone."""
    query = select(Alert).where(
        Alert.school_id == staff.school_id, Alert.kind.in_(OWNED_KINDS), Alert.status == "open"
    )
    if pupil_id is not None:
        query = query.where(Alert.pupil_id == pupil_id)
    if shared or staff.role not in DSL_ROLES:
        query = query.where(Alert.audience != "dsl")
    return list(session.exec(query.order_by(Alert.id)).all())


def alert_line(alert: Alert, *, tz: str | None) -> str:
    when = clock.to_local(alert.created_at, tz).strftime("%a %H:%M")
    again = f", raised {alert.raised_count} times" if alert.raised_count > 1 else ""
    actions = " | ".join(a.id for a in available(alert))
    line = f"🔴 Alert {alert.id} ({when}{again}): {alert.title}"
    return f"{line} — act {alert.id} {actions}" if actions else line


def pin(
    session: Session,
    result: CommandResult,
    *,
    staff: Staff,
    pupil_id: int | None = None,
    shared: bool = False,
) -> CommandResult:
    """Put the open owned alerts at the top of a command's result (nothing changes when there are none)."""
    if not result.ok:
        return result
    alerts = open_owned(session, staff=staff, pupil_id=pupil_id, shared=shared)
    if not alerts:
        return result
    school = session.get(School, staff.school_id)
    tz = school.timezone if school else None
    heading = "Needs someone now: nobody has recorded what was done"
    result.sections.insert(0, Section(heading=heading, lines=[alert_line(a, tz=tz) for a in alerts]))
    result.data["urgent"] = [
        {"alert_id": a.id, "kind": a.kind, "title": a.title, "raised_count": a.raised_count} for a in alerts
    ]
    return result
