"""Plain text: a chat answer as the sandbox, the scripted demo and the terminal show it."""

from bot.chat.message import CommandResult


def command(result: CommandResult) -> str:
    out = [result.title]
    for s in result.sections:
        if s.heading:
            out.append(f"\n{s.heading}")
        out.extend(s.lines)
    if result.choices:
        out.append("Type one of:")
        out.extend(f"  {c.command}    ({c.label})" for c in result.choices)
    return "\n".join(out)
