"""``/r/<token>``: the small page a parent opens from the email's (or a text's) signed link.

The link is the only key: it works for one case and one contact, expires (``REPLY_LINK_DAYS``), and
the page shows nothing but the child's first name and the school's name. A form post must carry a
CSRF token derived from the link token and the secret key, so another site cannot post on a
parent's behalf. Expired links answer 410, forged or broken ones 400, each with a friendly page.
The answer is recorded by ``bot.replies.service.receive_web_reply``.
"""

import hashlib
import hmac
import logging
from datetime import date, timedelta

from flask import Flask, Response, request
from itsdangerous import SignatureExpired

from bot import clock
from bot.errors import NotFound, UserError
from bot.replies import views
from bot.replies.links import LinkInvalid, read_token
from bot.replies.service import MAX_NOTE, MAX_RETURN_DAYS, WEB_REASONS, link_target, receive_web_reply
from bot.settings import Settings
from bot.templates import LANGUAGES, render_page
from handlers import deps

log = logging.getLogger(__name__)

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}


def csrf_token(settings: Settings, token: str) -> str:
    return hmac.new(settings.secret_key.encode(), f"reply-page:{token}".encode(), hashlib.sha256).hexdigest()


def _page(template: str, lang: str, status: int = 200, **ctx) -> Response:
    html = render_page(f"pages/{template}", lang, **ctx)
    return Response(html, status=status, content_type="text/html; charset=utf-8", headers=HEADERS)


def _invalid(*, expired: bool = False) -> Response:
    """The link cannot be used. We do not know whose it is, so the browser's languages choose."""
    lang = request.accept_languages.best_match(LANGUAGES) or "en"
    return _page("reply_invalid.html", lang, 410 if expired else 400, expired=expired)


def _parse_date(raw: str) -> date | None | bool:
    """The return date; None when left empty, False when it is not a date."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return False


def register(app: Flask) -> None:
    @app.route("/r/<token>", methods=["GET", "POST"])
    def reply_page(token: str):
        settings = deps.settings()
        try:
            case_id, contact_id = read_token(settings, token)
        except LinkInvalid as exc:
            return _invalid(expired=isinstance(exc.__context__, SignatureExpired))
        with deps.db() as session:
            try:
                target = link_target(session, case_id=case_id, contact_id=contact_id)
            except NotFound:
                return _invalid()
            lang = views.page_language(target.contact.language if target.contact else None)
            name, school = target.pupil.display_first_name, target.school.name
            common = {"name": name, "school": school}
            if target.case.status != "open":
                return _page("reply_done.html", lang, already=True, **common)
            now = clock.now()
            today = clock.to_local(now, target.school.timezone).date()
            form = {"reason": "", "note": "", "return_date": ""}

            def form_page(error: str | None = None, status: int = 200) -> Response:
                return _page("reply.html", lang, status, **common, form=form, error=error,
                             reasons=views.reason_choices(lang, WEB_REASONS),
                             csrf=csrf_token(settings, token),
                             action=f"/r/{token}", max_note=MAX_NOTE, min_date=today.isoformat(),
                             max_date=(today + timedelta(days=MAX_RETURN_DAYS)).isoformat())

            if request.method == "GET":
                return form_page()

            if not hmac.compare_digest(request.form.get("csrf", ""), csrf_token(settings, token)):
                log.warning("reply page: bad csrf token for case %s", case_id)
                return _invalid()
            form = {k: request.form.get(k, "") for k in form}
            reason, note = form["reason"], form["note"].strip()
            if reason not in WEB_REASONS:
                return form_page(views.page_error(lang, "reason"), 400)
            if reason == "other" and not note:
                return form_page(views.page_error(lang, "note"), 400)
            if len(note) > MAX_NOTE:
                return form_page(views.page_error(lang, "long"), 400)
            return_date = _parse_date(form["return_date"])
            if return_date is False or (return_date and not (
                    today <= return_date <= today + timedelta(days=MAX_RETURN_DAYS))):
                return form_page(views.page_error(lang, "date"), 400)
            try:
                outcome = receive_web_reply(session, settings=settings, case_id=case_id,
                                            contact_id=contact_id, reason=reason, note=note,
                                            return_date=return_date, now=now)
            except UserError:  # the checks above make this rare; the service checks again
                return form_page(views.page_error(lang, "reason"), 400)
            log.info("reply page: case %s answered (%s)", case_id, outcome.status)
            return _page("reply_done.html", lang, already=outcome.status == "already_explained", **common)
