"""``attendance-bot alerts list|act``: the alerts of a school from a terminal.

For the operator and for a school working without Slack or Teams: what is open, what needs someone
now (pinned first, as in ``/absences``), and recording what was done as a named member of staff
(the same ``act`` the chat buttons run, with the same checks: a DSL-only alert needs the DSL or the
headteacher). Alert titles name pupils: this is a staff tool.
"""

import json

import click
from sqlalchemy import or_
from sqlmodel import Session, select

from bot import clock
from bot.alerts.owner import OWNED_KINDS
from bot.commands.service import act as staff_act
from bot.errors import UserError
from bot.runtime import engine as runtime_engine
from storage.db import session_scope
from storage.models import Alert, School, Staff


def _school(session: Session, urn: str) -> School:
    school = session.exec(select(School).where(School.urn == urn)).first()
    if school is None:
        raise click.ClickException(f"No school with URN {urn}.")
    return school


@click.group("alerts")
def alerts() -> None:
    """A school's alerts: list them, or record what was done about one."""


@alerts.command("list")
@click.option("--school", "urn", required=True, help="The school's URN.")
@click.option(
    "--status", type=click.Choice(["open", "acted", "closed", "all"]), default="open", show_default=True
)
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_alerts(urn: str, status: str, limit: int, as_json: bool) -> None:
    """Alerts newest first; open urgent ones (a missing child, MASH, CME, welfare) first of all."""
    with Session(runtime_engine()) as session:
        school = _school(session, urn)
        query = select(Alert).where(Alert.school_id == school.id)
        if status != "all":
            query = query.where(Alert.status == status)
        pinned = (Alert.status == "open") & or_(Alert.severity == "urgent", Alert.kind.in_(OWNED_KINDS))
        rows = session.exec(query.order_by(pinned.desc(), Alert.id.desc()).limit(limit)).all()
        for a in rows:
            when = clock.to_local(a.created_at, school.timezone).strftime("%a %d %b %H:%M")
            if as_json:
                row = {
                    "id": a.id,
                    "kind": a.kind,
                    "severity": a.severity,
                    "audience": a.audience,
                    "status": a.status,
                    "raised_count": a.raised_count,
                    "title": a.title,
                    "created": when,
                    "actions": (a.data or {}).get("actions", []),
                }
                click.echo(json.dumps(row, ensure_ascii=False))
            else:
                again = f" raised {a.raised_count}x" if a.raised_count > 1 else ""
                head = f"{a.id:>6} {when} {a.severity:<6} {a.audience:<10} {a.status:<6}"
                click.echo(f"{head}{again} {a.title}")
        if not rows and not as_json:
            click.echo("No alerts.")


@alerts.command("act")
@click.argument("alert_id", type=int)
@click.argument("action")
@click.option("--school", "urn", required=True, help="The school's URN.")
@click.option("--as", "staff_code", required=True, help="The staff code of who did it (recorded).")
@click.option("--note", default="", help="A note recorded with the action.")
@click.option("--now", "now_text", help="Record it as done at this time (ISO).")
def act_command(
    alert_id: int, action: str, urn: str, staff_code: str, note: str, now_text: str | None
) -> None:
    """Record what was done about an alert, e.g. `act 57 child_found_safe --as OAK-DSL1`."""
    with session_scope(runtime_engine()) as session:
        school = _school(session, urn)
        staff = session.exec(
            select(Staff).where(Staff.school_id == school.id, Staff.staff_code == staff_code, Staff.active)
        ).first()
        if staff is None:
            raise click.ClickException(f"No active member of staff {staff_code} at {school.name}.")
        try:
            alert = staff_act(
                session,
                staff=staff,
                alert_id=alert_id,
                action=action,
                note=note,
                now=clock.parse_now(now_text, school.timezone),
            )
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        done = action.replace("_", " ")
        click.echo(f"Alert {alert.id}: {done} recorded for {staff.name}; now {alert.status}.")


def register(main: click.Group) -> None:
    main.add_command(alerts)
