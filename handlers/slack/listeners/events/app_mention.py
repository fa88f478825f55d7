"""``@Attendance absences year 6`` in a channel: the same commands, answered to the person alone
(an ephemeral message in the thread)."""

import re

from slack_bolt import App

from bot import clock
from bot.chat import blocks
from bot.commands import Who, run_as
from handlers.slack.listeners.events import Seen
from handlers.slack.listeners.work import clean, submit
from storage.db import session_scope

MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")


def app_mention(body, event, client, context) -> None:
    seen = context.get("seen_events") or _seen
    if not seen.first_time(body.get("event_id")):
        return
    who = Who("slack", event.get("user", ""), body.get("team_id") or event.get("team"))
    line = MENTION.sub(" ", clean(event.get("text", ""))).strip()
    channel, thread = event.get("channel"), event.get("thread_ts") or event.get("ts")
    now = clock.now()

    def job() -> None:
        with session_scope(context["engine"]) as session:
            result = run_as(session, who=who, text=line, now=now)
        message = blocks.command(result)
        client.chat_postEphemeral(channel=channel, user=who.user_id, thread_ts=thread, **message)

    submit(context, job)


_seen = Seen()  # for direct calls; each Bolt app brings its own memory in ``context["seen_events"]``


def register(app: App) -> None:
    app.event("app_mention")(app_mention)
