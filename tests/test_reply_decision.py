"""The pure decision of what a family's reply should make happen (``bot.replies.decide``): plain
objects in, effects out, no database. ``test_replies_service`` checks the same rules end to end."""

from datetime import date

from bot.replies import decide
from bot.replies.noticing import NoticeFor
from storage.models import AbsenceCase, Pupil

MON = date(2026, 11, 23)
AMY = Pupil(id=7, school_id=1, mis_id="P7", first_name="Amy", last_name="Khan")
CASE = AbsenceCase(id=40, school_id=1, pupil_id=7, first_date=MON, first_session="AM", status="open")


def _reply(code: str, body: str = "", **kw) -> decide.Reply:
    kw.setdefault("cases", (CASE,))
    kw.setdefault("pupils", {AMY.id: AMY})
    kw.setdefault("send_thanks", True)
    return decide.Reply(
        inbound_id=3,
        body=body,
        code=code,
        return_date=kw.pop("return_date", None),
        concern=kw.pop("concern", False),
        needs_reading=kw.pop("needs_reading", False),
        **kw,
    )


def _kinds(effects) -> list[str]:
    return [e.kind if isinstance(e, decide.RaiseAlert) else type(e).__name__ for e in effects]


def test_illness_with_a_day_back_explains_takes_a_notice_tells_staff_and_thanks():
    back = date(2026, 11, 26)
    effects = decide.decide(_reply("I", "Amy has a temperature, back Thursday", return_date=back))

    assert _kinds(effects) == ["ExplainCases", "NoticeForCases", "reply", "Thank"]
    explain, notice, alert, thank = effects
    assert explain.code == "I" and notice.code == "I"
    assert alert.key == "reply:3:40" and alert.case is CASE and alert.pupil is AMY
    assert alert.extra == {
        "actions": ["accept_code", "pick_code"],
        "suggested_code": "I",
        "late": False,
        "understood": "I",
    }
    assert thank.pupils == (AMY,) and thank.after == "explained"


def test_the_reply_page_sends_no_thanks():
    effects = decide.decide(_reply("I", send_thanks=False))
    assert "Thank" not in _kinds(effects)


def test_a_missing_child_alarms_pastoral_and_the_dsl_as_twins_and_explains_nothing():
    effects = decide.decide(_reply("IN_SCHOOL", "she left for school at 8", concern=True))

    assert _kinds(effects) == ["missing_child", "missing_child"]  # no second, welfare alert
    pastoral, dsl = effects
    assert (pastoral.audience, dsl.audience) == ("pastoral", "dsl")
    assert {pastoral.severity, dsl.severity} == {"urgent"}
    assert pastoral.extra["twins"] == [dsl.key] and dsl.extra["twins"] == [pastoral.key]
    assert pastoral.key == "missing_child:pastoral:3:40"


def test_the_carriers_stop_word_opts_out_but_a_wish_to_stop_only_asks_a_person():
    stop = decide.decide(_reply("STOP", "STOP"))
    assert stop == [
        decide.SetSmsOptOut(stop=True),
        decide.RaiseAlert(
            kind="opt_out", key="opt_out:3", audience="attendance", severity="normal", case=None, pupil=AMY
        ),
    ]

    wish = decide.decide(_reply("STOP", "please stop texting me"))
    assert _kinds(wish) == ["asks_opt_out"]

    start = decide.decide(_reply("START", "start"))
    assert start[0] == decide.SetSmsOptOut(stop=False) and _kinds(start)[1] == "opt_in"


def test_a_worry_given_as_the_only_reason_alerts_the_dsl_and_keeps_chasing():
    effects = decide.decide(_reply("O", "he has not come home", concern=True))
    assert _kinds(effects) == ["welfare_concern", "reply_no_reason"]
    assert effects[0].audience == "dsl" and effects[0].severity == "high"


def test_an_unsure_reading_goes_to_a_person_whatever_else_happens():
    effects = decide.decide(_reply("NONE", "mmm", needs_reading=True))
    assert _kinds(effects) == ["needs_reading", "reply_no_reason"]


def test_a_reason_with_nothing_open_is_a_notice_ahead_thanked_only_for_pupils_on_roll():
    ahead = NoticeFor(pupils=[AMY], named=True, first=(MON, "AM"))
    effects = decide.decide(_reply("M", "dentist tomorrow", cases=(), notice_for=ahead))
    assert effects == [decide.NoticeAhead("M", ahead), decide.Thank((AMY,), after="notice")]

    left = Pupil(id=8, school_id=1, mis_id="P8", first_name="Ben", last_name="Khan", on_roll=False)
    effects = decide.decide(_reply("M", "dentist", cases=(), notice_for=NoticeFor(pupils=[left], named=True)))
    assert _kinds(effects) == ["NoticeAhead"]


def test_an_unknown_number_gets_one_neutral_answer_a_day_and_staff_are_told():
    effects = decide.unknown_sender(inbound_id=9, from_number="+447700900123", day=MON)
    assert effects == [
        decide.AnswerNeutrally(key="neutral:+447700900123:2026-11-23"),
        decide.TellStaffUnknownSender(key="unknown_sender:9"),
    ]
    assert decide.unknown_sender(inbound_id=9, from_number="+447700900123", day=None) == []
