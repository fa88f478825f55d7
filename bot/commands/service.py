"""What the staff commands do, whichever chat tool they came from: one module per command.

Every function takes the acting ``Staff`` row and works only inside that person's school. Writes go
through the domain's own doors: ``register.service.recode`` for marks, ``cases.service`` for the
case log and explanations, ``alerts.actions.act`` for alerts. ``dispatch`` calls them through this
module, so a test can stand in for one command here.
"""

from bot.commands.absences import FAILED, SENT, AbsenceRow, absences
from bot.commands.act import act
from bot.commands.calls import CallOutcome, log_call
from bot.commands.common import actor_of, check_school_day, school_today
from bot.commands.recode import RecodeOutcome, recode
from bot.commands.timeline import TIMELINE_DAYS, TIMELINE_MAX, Timeline, TimelineItem, timeline

__all__ = [
    "FAILED",
    "SENT",
    "TIMELINE_DAYS",
    "TIMELINE_MAX",
    "AbsenceRow",
    "CallOutcome",
    "RecodeOutcome",
    "Timeline",
    "TimelineItem",
    "absences",
    "act",
    "actor_of",
    "check_school_day",
    "log_call",
    "recode",
    "school_today",
    "timeline",
]
