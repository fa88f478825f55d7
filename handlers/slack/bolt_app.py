"""The Bolt app: a sync ``slack_bolt.App`` served by the Flask adapter under waitress (threads).

Acknowledgement comes first, whatever the load: each listener calls ``ack()`` and hands its work to
a small pool of its own (``context["work"]``), so Bolt's listener threads are free again at once
and the HTTP answer goes back as soon as the ack is set. That pool starts a job only once no Slack
request is waiting for its ack (``ack_first.py``). The work answers through ``response_url``
(``respond``) or the Web API.
"""

import logging
from concurrent.futures import Executor, ThreadPoolExecutor

from slack_bolt import App
from sqlalchemy.engine import Engine

from bot.chat.slack import web_client
from bot.settings import Settings
from handlers.slack.ack_first import AckFirstExecutor
from handlers.slack.listeners import register_all
from handlers.slack.listeners.events import Seen

LISTENER_THREADS = 32  # Bolt's own threads: they only ack and hand over, so many are cheap
WORK_THREADS = 2  # database work: CPU-bound Python shares the GIL with the acks; 2 measured best (bench)


def quiet_logger() -> logging.Logger:
    """Bolt's loggers, kept at WARNING: at INFO Bolt logs a request with a bad signature whole
    (body included). Bolt copies this logger's level to each of its own."""
    logger = logging.getLogger("slack_bolt.attendance")
    logger.setLevel(logging.WARNING)
    return logger


def build_bolt_app(
    settings: Settings, engine: Engine, *, work: Executor | None = None, socket_mode: bool = False
) -> App:
    work = work or AckFirstExecutor(WORK_THREADS)
    app = App(
        logger=quiet_logger(),
        client=web_client(settings),
        signing_secret=settings.slack_signing_secret or ("" if socket_mode else None),
        token_verification_enabled=False,
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="bolt"),
    )
    seen_events = Seen()

    @app.middleware
    def _inject(context, next):
        context["engine"] = engine
        context["settings"] = settings
        context["work"] = work
        context["seen_events"] = seen_events
        return next()

    register_all(app)
    return app
