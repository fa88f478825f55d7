"""Pytest fixtures for the peers. Use them with ``from tests.peers.fixtures import smtp_server, twilio``.

(Imported fixtures are picked up by pytest in the importing test module; ruff's F401/F811 need a
``# noqa`` at the import and on the test arguments.)
"""

from collections.abc import Iterator

import pytest

from tests.peers.smtp import SmtpPeer, smtp_peer
from tests.peers.twilio_api import TwilioApiPeer, twilio_api


@pytest.fixture
def smtp_server() -> Iterator[SmtpPeer]:
    with smtp_peer() as peer:
        yield peer


@pytest.fixture
def twilio() -> Iterator[TwilioApiPeer]:
    with twilio_api() as peer:
        yield peer


@pytest.fixture(scope="session")
def dovecot():
    """One throwaway dovecot per test session (per xdist worker); each test takes its own user."""
    from tests.peers.mailbox import dovecot_server

    try:
        with dovecot_server() as server:
            yield server
    except RuntimeError as exc:  # never skipped: the mailbox tests must run
        pytest.fail(str(exc))
