"""Write-back to the MIS through the Wonde stand-in: queued with the amendment (outbox), sent, the
audit stamped; a 422 shown to the attendance officer; 429 honoured; the MIS's own change never
overwritten; an outage losing nothing and alerting only if it lasts. Time is driven by ``now``."""

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from bot.actors import SYSTEM, Actor
from bot.mis import marks
from bot.mis.client import WondeClient
from bot.mis.sync import sync_school
from bot.mis.writeback import send_due
from bot.register.service import recode
from bot.replies.actions import accept_code
from storage.models import AbsenceCase, Alert, Mark, MarkAmendment, MisWriteback, Pupil
from tests import factories as f
from tests.peers.fixtures import wonde  # noqa: F401
from tests.peers.wonde_api import populate

MONDAY = date(2026, 11, 23)


def at(hh_mm: str):
    return f.at(MONDAY, hh_mm)


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def school(engine, wonde):
    """A linked school (write-back approved) whose AM register showed three pupils N."""
    ids = populate(wonde, "W1", pupils=3)
    with Session(engine, expire_on_commit=False) as s:
        row = f.school(s, urn="100001", wonde_id="W1", mis_writeback=True)
        officer = f.staff(s, row, name="Jo Patel")
        s.commit()
    settings = f.mis_settings(wonde)
    sync_school(engine, school=row, settings=settings, now=at("02:30"))
    wonde.now = at("09:05")
    wonde.take_register("W1", MONDAY, "AM", dict.fromkeys(ids, "N"))
    marks.read_marks(engine, school=row, settings=settings, now=at("09:10"))
    return row, settings, officer, ids


def pupil(session, wonde_id) -> Pupil:
    return session.exec(select(Pupil).where(Pupil.wonde_id == wonde_id)).one()


def staff_recode(engine, school, officer, wonde_id, code, now, reason="Mum rang: ill"):
    with Session(engine, expire_on_commit=False) as s:
        p = pupil(s, wonde_id)
        [amendment] = recode(
            s,
            school_id=school.id,
            pupil_id=p.id,
            day=MONDAY,
            sessions=["AM"],
            new_code=code,
            reason=reason,
            actor=Actor.of(officer),
            now=now,
        )
        s.commit()
    return amendment


def rows(engine) -> list[MisWriteback]:
    with Session(engine) as s:
        return s.exec(select(MisWriteback).order_by(MisWriteback.id)).all()


def alerts(engine, kind) -> list[Alert]:
    with Session(engine) as s:
        return s.exec(select(Alert).where(Alert.kind == kind)).all()


def test_the_write_back_is_queued_in_the_transaction_of_the_amendment(engine, school):
    row, _settings, officer, ids = school
    with Session(engine) as s:
        recode(
            s,
            school_id=row.id,
            pupil_id=pupil(s, ids[0]).id,
            day=MONDAY,
            sessions=["AM"],
            new_code="I",
            reason="ill",
            actor=Actor.of(officer),
            now=at("10:00"),
        )
        s.rollback()
    assert rows(engine) == []
    staff_recode(engine, row, officer, ids[0], "I", at("10:00"))
    [queued] = rows(engine)
    assert (queued.status, queued.code, queued.base_code) == ("queued", "I", "N")
    assert queued.next_attempt_at == at("10:00")


def test_a_recode_is_written_back_and_the_audit_records_when(engine, wonde, school):
    row, settings, officer, ids = school
    amendment = staff_recode(engine, row, officer, ids[0], "I", at("10:00"), reason="Mum rang: tummy bug")
    wonde.now = at("10:00")  # when the MIS applies what it is sent
    summary = send_due(engine, settings=settings, now=at("10:00"))
    assert summary["sent"] == 1
    [post] = wonde.posted()
    [record] = post.body["attendance"]
    assert record == {
        "student_id": ids[0],
        "date": "2026-11-23",
        "session": "AM",
        "attendance_code_id": wonde.code_id("I"),
        "comment": "Mum rang: tummy bug (Jo Patel)",
    }
    [sent] = rows(engine)
    assert sent.status == "sent" and sent.writeback_id == wonde.writebacks[0]["writeback_id"]
    with Session(engine) as s:
        audit = s.get(MarkAmendment, amendment.id)
        assert (audit.written_back_at, audit.writeback_id) == (at("10:00"), sent.writeback_id)
    assert wonde.mark("W1", ids[0], MONDAY, "AM") == "I"
    # The next read of the register shows the MIS applied it.
    marks.read_marks(engine, school=row, settings=settings, now=at("10:01"))
    assert rows(engine)[0].status == "confirmed"
    assert send_due(engine, settings=settings, now=at("10:02")).skipped == "nothing to write back"


def test_n_to_o_and_an_accepted_suggestion_go_through_the_same_door(engine, wonde, school):
    row, settings, officer, ids = school
    with Session(engine, expire_on_commit=False) as s:
        recode(
            s,
            school_id=row.id,
            pupil_id=pupil(s, ids[1]).id,
            day=MONDAY,
            sessions=["AM"],
            new_code="O",
            reason="No reason received within 5 school days",
            actor=SYSTEM,
            now=at("16:00"),
        )
        p = pupil(s, ids[2])
        case = AbsenceCase(
            school_id=row.id,
            pupil_id=p.id,
            first_date=MONDAY,
            first_session="AM",
            last_absent_date=MONDAY,
            opened_at=at("09:15"),
        )
        s.add(case)
        s.flush()
        alert = Alert(
            school_id=row.id,
            idempotency_key="reply:1",
            kind="reply",
            title="Reply",
            case_id=case.id,
            data={"suggested_code": "I", "reply": "she has a temperature"},
            created_at=at("10:00"),
        )
        s.add(alert)
        s.flush()
        accept_code(s, alert=alert, actor=Actor.of(officer), value=None, now=at("16:00"))
        s.commit()
    assert send_due(engine, settings=settings, now=at("16:00"))["sent"] == 2
    written = {
        r["student_id"]: wonde.code_of(r["attendance_code_id"]) for r in wonde.posted()[0].body["attendance"]
    }
    assert written == {ids[1]: "O", ids[2]: "I"}


def test_a_422_reaches_the_attendance_officer_with_the_mis_reason(engine, wonde, school):
    row, settings, officer, ids = school
    wonde.reject(ids[1], "The register for this session is locked in SIMS.")
    staff_recode(engine, row, officer, ids[0], "I", at("10:00"))
    staff_recode(engine, row, officer, ids[1], "M", at("10:00"), reason="Dentist, card seen")
    summary = send_due(engine, settings=settings, now=at("10:00"))
    assert (summary["sent"], summary["rejected"]) == (1, 1)
    by_code = {r.code: r for r in rows(engine)}
    assert by_code["I"].status == "sent" and by_code["M"].status == "rejected"
    assert by_code["M"].error == "The register for this session is locked in SIMS."
    [alert] = alerts(engine, "mis_writeback_rejected")
    assert alert.audience == "attendance" and "locked in SIMS" in alert.body and "→ M" in alert.title
    with Session(engine) as s:  # the change stands in the bot and its audit
        assert s.exec(select(Mark).where(Mark.pupil_id == pupil(s, ids[1]).id)).one().code == "M"
    assert send_due(engine, settings=settings, now=at("10:05")).skipped == "nothing to write back"


def test_a_429_is_retried_after_retry_after(engine, wonde, school):
    row, settings, officer, ids = school
    staff_recode(engine, row, officer, ids[0], "I", at("10:00"))
    wonde.fail_next(429, retry_after=7, method="POST")
    sleeps = Sleeps()
    client = WondeClient(base_url=wonde.base_url, token=wonde.token, max_retries=2, sleep=sleeps)
    assert send_due(engine, settings=settings, now=at("10:00"), clients={row.id: client})["sent"] == 1
    assert sleeps == [7.0] and [r.status for r in wonde.posted()] == [429, 200]


def test_a_long_retry_after_comes_back_at_the_right_now(engine, wonde, school):
    row, settings, officer, ids = school
    staff_recode(engine, row, officer, ids[0], "I", at("10:00"))
    wonde.fail_next(429, retry_after=600, method="POST")
    assert send_due(engine, settings=settings, now=at("10:00"))["waiting"] == 1
    assert rows(engine)[0].next_attempt_at == at("10:10")
    assert send_due(engine, settings=settings, now=at("10:05")).skipped == "nothing to write back"
    assert send_due(engine, settings=settings, now=at("10:10"))["sent"] == 1
    assert alerts(engine, "mis_unreachable") == []


def test_a_mark_the_mis_changed_first_is_not_overwritten_and_staff_are_told(engine, wonde, school):
    row, settings, officer, ids = school
    staff_recode(engine, row, officer, ids[0], "I", at("11:00"))
    wonde.now = at("11:01")
    wonde.set_mark("W1", ids[0], MONDAY, "AM", "M")  # the office typed the appointment in the MIS
    summary = send_due(engine, settings=settings, now=at("11:02"))
    assert summary["sent"] == 0
    assert wonde.posted() == [] and wonde.mark("W1", ids[0], MONDAY, "AM") == "M"
    [conflict] = rows(engine)
    assert conflict.status == "conflict" and "changed the mark to M" in conflict.error
    [alert] = alerts(engine, "mis_changed_mark")
    assert alert.audience == "attendance" and "was not written back" in alert.body
    with Session(engine) as s:
        assert s.exec(select(Mark).where(Mark.pupil_id == pupil(s, ids[0]).id)).one().code == "M"


def every(start: str, end: str, minutes: int = 5):
    t, stop = at(start), at(end)
    while t <= stop:
        yield t
        t += timedelta(minutes=minutes)


def test_the_mis_unreachable_for_30_minutes_loses_nothing_and_bothers_nobody(engine, wonde, school):
    row, settings, officer, ids = school
    staff_recode(engine, row, officer, ids[0], "I", at("11:00"))
    wonde.mode = "down"
    for now in every("11:00", "11:30"):
        send_due(engine, settings=settings, now=now)
    [waiting] = rows(engine)
    assert waiting.status == "queued" and waiting.attempts >= 3 and wonde.writebacks == []
    wonde.mode = "up"
    sent = [send_due(engine, settings=settings, now=now).get("sent") for now in every("11:35", "11:50")]
    assert sum(sent) == 1 and rows(engine)[0].status == "sent"
    assert wonde.mark("W1", ids[0], MONDAY, "AM") == "I"
    assert alerts(engine, "mis_unreachable") == [] and alerts(engine, "mis_reachable") == []


def test_an_outage_that_lasts_is_told_once_and_its_end_too(engine, wonde, school):
    row, settings, officer, ids = school
    staff_recode(engine, row, officer, ids[0], "I", at("11:00"))
    wonde.mode = "down"
    for now in every("11:00", "12:00"):
        send_due(engine, settings=settings, now=now)
    [down] = alerts(engine, "mis_unreachable")
    assert down.title == "MIS unreachable since 11:00" and down.created_at >= at("11:45")
    assert "Nothing is lost" in down.body
    wonde.mode = "up"
    sent = [send_due(engine, settings=settings, now=now).get("sent") for now in every("12:05", "12:20")]
    assert sum(sent) == 1
    [up] = alerts(engine, "mis_reachable")
    assert up.audience == "attendance" and len(alerts(engine, "mis_unreachable")) == 1
