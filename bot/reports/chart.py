"""The weekly report's chart: each class's attendance this week against the school's target.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no global state), so reports for
several schools can be drawn at once in threads.
"""

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def class_chart(report: dict, path: Path) -> Path | None:
    """A bar per class (this week's %) with the target line; None when there is nothing to draw."""
    classes = [c for c in report["classes"] if c["week_percent"] is not None]
    if not classes:
        return None
    names = [c["name"] for c in classes]
    values = [c["week_percent"] for c in classes]
    target = report["target"]
    fig = Figure(figsize=(max(6.0, 0.45 * len(names) + 2), 3.6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.bar(names, values, color=["#2e7d32" if v >= target else "#c62828" for v in values])
    ax.axhline(target, color="#333333", linestyle="--", linewidth=1, label=f"Target {target:g}%")
    ax.set_ylim(max(0.0, min(values + [target]) - 10), 100)
    ax.set_ylabel("Attendance this week (%)")
    ax.set_title(f"{report['school']['name']} — week ending {report['week_ending']}")
    ax.legend(loc="lower right")
    ax.tick_params(axis="x", rotation=45 if len(names) > 8 else 0)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.9, bottom=0.2)  # fixed: tight_layout doubles the time
    fig.savefig(path, format="png")
    return path
