"""What an escalation alert shows, as data for the chat renderers and as readable text.

Everything the pastoral team needs to act without opening another screen: who, which year and
class, which school day of absence, vulnerability flags, and every attempt to reach the family.
These go to staff channels only; family messages never carry any of it.
"""

from datetime import date

from bot.escalation import ladder as ladders
from bot.pupils import year_and_class
from storage.models import AbsenceCase, Pupil, School

OUTCOME_WORDS = {
    "spoke": "spoke to parent",
    "no_answer": "no answer",
    "voicemail": "left voicemail",
    "wrong_number": "wrong number",
    "unobtainable": "number unobtainable",
}


def _year_class(pupil: Pupil) -> str:
    return year_and_class(pupil.year_group, pupil.class_name)


def worker_contacts(pupil: Pupil) -> list[dict]:
    """The professionals the DSL should speak to about a vulnerable pupil, with what we hold for them."""
    out = []
    if pupil.has_social_worker or pupil.child_protection or pupil.looked_after:
        out.append({"role": "Social worker", "email": pupil.social_worker_email})
    if pupil.has_yot_worker:
        out.append({"role": "Youth offending worker", "email": pupil.yot_worker_email})
    return out


def alert_data(
    *, case: AbsenceCase, pupil: Pupil, step: dict, index: int, facts, flags: list[str], actions: list[str]
) -> dict:
    """The alert's payload (JSON). Dates are ISO strings so every renderer can format them."""
    return {
        "pupil": {
            "id": pupil.id,
            "name": f"{pupil.first_name} {pupil.last_name}",
            "year_group": pupil.year_group,
            "class_name": pupil.class_name,
            "year_class": _year_class(pupil),
        },
        "case_id": case.id,
        "step": {k: step.get(k) for k in ("day", "kind", "title", "text", "audience") if k in step},
        "index": index,
        "day": facts.day_number,
        "day_text": ladders.render_text(step, day=facts.day_number) if step else "",
        "first_date": case.first_date.isoformat(),
        "first_session": case.first_session,
        "through": facts.through.isoformat(),
        "flags": flags,
        "workers": worker_contacts(pupil),
        "contact": facts.history,
        "actions": list(actions),
    }


def alert_body(data: dict) -> str:
    """Readable text of an escalation alert (email, local feed, chat fallback text)."""
    first = date.fromisoformat(data["first_date"])
    pupil = data["pupil"]
    lines = [
        f"{pupil['name']} ({pupil['year_class'] or 'no class recorded'})",
        f"Day {data['day']} of unexplained absence, since {first:%a %d %b} {data['first_session']}.",
    ]
    if data.get("flags"):
        lines.append("Flags: " + ", ".join(data["flags"]))
    for worker in data.get("workers") or []:
        held = worker["email"] or "no contact recorded (add it to the pupil file)"
        lines.append(f"{worker['role']}: {held}")
    if data.get("day_text"):
        lines.append(data["day_text"])
    contact = data.get("contact") or {}
    messages, calls, replies = (contact.get(k, []) for k in ("messages", "calls", "replies"))
    attempts = (
        [f"• {m['channel'].upper()} to {m['to']} {m['at']} — {m['status']}" for m in messages]
        + [f"• Call {c['at']} — {OUTCOME_WORDS.get(c['outcome'], c['outcome'])}" for c in calls]
        + [f"• Reply {r['at']}: “{r['text']}”" for r in replies]
    )
    lines.append("Contact so far:" if attempts else "No contact attempts recorded.")
    lines.extend(attempts)
    if data.get("day_now", data["day"]) != data["day"]:
        lines.append(f"Now day {data['day_now']} of the absence.")
    if data.get("raised_count", 1) > 1:
        lines.append(f"Raised {data['raised_count']} times: nobody has acted on it yet.")
    return "\n".join(lines)


def worker_email(*, school: School, pupil: Pupil, case: AbsenceCase, role: str) -> tuple[str, str]:
    """The day-1 email to a social worker or YOT worker (staff-to-professional: may name the pupil)."""
    name = f"{pupil.first_name} {pupil.last_name}"
    subject = f"{school.name}: {name} absent without a reason"
    body = (
        f"Dear {role},\n\n"
        f"{name} ({_year_class(pupil) or 'no class recorded'}) at {school.name} has been absent without a "
        f"reason since {case.first_date:%A %d %B %Y} ({case.first_session}). The school is contacting the "
        f"family and will escalate under its safeguarding procedures if the child is not seen.\n\n"
        f"Please contact the school{(' on ' + school.phone) if school.phone else ''} if you know where "
        f"{pupil.first_name} is.\n\n— {school.name} attendance team"
    )
    return subject, body
