"""What each command answers, as a tool-neutral ``CommandResult`` (``bot.chat.message``).

A command produces one result: a title, sections of lines, optional choices and the structured data
behind it. How it looks in a tool is ``bot.chat``'s business: ``blocks`` (Slack), ``cards`` (Teams),
``plain`` (the sandbox, the demo, the terminal). Nothing here knows a tool's format.
"""

from datetime import date

from bot.chat.message import Choice, CommandResult, Section
from bot.commands import grammar
from bot.pupils import year_label

# --------------------------------------------------------------------------------------------------
# Building results
# --------------------------------------------------------------------------------------------------


def error(message: str, *, command: str = "", ref: str | None = None) -> CommandResult:
    return CommandResult(ok=False, command=command, title=message, error_ref=ref)


def ambiguous(message: str, choices: list[tuple[str, str]], request) -> CommandResult:
    """Several pupils match: one choice per pupil, each re-running the command with ``#<id>``."""
    command = type(request).__name__.lower()
    return CommandResult(
        ok=False,
        command=command,
        title=message,
        choices=[Choice(label=text, command=grammar.with_pupil(request, f"#{pid}")) for pid, text in choices],
        data={"choices": [{"pupil_id": int(pid), "label": text} for pid, text in choices]},
    )


def help_result(topic: str | None) -> CommandResult:
    return CommandResult(
        ok=True,
        command="help",
        title="Attendance commands",
        sections=[Section(lines=grammar.help_text(topic).split("\n"))],
    )


def absences_result(
    rows, *, day: date, today: date, year: int | None, class_name: str | None
) -> CommandResult:
    scope = " · ".join(
        x for x in (year_label(year) or None, f"class {class_name}" if class_name else None) if x
    )
    title = f"Unexplained absences {grammar.describe_date(day, today)}" + (f" ({scope})" if scope else "")
    if not rows:
        return CommandResult(
            ok=True,
            command="absences",
            title=title,
            sections=[Section(lines=["No unexplained absences. 🎉"])],
            data={"rows": []},
        )
    lines = [absence_line(r) for r in rows]
    return CommandResult(
        ok=True,
        command="absences",
        title=f"{title}: {len(rows)}",
        sections=[Section(lines=lines)],
        data={
            "rows": [
                {
                    "pupil_id": r.pupil_id,
                    "name": r.name,
                    "year_group": r.year_group,
                    "class_name": r.class_name,
                    "vulnerable": r.vulnerable,
                    "flags": r.flags,
                    "sessions": r.sessions,
                    "case_id": r.case_id,
                    "case_status": r.case_status,
                    "day": r.day_number,
                    "sent": r.sent,
                    "delivered": r.delivered,
                    "failed": r.failed,
                    "replies": r.replies,
                    "calls": r.calls,
                    "automated_calls": r.automated_calls,
                    "notice": getattr(r, "notice", None),
                    "notice_alert_id": getattr(r, "notice_alert_id", None),
                }
                for r in rows
            ]
        },
    )


def absence_line(r) -> str:
    mark = "⚠️ " if r.vulnerable else ""
    parts = [f"{mark}{r.label}"]
    if r.flags:
        parts.append("/".join(r.flags))
    parts.append("+".join(r.sessions))
    if r.day_number:
        parts.append(f"day {r.day_number}")
    msgs = f"msgs {r.sent} sent, {r.delivered} delivered"
    if r.failed:
        msgs += f", {r.failed} failed"
    if getattr(r, "automated_calls", 0):
        msgs += f" (incl. {r.automated_calls} automated call{'s' if r.automated_calls > 1 else ''})"
    parts += [msgs, f"replies {r.replies}", f"calls {r.calls}"]
    if getattr(r, "notice", None):
        # Already reported by the family (bot.notices): staff accept the code or pick another.
        act = f" — Accept / Pick another (alert {r.notice_alert_id})" if r.notice_alert_id else ""
        parts.append(f"{r.notice}{act}")
    elif r.case_status == "explained":
        parts.append("reason received" + (f" ({r.suggested_code}): recode" if r.suggested_code else ""))
    return " · ".join(parts)


def call_result(outcome) -> CommandResult:
    p = outcome.pupil
    who = f"{p.display_first_name} {p.last_name}"
    lines = []
    if outcome.explained:
        lines.append(
            "The absence is now explained; chasing stops."
            + (f" Suggested code {outcome.code}: recode when you are ready." if outcome.code else "")
        )
    elif outcome.call.outcome == "spoke" and outcome.case is not None:
        lines.append("The case already had a reason; the call is on record.")
    if outcome.case is None:
        lines.append(f"{p.display_first_name} has no open absence case; the call is on their record.")
    if outcome.return_date:
        lines.append(f"Expected back {outcome.return_date:%a %d %b}.")
    if outcome.concern:
        lines.append("⚠️ This sounds like a welfare concern: tell the DSL.")
    lines += [notice_covers(n) for n in getattr(outcome, "notices", [])]
    return CommandResult(
        ok=True,
        command="call",
        title=f"Call logged for {who}: {outcome.call.outcome}",
        sections=[Section(lines=lines)] if lines else [],
        data={
            "call_id": outcome.call.id,
            "pupil_id": p.id,
            "explained": outcome.explained,
            "code": outcome.code,
        },
    )


def notice_covers(notice) -> str:
    """What a notice means for the register, in one line for staff."""
    from bot.notices.wording import covers_words

    if notice.status != "active":
        return f"Noted: {covers_words(notice)}; it covers no session still to come."
    return f"Noted: {covers_words(notice)}. No 'no reason' message or chasing for those sessions."


def notice_result(outcome) -> CommandResult:
    p = outcome.pupil
    who = f"{p.display_first_name} {p.last_name}"
    if outcome.withdrawn or not outcome.notices:
        title = (
            f"Withdrew {outcome.withdrawn} notice(s) for {who}: from today they are messaged and "
            "chased as usual."
            if outcome.withdrawn
            else f"{who} has no notice to withdraw."
        )
        return CommandResult(
            ok=True,
            command="notice",
            title=title,
            data={"pupil_id": p.id, "withdrawn": outcome.withdrawn, "notice_ids": []},
        )
    from bot.notices.wording import line

    lines = [notice_covers(n) for n in outcome.notices]
    if outcome.explained_case is not None:
        lines.append("The open absence case is now explained; chasing stops.")
    if outcome.concern:
        lines.append("⚠️ This sounds like a welfare concern: tell the DSL.")
    return CommandResult(
        ok=True,
        command="notice",
        title=f"Notice recorded for {who}: {line(outcome.notices[0])}",
        sections=[Section(lines=lines)],
        data={
            "pupil_id": p.id,
            "notice_ids": [n.id for n in outcome.notices],
            "explained_case_id": outcome.explained_case.id if outcome.explained_case else None,
        },
    )


def recode_result(outcome) -> CommandResult:
    p = outcome.pupil
    who = f"{p.display_first_name} {p.last_name}"
    when = f"{outcome.day:%a %d %b}"
    if not outcome.amendments:
        return CommandResult(
            ok=True,
            command="recode",
            title=f"{who} is already {outcome.code} on {when}; nothing changed.",
            data={"amendment_ids": [], "pupil_id": p.id},
        )
    lines = [f"{a.session}: {a.original_code} → {a.amended_code}" for a in outcome.amendments]
    if outcome.case is not None and outcome.case.status != "open":
        lines.append(f"The absence case is now {outcome.case.status}.")
    return CommandResult(
        ok=True,
        command="recode",
        title=f"Recoded {who} on {when} ({outcome.amendments[0].reason})",
        sections=[Section(lines=lines)],
        data={
            "amendment_ids": [a.id for a in outcome.amendments],
            "pupil_id": p.id,
            "case_status": outcome.case.status if outcome.case else None,
        },
    )


def timeline_result(tl) -> CommandResult:
    head = []
    if tl.flags:
        head.append("Flags: " + ", ".join(tl.flags))
    if tl.percent is not None:
        head.append(f"Attendance this year: {tl.percent:.1f}%")
    if tl.open_case is not None:
        head.append(
            f"Open case since {tl.open_case.first_date:%a %d %b}"
            + (f" (school day {tl.case_day})" if tl.case_day else "")
        )
    lines = [f"{_local_stamp(i.at)}  {i.text}" for i in tl.items] or ["Nothing in the last two weeks."]
    if tl.truncated:
        lines.insert(0, f"(older {tl.truncated} entries not shown)")
    sections = [Section(lines=head)] if head else []
    sections.append(Section(heading="Last two weeks", lines=lines))
    return CommandResult(
        ok=True,
        command="pupil",
        title=tl.label,
        sections=sections,
        data={"pupil_id": tl.pupil.id, "items": [{"kind": i.kind, "text": i.text} for i in tl.items]},
    )


def act_result(alert, action: str) -> CommandResult:
    return CommandResult(
        ok=True,
        command="act",
        title=f"Done: {action.replace('_', ' ')} on alert {alert.id}",
        data={"alert_id": alert.id, "status": alert.status},
        alert_id=alert.id,
    )


def _local_stamp(at) -> str:
    from bot import clock

    return clock.to_local(at).strftime("%a %d %b %H:%M")
