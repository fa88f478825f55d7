"""One vocabulary for a pupil (``bot.pupils``): the urgency order register close contacts families
in is the order ``/absences`` lists them in, on SQLite and PostgreSQL; labels and flags are spelled
one way."""

from datetime import date

from sqlmodel import select

from bot.commands.service import absences
from bot.firstday.service import register_close
from bot.policy import policy_for
from bot.pupils import flag_words, flags, label, year_label
from storage.models import AbsenceCase, MessageCase, OutboxMessage
from tests import factories as f

MON = date(2026, 11, 23)


def test_register_close_and_absences_agree_on_the_urgency_order(session):
    school = f.school(session)
    policy = policy_for(session, school.id)
    policy.vulnerable_first, policy.priority_year_groups = True, [6, 5]
    session.add(policy)
    pupils = [
        f.pupil(session, school, first="Ada", last="Zephyr", year_group=3),
        f.pupil(session, school, first="Bo", last="Young", year_group=3, has_yot_worker=True),
        f.pupil(session, school, first="Cy", last="de Silva", year_group=3),
        f.pupil(session, school, first="Di", last="Abbott", year_group=6),
        f.pupil(session, school, first="Ed", last="Moss", year_group=2, looked_after=True),
        f.pupil(session, school, first="Fay", last="Brown", year_group=0, preferred_name="Zoe"),
        f.pupil(session, school, first="Gus", last="Abbott", year_group=3),
    ]
    for n, p in enumerate(pupils):
        f.contact(session, school, p, first=f"Parent{n}", mobile=f"+4477009000{n:02d}")
        f.mark(session, p, MON, "AM", "N")
    staff = f.staff(session, school)

    register_close(session, school=school, session_name="AM", settings=f.settings(), now=f.at(MON, "09:15"))
    contacted = session.exec(
        select(AbsenceCase.pupil_id)
        .join(MessageCase, MessageCase.case_id == AbsenceCase.id)
        .join(OutboxMessage, OutboxMessage.id == MessageCase.message_id)
        .order_by(OutboxMessage.id)
    ).all()
    listed = [r.pupil_id for r in absences(session, staff=staff, day=MON)]

    by_name = {p.first_name: p.id for p in pupils}
    expected = [by_name[n] for n in ("Ed", "Bo", "Di", "Gus", "Fay", "Cy", "Ada")]
    # A youth offending worker makes a pupil vulnerable on both paths; surnames sort regardless of case.
    assert contacted == expected
    assert listed == expected


def test_labels_and_flags_are_spelled_one_way(session):
    school = f.school(session)
    p = f.pupil(
        session,
        school,
        first="Amelia",
        last="Khan",
        year_group=0,
        class_name="RB",
        has_yot_worker=True,
        child_protection=True,
    )
    assert [year_label(y) for y in (None, -1, 0, 4)] == ["", "Nursery", "Reception", "Year 4"]
    assert label(p) == "Amelia Khan (Reception, RB)"
    assert flags(p) == ["CP", "YOT"]
    assert flag_words(p) == ["child-protection plan / child in need", "youth offending worker"]
