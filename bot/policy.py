"""Per-school policy with the seeds' values as defaults.

``policy_for`` always returns a complete policy: a school that never set a value gets the default,
so services never need to know which values a school has chosen.
"""

from copy import deepcopy

from sqlmodel import Session

from storage.models import SchoolPolicy

DEFAULT_LADDER: list[dict] = [
    {
        "day": 3,
        "kind": "home_visit_requested",
        "title": "Home visit requested",
        "text": "Day {day} of unexplained absence with no reason from the family. "
        "Please arrange a home visit today; leave a letter if there is no answer.",
    },
    {
        "day": 4,
        "kind": "home_visit_due",
        "title": "Home visit due",
        "text": "Day {day}: home visit due. No answer and no contact means a referral to MASH and "
        "the police.",
    },
    {
        "day": 5,
        "kind": "mash_referral",
        "title": "MASH referral",
        "text": "Day {day}: child not seen for {day} school days. Refer to MASH and inform the police.",
    },
]

# Pupils with a social worker, a child-protection or child-in-need plan, looked after, or with a
# youth offending worker: the seeds contact them first, tell their worker on day 1 and expect the
# DSL to know at once ("inform Pastoral Team immediately"; "if the school cannot reach any of the
# pupil's emergency contacts, the school may contact police or MASH"). So their default ladder starts
# with a day-1 alert to the DSL and reaches MASH two days sooner than the ordinary one.
DEFAULT_VULNERABLE_LADDER: list[dict] = [
    {
        "day": 1,
        "kind": "vulnerable_day1",
        "title": "Vulnerable pupil absent without a reason",
        "audience": "dsl",
        "severity": "high",
        "text": "Day {day} of unexplained absence for a pupil with a social worker, a protection or "
        "child-in-need plan, looked after or with a youth offending worker. Their worker has been "
        "emailed; speak to them today (contact below) and decide whether a home visit is needed.",
    },
    {
        "day": 2,
        "kind": "home_visit_requested",
        "title": "Home visit requested (vulnerable pupil)",
        "audience": "pastoral",
        "severity": "high",
        "text": "Day {day}: still no reason for a vulnerable pupil. Please make a home visit today and "
        "tell their worker; leave a letter if there is no answer.",
    },
    {
        "day": 3,
        "kind": "mash_referral",
        "title": "MASH referral (vulnerable pupil)",
        "audience": "dsl",
        "severity": "urgent",
        "text": "Day {day}: vulnerable child not seen for {day} school days. Refer to MASH, inform the "
        "police and the child's worker.",
    },
]

DEFAULT_THRESHOLDS: dict = {
    "penalty_sessions": 10,  # unauthorised sessions (G, N, O, U) ...
    "penalty_weeks": 10,  # ... in a rolling window of this many school weeks
    "la_unauthorised_days": 10,  # continuous school days unauthorised -> notify the LA
    "la_illness_days": 15,  # school days of illness, consecutive or cumulative -> notify the LA
    "cme_days": 20,  # continuous school days unauthorised, whereabouts unknown -> CME
    "letter_concern": 96.0,
    "letter_formal": 90.0,
    "letter_serious": 80.0,
    "persistent": 10.0,
    "severe": 50.0,
    # Graduated response tiers (first seed / Mickley): the lowest tier whose floor the pupil meets.
    "tiers": [
        {"name": "universal", "min_percent": 97.0},
        {"name": "emerging", "min_percent": 90.0},
        {"name": "intensive", "min_percent": 80.0},
        {"name": "specialist", "min_percent": 0.0},
    ],
}

# How long each kind of personal data is kept (``bot.privacy.purge``). Families' words and the
# messages sent to them are needed for a school year and the complaints window after it (13 months);
# the register and its amendments must be kept 6 years (the School Attendance (Pupil Registration)
# (England) Regulations 2024), so no school may set a shorter ``register_years``.
REGISTER_MIN_YEARS = 6
DEFAULT_RETENTION: dict = {
    "messages_months": 13,  # texts, emails and calls to families: bodies, addresses, recordings' links
    "replies_months": 13,  # families' replies (SMS, email, report page, voice), notices' words, call notes
    "alerts_months": 13,  # alert texts (they quote parents) and staff's notes on them
    "links_months": 13,  # revoked "report an absence" links
    "register_years": REGISTER_MIN_YEARS,  # marks and their amendments
}

ROLES = ("attendance_officer", "dsl", "pastoral", "teacher", "admin", "headteacher")


def thresholds(policy: SchoolPolicy) -> dict:
    merged = deepcopy(DEFAULT_THRESHOLDS)
    merged.update(policy.thresholds or {})
    return merged


def retention(policy: SchoolPolicy) -> dict:
    """The school's retention periods, its own over the defaults."""
    return {**DEFAULT_RETENTION, **(policy.retention or {})}


def ladder(policy: SchoolPolicy, *, vulnerable: bool) -> list[dict]:
    """The escalation ladder a new case snapshots: the school's vulnerable ladder for vulnerable
    pupils (``DEFAULT_VULNERABLE_LADDER`` unless the school set its own), else the ordinary one."""
    if vulnerable:
        return deepcopy(policy.vulnerable_ladder or DEFAULT_VULNERABLE_LADDER)
    return deepcopy(policy.escalation_ladder or DEFAULT_LADDER)


def policy_for(session: Session, school_id: int) -> SchoolPolicy:
    policy = session.get(SchoolPolicy, school_id)
    if policy is None:
        policy = SchoolPolicy(school_id=school_id, escalation_ladder=deepcopy(DEFAULT_LADDER))
        session.add(policy)
        session.flush()
    return policy
