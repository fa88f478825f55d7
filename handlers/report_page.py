"""``/n/<token>``: the "report an absence" page a family opens from their standing link.

The link is the only key: it names one contact (``bot.notices.links``), can be withdrawn, and
expires (``REPORT_LINK_DAYS``). The page shows only the first names of that contact's children on
roll and the school's name, in the contact's language (the family catalogs, like the reply page:
``handlers.family_pages``). A form post must carry a CSRF token derived from the link token and the
secret key. Forged or broken links answer 400, withdrawn or expired ones 410, each with a friendly
page; the report is recorded by ``bot.replies.report_form.receive_report``.
"""

import logging
from datetime import datetime, timedelta

from flask import Flask, Response, request
from sqlmodel import Session

from bot import clock
from bot.notices.links import FamilyLinkInvalid
from bot.replies import wording
from bot.replies.reply_form import MAX_NOTE, WEB_REASONS
from bot.replies.report_form import (
    MAX_DAYS_AHEAD,
    Family,
    FormError,
    family,
    first_day_default,
    receive_report,
)
from bot.settings import Settings
from bot.templates import join_names
from handlers import deps
from handlers.family_pages import csrf_ok, csrf_token, page, parse_date, unusable
from storage.models import Contact

log = logging.getLogger(__name__)
PAGE = "report-page"


def register(app: Flask) -> None:
    @app.route("/n/<token>", methods=["GET", "POST"])
    def report_page(token: str):
        """The link is read here; a family with children on roll gets the form (``_report``)."""
        settings = deps.settings()
        now = clock.now()
        with deps.db() as session:
            try:
                fam = family(session, settings=settings, token=token, now=now)
            except FamilyLinkInvalid as exc:
                contact = session.get(Contact, exc.contact_id) if exc.contact_id else None
                return unusable(exc.why, 410 if exc.gone else 400, contact.language if contact else None)
            lang = wording.page_language(fam.contact.language)
            if not fam.pupils:
                return unusable("no_children", 200, lang)
            return _report(session, settings, token, fam, lang=lang, now=now)


def _report(session: Session, settings: Settings, token: str, fam: Family, *, lang: str, now: datetime):
    """The form (GET), or a posted report recorded (POST). A field to correct (``FormError``, or a
    date that is not one) shows the form again with what the family typed, and writes nothing."""
    today = clock.to_local(now, fam.school.timezone).date()

    def form_page(form: dict, error: str | None = None) -> Response:
        return page(
            "report.html",
            lang,
            400 if error else 200,
            school=fam.school.name,
            form=form,
            error=wording.page_error(lang, error) if error else None,
            children=[{"id": p.id, "name": p.display_first_name} for p in fam.pupils],
            reasons=wording.reason_choices(lang, WEB_REASONS),
            csrf=csrf_token(settings, PAGE, token),
            action=f"/n/{token}",
            max_note=MAX_NOTE,
            min_date=today.isoformat(),
            max_date=(today + timedelta(days=MAX_DAYS_AHEAD)).isoformat(),
        )

    if request.method == "GET":
        return form_page(_blank_form(session, fam, now=now))
    if not csrf_ok(settings, PAGE, token):
        log.warning("report page: bad csrf token for link %s", fam.link.id)
        return unusable("invalid", 400, lang)
    form = {
        "pupils": [int(i) for i in request.form.getlist("pupil") if i.isdigit()],
        **{k: request.form.get(k, "") for k in ("first_date", "return_date", "reason", "note")},
    }
    first_date, return_date = parse_date(form["first_date"]), parse_date(form["return_date"])
    if first_date is False or first_date is None:
        return form_page(form, "first")
    if return_date is False:
        return form_page(form, "return")
    try:
        with session.begin_nested():
            outcome = receive_report(
                session,
                settings=settings,
                token=token,
                pupil_ids=form["pupils"],
                first_date=first_date,
                return_date=return_date,
                reason=form["reason"],
                note=form["note"],
                now=now,
            )
    except FormError as exc:
        return form_page(form, exc.key)
    chosen = [p.display_first_name for p in fam.pupils if p.id in form["pupils"]]
    log.info(
        "report page: link %s reported %d child(ren), notices %s",
        fam.link.id,
        len(chosen),
        outcome.notice_ids,
    )
    return page("reply_done.html", lang, school=fam.school.name, name=join_names(chosen, lang), already=False)


def _blank_form(session: Session, fam: Family, *, now: datetime) -> dict:
    """The form as it opens: the first day the school could still mark, an only child ticked."""
    first = first_day_default(session, school=fam.school, now=now)
    return {
        "pupils": [p.id for p in fam.pupils] if len(fam.pupils) == 1 else [],
        "first_date": first.isoformat(),
        "return_date": "",
        "reason": "",
        "note": "",
    }
