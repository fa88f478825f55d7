"""``attendance-bot reason``: its JSON lines keep their shape; --school uses the school's calendar."""

import json
from datetime import date

from click.testing import CliRunner

from bot.cli import main
from storage.models import CalendarEntry
from tests import factories as f


def run(*args, stdin=None):
    result = CliRunner().invoke(main, ["reason", *args], input=stdin, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def test_jsonl_keeps_its_input_and_exactly_its_four_output_keys():
    lines = [
        {"text": "Jest chora, wróci jutro", "today": "2026-11-25"},
        {"text": "I dropped him at the gate at 8.40", "today": "2026-11-25"},
        {"text": "STOP", "today": "2026-11-25"},
    ]
    out = run("--jsonl", stdin="\n".join(json.dumps(x) for x in lines) + "\n")
    assert [list(o) for o in out] == [["code", "return_date", "concern", "confidence"]] * 3
    assert [(o["code"], o["return_date"], o["concern"]) for o in out] == [
        ("I", "2026-11-26", False),
        ("IN_SCHOOL", None, True),
        ("STOP", None, False),
    ]


def test_without_school_the_sample_trusts_calendar_gives_holidays():
    (out,) = run("--today", "2027-02-10", "Away early for half term, back after half term")
    assert out["return_date"] == "2027-02-22"
    (out,) = run("--today", "2026-12-18", "Off sick, back tomorrow")  # term ends: back 5 Jan (INSET 4th)
    assert out["return_date"] == "2027-01-05"


def test_school_option_uses_that_schools_calendar(session, settings_env):
    school = f.school(session, urn="654321")
    # this school also closes on Thursday 26 November 2026
    session.add(
        CalendarEntry(
            school_id=school.id,
            kind="closure",
            start_date=date(2026, 11, 26),
            end_date=date(2026, 11, 26),
            name="Polling day",
        )
    )
    session.commit()
    (with_school,) = run("--school", "654321", "--today", "2026-11-25", "Sick, back tomorrow")
    (without,) = run("--today", "2026-11-25", "Sick, back tomorrow")
    assert (with_school["return_date"], without["return_date"]) == ("2026-11-27", "2026-11-26")


def test_unknown_school_is_an_error(session, settings_env):
    result = CliRunner().invoke(main, ["reason", "--school", "999999", "sick"])
    assert result.exit_code != 0 and "999999" in result.output


def test_train_is_a_subcommand_and_a_reply_can_still_say_anything():
    result = CliRunner().invoke(main, ["reason", "train", "--help"])
    assert result.exit_code == 0 and "corpus" in result.output
    (out,) = run("--today", "2026-11-25", "training day for dad, she's with him")
    assert set(out) == {"code", "return_date", "concern", "confidence"}
