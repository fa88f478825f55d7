"""Retention and subject access (issue 13, item 7): the purge and the per-pupil export.

The purge removes or redacts exactly what is older than the school's policy, keeps the register
and its amendments six years, refuses a shorter register policy, and a second run does nothing.
The export holds the pupil's data and not a sibling's (they share a contact), and an unknown pupil
or another school's pupil is explained. On SQLite and PostgreSQL, through the real CLI where an
operator would use it.
"""

import io
import json
import zipfile
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner
from sqlmodel import Session, func, select

from bot.cli import main
from bot.jobs import JOBS, run_for_school
from bot.privacy.purge import KINDS, REDACTED, purge
from bot.privacy.retention import RetentionRefused, months_before
from storage.models import (
    AbsenceCase,
    AbsenceNotice,
    Alert,
    AlertAction,
    CallLog,
    CaseEvent,
    FamilyLink,
    InboundMessage,
    Mark,
    MarkAmendment,
    MessageCase,
    MisWriteback,
    OutboxMessage,
    ReplyCase,
    School,
    SchoolPolicy,
    VoiceCall,
)
from tests import factories as f

NOW = datetime(2032, 11, 30, 12, 0, tzinfo=UTC)  # 13 months back: 30 Oct 2031; 6 years: 30 Nov 2026
OLD = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)  # past every month-based policy
RECENT = datetime(2032, 10, 1, 9, 0, tzinfo=UTC)  # inside every policy


def cli(*args):
    return CliRunner().invoke(main, list(args))


def _case(s, pupil, *, status="closed", opened=OLD) -> AbsenceCase:
    row = AbsenceCase(
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        status=status,
        first_date=opened.date(),
        first_session="AM",
        last_absent_date=opened.date(),
        opened_at=opened,
    )
    s.add(row)
    s.flush()
    return row


def _message(
    s,
    school,
    contact,
    *cases,
    at=OLD,
    status="delivered",
    body="Amelia was not in school today",
    kind="first_day",
    channel="sms",
) -> OutboxMessage:
    row = OutboxMessage(
        school_id=school.id,
        idempotency_key=f"k{school.id}-{at}-{body}-{status}-{kind}",
        kind=kind,
        channel=channel,
        contact_id=contact.id,
        to_address=contact.mobile,
        body=body,
        status=status,
        next_attempt_at=at,
        created_at=at,
        updated_at=at,
    )
    s.add(row)
    s.flush()
    for case in cases:
        s.add(MessageCase(message_id=row.id, case_id=case.id))
    s.flush()
    return row


def _reply(s, school, contact, *cases, at=OLD, body="She has a fever, back Monday") -> InboundMessage:
    row = InboundMessage(
        school_id=school.id, from_address=contact.mobile, contact_id=contact.id, body=body, received_at=at
    )
    s.add(row)
    s.flush()
    for case in cases:
        s.add(ReplyCase(inbound_id=row.id, case_id=case.id))
    s.flush()
    return row


def _mark(s, pupil, day, code="N") -> Mark:
    row = Mark(
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        date=day,
        session="AM",
        code=code,
        recorded_at=datetime(day.year, day.month, day.day, 9, tzinfo=UTC),
    )
    s.add(row)
    s.flush()
    return row


def _amend(s, mark, at) -> MarkAmendment:
    row = MarkAmendment(
        school_id=mark.school_id,
        mark_id=mark.id,
        pupil_id=mark.pupil_id,
        date=mark.date,
        session=mark.session,
        original_code=mark.code,
        amended_code="I",
        reason="parent said ill",
        amended_at=at,
        amended_by_name="Jo Patel",
        amended_by_role="attendance_officer",
    )
    s.add(row)
    s.flush()
    return row


def _world(engine) -> dict:
    """Oakfield (Amelia and her brother Ben share their mother Sara) and another school, with one
    row of each kind on each side of every cut-off. Returns the ids the tests look at."""
    ids: dict = {}
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, urn="100001", name="Oakfield Primary")
        other = f.school(s, urn="200002", name="Elm Academy")
        amelia = f.pupil(s, school, first="Amelia", last="Khan")
        ben = f.pupil(s, school, first="Ben", last="Khan")
        sara = f.contact(s, school, amelia, ben, first="Sara", mobile="+447700900001")
        stranger = f.pupil(s, other, first="Zoe", last="Ng")
        zoe_mum = f.contact(s, other, stranger, first="Mei", mobile="+447700900009")
        closed = _case(s, amelia)
        open_ = _case(s, amelia, status="open", opened=datetime(2030, 2, 1, tzinfo=UTC))
        ben_case = _case(s, ben)
        ids.update(
            school=school.id,
            other=other.id,
            amelia=amelia.id,
            ben=ben.id,
            sara=sara.id,
            amelia_upn=amelia.upn,
            zoe_upn=stranger.upn,
            closed=closed.id,
            open=open_.id,
            ben_case=ben_case.id,
        )
        # Messages: old (purged), recent, about an open case, still queued, another school's.
        ids["msg_old"] = _message(s, school, sara, closed).id
        ids["msg_recent"] = _message(s, school, sara, closed, at=RECENT, body="Amelia recent").id
        ids["msg_open"] = _message(s, school, sara, open_, body="Amelia open case").id
        ids["msg_queued"] = _message(s, school, sara, closed, status="queued", body="Amelia queued").id
        ids["msg_ben"] = _message(s, school, sara, ben_case, at=RECENT, body="Ben was not in school").id
        ids["msg_family"] = _message(
            s, school, sara, at=RECENT, body="Report an absence: link", kind="report_link"
        ).id
        ids["msg_other"] = _message(s, other, zoe_mum, body="Zoe was not in school").id
        neutral = _message(s, school, sara, body="This number is not monitored", kind="neutral")
        neutral.idempotency_key = "neutral:+447700900001:2030-01-10"  # an unknown number's answer
        ids["msg_neutral"] = neutral.id
        call = _message(s, school, sara, closed, channel="voice", body="call script")
        s.add(
            VoiceCall(
                message_id=call.id,
                school_id=school.id,
                outcome="message_left",
                recording_sid="RE1",
                recording_url="https://api.twilio.com/rec/RE1",
                recording_seconds=12,
                created_at=OLD,
                updated_at=OLD,
            )
        )
        ids["call"] = call.id
        # Replies and what families said.
        ids["reply_old"] = _reply(s, school, sara, closed).id
        ids["reply_recent"] = _reply(s, school, sara, closed, at=RECENT, body="Back tomorrow").id
        ids["reply_open"] = _reply(s, school, sara, open_, body="Still poorly").id
        ids["reply_ben"] = _reply(s, school, sara, ben_case, at=RECENT, body="Ben has a dentist visit").id
        for status, key in (("ended", "notice_old"), ("active", "notice_active")):
            notice = AbsenceNotice(
                school_id=school.id,
                pupil_id=amelia.id,
                first_date=OLD.date(),
                first_session="AM",
                words="Amelia has chickenpox",
                understood="I",
                source="sms",
                reported_by="Sara Khan",
                contact_id=sara.id,
                case_id=closed.id,
                received_at=OLD,
                status=status,
            )
            s.add(notice)
            s.flush()
            ids[key] = notice.id
        for kind in ("reply", "case_opened"):
            event = CaseEvent(
                school_id=school.id,
                case_id=closed.id,
                pupil_id=amelia.id,
                at=OLD,
                kind=kind,
                summary=f"{kind}: She has a fever",
            )
            s.add(event)
            s.flush()
            ids[f"event_{kind}"] = event.id
        call_log = CallLog(
            school_id=school.id,
            pupil_id=amelia.id,
            case_id=closed.id,
            outcome="spoke",
            note="Mum says she is ill",
            at=OLD,
        )
        s.add(call_log)
        # Alerts: an old settled one (purged), an old one still open, Ben's.
        for status, key, pupil in (
            ("acted", "alert_old", amelia),
            ("open", "alert_open", amelia),
            ("acted", "alert_ben", ben),
        ):
            case_id = closed.id if pupil is amelia else ben_case.id
            alert = Alert(
                school_id=school.id,
                pupil_id=pupil.id,
                case_id=case_id,
                idempotency_key=key,
                kind="reply",
                title=f"{pupil.first_name} Khan: reply",
                body="“She has a fever”",
                data={"reply": "She has a fever", "suggested_code": "I"},
                status=status,
                created_at=OLD,
            )
            s.add(alert)
            s.flush()
            ids[key] = alert.id
        s.add(
            AlertAction(
                school_id=school.id,
                alert_id=ids["alert_old"],
                action="accept",
                actor_name="Jo Patel",
                at=OLD,
                note="Mum rang too",
            )
        )
        # Family links: revoked long ago (deleted), revoked lately, live.
        for nonce, revoked in (("old", OLD), ("recent", RECENT), ("live", None)):
            link = FamilyLink(
                school_id=school.id, contact_id=sara.id, nonce=nonce, created_at=OLD, revoked_at=revoked
            )
            s.add(link)
            s.flush()
            ids[f"link_{nonce}"] = link.id
        # The register: 6 years back is 30 Nov 2026.
        ids["mark_old"] = _mark(s, amelia, date(2026, 6, 1)).id
        kept = _mark(s, amelia, date(2026, 6, 2))
        ids["mark_amended_lately"] = kept.id
        ids["amendment_lately"] = _amend(s, kept, datetime(2026, 12, 5, 10, tzinfo=UTC)).id
        gone = _mark(s, amelia, date(2026, 6, 3))
        ids["mark_amended_old"] = gone.id
        amendment = _amend(s, gone, datetime(2026, 6, 3, 10, tzinfo=UTC))
        s.add(
            MisWriteback(
                school_id=school.id,
                amendment_id=amendment.id,
                mark_id=gone.id,
                pupil_id=amelia.id,
                date=gone.date,
                session="AM",
                code="I",
                status="confirmed",
                next_attempt_at=OLD,
                created_at=OLD,
                updated_at=OLD,
            )
        )
        ids["mark_recent"] = _mark(s, amelia, date(2026, 12, 1)).id
        ids["mark_ben"] = _mark(s, ben, date(2027, 1, 5), code="M").id
        ids["mark_other"] = _mark(s, stranger, date(2026, 6, 1)).id
        s.commit()
    return ids


def _school_row(engine, urn="100001") -> School:
    with Session(engine, expire_on_commit=False) as s:
        return s.exec(select(School).where(School.urn == urn)).one()


def _purge(engine, *, now=NOW) -> dict:
    with Session(engine, expire_on_commit=False) as s:
        counts = purge(s, school=s.exec(select(School).where(School.urn == "100001")).one(), now=now)
        s.commit()
    return counts


def test_purge_redacts_exactly_what_is_older_than_the_policy_and_keeps_the_register(engine):
    ids = _world(engine)
    counts = _purge(engine)
    assert counts == {
        "messages": 3,
        "call_recordings": 1,
        "replies": 1,
        "notice_words": 1,
        "case_log_quotes": 1,
        "call_notes": 1,
        "alert_texts": 2,
        "alert_notes": 1,
        "family_links": 1,
        "marks": 2,
        "amendments": 1,
    }
    with Session(engine) as s:
        msg = s.get(OutboxMessage, ids["msg_old"])
        assert (msg.body, msg.to_address, msg.status, msg.contact_id) == (
            REDACTED,
            REDACTED,
            "delivered",
            ids["sara"],
        )
        assert s.get(MessageCase, (ids["msg_old"], ids["closed"])) is not None  # the audit link stays
        assert s.get(OutboxMessage, ids["msg_neutral"]).idempotency_key == f"purged:{ids['msg_neutral']}"
        for kept in ("msg_recent", "msg_open", "msg_queued", "msg_other"):
            assert s.get(OutboxMessage, ids[kept]).body != REDACTED, kept
        call = s.get(VoiceCall, ids["call"])
        assert (call.recording_url, call.recording_sid, call.outcome) == (None, None, "message_left")
        reply = s.get(InboundMessage, ids["reply_old"])
        assert (reply.body, reply.from_address) == (REDACTED, REDACTED)
        assert s.get(InboundMessage, ids["reply_recent"]).body == "Back tomorrow"
        assert s.get(InboundMessage, ids["reply_open"]).body == "Still poorly"
        notice = s.get(AbsenceNotice, ids["notice_old"])
        assert (notice.words, notice.reported_by, notice.understood) == (REDACTED, "", "I")
        assert s.get(AbsenceNotice, ids["notice_active"]).words == "Amelia has chickenpox"
        assert s.get(CaseEvent, ids["event_reply"]).summary == REDACTED
        assert s.get(CaseEvent, ids["event_case_opened"]).summary.startswith("case_opened")
        assert s.exec(select(CallLog)).one().note == REDACTED
        alert = s.get(Alert, ids["alert_old"])
        assert (alert.body, alert.data, alert.title) == (
            REDACTED,
            {"suggested_code": "I"},
            "Amelia Khan: reply",
        )
        assert s.get(Alert, ids["alert_open"]).body == "“She has a fever”"
        assert s.exec(select(AlertAction)).one().note == REDACTED
        assert {x.nonce for x in s.exec(select(FamilyLink)).all()} == {"recent", "live"}
        marks = {m.id for m in s.exec(select(Mark)).all()}
        assert marks == {ids["mark_amended_lately"], ids["mark_recent"], ids["mark_ben"], ids["mark_other"]}
        assert [a.id for a in s.exec(select(MarkAmendment)).all()] == [ids["amendment_lately"]]
        assert s.exec(select(func.count()).select_from(MisWriteback)).one() == 0
    # Idempotent: a second run at the same time (and a day later) finds nothing more.
    assert _purge(engine) == dict.fromkeys(KINDS, 0)
    assert _purge(engine, now=datetime(2032, 12, 1, 12, tzinfo=UTC)) == dict.fromkeys(KINDS, 0)


def test_a_school_that_keeps_messages_longer_keeps_them(engine, settings_env):
    ids = _world(engine)
    result = cli(
        "policy", "set", "--school", "100001", "--by", "Helen Carter", "retention.messages_months", "48"
    )
    assert result.exit_code == 0, result.output
    counts = _purge(engine)
    assert counts["messages"] == 0 and counts["call_recordings"] == 0 and counts["replies"] == 1
    with Session(engine) as s:
        assert s.get(OutboxMessage, ids["msg_old"]).body == "Amelia was not in school today"


def test_a_register_policy_under_six_years_is_refused_and_nothing_is_purged(engine, settings_env):
    ids = _world(engine)
    result = cli(
        "policy", "set", "--school", "100001", "--by", "Helen Carter", "retention.register_years", "5"
    )
    assert result.exit_code == 1
    assert "shorter than the 6 years the 2024 regulations require" in result.output
    school = _school_row(engine)
    with Session(engine) as s:  # a value written round the policy command (an old import, a hand edit)
        policy = s.get(SchoolPolicy, school.id)
        policy.retention = {"register_years": 3}
        s.add(policy)
        s.commit()
    with Session(engine) as s, pytest.raises(RetentionRefused, match="kept 3 year"):
        purge(s, school=s.get(School, school.id), now=NOW)
    summary = run_for_school(JOBS["privacy-purge"], engine, school=school, now=NOW, settings=f.settings())
    assert summary.skipped and "2024 regulations" in summary.skipped
    by_hand = cli("privacy", "purge", "--school", "100001", "--now", NOW.isoformat())
    assert by_hand.exit_code == 1 and "retention.register_years 6" in by_hand.output
    with Session(engine) as s:
        assert s.get(Mark, ids["mark_old"]) is not None
        assert s.get(OutboxMessage, ids["msg_old"]).body != REDACTED


def test_purge_by_hand_dry_run_changes_nothing_then_the_clock_job_purges(engine, settings_env):
    ids = _world(engine)
    dry = cli("privacy", "purge", "--school", "100001", "--dry-run", "--now", NOW.isoformat())
    assert dry.exit_code == 0, dry.output
    assert "15 row(s) would be purged" in dry.output and "marks: 2" in dry.output
    with Session(engine) as s:
        assert s.get(OutboxMessage, ids["msg_old"]).body != REDACTED and s.get(Mark, ids["mark_old"])
    summary = run_for_school(
        JOBS["privacy-purge"], engine, school=_school_row(engine), now=NOW, settings=f.settings()
    )
    assert summary["messages"] == 3 and summary["marks"] == 2
    again = cli("privacy", "purge", "--school", "100001", "--now", NOW.isoformat())
    assert again.exit_code == 0 and "0 row(s) purged" in again.output
    assert "Sara" not in again.output + dry.output


def test_export_holds_the_pupil_and_the_shared_contact_but_not_the_siblings_data(
    engine, settings_env, tmp_path
):
    ids = _world(engine)
    out = tmp_path / "amelia.json"
    result = cli(
        "privacy",
        "export",
        "--school",
        "100001",
        "--pupil",
        ids["amelia_upn"],
        "--out",
        str(out),
        "--now",
        NOW.isoformat(),
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["export"]["school_urn"] == "100001" and doc["pupil"][0]["id"] == ids["amelia"]
    assert [c["id"] for c in doc["contacts"]] == [ids["sara"]]  # shared with Ben: included
    assert {m["id"] for m in doc["marks"]} == {
        ids["mark_old"],
        ids["mark_amended_lately"],
        ids["mark_amended_old"],
        ids["mark_recent"],
    }  # not Ben's
    assert len(doc["mark_amendments"]) == 2
    assert {c["id"] for c in doc["cases"]} == {ids["closed"], ids["open"]}
    messages = {m["id"] for m in doc["messages_to_family"]}
    assert ids["msg_old"] in messages and ids["msg_family"] in messages  # a family-wide link too
    assert ids["msg_ben"] not in messages and ids["msg_other"] not in messages
    assert [c["recording_url"] for c in doc["calls_to_family"]] == ["https://api.twilio.com/rec/RE1"]
    replies = {r["id"] for r in doc["replies_from_family"]}
    assert {ids["reply_old"], ids["reply_open"]} <= replies and ids["reply_ben"] not in replies
    assert {a["id"] for a in doc["alerts"]} == {ids["alert_old"], ids["alert_open"]}
    assert len(doc["notices"]) == 2 and len(doc["staff_calls"]) == 1 and len(doc["alert_actions"]) == 1
    text = out.read_text(encoding="utf-8")
    assert "Ben" not in text and "dentist" not in text and "Zoe" not in text
    assert '"nonce"' not in text and "idempotency_key" not in text
    assert "Amelia" not in result.output and "Sara" not in result.output  # counts only on screen


def test_export_as_a_zip_of_csv_files(engine, settings_env, tmp_path):
    ids = _world(engine)
    out = tmp_path / "amelia.zip"
    result = cli(
        "privacy",
        "export",
        "--school",
        "100001",
        "--pupil",
        str(ids["amelia"]),
        "--out",
        str(out),
        "--now",
        NOW.isoformat(),
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        assert {"export.json", "pupil.csv", "marks.csv", "messages_to_family.csv"} <= set(archive.namelist())
        marks = archive.read("marks.csv").decode("utf-8-sig")
        about = json.loads(archive.read("export.json"))
    assert about["rows"]["marks"] == 4 and len(marks.strip().splitlines()) == 5  # a header and 4 rows
    assert "2026-06-01" in marks and "2027-01-05" not in marks  # Ben's mark is not there
    assert io.StringIO(marks).readline().startswith("id,school_id,pupil_id,date")


def test_an_unknown_pupil_or_another_schools_pupil_is_explained(engine, settings_env, tmp_path):
    ids = _world(engine)
    out = tmp_path / "x.json"
    unknown = cli("privacy", "export", "--school", "100001", "--pupil", "Z999999999999", "--out", str(out))
    assert unknown.exit_code == 1
    assert "No pupil with UPN or id Z999999999999 at Oakfield Primary" in unknown.output
    elsewhere = cli("privacy", "export", "--school", "100001", "--pupil", ids["zoe_upn"], "--out", str(out))
    assert elsewhere.exit_code == 1 and "No pupil" in elsewhere.output and "Zoe" not in elsewhere.output
    no_school = cli(
        "privacy", "export", "--school", "999999", "--pupil", ids["amelia_upn"], "--out", str(out)
    )
    assert no_school.exit_code == 1 and "No school with URN 999999" in no_school.output
    assert not out.exists()


def test_months_before_keeps_the_day_inside_the_month():
    assert months_before(datetime(2027, 3, 31, 8, tzinfo=UTC), 1) == datetime(2027, 2, 28, 8, tzinfo=UTC)
    assert months_before(datetime(2032, 11, 30, 12, tzinfo=UTC), 13) == datetime(2031, 10, 30, 12, tzinfo=UTC)
    assert months_before(datetime(2028, 1, 15, tzinfo=UTC), 25) == datetime(2025, 12, 15, tzinfo=UTC)


def test_the_clock_runs_the_purge_every_night_for_every_school(session):
    from scheduler.schedule import school_slots

    school = f.school(session)
    [slot] = [s for s in school_slots(session, school) if s.job == "privacy-purge"]
    assert (slot.days, slot.label) == ("mon-sun", "nightly") and 4 <= slot.at.hour < 5
