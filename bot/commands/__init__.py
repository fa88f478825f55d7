"""Staff commands shared by every chat tool: grammar, identity, pupil lookup, services and views.

Edges call ``run_as`` (a chat account) or ``run_command`` (a known staff row) and render the
``CommandResult`` with ``views.to_slack``, ``views.to_teams_card`` or ``views.to_text``.
"""

from bot.commands.dispatch import run_as, run_command
from bot.commands.identity import Who
from bot.commands.views import CommandResult

__all__ = ["run_as", "run_command", "Who", "CommandResult"]
