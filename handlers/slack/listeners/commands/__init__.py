"""Slash commands: each acks at once and answers through ``response_url`` after the work."""

from handlers.slack.listeners.work import clean, run_and_respond, who_from


def answer(name: str, ack, command: dict, respond, context) -> None:
    ack()
    run_and_respond(
        context, who=who_from(command), line=f"{name} {clean(command.get('text', ''))}", respond=respond
    )
