"""Marks: taking them from the MIS, and amending them through the one audited path.

``recode`` is the only function through which the bot changes a mark. It writes the audit row the
2024 regulations require (original entry, amended entry, reason, date, name and role) and queues
the change for the MIS (``bot.register.writeback``), both in the transaction of the change, and
then lets the absence case react.

The MIS holds the legal register. Every read of it (Wonde, a CSV export, the sandbox's stand-in)
goes through ``take_marks`` (or ``record_mark`` for one), which follows one rule for a mark the bot
amended: if the MIS still shows what it showed when the bot last read it (``Mark.mis_code``), the
bot's amendment stands (it is on its way to the MIS); if the MIS now shows the amended code, the
two agree; if it shows anything else, someone changed it in the MIS since, and **the MIS wins**:
the change is recorded as an amendment whose source is the MIS, any queued write-back of the mark
is cancelled, and the attendance officer is told. Thresholds then count what the legal register
shows, never an O the MIS no longer has.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import Session, select

from bot import codes
from bot.actors import Actor
from bot.errors import NotFound, PermissionDenied, UserError
from bot.policy import policy_for
from bot.register import writeback
from storage.bulk import bulk_insert
from storage.models import Mark, MarkAmendment, Pupil, School

SESSIONS = ("AM", "PM")
AMENDED_SOURCES = frozenset({"bot", "staff"})  # marks changed through ``recode``
MIS_NAMES = {"mis": "MIS (read through Wonde)", "import": "MIS (CSV export)"}


def parse_sessions(raw: str | None) -> list[str]:
    value = (raw or "both").strip().upper()
    if value in {"BOTH", "ALL", "DAY"}:
        return list(SESSIONS)
    if value in SESSIONS:
        return [value]
    raise UserError(f"'{raw}' is not a session: use am, pm or both")


# --------------------------------------------------------------------------------------------------
# Reading the MIS
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Current:
    """A stored mark, as much as deciding what a new read of the MIS means needs."""

    id: int
    code: str
    minutes_late: int | None
    source: str
    mis_code: str | None


def classify(current: Current | None, code: str, minutes_late: int | None) -> str:
    """What the MIS's ``code`` for a session means for the stored mark.

    ``insert`` (no mark yet), ``unchanged``, ``update`` (an MIS mark the MIS changed), ``kept`` (the
    bot amended it and the MIS still shows its old entry: the amendment stands until written back),
    ``adopt`` (the MIS now shows the bot's amendment) or ``override`` (the MIS changed a mark the bot
    amended: the MIS wins).
    """
    if current is None:
        return "insert"
    if current.source not in AMENDED_SOURCES:
        if current.code == code and current.minutes_late == minutes_late:
            return "unchanged" if current.mis_code == code else "adopt"
        return "update"
    if code == current.code:
        return "unchanged" if current.mis_code == code else "adopt"
    if current.mis_code is None or code == current.mis_code:
        return "kept"
    return "override"


@dataclass(frozen=True)
class Incoming:
    pupil_id: int
    day: date
    session: str  # AM | PM
    code: str  # a national code, already checked
    minutes_late: int | None = None


@dataclass
class Taken:
    """What a read of the MIS changed."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0
    adopted: int = 0
    overridden: list[MarkAmendment] = field(default_factory=list)
    # (pupil id, day, session, code before or None, code now) for every mark whose code changed
    changes: list[tuple[int, date, str, str | None, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "marks_new": self.created,
            "marks_changed": self.updated,
            "marks_kept": self.kept,
            "mis_overrode_amendments": len(self.overridden),
        }


def existing_marks(
    session: Session, *, school_id: int, days: Iterable[date], pupil_ids: Iterable[int] | None = None
) -> dict[tuple, Current]:
    """The school's marks on these days (of these pupils): (pupil id, day, session) -> ``Current``."""
    days = set(days)
    if not days:
        return {}
    query = select(
        Mark.id,
        Mark.pupil_id,
        Mark.date,
        Mark.session,
        Mark.code,
        Mark.minutes_late,
        Mark.source,
        Mark.mis_code,
    ).where(Mark.school_id == school_id)
    # A read of the MIS is today's marks plus a few late changes: the days themselves, not the span
    # between them (which could be a term's worth of marks).
    query = (
        query.where(Mark.date.in_(sorted(days)))
        if len(days) <= 31
        else query.where(Mark.date >= min(days), Mark.date <= max(days))
    )
    if pupil_ids is not None:
        query = query.where(Mark.pupil_id.in_(sorted(set(pupil_ids))))
    rows = session.exec(query).all()
    return {(p, d, s): Current(i, c, late, src, mis) for i, p, d, s, c, late, src, mis in rows}


def take_marks(
    session: Session, *, school_id: int, marks: list[Incoming], source: str = "mis", now: datetime
) -> Taken:
    """Take what the MIS shows for these sessions, set-based (a trust's morning is 50,000 marks).

    Later items win over earlier ones for the same session. See the module's docstring for the
    rule on marks the bot amended.
    """
    latest: dict[tuple, Incoming] = {(m.pupil_id, m.day, m.session): m for m in marks}
    few = len(latest) <= 50  # one pupil's marks (a recode, the sandbox): don't read the whole school's
    current = existing_marks(
        session,
        school_id=school_id,
        days={m.day for m in latest.values()},
        pupil_ids={m.pupil_id for m in latest.values()} if few else None,
    )
    taken = Taken()
    plan = _Plan()
    for key, m in latest.items():
        cur = current.get(key)
        decision = classify(cur, m.code, m.minutes_late)
        if decision == "insert":
            plan.inserts.append(
                {
                    "school_id": school_id,
                    "pupil_id": m.pupil_id,
                    "date": m.day,
                    "session": m.session,
                    "code": m.code,
                    "minutes_late": m.minutes_late,
                    "source": source,
                    "recorded_at": now,
                    "mis_code": m.code,
                }
            )
            taken.changes.append((m.pupil_id, m.day, m.session, None, m.code))
        elif decision == "unchanged":
            taken.unchanged += 1
        elif decision == "kept":
            taken.kept += 1
        elif decision == "adopt":
            plan.adopted[cur.id] = m.code
        elif decision == "update":
            plan.updates[(m.code, m.minutes_late)].append(cur.id)
            if cur.code != m.code:
                taken.changes.append((m.pupil_id, m.day, m.session, cur.code, m.code))
        else:
            plan.overrides.append((cur, m))
    _write(session, plan, taken, source=source, now=now)
    return taken


@dataclass
class _Plan:
    inserts: list[dict] = field(default_factory=list)
    updates: dict[tuple[str, int | None], list[int]] = field(default_factory=lambda: defaultdict(list))
    adopted: dict[int, str] = field(default_factory=dict)  # mark id -> the code the MIS now agrees on
    overrides: list[tuple[Current, Incoming]] = field(default_factory=list)


def _write(session: Session, plan: _Plan, taken: Taken, *, source: str, now: datetime) -> None:
    bulk_insert(session, Mark.__table__, plan.inserts)
    taken.created = len(plan.inserts)
    # A register has a handful of distinct (code, minutes late) values: one UPDATE ... WHERE id IN
    # (...) per value and chunk instead of one statement per mark.
    for (code, late), ids in plan.updates.items():
        for start in range(0, len(ids), 1000):
            session.execute(
                update(Mark)
                .where(Mark.id.in_(ids[start : start + 1000]))
                .values(code=code, minutes_late=late, source=source, recorded_at=now, mis_code=code)
            )
        taken.updated += len(ids)
    if plan.adopted:
        for code, ids in _group(plan.adopted).items():
            session.execute(update(Mark).where(Mark.id.in_(ids)).values(mis_code=code))
        writeback.confirm(session, marks=plan.adopted, now=now)
        taken.adopted = len(plan.adopted)
    for cur, m in plan.overrides:
        mark = session.get(Mark, cur.id)
        taken.overridden.append(
            mis_wins(session, mark=mark, code=m.code, minutes_late=m.minutes_late, source=source, now=now)
        )
        taken.changes.append((m.pupil_id, m.day, m.session, cur.code, m.code))
    session.flush()


def _group(by_id: dict[int, str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for mark_id, code in by_id.items():
        out[code].append(mark_id)
    return out


def mis_wins(
    session: Session, *, mark: Mark, code: str, minutes_late: int | None, source: str, now: datetime
) -> MarkAmendment:
    """The MIS changed a mark the bot had amended: take the MIS's code, record it as an amendment
    whose source is the MIS, cancel the bot's pending write-back of the mark, tell the attendance
    officer, and let the absence case react as to any change of the register."""
    from bot.cases.service import after_marks_changed

    previous = session.exec(
        select(MarkAmendment).where(MarkAmendment.mark_id == mark.id).order_by(MarkAmendment.id.desc())
    ).first()
    amendment = _take_mis_code(
        session, mark=mark, code=code, minutes_late=minutes_late, source=source, now=now
    )
    cancelled = writeback.cancel_pending(
        session,
        mark_ids=[mark.id],
        status="conflict",
        now=now,
        error=f"the MIS changed the mark to {code} before this change was written back",
    )
    _alert_mis_changed(
        session,
        mark=mark,
        amendment=amendment,
        bot_change_by=previous.amended_by_name if previous else None,
        writeback_cancelled=bool(cancelled),
        now=now,
    )
    after_marks_changed(
        session,
        school_id=mark.school_id,
        pupil_id=mark.pupil_id,
        actor=Actor(name=amendment.amended_by_name, role="mis"),
        amendments=[amendment],
        now=now,
    )
    return amendment


def _take_mis_code(
    session: Session, *, mark: Mark, code: str, minutes_late: int | None, source: str, now: datetime
) -> MarkAmendment:
    """Set the mark to the MIS's code and keep the change as an amendment made by the MIS (audit)."""
    amendment = MarkAmendment(
        school_id=mark.school_id,
        mark_id=mark.id,
        pupil_id=mark.pupil_id,
        date=mark.date,
        session=mark.session,
        original_code=mark.code,
        amended_code=code,
        reason="Changed in the MIS after the bot's amendment: the MIS holds the legal register",
        amended_by_name=MIS_NAMES.get(source, "MIS"),
        amended_by_role="mis",
        source=source,
        amended_at=now,
    )
    session.add(amendment)
    mark.code, mark.minutes_late, mark.source, mark.mis_code, mark.recorded_at = (
        code,
        minutes_late,
        source,
        code,
        now,
    )
    session.add(mark)
    session.flush()
    return amendment


def _alert_mis_changed(
    session: Session,
    *,
    mark: Mark,
    amendment: MarkAmendment,
    bot_change_by: str | None,
    writeback_cancelled: bool,
    now: datetime,
) -> None:
    """Tell the attendance officer the MIS overrode the bot's change, so nobody is surprised by it.

    When the bot's change had not been written back yet, it never will be: they are asked to check
    which code is right.
    """
    from bot.alerts.service import raise_alert

    pupil = session.get(Pupil, mark.pupil_id)
    was, code = amendment.original_code, amendment.amended_code
    by = f" by {bot_change_by}" if bot_change_by is not None else ""
    body = (
        f"The bot had changed {pupil.first_name} {pupil.last_name}'s {mark.date:%a %d %b} {mark.session} "
        f"mark to {was}{by}. Since then the MIS has been changed to {code}; the MIS holds the legal "
        f"register, so {code} now stands here too."
    )
    if writeback_cancelled:
        body += f" The bot's change ({was}) was not written back: check which is right and recode if needed."
    raise_alert(
        session,
        school_id=mark.school_id,
        key=f"mis-changed:{mark.id}:{amendment.id}",
        kind="mis_changed_mark",
        audience="attendance",
        title=f"Changed in the MIS: {pupil.first_name} {pupil.last_name}, "
        f"{mark.date:%a %d %b} {mark.session} is now {code}",
        body=body,
        pupil_id=pupil.id,
        data={
            "actions": ["acknowledge"],
            "mark_id": mark.id,
            "was": was,
            "now": code,
            "writeback_cancelled": writeback_cancelled,
        },
        now=now,
    )


def record_mark(
    session: Session,
    *,
    school_id: int,
    pupil_id: int,
    day: date,
    session_name: str,
    code: str,
    source: str = "mis",
    minutes_late: int | None = None,
    now: datetime,
) -> Mark:
    """Take one mark as the register (MIS) states it (``take_marks`` for one session)."""
    code = codes.lookup(code).code
    take_marks(
        session,
        school_id=school_id,
        source=source,
        now=now,
        marks=[Incoming(pupil_id, day, session_name, code, minutes_late)],
    )
    return session.exec(
        select(Mark).where(Mark.pupil_id == pupil_id, Mark.date == day, Mark.session == session_name)
    ).one()


# --------------------------------------------------------------------------------------------------
# The one audited door
# --------------------------------------------------------------------------------------------------


def may_recode(actor: Actor, *, original: str, allowed_roles: list[str], n_roles: list[str]) -> bool:
    if actor.role == "system":
        return original == "N"
    if original == "N":
        return actor.role in n_roles or actor.role in allowed_roles
    return actor.role in allowed_roles


def _marks_to_change(
    session: Session, *, pupil: Pupil, day: date, sessions: list[str], actor: Actor, policy
) -> list[Mark]:
    """Every session's mark, locked; refused as a whole if one is missing or the actor may not change it."""
    marks = []
    for name in sessions:
        mark = session.exec(
            select(Mark)
            .where(Mark.pupil_id == pupil.id, Mark.date == day, Mark.session == name)
            .with_for_update()
        ).first()
        if mark is None:
            raise NotFound(f"{pupil.first_name} has no {name} mark on {day:%a %d %b %Y}.")
        if not may_recode(
            actor, original=mark.code, allowed_roles=policy.recode_roles, n_roles=policy.recode_n_roles
        ):
            what = "an N mark" if mark.code == "N" else f"a {mark.code} mark"
            raise PermissionDenied(
                f"Your role ({actor.role.replace('_', ' ')}) may not change {what}. "
                "Ask the attendance officer."
            )
        marks.append(mark)
    return marks


def _amend(
    session: Session, mark: Mark, *, target: str, reason: str, actor: Actor, now: datetime
) -> MarkAmendment:
    """Change one mark and write its audit row."""
    amendment = MarkAmendment(
        school_id=mark.school_id,
        mark_id=mark.id,
        pupil_id=mark.pupil_id,
        date=mark.date,
        session=mark.session,
        original_code=mark.code,
        amended_code=target,
        reason=reason,
        amended_by_name=actor.name,
        amended_by_role=actor.role,
        staff_id=actor.staff_id,
        source="staff" if actor.staff_id else "bot",
        amended_at=now,
    )
    mark.code = target
    mark.source = amendment.source
    session.add(mark)
    session.add(amendment)
    session.flush()
    return amendment


def recode(
    session: Session,
    *,
    school_id: int,
    pupil_id: int,
    day: date,
    sessions: list[str],
    new_code: str,
    reason: str,
    actor: Actor,
    now: datetime,
) -> list[MarkAmendment]:
    """Amend marks, writing one audit row each. Nothing changes unless every session can change."""
    pupil = session.get(Pupil, pupil_id)
    if pupil is None or pupil.school_id != school_id:
        raise NotFound("No such pupil in your school.")
    if actor.school_id is not None and actor.school_id != school_id:
        raise PermissionDenied("You can only change marks for your own school.")
    target = codes.lookup(new_code).code
    if target == "N":
        raise UserError("N is set when the register closes; recode to the reason's code instead.")
    reason = (reason or "").strip()
    if not reason:
        raise UserError("Give a reason for the change: the register's audit needs one.")
    marks = _marks_to_change(
        session, pupil=pupil, day=day, sessions=sessions, actor=actor, policy=policy_for(session, school_id)
    )
    school = session.get(School, school_id)
    amendments = []
    for mark in marks:
        if mark.code == target:
            continue
        amendment = _amend(session, mark, target=target, reason=reason, actor=actor, now=now)
        # Same transaction: the change reaches the MIS if and only if it happened.
        writeback.queue(session, school=school, amendment=amendment, mark=mark, now=now)
        amendments.append(amendment)
    session.flush()
    if amendments:
        from bot.cases.service import after_marks_changed

        after_marks_changed(
            session, school_id=school_id, pupil_id=pupil_id, actor=actor, amendments=amendments, now=now
        )
    return amendments
