"""The Wonde client against the loopback stand-in: auth, pagination, include, updated_after,
retries honouring Retry-After (time driven by a recording sleep, never real waiting), errors."""

from datetime import UTC, datetime

import pytest

from bot.mis import wire
from bot.mis.client import (
    MisAccessDenied,
    MisBusy,
    MisRejected,
    MisUnavailable,
    WondeClient,
    retry_after_seconds,
)
from tests.peers.fixtures import wonde  # noqa: F401
from tests.peers.wonde_api import populate


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(peer, **kw) -> WondeClient:
    kw.setdefault("sleep", Sleeps())
    return WondeClient(base_url=peer.base_url, token=kw.pop("token", peer.token), **kw)


def test_lists_follow_next_until_null_with_bearer_auth_and_includes(wonde):
    populate(wonde, "W1", pupils=450)
    students = client(wonde, page_size=200).students("W1")
    assert len(students) == 450 and len({s["id"] for s in students}) == 450
    gets = [r for r in wonde.requests if r.path == "/v1.0/schools/W1/students"]
    assert [r.query.get("page", "1") for r in gets] == ["1", "2", "3"]
    assert all(r.status == 200 for r in gets)
    assert "contacts.contact_details" in gets[0].query["include"].split(",")
    assert gets[0].query["per_page"] == "200"
    record = wire.student(students[0])
    assert record.class_name == "R Birch" and len(record.contacts) == 2


def test_updated_after_is_sent_in_wondes_format_and_filters(wonde):
    populate(wonde, "W1", pupils=3)
    wonde.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    wonde.touch("W1", "W1S00001", surname="Changed")
    changed = client(wonde).students("W1", updated_after=datetime(2026, 11, 23, 8, 59, 30, tzinfo=UTC))
    assert [s["id"] for s in changed] == ["W1S00001"]
    assert wonde.requests[-1].query["updated_after"] == "2026-11-23 08:59:30"


def test_a_wrong_token_is_access_denied_and_an_unapproved_school_too(wonde):
    populate(wonde, "W1", pupils=1)
    wonde.school("W2", tokens={"another-token"})
    with pytest.raises(MisAccessDenied, match="approved"):
        client(wonde, token="wrong").students("W1")
    with pytest.raises(MisAccessDenied):
        client(wonde).students("W2")


def test_429_is_retried_after_retry_after_seconds(wonde):
    populate(wonde, "W1", pupils=2)
    wonde.fail_next(429, retry_after=7)
    sleeps = Sleeps()
    assert len(client(wonde, sleep=sleeps, max_retries=2).students("W1")) == 2
    assert sleeps == [7.0]
    assert [r.status for r in wonde.requests] == [429, 200]


def test_a_retry_after_longer_than_we_wait_is_raised_for_the_job_to_come_back(wonde):
    wonde.fail_next(429, retry_after=600)
    sleeps = Sleeps()
    with pytest.raises(MisBusy) as raised:
        client(wonde, sleep=sleeps, max_wait=30).attendance_codes()
    assert raised.value.retry_after == 600 and sleeps == []


def test_5xx_and_dropped_connections_back_off_then_give_up(wonde):
    wonde.fail_next(503, count=2)
    sleeps = Sleeps()
    assert client(wonde, sleep=sleeps, max_retries=3).attendance_codes()
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0]  # exponential
    wonde.mode = "down"
    sleeps = Sleeps()
    with pytest.raises(MisUnavailable, match="did not answer"):
        client(wonde, sleep=sleeps, max_retries=2).attendance_codes()
    assert len(sleeps) == 2


def test_422_carries_the_mis_reasons_by_record(wonde):
    ids = populate(wonde, "W1", pupils=2)
    wonde.reject(ids[1], "Attendance for this date is locked in SIMS.")
    records = [
        {
            "student_id": i,
            "date": "2026-11-23",
            "session": "AM",
            "attendance_code_id": wonde.code_id("I"),
            "comment": "ill",
        }
        for i in ids
    ]
    with pytest.raises(MisRejected) as raised:
        client(wonde).write_session_marks("W1", records)
    assert raised.value.by_index() == {1: "Attendance for this date is locked in SIMS."}
    assert client(wonde).write_session_marks("W1", records[:1]).startswith("WB")


def test_retry_after_as_an_http_date():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10)
    assert retry_after_seconds("12") == 12 and retry_after_seconds("soon") is None
