"""Who is typing: a chat account mapped to a staff record, and what that role may do.

A Slack user id (with the workspace's team id) or a Teams AAD object id maps to one active ``Staff``
row; the row's school and role decide everything the person may see and change. An unknown
account, or a known one asking for something outside its role, gets a polite refusal; the attempt
is written to the case log as a ``refused`` event (ids only) and to the log.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.errors import PermissionDenied
from bot.policy import ROLES
from storage.models import School, Staff

log = logging.getLogger(__name__)

ALL_ROLES = ROLES

# Which roles may use each command. Recoding and alert actions are further limited by the school's
# policy (``recode_roles``/``recode_n_roles``) and the action's own roles.
COMMAND_ROLES: dict[str, tuple[str, ...]] = {
    "help": ALL_ROLES,
    "absences": ALL_ROLES,
    "pupil": ALL_ROLES,
    "call": ("attendance_officer", "dsl", "pastoral", "admin", "headteacher"),
    "notice": ("attendance_officer", "dsl", "pastoral", "admin", "headteacher"),
    "recode": ALL_ROLES,
    "act": ALL_ROLES,
}

# Roles that see alerts meant for the designated safeguarding lead.
DSL_ROLES = ("dsl", "headteacher")

UNKNOWN_USER = (
    "Sorry, I don't know you yet, so I can't do that. Ask your school's attendance lead to add "
    "your {tool} account to the staff list."
)


@dataclass(frozen=True)
class Who:
    """A chat account as the edge saw it (ids only)."""

    tool: str  # slack | teams | sandbox
    user_id: str
    team_id: str | None = None  # Slack: the workspace; Teams: the URN whose webhook token signed it


class Refused(PermissionDenied):
    """The person may not do this; the message is the polite refusal."""


def find_staff(session: Session, who: Who) -> Staff | None:
    if not who.user_id:
        return None
    if who.tool == "teams":
        # A school's own webhook token speaks only for that school's staff.
        query = select(Staff).where(Staff.teams_user_id == who.user_id, Staff.active)
        if who.team_id:
            query = query.join(School, School.id == Staff.school_id).where(School.urn == who.team_id)
        rows = session.exec(query.order_by(Staff.id)).all()
        return rows[0] if rows else None
    rows = session.exec(
        select(Staff, School.slack_team_id)
        .join(School, School.id == Staff.school_id)
        .where(Staff.slack_user_id == who.user_id, Staff.active)
        .order_by(Staff.id)
    ).all()
    # A school that names its workspace only accepts that workspace's users.
    matching = [s for s, team in rows if not (who.team_id and team and team != who.team_id)]
    if who.team_id:
        exact = [s for s, team in rows if team == who.team_id]
        if exact:
            return exact[0]
    return matching[0] if matching else None


def school_for(session: Session, who: Who) -> int | None:
    """The school an unknown account seems to come from (its Slack workspace), if any."""
    if who.tool == "slack" and who.team_id:
        return session.exec(select(School.id).where(School.slack_team_id == who.team_id)).first()
    return None


def identify(session: Session, who: Who, *, now: datetime) -> Staff:
    """The member of staff behind a chat account; an unknown account is refused and recorded."""
    staff = find_staff(session, who)
    if staff is None:
        record_refusal(session, who=who, staff=None, command=None, reason="unknown user", now=now)
        raise Refused(UNKNOWN_USER.format(tool=who.tool.capitalize()))
    return staff


def require_role(staff: Staff, command: str) -> None:
    allowed = COMMAND_ROLES.get(command, ())
    if staff.role not in allowed:
        role = staff.role.replace("_", " ")
        raise Refused(f"Sorry, your role ({role}) can't use {command}. Ask your attendance officer or DSL.")


def record_refusal(
    session: Session, *, who: Who | None, staff: Staff | None, command: str | None, reason: str, now: datetime
) -> None:
    """Keep the attempt: a ``refused`` case event where the school is known, and a log line."""
    school_id = staff.school_id if staff else (school_for(session, who) if who else None)
    data = {"command": command, "reason": reason, "staff_id": staff.id if staff else None}
    if who is not None:
        data.update(tool=who.tool, user_id=who.user_id, team_id=who.team_id)
    log.warning("command refused: %s", data)
    if school_id is None:
        return
    from bot.cases.service import log as case_log

    case_log(
        session,
        school_id=school_id,
        kind="refused",
        summary=f"Refused: {command or 'command'} ({reason})",
        actor=f"staff:{staff.id}" if staff else f"{data.get('tool')}:{data.get('user_id')}",
        data=data,
        now=now,
    )
    session.flush()
