"""The reply reader on replies it was not tuned on: per set and per language, latency and memory.

Usage: python -m bench.reader_report [-v]      (-v prints every miss of the TUNING sets only)

Sets, and what each one is:
- ``heldout``: bench/data/reader-heldout/*.jsonl, written apart from the corpus (one file per
  language) and never used to train or tune: the figures to quote.
- ``dev-2 third``: tests/data/parent-replies-dev-2.jsonl lines 3, 6, 9... (index % 3 == 2), written
  by others; never trained on, and their misses were not looked at while tuning.
- ``tuning``: dev-1 and the other two thirds of dev-2; their misses WERE read while writing the
  corpus and choosing settings, so they flatter the reader. Shown for comparison only.

A code counts as right when it is the label or in the line's ``accept`` list. Return dates use the
sample trust's 2026/27 calendar, as ``attendance-bot reason`` does without --school. Latency is per
reply on one thread after a warm-up; memory is this process's peak RSS with the model and encoder
loaded (the web process adds its own ~100 MB: see the README).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.replies.understand import understand  # noqa: E402
from bot.typical_calendar import calendar_2026_27  # noqa: E402

HELDOUT = ROOT / "bench" / "data" / "reader-heldout"
DEV_1 = ROOT / "tests" / "data" / "parent-replies-dev.jsonl"
DEV_2 = ROOT / "tests" / "data" / "parent-replies-dev-2.jsonl"


def _lines(path: Path, lang: str | None = None) -> list[dict]:
    rows = [json.loads(t) for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
    return [{**r, "lang": lang or r.get("lang")} for r in rows]


def sets() -> dict[str, list[dict]]:
    heldout = [r for p in sorted(HELDOUT.glob("*.jsonl")) for r in _lines(p, p.stem)]
    dev2 = _lines(DEV_2)
    return {
        "heldout": heldout,
        "dev-2 third": [r for i, r in enumerate(dev2) if i % 3 == 2],
        "tuning": _lines(DEV_1) + [r for i, r in enumerate(dev2) if i % 3 != 2],
    }


def read_all(rows: list[dict]) -> list[tuple[dict, object, float]]:
    """Each row with its reading and the milliseconds it took."""
    school_day = calendar_2026_27().is_school_day
    out = []
    for row in rows:
        start = time.perf_counter()
        got = understand(row["text"], date.fromisoformat(row["today"]), is_school_day=school_day)
        out.append((row, got, (time.perf_counter() - start) * 1000))
    return out


def score(results) -> dict[str, float]:
    n = len(results) or 1
    code = sum(g.code == r["code"] or g.code in r.get("accept", []) for r, g, _ in results)
    ret = sum((g.return_date.isoformat() if g.return_date else None) == r["return"] for r, g, _ in results)
    concerns = [g.concern for r, g, _ in results if r["concern"]]
    others = [g.concern for r, g, _ in results if not r["concern"]]
    return {
        "n": len(results),
        "code": code / n,
        "return": ret / n,
        "concern_recall": sum(concerns) / len(concerns) if concerns else 1.0,
        "concerns": len(concerns),
        "false_concerns": sum(others),
        "false_rate": sum(others) / len(others) if others else 0.0,
    }


def _row(label: str, s: dict) -> str:
    return (
        f"{label:14} n={s['n']:4}  code {s['code']:6.1%}  concern recall {s['concern_recall']:6.1%} "
        f"({s['concerns']})  false concerns {s['false_concerns']:3} ({s['false_rate']:5.1%})  "
        f"return dates {s['return']:6.1%}"
    )


def _misses(results) -> None:
    for r, g, _ in results:
        returned = g.return_date.isoformat() if g.return_date else None
        if (
            g.code != r["code"]
            and g.code not in r.get("accept", [])
            or returned != r["return"]
            or g.concern != r["concern"]
        ):
            print(
                f"  MISS {r['text']!r}\n       want {r['code']} {r['return']} {r['concern']}  "
                f"got {g.code} {returned} {g.concern} ({g.confidence:.2f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="print the tuning sets' misses")
    args = parser.parse_args()
    understand("warm up: load the model and the encoder", date(2026, 11, 25))
    understand("wiilkaygu waa xanuunsan yahay", date(2026, 11, 25))
    timings: list[float] = []
    for name, rows in sets().items():
        results = read_all(rows)
        timings += [ms for _, _, ms in results]
        print(_row(name, score(results)))
        if name == "heldout":
            by_lang = defaultdict(list)
            for item in results:
                by_lang[item[0]["lang"]].append(item)
            for lang, items in sorted(by_lang.items()):
                print("   " + _row(lang, score(items)))
        if name == "tuning" and args.verbose:
            _misses(results)
    timings.sort()
    median, p99 = timings[len(timings) // 2], timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    print(
        f"latency per reply: median {median:.1f} ms, p99 {p99:.1f} ms, max {timings[-1]:.1f} ms "
        f"({len(timings)} replies, one thread)"
    )
    print(f"peak memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
