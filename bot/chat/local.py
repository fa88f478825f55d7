"""The local feed: with no Slack or Teams configured, the ``Alert`` table is the feed staff read (the
sandbox page and the CLI list it). Delivering locally only records when the alert entered the feed."""

import logging
from datetime import datetime

from storage.models import Alert

log = logging.getLogger(__name__)


def deliver(alert: Alert, *, now: datetime) -> None:
    alert.delivered_at = now
    log.info("alert %s in the local feed (school %s, audience %s)", alert.id, alert.school_id, alert.audience)
