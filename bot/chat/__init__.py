"""Chat in one home: what a message says, how each tool lays it out, and how it gets there.

- ``message``: the tool-neutral shape (``CommandResult`` for a command's answer, ``AlertView`` for an
  alert), built by the commands and the alerts;
- one renderer per tool, each with the same small interface: ``blocks`` (Slack Block Kit),
  ``cards`` (Teams Adaptive Cards), ``plain`` (text for the sandbox, the demo and the terminal);
- the transports: ``slack`` (the Web API), ``teams`` (a Workflows webhook) and ``local`` (the
  ``Alert`` table itself, when neither is configured).

Nothing here decides who is told what: ``bot.alerts.deliver`` and the edges do.
"""
