"""``/n/<token>``: the "report an absence" page a family opens from their standing link.

The link is the only key: it names one contact (``bot.notices.links``), can be withdrawn, and
expires (``REPORT_LINK_DAYS``). The page shows only the first names of that contact's children on
roll and the school's name. A form post must carry a CSRF token derived from the link token and the
secret key. Forged or broken links answer 400, withdrawn or expired ones 410, each with a friendly
page; the report is recorded by ``bot.replies.report_form.receive_report``.
"""

import hashlib
import hmac
import logging
from datetime import date, timedelta

from flask import Flask, Response, request

from bot import clock
from bot.notices.links import FamilyLinkInvalid
from bot.replies.report_form import MAX_DAYS_AHEAD, FormError, family, first_day_default, receive_report
from bot.replies.report_text import page_language, page_text
from bot.replies.service import MAX_NOTE, WEB_REASONS
from bot.settings import Settings
from bot.templates import env, join_names
from handlers import deps
from handlers.reply_page import HEADERS

log = logging.getLogger(__name__)


def csrf_token(settings: Settings, token: str) -> str:
    return hmac.new(settings.secret_key.encode(), f"report-page:{token}".encode(), hashlib.sha256).hexdigest()


def _date(raw: str) -> date | None | bool:
    """A form date; None when left empty, False when it is not a date."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return False


NOT_VALID = "This link is not valid. Please reply to the school's text or call the school office."


def _page(template: str, status: int = 200, **ctx) -> Response:
    """The report page's own words (``bot.replies.report_text``); not yet in the gettext catalogs."""
    html = env().get_template(f"pages/{template}").render(**ctx)
    return Response(html, status=status, content_type="text/html; charset=utf-8", headers=HEADERS)


def _invalid(message: str, status: int) -> Response:
    return _page("reply_invalid.html", status, lang="en", t={"dir": "ltr"}, message=message)


def register(app: Flask) -> None:
    @app.route("/n/<token>", methods=["GET", "POST"])
    def report_page(token: str):
        settings = deps.settings()
        now = clock.now()
        with deps.db() as session:
            try:
                fam = family(session, settings=settings, token=token, now=now)
            except FamilyLinkInvalid as exc:
                return _invalid(str(exc), 410 if exc.gone else 400)
            lang = page_language(fam.contact.language)
            t = page_text(lang, school=fam.school.name)
            common = {"lang": lang, "t": t, "school": fam.school.name}
            if not fam.pupils:
                return _page("report_done.html", 200, **common, message=t["no_children"])
            today = clock.to_local(now, fam.school.timezone).date()
            first = first_day_default(session, school=fam.school, now=now)
            form = {"pupils": [p.id for p in fam.pupils] if len(fam.pupils) == 1 else [],
                    "first_date": first.isoformat(), "return_date": "", "reason": "", "note": ""}
            children = [{"id": p.id, "name": p.display_first_name} for p in fam.pupils]

            def form_page(error: str | None = None, status: int = 200) -> Response:
                return _page("report.html", status, **common, form=form, error=error, children=children,
                             reasons=list(WEB_REASONS), csrf=csrf_token(settings, token),
                             action=f"/n/{token}", max_note=MAX_NOTE, min_date=today.isoformat(),
                             max_date=(today + timedelta(days=MAX_DAYS_AHEAD)).isoformat())

            if request.method == "GET":
                return form_page()
            if not hmac.compare_digest(request.form.get("csrf", ""), csrf_token(settings, token)):
                log.warning("report page: bad csrf token for link %s", fam.link.id)
                return _invalid(NOT_VALID, 400)
            raw_ids = request.form.getlist("pupil")
            form = {"pupils": [int(i) for i in raw_ids if i.isdigit()],
                    **{k: request.form.get(k, "") for k in ("first_date", "return_date", "reason", "note")}}
            first_date, return_date = _date(form["first_date"]), _date(form["return_date"])
            if first_date is False or first_date is None:
                return form_page(t["err_first"], 400)
            if return_date is False:
                return form_page(t["err_return"], 400)
            try:
                with session.begin_nested():
                    outcome = receive_report(session, settings=settings, token=token,
                                             pupil_ids=form["pupils"], first_date=first_date,
                                             return_date=return_date, reason=form["reason"],
                                             note=form["note"], now=now)
            except FormError as exc:
                return form_page(t[exc.key], 400)
            chosen = [p.display_first_name for p in fam.pupils if p.id in form["pupils"]]
            log.info("report page: link %s reported %d child(ren), notices %s", fam.link.id, len(chosen),
                     outcome.notice_ids)
            done = page_text(lang, school=fam.school.name, names=join_names(chosen, lang))
            return _page("report_done.html", 200, **common, message=done["done"])
