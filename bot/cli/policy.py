"""``attendance-bot policy show|set|import|history --school URN``: the school's policy as a file.

``show`` prints the school's whole policy as YAML, a comment above every setting: save it, edit it,
and ``import`` it back (a file may hold only the settings to change). ``set KEY VALUE`` changes one
setting. Every problem in the input is named and nothing changes; every change is recorded with who
made it (``--by``, default the operating-system user) and when (``history``). The format is in
``docs/policy.md``.
"""

import getpass
import json
from pathlib import Path

import click
from sqlmodel import Session, select

from bot import clock
from bot.policy_admin import PolicyError, apply, current, history, load_yaml, parse_assignment, render_yaml
from bot.runtime import engine as runtime_engine
from storage.db import session_scope
from storage.models import School


def _school(session: Session, urn: str) -> School:
    school = session.exec(select(School).where(School.urn == urn)).first()
    if school is None:
        raise click.ClickException(
            f"No school with URN {urn}. Import it first (attendance-bot import "
            "schools FILE) or run attendance-bot demo-data."
        )
    return school


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container): the change must still say who
        raise click.ClickException("Say who is making the change: --by NAME.") from None


def _change(urn: str, values, *, by: str | None, source: str, now_text: str | None) -> None:
    with session_scope(runtime_engine()) as session:
        school = _school(session, urn)
        now = clock.parse_now(now_text, school.timezone)
        try:
            changes = apply(
                session, school=school, values=values, changed_by=_who(by), source=source, now=now
            )
        except PolicyError as exc:
            raise click.ClickException(str(exc)) from None
        name = school.name
    if not changes:
        click.echo(f"{name}: nothing changed (the policy already says that).")
        return
    click.echo(f"{name}: {len(changes)} setting(s) changed:")
    for key, change in changes.items():
        before, after = (json.dumps(change[k], default=str, ensure_ascii=False) for k in ("from", "to"))
        click.echo(f"  {key}: {before} -> {after}")


@click.group("policy")
def policy() -> None:
    """A school's policy: register and chase times, ladders, thresholds, tiers, who is told."""


@policy.command("show")
@click.option("--school", "urn", required=True, help="The school's URN.")
def show(urn: str) -> None:
    """Print the school's policy as a YAML file (ready to edit and import)."""
    with session_scope(runtime_engine()) as session:
        school = _school(session, urn)
        click.echo(render_yaml(school, current(session, school=school)))


@policy.command("set")
@click.option("--school", "urn", required=True, help="The school's URN.")
@click.option("--by", help="Who is making the change (recorded; default: your login name).")
@click.option("--now", "now_text", help="Record the change as made at this time (ISO).")
@click.argument("key")
@click.argument("value")
def set_(urn: str, by: str | None, now_text: str | None, key: str, value: str) -> None:
    """Set one setting, e.g. `am_close 09:00`, `chase_times "[11:00, 14:30]"`,
    `thresholds.penalty_sessions 8`, `dsl_mobile "07700 900123"`."""
    try:
        values = parse_assignment(key, value)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    _change(urn, values, by=by, source="set", now_text=now_text)


@policy.command("import")
@click.option("--school", "urn", required=True, help="The school's URN.")
@click.option("--by", help="Who is making the change (recorded; default: your login name).")
@click.option("--now", "now_text", help="Record the change as made at this time (ISO).")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(urn: str, by: str | None, now_text: str | None, path: Path) -> None:
    """Load a policy file (YAML; only the settings it holds change). All or nothing."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException(f"{path} is not UTF-8 text: save it again as UTF-8.") from None
    try:
        values = load_yaml(text)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    _change(urn, values, by=by, source="import", now_text=now_text)


@policy.command("history")
@click.option("--school", "urn", required=True, help="The school's URN.")
def history_(urn: str) -> None:
    """Who changed which setting, when, from what to what (newest first)."""
    with session_scope(runtime_engine()) as session:
        school = _school(session, urn)
        rows = history(session, school=school)
        if not rows:
            click.echo(f"{school.name}: no policy changes recorded.")
        for row in rows:
            when = clock.to_local(row.at, school.timezone).strftime("%Y-%m-%d %H:%M")
            click.echo(f"{when} {row.changed_by} ({row.source}): {', '.join(row.changes)}")


def register(main: click.Group) -> None:
    main.add_command(policy)
