"""``/r/<token>``: the small page a parent opens from the email's (or a text's) signed link.

The link is the only key: it works for one case and one contact, expires (``REPLY_LINK_DAYS``), and
the page shows nothing but the child's first name and the school's name. A form post must carry a
CSRF token derived from the link token and the secret key, so another site cannot post on a
parent's behalf. Expired links answer 410, forged or broken ones 400, each with a friendly page.
The answer is recorded by ``bot.replies.reply_form.receive_web_reply``.
"""

import logging
from datetime import date, timedelta

from flask import Flask, Response, request
from itsdangerous import SignatureExpired
from sqlmodel import Session

from bot import clock
from bot.errors import NotFound, UserError
from bot.replies import wording
from bot.replies.links import LinkInvalid, read_token
from bot.replies.reply_form import (
    MAX_NOTE,
    MAX_RETURN_DAYS,
    WEB_REASONS,
    LinkTarget,
    link_target,
    receive_web_reply,
)
from bot.settings import Settings
from handlers import deps
from handlers.family_pages import csrf_ok, csrf_token, page, parse_date, unusable

log = logging.getLogger(__name__)
PAGE = "reply-page"


def register(app: Flask) -> None:
    @app.route("/r/<token>", methods=["GET", "POST"])
    def reply_page(token: str):
        """The link is read here; a usable one opens the form (``_answer``)."""
        settings = deps.settings()
        try:
            case_id, contact_id = read_token(settings, token)
        except LinkInvalid as exc:
            expired = isinstance(exc.__context__, SignatureExpired)
            return unusable("expired" if expired else "invalid", 410 if expired else 400)
        with deps.db() as session:
            try:
                target = link_target(session, case_id=case_id, contact_id=contact_id)
            except NotFound:
                return unusable("invalid", 400)
            return _answer(session, settings, token, target, contact_id=contact_id)


def _answer(session: Session, settings: Settings, token: str, target: LinkTarget, *, contact_id: int | None):
    """The form (GET), or a posted answer checked and recorded (POST); a case already explained
    just says so. A field to correct shows the form again with what the family typed."""
    lang = wording.page_language(target.contact.language if target.contact else None)
    common = {"name": target.pupil.display_first_name, "school": target.school.name}
    if target.case.status != "open":
        return page("reply_done.html", lang, already=True, **common)
    now = clock.now()
    today = clock.to_local(now, target.school.timezone).date()

    def form_page(form: dict, error: str | None = None, status: int = 200) -> Response:
        return page(
            "reply.html",
            lang,
            status,
            **common,
            form=form,
            error=error,
            reasons=wording.reason_choices(lang, WEB_REASONS),
            csrf=csrf_token(settings, PAGE, token),
            action=f"/r/{token}",
            max_note=MAX_NOTE,
            min_date=today.isoformat(),
            max_date=(today + timedelta(days=MAX_RETURN_DAYS)).isoformat(),
        )

    if request.method == "GET":
        return form_page({"reason": "", "note": "", "return_date": ""})
    case_id = target.case.id
    if not csrf_ok(settings, PAGE, token):
        log.warning("reply page: bad csrf token for case %s", case_id)
        return unusable("invalid", 400, lang)
    form = {k: request.form.get(k, "") for k in ("reason", "note", "return_date")}
    error, return_date = _to_correct(form, today=today)
    if error:
        return form_page(form, wording.page_error(lang, error), 400)
    try:
        outcome = receive_web_reply(
            session,
            settings=settings,
            case_id=case_id,
            contact_id=contact_id,
            reason=form["reason"],
            note=form["note"].strip(),
            return_date=return_date,
            now=now,
        )
    except UserError:  # the checks above make this rare; the service checks again
        return form_page(form, wording.page_error(lang, "reason"), 400)
    log.info("reply page: case %s answered (%s)", case_id, outcome.status)
    return page("reply_done.html", lang, already=outcome.status == "already_explained", **common)


def _to_correct(form: dict, *, today: date) -> tuple[str | None, date | None]:
    """The field to correct first (a ``wording.PAGE_ERRORS`` key, or None) and the day back.

    Checked here as well as in the service so the family gets the form back in their language.
    """
    reason, note = form["reason"], form["note"].strip()
    if reason not in WEB_REASONS:
        return "reason", None
    if reason == "other" and not note:
        return "note", None
    if len(note) > MAX_NOTE:
        return "long", None
    return_date = parse_date(form["return_date"])
    if return_date is False or (
        return_date and not (today <= return_date <= today + timedelta(days=MAX_RETURN_DAYS))
    ):
        return "date", None
    return None, return_date
