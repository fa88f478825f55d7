"""Slack Block Kit: how a command's answer and an alert look in Slack.

One interface per tool: ``command(result)`` here, in ``cards`` (Teams) and in ``plain``. Every text
that may quote a parent or a member of staff is escaped (``slack_escape``).
"""

from bot.chat.message import AlertView, CommandResult, chunk_lines
from bot.chat.slack import slack_escape

SLACK_TEXT_LIMIT = 2900  # a section's text may hold 3000 characters
SLACK_MAX_BLOCKS = 50


def command(result: CommandResult) -> dict:
    """``{"text": ..., "blocks": [...]}`` for ``respond``/``chat.postMessage``."""
    title = slack_escape(result.title)
    icon = "" if result.ok or result.choices else ":warning: "
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"{icon}*{title[:2900]}*"}}]
    for s in result.sections:
        lines = [slack_escape(x) for x in s.lines]
        if s.heading:
            lines = [f"*{slack_escape(s.heading)}*", *lines]
        for chunk in chunk_lines(lines, SLACK_TEXT_LIMIT):
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    if result.choices:
        blocks.append(
            {
                "type": "actions",
                "block_id": "choose_pupil",
                "elements": [
                    {
                        "type": "button",
                        "action_id": f"choose_pupil:{i}",
                        "text": {"type": "plain_text", "text": c.label[:75]},
                        "value": c.command[:2000],
                    }
                    for i, c in enumerate(result.choices[:25])
                ],
            }
        )
    if result.error_ref:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"ref {result.error_ref}"}]}
        )
    if len(blocks) > SLACK_MAX_BLOCKS:
        blocks = blocks[: SLACK_MAX_BLOCKS - 1] + [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "(more not shown)"}]}
        ]
    return {"text": result.title[:3000], "blocks": blocks}


def alert(view: AlertView) -> tuple[str, list[dict]]:
    """``(text, blocks)`` for ``chat.postMessage``/``chat.update``: buttons while the alert is open."""
    blocks: list[dict] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"{view.icon} {view.title}"[:150], "emoji": True},
        }
    ]
    if view.facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{k}*\n{slack_escape(v)}"} for k, v in view.facts[:10]
                ],
            }
        )
    if view.body:
        text = slack_escape(view.body)[:2900]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if view.evidence:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": slack_escape(e)[:300]} for e in view.evidence[:10]],
            }
        )
    if view.history:
        text = slack_escape("\n".join(view.history))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if view.actions:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"alert:{view.id}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": f"alert_action:{action}",
                        "value": f"{view.id}:{action}",
                        "text": {"type": "plain_text", "text": label[:75]},
                    }
                    for action, label in view.actions[:25]
                ],
            }
        )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": view.footer}]})
    return f"{view.icon} {view.title}", blocks
