"""``attendance-bot demo``: the scripted week runs end to end and tells the story it promises."""

import re

from click.testing import CliRunner

from bot.cli import main


def test_demo_plays_the_absence_week():
    result = CliRunner().invoke(main, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output

    # Register close: the three families get a text through the local transport.
    assert out.count("AM register closes · N (no reason yet):") == 5
    assert re.search(
        r"📱 Parent \(\w+'s \w+, \w+\) receives a text \(delivered\):\n\s+“Oakfield Primary School: \w+ "
        r"is not in school this morning",
        out,
    )
    # "She's got a temperature" is understood as illness, staff accept I, the register is amended with audit.
    assert "“She's got a temperature, back tomorrow”" in out
    assert "→ the bot understood: I (Illness" in out and "back Tue 24 Nov" in out
    assert re.search(
        r"taps “Accept code I”.*\n\s+→ register amended: Mon 23 Nov AM N → I · “Parent reply: "
        r"She's got a temperature, back tomorrow” · by Jo Patel \(attendance officer\)",
        out,
    )
    # "I dropped him at the gate": the urgent missing-child alert.
    assert "“I dropped him at the gate this morning”" in out
    assert re.search(r"🚨 Pastoral channel \[pastoral, URGENT\] URGENT: .* may be missing", out)
    # The family that never answers: chased daily, day-3 home visit and day-5 MASH alerts, once each.
    assert (
        out.count("receives a text (delivered):\n     “Oakfield Primary School: we still have no reason") >= 8
    )
    assert len(re.findall(r"🚨 Pastoral channel \[pastoral, high\] Home visit requested: ", out)) == 1
    assert len(re.findall(r"🚨 Pastoral channel \[pastoral, URGENT\] MASH referral: ", out)) == 1
    wednesday, friday = out.index("Wednesday 25 November 2026"), out.index("Friday 27 November 2026")
    assert wednesday < out.index("Home visit requested: ") < out.index("Thursday 26 November 2026")
    assert friday < out.index("MASH referral: ")
    assert "Day 5 of unexplained absence, since Mon 23 Nov AM." in out
    # Staff commands ran through the dispatcher.
    assert "types /absences\n     Unexplained absences today: 3" in out
    assert "Open case since Mon 23 Nov (school day 5)" in out
