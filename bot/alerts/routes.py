"""Where an alert can reach a person: chat (Slack, Teams), else email; and the DSL's phone.

Every alert must reach someone. A school with Slack (the bot's token and a pastoral channel) or a
Teams Workflows URL gets its alerts in chat; a school with neither gets them by email, to the DSL or
the attendance lead according to the alert's audience, through the outbox (one-way: the delivery
job writes the email row in the transaction that marks the alert delivered). The alerts that need an
owner at once (``bot.alerts.owner``) also go to the DSL by email and, when the school set the DSL's
mobile, by text, whatever chat the school has.

``missing_routes`` is what the clock checks in production: a school with no route at all would
have its alerts go nowhere, so the clock refuses to run it and says which school and why.
"""

from bot.chat import slack as slack_chat
from bot.settings import Settings
from storage.models import School


def slack_channel_for(school: School, audience: str) -> str | None:
    """Pastoral and DSL alerts go to the pastoral channel; attendance alerts to the attendance channel
    (or the pastoral one when the school has no separate attendance channel)."""
    if audience == "attendance":
        return school.slack_attendance_channel or school.slack_pastoral_channel
    return school.slack_pastoral_channel


def chat_routes(school: School, settings: Settings) -> list[str]:
    """The chat tools that deliver this school's alerts ("slack", "teams")."""
    routes = []
    if slack_chat.is_configured(settings) and school.slack_pastoral_channel:
        routes.append("slack")
    if school.teams_workflow_url:
        routes.append("teams")
    return routes


def email_recipients(school: School, audience: str) -> list[str]:
    """Who gets an alert by email when the school has no chat: the DSL for DSL alerts, the attendance
    lead for the rest (the DSL when the school has no attendance lead's address, and the other way
    round), so an alert never goes nowhere while the school holds any address."""
    if audience == "dsl":
        first, fallback = school.dsl_email, school.attendance_lead_email
    else:
        first, fallback = school.attendance_lead_email, school.dsl_email
    return [a for a in (first or fallback,) if a]


def missing_routes(schools: list[School], settings: Settings) -> list[tuple[School, str]]:
    """Schools whose alerts would reach nobody, each with what to set. Email counts only when a real
    SMTP server is configured (the local transport only records messages)."""
    out = []
    for school in schools:
        if chat_routes(school, settings):
            continue
        if (school.dsl_email or school.attendance_lead_email) and not settings.email_is_local:
            continue
        out.append(
            (
                school,
                "no Slack channel (with SLACK_BOT_TOKEN), no Teams Workflows URL, and no "
                "DSL or attendance lead email with SMTP_HOST set",
            )
        )
    return out
