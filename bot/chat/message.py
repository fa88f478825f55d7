"""The tool-neutral shape of a chat answer: what a command said, before any tool lays it out.

Commands build a ``CommandResult``; the renderers (``blocks`` for Slack, ``cards`` for Teams,
``plain`` for text) each turn it into their tool's format. Keeping the shape here, below both the
commands and the renderers, lets alerts, commands and the edges share the renderers without
importing each other.
"""

from dataclasses import dataclass, field

SEVERITY_ICON = {"urgent": "🔴", "high": "🟠", "normal": "🔵"}


@dataclass
class Choice:
    label: str
    command: str  # the command line that choosing runs


@dataclass
class Section:
    heading: str | None = None
    lines: list[str] = field(default_factory=list)


@dataclass
class CommandResult:
    ok: bool
    command: str
    title: str
    sections: list[Section] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)
    data: dict = field(default_factory=dict)  # structured facts for tests and other pages
    error_ref: str | None = None
    alert_id: int | None = None  # an alert whose message should be re-rendered
    public: bool = False  # shown to the channel rather than to the user alone


def chunk_lines(lines: list[str], limit: int) -> list[str]:
    """Join lines into pieces of at most ``limit`` characters (a tool's limit per text block)."""
    out, cur = [], ""
    for line in lines:
        line = line[:limit]
        if cur and len(cur) + 1 + len(line) > limit:
            out.append(cur)
            cur = line
        else:
            cur = f"{cur}\n{line}" if cur else line
    if cur:
        out.append(cur)
    return out


@dataclass
class AlertView:
    """What an alert says, gathered once (``bot.alerts.view``) and laid out by each tool's renderer.

    ``facts`` are (label, value) pairs; ``evidence`` and ``history`` are lines; ``actions`` are the
    (action id, label) pairs open to someone now (none once the alert is acted on or closed).
    """

    id: int
    title: str
    severity: str
    audience: str
    status: str
    body: str | None = None
    facts: list[tuple[str, str]] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    actions: list[tuple[str, str]] = field(default_factory=list)

    @property
    def icon(self) -> str:
        return SEVERITY_ICON.get(self.severity, "")

    @property
    def footer(self) -> str:
        return f"Alert {self.id} · {self.severity} · for {self.audience} · {self.status}"
