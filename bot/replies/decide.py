"""What a family's reply should make happen, decided without touching the database.

``decide`` reads what the reply said (its code, day back, concern, whether the reader was unsure) and
which cases and pupils it concerns, and returns a list of effects: small frozen records such as
"raise this alert", "explain these cases", "take a notice", "thank the family". ``apply.route``
carries them out in order. Keeping the rules here, apart from the writes, means every branch of
"what does a reply do" (see ``bot.replies.service``'s docstring) can be read in one place and
tested with plain objects.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from bot import codes
from bot.alerts.owner import OWNER_ACTIONS
from bot.replies import rules
from bot.replies.noticing import NoticeFor
from storage.models import AbsenceCase, Pupil

# Codes the understanding module returns that are not national codes.
LATE, IN_SCHOOL, NONE, STOP, START = "LATE", "IN_SCHOOL", "NONE", "STOP", "START"


@dataclass(frozen=True)
class Reply:
    """One recorded reply as the decision reads it."""

    inbound_id: int
    body: str
    code: str
    return_date: date | None
    concern: bool
    needs_reading: bool
    cases: tuple[AbsenceCase, ...]  # the cases it concerns (open ones, or ones just explained)
    pupils: Mapping[int, Pupil]  # the family's pupils in this school, by id
    send_thanks: bool
    reason_given: bool | None = None  # None: decided from the code (see ``_reason_given``)
    notice_for: NoticeFor | None = None  # with no case: whom and which day a notice would be about


# --------------------------------------------------------------------------------------------------
# Effects
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RaiseAlert:
    kind: str
    key: str
    audience: str
    severity: str
    case: AbsenceCase | None
    pupil: Pupil | None
    extra: dict = field(default_factory=dict)  # merged into the alert's data (actions, twins, ...)


@dataclass(frozen=True)
class SetSmsOptOut:
    """Mirror the carrier's STOP (``stop``) or START on the contacts; STOP cancels their queued texts."""

    stop: bool


@dataclass(frozen=True)
class ExplainCases:
    """Explain each case with ``code`` (None: reported, staff pick the code) and the reply's day back."""

    code: str | None


@dataclass(frozen=True)
class NoticeForCases:
    """What the family said covers the cases' sessions to the day back (``notices.taking.for_cases``)."""

    code: str | None


@dataclass(frozen=True)
class NoticeAhead:
    """Nothing open: a notice about ``notice_for``'s pupils from its first day (``taking.without_case``)."""

    code: str | None
    notice_for: NoticeFor


@dataclass(frozen=True)
class Thank:
    """A thank-you naming ``pupils``, sent only if the step before it did something (``after``)."""

    pupils: tuple[Pupil, ...]
    after: str  # "explained": a case was explained | "notice": a notice was taken


Effect = RaiseAlert | SetSmsOptOut | ExplainCases | NoticeForCases | NoticeAhead | Thank


# --------------------------------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------------------------------


def decide(reply: Reply) -> list[Effect]:
    """Everything the reply should make happen, in the order it should happen."""
    effects = _welfare(reply) + _needs_reading(reply)
    if reply.code in (STOP, START):
        return effects + _opt(reply)
    if reply.code == IN_SCHOOL:
        return effects + _missing_child(reply)
    if not _reason_given(reply):  # NONE: chasing continues; staff see the reply all the same
        return effects + _no_reason(reply)
    national = reply.code if reply.code in codes.CODES else None
    notice = reply.notice_for
    if not reply.cases and notice is not None and not notice.past:
        # Nothing open: the family is telling us before the register (a notice), or about a new day.
        on_roll = tuple(p for p in notice.pupils if p.on_roll)
        thanks = [Thank(on_roll, after="notice")] if reply.send_thanks and on_roll else []
        return effects + [NoticeAhead(national, notice)] + thanks
    return effects + _reason(reply, national)


def key(kind: str, reply: Reply, case: AbsenceCase | None) -> str:
    return f"{kind}:{reply.inbound_id}:{case.id if case else 'none'}"


def _targets(reply: Reply) -> list[AbsenceCase | None]:
    """Each case; a reply that concerns no case is still routed once, without one."""
    return list(reply.cases) or [None]


def _only_pupil(reply: Reply) -> Pupil | None:
    return next(iter(reply.pupils.values())) if len(reply.pupils) == 1 else None


def _pupil_of(reply: Reply, case: AbsenceCase | None) -> Pupil | None:
    return reply.pupils.get(case.pupil_id) if case is not None else _only_pupil(reply)


def _alert(
    reply: Reply,
    kind: str,
    case: AbsenceCase | None,
    *,
    audience: str = "attendance",
    severity: str = "normal",
    alert_key: str | None = None,
    **extra,
) -> RaiseAlert:
    return RaiseAlert(
        kind=kind,
        key=alert_key or key(kind, reply, case),
        audience=audience,
        severity=severity,
        case=case,
        pupil=_pupil_of(reply, case),
        extra=extra,
    )


def _welfare(reply: Reply) -> list[Effect]:
    # A missing child is already the DSL's most urgent alert, carrying the reply: a second, welfare
    # alert about the same words would only split who acts on what.
    if not reply.concern or reply.code == IN_SCHOOL:
        return []
    return [
        _alert(reply, "welfare_concern", case, audience="dsl", severity="high", actions=list(OWNER_ACTIONS))
        for case in _targets(reply)
    ]


def _needs_reading(reply: Reply) -> list[Effect]:
    # The reader is unsure: a person reads it now, whatever routing does next (never silently left
    # as chasing, nor silently kept as a notice).
    if not reply.needs_reading or reply.code in (STOP, START):
        return []
    open_cases = [c for c in reply.cases if c.status == "open"] or ([None] if not reply.cases else [])
    return [_alert(reply, "needs_reading", case, severity="high") for case in open_cases]


def _opt(reply: Reply) -> list[Effect]:
    only = _only_pupil(reply)
    if rules.opt_word(reply.body) == reply.code:  # the carrier's own word: Twilio has acted already
        stop = reply.code == STOP
        kind = "opt_out" if stop else "opt_in"
        return [
            SetSmsOptOut(stop=stop),
            RaiseAlert(
                kind=kind,
                key=f"{kind}:{reply.inbound_id}",
                audience="attendance",
                severity="normal",
                case=None,
                pupil=only,
            ),
        ]
    # "Please stop texting me" is read as a wish, not the carrier's keyword: Twilio keeps delivering,
    # and opting a family out on a guess would cut a safety channel. A person decides (and records
    # it); nothing changes on its own.
    kind = "asks_opt_out" if reply.code == STOP else "asks_opt_in"
    return [
        RaiseAlert(
            kind=kind,
            key=f"{kind}:{reply.inbound_id}",
            audience="attendance",
            severity="normal",
            case=None,
            pupil=only,
        )
    ]


def _missing_child(reply: Reply) -> list[Effect]:
    effects: list[Effect] = []
    for case in _targets(reply):
        keys = {a: key(f"missing_child:{a}", reply, case) for a in ("pastoral", "dsl")}
        for audience, alert_key in keys.items():
            # Twins: whoever acts on one has acted on both (``bot.commands.acting``).
            effects.append(
                _alert(
                    reply,
                    "missing_child",
                    case,
                    audience=audience,
                    severity="urgent",
                    alert_key=alert_key,
                    actions=list(OWNER_ACTIONS),
                    twins=[k for a, k in keys.items() if a != audience],
                )
            )
    return effects


def _reason_given(reply: Reply) -> bool:
    if reply.reason_given is not None:
        return reply.reason_given
    # "Off till Wednesday" tells us when the child is back without saying why: the absence is
    # reported (nobody is chased); staff ask the reason if they need it and pick the code.
    code = reply.code
    given = code == LATE or code in codes.CODES or (code == NONE and bool(reply.return_date))
    if reply.concern and code in codes.UNAUTHORISED:
        # "Not come home", "he won't go, he's being bullied": the understanding suggests O or G,
        # but a worry is not a reason. Keep chasing; the DSL has the reply.
        return False
    return given


def _no_reason(reply: Reply) -> list[Effect]:
    # A reply about cases already explained ("thanks", "she's feeling better") is a follow-up.
    follow_up = bool(reply.cases) and all(c.status != "open" for c in reply.cases)
    kind = "reply_follow_up" if follow_up else "reply_no_reason"
    return [_alert(reply, kind, case) for case in _targets(reply)]


def _reason(reply: Reply, national: str | None) -> list[Effect]:
    effects: list[Effect] = [ExplainCases(national), NoticeForCases(national)]
    for case in _targets(reply):
        actions = ["accept_code", "pick_code"] if national else ["pick_code"]
        if case is None:
            actions = []  # nothing to recode without a case
        effects.append(
            _alert(
                reply,
                "reply",
                case,
                actions=actions,
                suggested_code=national,
                late=reply.code == LATE,
                understood=reply.code,
            )
        )
    if reply.send_thanks:  # a follow-up on an explained case is not thanked twice
        pupils = tuple(reply.pupils[c.pupil_id] for c in reply.cases if c.pupil_id in reply.pupils)
        effects.append(Thank(pupils, after="explained"))
    return effects


# --------------------------------------------------------------------------------------------------
# A text from a number we do not know
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerNeutrally:
    """A neutral answer that reveals nothing; ``key`` allows one per number per day."""

    key: str


@dataclass(frozen=True)
class TellStaffUnknownSender:
    key: str


def unknown_sender(*, inbound_id: int, from_number: str, day: date | None) -> list:
    """With a school to answer for (``day`` is its date), a neutral answer and a note to staff.

    One neutral answer per number per day: two auto-responders must not talk to each other forever.
    """
    if day is None:
        return []
    return [
        AnswerNeutrally(key=f"neutral:{from_number}:{day.isoformat()}"),
        TellStaffUnknownSender(key=f"unknown_sender:{inbound_id}"),
    ]
