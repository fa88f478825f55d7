"""Accuracy of bot.replies.understand on a labelled JSONL file.

Usage: python bench/understand_accuracy.py [FILE] [--every N --offset K] [-v]

Each line has ``text``, ``today`` (ISO), ``code``, ``return`` (ISO or null) and ``concern``, and may
have ``accept`` (other acceptable codes). Return dates use the sample trust's 2026/27 calendar, as
``attendance-bot reason`` does without --school. ``--every 3 --offset 2`` keeps every third line
(dev set 2's held-out third); ``-v`` prints each miss. Per-language held-out figures, latency and
memory: ``python -m bench.reader_report``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.replies.understand import understand  # noqa: E402
from bot.typical_calendar import calendar_2026_27  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "data" / "parent-replies-dev.jsonl"


def score(rows: list[dict], verbose: bool = False) -> dict[str, float]:
    """Code accuracy, concern recall, concern false-positive rate and return-date accuracy."""
    code_ok = return_ok = concerns = concerns_found = false_alarms = 0
    school_day = calendar_2026_27().is_school_day
    for row in rows:
        got = understand(row["text"], date.fromisoformat(row["today"]), is_school_day=school_day)
        returned = got.return_date.isoformat() if got.return_date else None
        right_code = got.code == row["code"] or got.code in row.get("accept", [])
        code_ok += right_code
        return_ok += returned == row["return"]
        concerns += row["concern"]
        concerns_found += row["concern"] and got.concern
        false_alarms += got.concern and not row["concern"]
        wrong = not right_code or returned != row["return"] or got.concern != row["concern"]
        if verbose and wrong:
            print(
                f"MISS {row['text']!r}\n     want {row['code']} {row['return']} {row['concern']}"
                f"  got {got.code} {returned} {got.concern} ({got.confidence:.2f})"
            )
    n = len(rows) or 1
    return {
        "n": len(rows),
        "code_accuracy": code_ok / n,
        "concern_recall": concerns_found / concerns if concerns else 1.0,
        "concern_false_alarms": false_alarms,
        "return_accuracy": return_ok / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(DEFAULT))
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--exclude", action="store_true", help="drop the slice instead of keeping it")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    text = Path(args.file).read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    picked = [row for i, row in enumerate(lines) if (i % args.every == args.offset) != args.exclude]
    for key, value in score(picked, args.verbose).items():
        print(f"{key:22} {value:.3f}" if isinstance(value, float) else f"{key:22} {value}")


if __name__ == "__main__":
    main()
