"""Where alerts and command results go in chat: Slack's Web API, a Teams Workflows webhook, or the
local feed (the ``Alert`` table itself) when neither is configured."""
