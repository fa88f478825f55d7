"""Bolt listeners, grouped by kind. Each module holds one small callback and ``register(app)``."""

from slack_bolt import App


def register_all(app: App) -> None:
    from handlers.slack.listeners.actions import alert_action, choose_pupil
    from handlers.slack.listeners.commands import absences, call, help, notice, pupil, recode
    from handlers.slack.listeners.events import app_mention

    for module in (absences, call, notice, recode, pupil, help, choose_pupil, alert_action, app_mention):
        module.register(app)
