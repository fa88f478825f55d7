"""``attendance-bot demo``: a scripted absence week for the sample school, in the terminal.

No server and no accounts: a temporary SQLite database (or ``--database-url``), the sample trust
loaded through the import service, local transports, and each step run at its own ``now``.
Every step runs the real code (the clock's jobs, the inbound-SMS service, the staff command
dispatcher, the alert actions) and the script prints what each person would see:

- Mon 23 Nov 2026: three pupils are N at registration. Their families get a text. One parent
  replies "she's got a temperature, back tomorrow" (understood as illness; staff accept the code I
  and the mark is amended with its audit row); another says "I dropped him at the gate this
  morning" (an urgent missing-child alert); the third family never answers.
- Tue 24 – Fri 27 Nov: the silent family is chased every day; the escalation sweep raises the day-3
  home-visit alert on Wednesday, the day-4 reminder on Thursday and the day-5 MASH alert on Friday,
  each exactly once.

The three pupils are chosen from the sample data by a fixed rule (first names that fit the story,
single-child families reachable by text in English), so every run prints the same week.
"""

import logging
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import click
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot import clock
from bot.settings import Settings, load_settings

URN = "100001"
WEEK = [date(2026, 11, 23) + timedelta(days=i) for i in range(5)]
GIRLS = (
    "Amelia",
    "Ava",
    "Isla",
    "Olivia",
    "Lily",
    "Grace",
    "Freya",
    "Emily",
    "Poppy",
    "Ella",
    "Mia",
    "Sophia",
)
BOYS = ("Oliver", "Harry", "Jack", "George", "Noah", "Leo", "Freddie", "Charlie", "Alfie", "Theo", "Arthur")
PRESENT = "/"
TEMPERATURE = "She's got a temperature, back tomorrow"
AT_THE_GATE = "I dropped him at the gate this morning"
ASCII = {
    "📱": "[phone]",
    "💬": "[chat]",
    "🚨": "[alert]",
    "🕒": "[clock]",
    "→": "->",
    "“": '"',
    "”": '"',
    "–": "-",
    "—": "-",
    "·": "|",
    "…": "...",
    "’": "'",
}


class Printer:
    """Prints per actor; falls back to ASCII when the terminal cannot show the symbols."""

    def __init__(self) -> None:
        enc = (getattr(sys.stdout, "encoding", None) or "ascii").lower()
        self.enc = enc
        self.utf = "utf" in enc

    def line(self, text: str = "") -> None:
        if not self.utf:
            for k, v in ASCII.items():
                text = text.replace(k, v)
            text = text.encode(self.enc, "replace").decode(self.enc)
        click.echo(text)

    def block(self, head: str, body: str = "", indent: str = "     ") -> None:
        self.line(head)
        for row in (body or "").splitlines():
            self.line(indent + row)

    def day(self, day: date) -> None:
        self.line("")
        self.line(f"══════ {day:%A %d %B %Y} ══════" if self.utf else f"====== {day:%A %d %B %Y} ======")


@dataclass
class Cast:
    pupil_id: int
    name: str
    first: str
    contact_id: int
    contact_first: str
    relationship: str
    mobile: str

    @property
    def parent(self) -> str:
        return f"Parent ({self.first}'s {self.relationship}, {self.contact_first})"


# --------------------------------------------------------------------------------------------------
# Setting up
# --------------------------------------------------------------------------------------------------


def _settings(database_url: str) -> Settings:
    """Local transports whatever the environment says: the demo never texts anyone."""
    return load_settings(
        database_url=database_url,
        environment="development",
        twilio_account_sid=None,
        twilio_auth_token=None,
        twilio_messaging_service_sid=None,
        twilio_from_number=None,
        smtp_host=None,
        slack_bot_token=None,
        slack_app_token=None,
        slack_signing_secret=None,
        sandbox_enabled=None,
    )


def _load_sample(engine: Engine, out: Printer, *, now: datetime) -> None:
    from bot.importing import import_file
    from storage.db import session_scope
    from storage.models import School
    from tryout.sample import sample_files

    with Session(engine) as s:
        if s.exec(select(School).where(School.urn == URN)).first() is not None:
            return
    with session_scope(engine) as s:
        for kind, path, urn in sample_files():
            if urn not in (None, URN):
                continue
            result = import_file(s, kind=kind, path_or_stream=path, school_urn=urn, now=now)
            if not result.ok:
                raise click.ClickException(f"sample {path.name}: {result.errors[:3]}")
    out.line("Loaded the sample school (pupils, families, staff, the 2026/27 calendar, marks to Fri 20 Nov).")


def _cast(session: Session, school_id: int) -> tuple[Cast, Cast, Cast]:
    """Three single-child families reachable by text in English, whose names fit the story."""
    from storage.models import Contact, Pupil, PupilContact

    def candidates(names: tuple[str, ...]) -> list[Cast]:
        found = []
        for first in names:
            pupils = session.exec(
                select(Pupil)
                .where(Pupil.school_id == school_id, Pupil.first_name == first, Pupil.on_roll)
                .order_by(Pupil.mis_id)
            ).all()
            for p in pupils:
                if p.vulnerable or p.has_yot_worker or p.preferred_name:
                    continue
                link = session.exec(
                    select(PupilContact)
                    .where(PupilContact.pupil_id == p.id)
                    .order_by(PupilContact.priority, PupilContact.id)
                ).first()
                if link is None:
                    continue
                contact = session.get(Contact, link.contact_id)
                children = session.exec(
                    select(func.count())
                    .select_from(PupilContact)
                    .where(PupilContact.contact_id == contact.id)
                ).one()
                if contact.mobile and contact.language == "en" and not contact.sms_opt_out and children == 1:
                    found.append(
                        Cast(
                            p.id,
                            f"{p.first_name} {p.last_name}",
                            p.first_name,
                            contact.id,
                            contact.first_name,
                            link.relationship or "parent",
                            contact.mobile,
                        )
                    )
        return found

    girls, boys = candidates(GIRLS), candidates(BOYS)
    if not girls or len(boys) < 2:
        raise click.ClickException("The sample data has no pupils that fit the script.")
    return girls[0], boys[0], boys[1]


# --------------------------------------------------------------------------------------------------
# The week
# --------------------------------------------------------------------------------------------------


class Week:
    def __init__(self, engine: Engine, settings: Settings, out: Printer) -> None:
        from storage.models import Alert, OutboxMessage, Pupil, School, Staff

        self.engine, self.settings, self.out = engine, settings, out
        with Session(engine, expire_on_commit=False) as s:
            self.school = s.exec(select(School).where(School.urn == URN)).one()
            self.a, self.b, self.c = _cast(s, self.school.id)
            staff = {m.role: m for m in s.exec(select(Staff).where(Staff.school_id == self.school.id)).all()}
            self.officer, self.pastoral, self.dsl = (
                staff["attendance_officer"],
                staff["pastoral"],
                staff["dsl"],
            )
            self.last_message = s.exec(select(func.max(OutboxMessage.id))).one() or 0
            self.last_alert = s.exec(select(func.max(Alert.id))).one() or 0
        self.pupils = {c.pupil_id: c for c in (self.a, self.b, self.c)}
        with Session(engine) as s:
            self.everyone = list(
                s.exec(select(Pupil.id).where(Pupil.school_id == self.school.id, Pupil.on_roll))
            )
        self.phones = self._phones()

    def _phones(self) -> dict[int, str]:
        """Every contact of the three pupils, labelled as the script prints them."""
        from storage.models import Contact, PupilContact

        labels = {}
        with Session(self.engine) as s:
            for who in self.pupils.values():
                for link, contact in s.exec(
                    select(PupilContact, Contact)
                    .join(Contact, Contact.id == PupilContact.contact_id)
                    .where(PupilContact.pupil_id == who.pupil_id)
                ):
                    labels[contact.id] = (
                        f"Parent ({who.first}'s {link.relationship or 'parent'}, {contact.first_name})"
                    )
        return labels

    # ---- time and what people see ----

    def at(self, day: date, hh_mm: str) -> datetime:
        return clock.at_local(day, time.fromisoformat(hh_mm), self.school.timezone)

    def clock_says(self, when: datetime, what: str) -> None:
        self.out.line(f"🕒 Clock {clock.to_local(when, self.school.timezone):%a %H:%M} · {what}")

    def show_messages(self) -> None:
        """Texts and emails delivered since the last look, as the families' phones show them."""
        from storage.models import OutboxMessage

        with Session(self.engine) as s:
            rows = s.exec(
                select(OutboxMessage)
                .where(OutboxMessage.id > self.last_message, OutboxMessage.school_id == self.school.id)
                .order_by(OutboxMessage.id)
            ).all()
        others = 0
        for m in rows:
            who = self.phones.get(m.contact_id)
            if who is None:
                others += 1
                continue
            what = "email" if m.channel == "email" else "text"
            self.out.block(f"📱 {who} receives a {what} ({m.status}):", f"“{m.body}”")
        if rows:
            self.last_message = rows[-1].id
        if others:
            self.out.line(f"   (and {others} message{'s' if others > 1 else ''} to other families or staff)")

    def show_alerts(self) -> list[int]:
        """New alerts about the three pupils, as the pastoral channel shows them."""
        from storage.models import Alert

        with Session(self.engine) as s:
            rows = s.exec(
                select(Alert)
                .where(Alert.id > self.last_alert, Alert.school_id == self.school.id)
                .order_by(Alert.id)
            ).all()
        shown, others = [], {}
        for a in rows:
            if a.pupil_id in self.pupils:
                tag = {"urgent": "URGENT", "high": "high", "normal": "normal"}[a.severity]
                self.out.block(f"🚨 Pastoral channel [{a.audience}, {tag}] {a.title}", a.body)
                shown.append(a.id)
            else:
                others[a.kind] = others.get(a.kind, 0) + 1
        if rows:
            self.last_alert = rows[-1].id
        if others:
            self.out.line(
                "   (other alerts today: "
                + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(others.items()))
                + ")"
            )
        return shown

    # ---- steps ----

    def register(self, day: date, session_name: str, marks: dict[int, str]) -> None:
        """The MIS writes the register: our three pupils as scripted, everyone else from the stand-in."""
        from bot.policy import policy_for
        from bot.register.service import record_mark
        from storage.db import session_scope
        from storage.models import Mark
        from tryout.sandbox import service

        with Session(self.engine) as s:
            policy = policy_for(s, self.school.id)
            close = policy.am_close if session_name == "AM" else policy.pm_close
        when = self.at(day, close.strftime("%H:%M"))
        with session_scope(self.engine) as s:
            for pupil_id, code in marks.items():
                record_mark(
                    s,
                    school_id=self.school.id,
                    pupil_id=pupil_id,
                    day=day,
                    session_name=session_name,
                    code=code,
                    now=when,
                )
            # Everyone else is present: written in one go, as an MIS export would be.
            s.add_all(
                [
                    Mark(
                        school_id=self.school.id,
                        pupil_id=pid,
                        date=day,
                        session=session_name,
                        code=PRESENT,
                        source="mis",
                        recorded_at=when,
                    )
                    for pid in self.everyone
                    if pid not in marks
                ]
            )
        absent = [self.pupils[p].name for p, code in marks.items() if code == "N"]
        self.clock_says(
            when,
            f"{session_name} register closes · N (no reason yet): "
            + (", ".join(absent) if absent else "nobody"),
        )
        service.close_register(
            self.engine, self.settings, school_id=self.school.id, session_name=session_name, at=when
        )
        self.show_messages()
        self.show_alerts()

    def chase(self, day: date, slot: str) -> None:
        from tryout.sandbox import service

        when = self.at(day, slot)
        self.clock_says(when, "chase families of absences still unexplained")
        school = service._school(self.engine, self.school.id)
        with Session(self.engine) as s:
            service.move_to(s, school=school, now=when)
            s.commit()
        service.run_jobs(
            self.engine,
            self.settings,
            school=school,
            at=when,
            jobs=[("chase", {"slot": slot}), *service.AFTER_STEP],
        )
        self.show_messages()
        self.show_alerts()

    def morning(self, day: date) -> None:
        from tryout.sandbox import service

        self.out.day(day)
        when = self.at(day, "08:45")
        self.clock_says(when, "morning escalation sweep")
        service.start_day(self.engine, self.settings, school_id=self.school.id, day=day)
        self.show_alerts()

    def evening(self, day: date) -> None:
        from tryout.sandbox import service

        when = self.at(day, "16:00")
        self.clock_says(when, "statutory sweep (N→O, thresholds)")
        with Session(self.engine) as s:
            service.move_to(s, school=self.school, now=when)
            s.commit()
        service.end_day(self.engine, self.settings, school_id=self.school.id)
        self.show_messages()
        self.show_alerts()

    def parent_texts(self, who: Cast, day: date, hh_mm: str, body: str) -> None:
        from bot.replies import wording
        from bot.replies.service import receive_sms
        from storage.db import session_scope
        from storage.models import InboundMessage
        from tryout.sandbox import service

        when = self.at(day, hh_mm)
        self.out.line(
            f"📱 {who.parent} texts the school at {clock.to_local(when, self.school.timezone):%H:%M}:"
        )
        self.out.line(f"     “{body}”")
        with session_scope(self.engine) as s:
            outcome = receive_sms(
                s,
                settings=self.settings,
                message_sid=f"SMdemo{who.contact_id}{when:%d%H%M}",
                from_number=who.mobile,
                to_number=service.school_number(self.school),
                body=body,
                now=when,
            )
            inbound = s.get(InboundMessage, outcome.inbound_ids[0])
            back = f", back {inbound.return_date:%a %d %b}" if inbound.return_date else ""
            self.out.line(f"   → the bot understood: {wording.code_label(inbound.code)}{back}")
        service.run_jobs(self.engine, self.settings, school=self.school, at=when, jobs=service.AFTER_STEP)
        self.show_alerts()
        self.show_messages()

    def staff_types(self, staff, day: date, hh_mm: str, text: str) -> None:
        from bot.chat import plain
        from bot.commands.dispatch import run_command
        from storage.db import session_scope

        when = self.at(day, hh_mm)
        with session_scope(self.engine) as s:
            result = run_command(s, staff=s.get(type(staff), staff.id), text=text, now=when)
        self.out.block(
            f"💬 Staff · {staff.name} ({staff.role.replace('_', ' ')}) types {text}", plain.command(result)
        )

    def staff_taps(
        self, staff, day: date, hh_mm: str, alert_id: int, action: str, value: str | None = None
    ) -> None:
        from bot.actors import Actor
        from bot.alerts.actions import ACTIONS
        from bot.commands.acting import act
        from storage.db import session_scope
        from storage.models import MarkAmendment

        when = self.at(day, hh_mm)
        with session_scope(self.engine) as s:
            before = s.exec(select(func.max(MarkAmendment.id))).one() or 0
            alert = act(
                s,
                alert_id=alert_id,
                action=action,
                actor=Actor.of(s.get(type(staff), staff.id)),
                value=value,
                now=when,
            )
            label = ACTIONS[action].label
            if action == "accept_code":
                label += f" {alert.data.get('suggested_code')}"
            self.out.line(
                f"💬 Staff · {staff.name} ({staff.role.replace('_', ' ')}) taps “{label}” on “{alert.title}”"
            )
            for m in s.exec(
                select(MarkAmendment).where(MarkAmendment.id > before).order_by(MarkAmendment.id)
            ):
                self.out.line(
                    f"   → register amended: {m.date:%a %d %b} {m.session} {m.original_code} → "
                    f"{m.amended_code} · “{m.reason}” · by {m.amended_by_name} "
                    f"({m.amended_by_role.replace('_', ' ')}) · audit row {m.id}"
                )

    def reply_alert(self, who: Cast, kind: str) -> int | None:
        from storage.models import Alert

        with Session(self.engine) as s:
            return s.exec(
                select(Alert.id)
                .where(Alert.pupil_id == who.pupil_id, Alert.kind == kind)
                .order_by(Alert.id.desc())
            ).first()

    def escalation_alert(self, who: Cast, step_kind: str) -> int | None:
        from storage.models import Alert

        with Session(self.engine) as s:
            for a in s.exec(select(Alert).where(Alert.pupil_id == who.pupil_id, Alert.kind == "escalation")):
                if (a.data or {}).get("step", {}).get("kind") == step_kind or step_kind in a.idempotency_key:
                    return a.id
        return None

    # ---- the script ----

    def run(self) -> None:
        a, b, c = self.a, self.b, self.c
        out = self.out
        out.line(
            f"The cast at {self.school.name}: {a.name} (her {a.relationship} will reply), "
            f"{b.name} (his family never answers), {c.name} (his {c.relationship} thinks he is in school)."
        )
        out.line(
            f"Staff: {self.officer.name} (attendance officer), {self.pastoral.name} (pastoral), "
            f"{self.dsl.name} (DSL)."
        )

        mon, *rest = WEEK
        self.morning(mon)
        self.register(mon, "AM", {a.pupil_id: "N", b.pupil_id: "N", c.pupil_id: "N"})
        self.parent_texts(a, mon, "09:20", TEMPERATURE)
        self.parent_texts(c, mon, "09:25", AT_THE_GATE)
        self.staff_types(self.officer, mon, "09:40", "/absences")
        reply = self.reply_alert(a, "reply")
        if reply is not None:
            self.staff_taps(self.officer, mon, "09:45", reply, "accept_code")
        self.staff_types(
            self.pastoral,
            mon,
            "10:05",
            f"/call {c.name} spoke mum found him at his gran's, he is poorly, back tomorrow",
        )
        self.chase(mon, "11:00")
        self.register(mon, "PM", {a.pupil_id: "I", b.pupil_id: "N", c.pupil_id: "I"})
        self.chase(mon, "14:30")
        self.evening(mon)

        for day in rest:
            self.morning(day)
            self.register(day, "AM", {a.pupil_id: "/", b.pupil_id: "N", c.pupil_id: "/"})
            if day == WEEK[2]:
                visit = self.escalation_alert(b, "home_visit_requested")
                if visit is not None:
                    self.staff_taps(self.pastoral, day, "12:30", visit, "home_visit_no_answer")
            self.chase(day, "11:00")
            self.register(day, "PM", {a.pupil_id: "/", b.pupil_id: "N", c.pupil_id: "/"})
            self.chase(day, "14:30")
            if day == WEEK[-1]:
                mash = self.escalation_alert(b, "mash_referral")
                if mash is not None:
                    self.staff_taps(self.dsl, day, "15:00", mash, "referred_mash")
            self.evening(day)
        out.line("")
        self.staff_types(self.officer, WEEK[-1], "16:10", f"/pupil {b.name}")
        out.line("")
        out.line(
            "End of the week. Every step above ran the real code: try it yourself with `make run` "
            "and the sandbox page."
        )


@click.command("demo")
@click.option(
    "--database-url",
    default=None,
    metavar="URL",
    help="Use this database (default: a temporary SQLite file, deleted afterwards).",
)
def demo(database_url: str | None) -> None:
    """Play a scripted absence week for the sample school in the terminal (no server, no accounts)."""

    from storage import migrate
    from storage.db import make_engine

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)  # the story is on stdout; stderr only for problems
    out = Printer()
    tmp = None
    if not database_url:
        tmp = tempfile.mkdtemp(prefix="attendance-demo-")
        database_url = f"sqlite:///{tmp}/demo.db"
    settings = _settings(database_url)
    engine = None
    try:
        migrate.upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        _load_sample(engine, out, now=clock.at_local(WEEK[0], time(7, 30)))
        week = Week(engine, settings, out)
        if _week_taken(engine, week.school.id):
            raise click.ClickException(
                "This database already has registers for the demo week "
                "(23-27 Nov 2026): use an empty database."
            )
        week.run()
    finally:
        root.setLevel(level)
        if engine is not None:
            engine.dispose()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def _week_taken(engine: Engine, school_id: int) -> bool:
    from storage.models import Mark

    with Session(engine) as s:
        return (
            s.exec(
                select(Mark.id)
                .where(Mark.school_id == school_id, Mark.date >= WEEK[0], Mark.date <= WEEK[-1])
                .limit(1)
            ).first()
            is not None
        )


def register(main: click.Group) -> None:
    main.add_command(demo)
