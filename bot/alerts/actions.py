"""The buttons an alert can carry: what each is called, whether it settles the alert, who may press it.

This is the catalogue, as data, so every renderer (Slack, Teams, the sandbox) can draw buttons
without knowing the domains. What pressing a button *does* is written by the domain that owns it
(``bot.escalation.actions``, ``bot.replies.actions``) and run by ``bot.commands.acting.act``, which
also records who pressed what and when.
"""

from dataclasses import dataclass

from storage.models import Alert


@dataclass(frozen=True)
class Action:
    id: str
    label: str
    settles: bool  # the alert no longer needs anyone once this is done
    roles: tuple[str, ...] | None = None  # None: any staff role of the school


ACTIONS: dict[str, Action] = {
    a.id: a
    for a in (
        Action("acknowledge", "Acknowledge", settles=True),
        Action("close_case", "Close case", settles=True),
        # Escalation and thresholds (bot.escalation.actions)
        Action("home_visit_seen", "Home visit done – child seen", settles=True),
        Action("home_visit_no_answer", "No answer at the door", settles=False),
        Action("referred_mash", "Referred to MASH", settles=True),
        Action("police_informed", "Police informed", settles=True),
        Action("la_notified", "Local authority notified", settles=True),
        Action("cme_referred", "Referred to the CME team", settles=True),
        # A parent's reply (bot.replies.actions)
        Action("accept_code", "Accept code", settles=True),
        Action("pick_code", "Pick another code", settles=True),
        # "Child may be missing" and welfare concerns (bot.replies.actions; police_informed above)
        Action("child_found_safe", "Child found safe", settles=True),
        Action("parent_reached", "Parent reached", settles=True),
        Action("close_alert", "Close", settles=True),
    )
}


def available(alert: Alert) -> list[Action]:
    """The buttons to show on an alert: ``alert.data['actions']`` lists their ids."""
    return [ACTIONS[a] for a in (alert.data or {}).get("actions", []) if a in ACTIONS]
