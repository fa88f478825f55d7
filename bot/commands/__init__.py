"""Staff commands shared by every chat tool: grammar, identity, pupil lookup, services, results.

Edges call ``run_as`` (a chat account) or ``run_command`` (a known staff row) and lay out the
``CommandResult`` with ``bot.chat``'s renderers: ``blocks.command`` (Slack), ``cards.command``
(Teams) or ``plain.command`` (text).
"""

from bot.chat.message import CommandResult
from bot.commands.dispatch import run_as, run_command
from bot.commands.identity import Who

__all__ = ["run_as", "run_command", "Who", "CommandResult"]
