"""Teams Adaptive Cards (1.5): how a command's answer and an alert look in Teams.

One interface per tool: ``command(result)`` here, in ``blocks`` (Slack) and in ``plain``. Teams has
no buttons for an outgoing webhook's answer, so choices are commands to type (``@Attendance ...``).
"""

from bot.chat.message import AlertView, CommandResult, chunk_lines
from bot.chat.teams import TEAMS_CARD_VERSION, teams_escape

TEAMS_MENTION = "@Attendance"


def command(result: CommandResult) -> dict:
    """An Adaptive Card (1.5) body; wrap with ``teams_message``. Every text is escaped: lines quote
    parents' replies and staff notes, which must show as typed, never as links or formatting."""
    body: list[dict] = [
        {
            "type": "TextBlock",
            "text": teams_escape(result.title),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            **({} if result.ok or result.choices else {"color": "Attention"}),
        }
    ]
    for s in result.sections:
        if s.heading:
            body.append(
                {
                    "type": "TextBlock",
                    "text": teams_escape(s.heading),
                    "weight": "Bolder",
                    "wrap": True,
                    "spacing": "Medium",
                }
            )
        for chunk in chunk_lines([teams_escape(x) for x in s.lines], 4000):
            body.append(
                {"type": "TextBlock", "text": chunk.replace("\n", "\n\n"), "wrap": True, "spacing": "Small"}
            )
    if result.choices:
        body.append({"type": "TextBlock", "text": "Type one of:", "wrap": True})
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": teams_escape(c.label), "value": f"{TEAMS_MENTION} {c.command}"}
                    for c in result.choices
                ],
            }
        )
    if result.error_ref:
        body.append(
            {"type": "TextBlock", "text": f"ref {result.error_ref}", "isSubtle": True, "size": "Small"}
        )
    return _card(body)


def alert(view: AlertView) -> dict:
    """An Adaptive Card 1.5. Workflow cards cannot call back, so actions are commands to type."""
    body: list[dict] = [
        {
            "type": "TextBlock",
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
            "text": f"{view.icon} {teams_escape(view.title)}",
            **({"color": "Attention"} if view.severity == "urgent" else {}),
        }
    ]
    if view.facts:
        facts = [{"title": k, "value": teams_escape(v)} for k, v in view.facts]
        body.append({"type": "FactSet", "facts": facts})
    if view.body:
        body.append({"type": "TextBlock", "text": teams_escape(view.body), "wrap": True})
    for e in view.evidence:
        body.append(
            {"type": "TextBlock", "text": teams_escape(e), "wrap": True, "isSubtle": True, "spacing": "Small"}
        )
    for h in view.history:
        body.append({"type": "TextBlock", "text": teams_escape(h), "wrap": True, "spacing": "Small"})
    if view.actions:
        body.append(
            {
                "type": "TextBlock",
                "text": "To act, type in this channel:",
                "wrap": True,
                "weight": "Bolder",
                "spacing": "Medium",
            }
        )
        to_type = [
            {"title": label, "value": f"{TEAMS_MENTION} act {view.id} {action}"}
            for action, label in view.actions
        ]
        body.append({"type": "FactSet", "facts": to_type})
    body.append({"type": "TextBlock", "isSubtle": True, "size": "Small", "wrap": True, "text": view.footer})
    return _card(body)


def _card(body: list[dict]) -> dict:
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": TEAMS_CARD_VERSION,
        "body": body,
    }
