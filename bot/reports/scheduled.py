"""The clock's weekly report job (Friday after PM close), also run by ``attendance-bot report weekly``."""

from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session

from bot import clock
from bot.alerts.service import raise_alert
from bot.calendar import load_calendar
from bot.policy import policy_for
from bot.reports import weekly
from bot.settings import Settings
from bot.summary import JobSummary
from storage.models import School

DEFAULT_DIR = "reports"


def reports_dir(settings) -> Path:
    return Path(getattr(settings, "reports_dir", None) or DEFAULT_DIR)


def produce(
    session: Session, *, school: School, week_ending: date, out_dir: Path, now: datetime, post: bool
) -> dict:
    """Build, save (HTML + PNG) and, when ``post``, post (an ``attendance`` alert, once per school and
    week). The clock's Friday job posts; a report run by hand posts only when asked (``--post``), so
    trying it mid-week does not use up the week's one channel post."""
    report = weekly.build(
        session,
        school=school,
        policy=policy_for(session, school.id),
        cal=load_calendar(session, school.id),
        week_ending=week_ending,
        as_of=now,
    )
    html, chart = weekly.save(report, out_dir=out_dir, generated_at=now)
    result = {
        "week_ending": report["week_ending"],
        "html": str(html),
        "chart": str(chart) if chart else None,
        "posted": False,
    }
    if post:
        summary = {k: report[k] for k in ("week_start", "week_ending", "whole", "cup")}
        summary.update(
            {
                k: len(report[k])
                for k in ("persistent", "severe", "lowest", "tier_changes", "open_cases", "thresholds_met")
            }
        )
        alert, created = raise_alert(
            session,
            school_id=school.id,
            key=f"weekly:{school.id}:{report['week_ending']}",
            kind="weekly_report",
            title=f"Weekly attendance report — week ending {report['week_ending']}",
            body=weekly.summary_text(report),
            audience="attendance",
            severity="normal",
            data={
                "summary": summary,
                "html_path": str(html.resolve()),
                "chart_path": str(chart.resolve()) if chart else None,
                "actions": [],
            },
            now=now,
        )
        if created:
            alert.raised_count, alert.last_raised_at, alert.created_at = 1, now, now
            session.add(alert)
        result.update(posted=created, alert_id=alert.id)
    return result


def weekly_report_job(session: Session, *, school: School, now: datetime, settings: Settings) -> JobSummary:
    """The week containing ``now`` (in the school's zone); a re-run rewrites the files, posts nothing new."""
    today = clock.to_local(now, school.timezone).date()
    result = produce(
        session,
        school=school,
        week_ending=weekly.week_bounds(today)[1],
        out_dir=reports_dir(settings),
        now=now,
        post=True,
    )
    return JobSummary(
        counts={"posted": int(result["posted"])},
        details={k: str(result[k]) for k in ("week_ending", "html", "chart") if result.get(k)},
    )
