"""The Slack work pool holds command work while requests are still waiting for their ack."""

import threading
import time

import pytest

from handlers.slack.ack_first import AckFirstExecutor


@pytest.fixture
def pool():
    executor = AckFirstExecutor(2, max_wait=10)
    yield executor
    executor.shutdown()


def test_work_runs_at_once_when_no_request_is_waiting(pool):
    started = threading.Event()
    future = pool.submit(started.set)
    future.result(timeout=5)
    assert started.is_set()


def test_work_waits_until_the_requests_in_flight_have_been_answered(pool):
    started = threading.Event()
    with pool.request():
        with pool.request():
            future = pool.submit(started.set)
            assert not started.wait(0.3)
        assert pool.in_flight == 1
        assert not started.wait(0.2)  # one request still waiting for its ack
    future.result(timeout=5)
    assert started.is_set() and pool.in_flight == 0


def test_a_steady_stream_of_requests_delays_work_by_at_most_max_wait():
    pool = AckFirstExecutor(1, max_wait=0.3)
    try:
        with pool.request():
            queued = time.monotonic()
            ran_at = pool.submit(time.monotonic).result(timeout=5)
            assert pool.in_flight == 1  # the answer came while the request was still in flight
        assert ran_at - queued >= 0.29
    finally:
        pool.shutdown()


def test_a_failing_job_reports_through_its_future_and_the_pool_goes_on(pool):
    def boom():
        raise ValueError("bad")

    with pytest.raises(ValueError):
        pool.submit(boom).result(timeout=5)
    assert pool.submit(lambda: 42).result(timeout=5) == 42


def test_over_http_a_commands_answer_waits_for_the_other_acks(engine, db_url):
    """The real app: while another Slack request is in flight, a command is acked but not worked."""
    from tests.peers.http import live_app
    from tests.peers.slack_api import BOT_TOKEN, SlackAPIPeer, SlackClient, slack_settings

    with SlackAPIPeer(BOT_TOKEN) as peer, live_app(slack_settings(db_url, peer)) as running:
        slack = SlackClient(running.base_url, peer)
        work = running.server.app.config["SLACK_WORK"]
        work.max_wait = 30  # so only the held request can explain the wait, however slow the machine
        with work.request():  # another command, still waiting for its ack
            resp, key = slack.command("/absences", "", user="U0NOBODY")
            assert resp.status_code == 200
            time.sleep(0.3)
            assert peer.calls_to("response") == []
        [answer] = slack.responses(key)
    assert "don't know you" in answer["text"] and answer["response_type"] == "ephemeral"


def test_the_slack_route_counts_each_request_until_its_ack_is_returned(engine, db_url):
    from tests.peers.http import live_app
    from tests.peers.slack_api import BOT_TOKEN, SlackAPIPeer, SlackClient, slack_settings

    with SlackAPIPeer(BOT_TOKEN) as peer, live_app(slack_settings(db_url, peer)) as running:
        config = running.server.app.config
        seen: list[int] = []

        @config["SLACK_BOLT_APP"].command("/probe")
        def probe(ack, context):
            seen.append(context["work"].in_flight)
            ack()

        resp, _ = SlackClient(running.base_url, peer).command("/probe", "", user="U0ANY")
        assert resp.status_code == 200
        assert seen == [1] and config["SLACK_WORK"].in_flight == 0
