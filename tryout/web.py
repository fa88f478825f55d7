"""``/sandbox``: try the whole bot in a browser with no accounts, on the real code paths.

Mounted on the product's app by ``create_app`` below (``run-local`` serves it; the product never
imports this package). Served only when ``settings.sandbox_on`` (local transports, or
``SANDBOX_ENABLED``; never with ``ENVIRONMENT=production``): otherwise ``register`` adds no route
and every path here is a 404.

Four panes, plain forms (POST, then 303 back to the page):

- *Parents' phones*: the outbox and the replies, one thread per contact. The reply box posts a text
  to the real ``/twilio/sms`` route exactly as Twilio would (the same form fields, signed with
  ``X-Twilio-Signature`` over the public url), so the signature check, the service and the routing
  all run. The one sandbox-only extra is ``X-Sandbox-Now``, which dates the text on the simulated
  clock; ``handlers.twilio_sms`` honours it only while the sandbox is on.
- *Staff chat*: a command line run by ``bot.commands.dispatch.run_command`` as the chosen staff
  member, the same entry Slack and Teams use, shown in its plain-text form.
- *Pastoral channel*: the school's alerts with their buttons, which call ``bot.alerts.actions.act``.
- *Clock*: the simulated time and the buttons of ``tryout.sandbox.service``.

Forms carry a random token per browser session, kept in the session cookie (signed with the secret
key) and embedded in the page, and a POST must come from one of our own pages (``Origin``, else
``Referer``), so another site cannot post to a sandbox running on a developer's machine: a POST that
fails either check is refused with a 403 saying which, and changes nothing. The families and the
alerts are paginated with their true counts; open urgent alerts are pinned at the top of the
pastoral channel.
"""

import hmac
import logging
import secrets
import threading
from collections import deque
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, Response, current_app, flash, get_flashed_messages, redirect, request
from flask import session as browser_session
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import select

from bot.actors import Actor
from bot.chat import plain
from bot.commands.acting import act
from bot.commands.dispatch import run_command
from bot.errors import UserError
from bot.settings import Settings
from handlers import deps
from storage.models import Contact, School, Staff
from tryout.sandbox import pages, service

log = logging.getLogger(__name__)

HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; img-src 'self' data:",
}
CLOCK_BUTTONS = {
    "register-close": service.register_close_now,
    "next-chase": service.next_chase,
    "next-day": service.next_school_day,
}
MAX_TEXT = 600
CSRF_KEY = "sandbox_csrf"
TRANSCRIPT_LINES = 25
# The page's template sits beside this module; staff-facing and English, so no catalogs (the
# whitespace options are those of ``bot.templates``).
PAGES = Environment(
    loader=FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
    undefined=StrictUndefined,
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
)

# The staff chat's transcript, per school, in the app's memory: it is a try-out page, not a record
# (the record is in the tables: calls, amendments, the case log).
_lock = threading.Lock()


def _transcript(school_id: int) -> deque:
    store = current_app.extensions.setdefault("sandbox_transcripts", {})
    return store.setdefault(school_id, deque(maxlen=TRANSCRIPT_LINES))


def csrf_token() -> str:
    """This browser session's form token: random, kept in the signed session cookie."""
    token = browser_session.get(CSRF_KEY)
    if not token:
        token = browser_session[CSRF_KEY] = secrets.token_hex(32)
    return token


def _same_origin() -> bool:
    """The POST came from a page of this site: ``Origin`` (or, without it, ``Referer``) is ours."""
    ours = {request.host_url.rstrip("/"), deps.settings().public_base_url.rstrip("/")}
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.rstrip("/") in ours
    referer = request.headers.get("Referer") or ""
    return any(referer == o or referer.startswith(o + "/") for o in ours)


FOREIGN_ORIGIN = (
    "Refused (403): this form was not sent from the sandbox's own page (its Origin or Referer is "
    "another site, or missing). Nothing was changed. Open the sandbox page and use its forms."
)
STALE_TOKEN = (
    "Refused (403): the form's token is missing or not this browser session's (the page was opened "
    "in another session, or the session cookie was cleared). Nothing was changed. Reload the sandbox "
    "page and try again."
)


def _forged() -> Response | None:
    """Another site cannot post to a sandbox running on a developer's machine: a POST must come from
    one of our own pages and carry this browser session's token. Either failure is a 403 saying
    which, before anything is read or run; ``None`` when the POST is ours."""
    if not _same_origin():
        log.warning("sandbox: refused a POST from another origin")
        return _refuse(FOREIGN_ORIGIN, 403)
    expected = browser_session.get(CSRF_KEY)
    if not expected or not hmac.compare_digest(request.form.get("csrf", ""), expected):
        log.warning("sandbox: refused a POST without this session's form token")
        return _refuse(STALE_TOKEN, 403)
    return None


def _chosen(session) -> tuple[School, Staff | None]:
    """The school (``?school=URN``, default the first) and the staff member acting on the page."""
    urn = (request.values.get("school") or "").strip()
    school = None
    if urn:
        school = session.exec(select(School).where(School.urn == urn)).first()
    if school is None:
        school = session.exec(select(School).order_by(School.urn)).first()
    if school is None:
        return None, None
    staff_list = pages.staff_of(session, school=school)
    wanted = request.values.get("staff", type=int)
    staff = next((s for s in staff_list if s.id == wanted), None) or (staff_list[0] if staff_list else None)
    return school, staff


def _back(school: School | None, staff: Staff | None, anchor: str = "") -> Response:
    query = {}
    if school is not None:
        query["school"] = school.urn
    if staff is not None:
        query["staff"] = staff.id
    for name in ("fpage", "apage"):  # stay on the page of families / alerts the form was on
        if request.values.get(name, type=int, default=1) > 1:
            query[name] = request.values.get(name, type=int)
    url = "/sandbox" + (f"?{urlencode(query)}" if query else "") + (f"#{anchor}" if anchor else "")
    return redirect(url, code=303)


def _refuse(message: str, status: int = 400) -> Response:
    return Response(message, status=status, content_type="text/plain; charset=utf-8")


def page() -> Response:
    with deps.db() as session:
        school, staff = _chosen(session)
        if school is None:
            return _refuse("No school in the database yet: run `attendance-bot demo-data` first.", 404)
        with _lock:
            transcript = list(_transcript(school.id))
        fpage, apage = request.args.get("fpage", 1, type=int), request.args.get("apage", 1, type=int)
        html = PAGES.get_template("sandbox.html").render(
            schools=session.exec(select(School).order_by(School.urn)).all(),
            school=school,
            staff=staff,
            staff_list=pages.staff_of(session, school=school),
            clock=pages.clock_view(session, school=school),
            families=pages.families(session, school=school, page=fpage),
            alerts=pages.alerts(session, school=school, page=apage),
            fpage=fpage,
            apage=apage,
            codes=pages.code_choices(),
            transcript=transcript,
            notices=get_flashed_messages(with_categories=True),
            csrf=csrf_token(),
        )
    return Response(html, content_type="text/html; charset=utf-8", headers=HEADERS)


def clock_button(what: str) -> Response:
    if (refused := _forged()) is not None:
        return refused
    button = CLOCK_BUTTONS.get(what)
    with deps.db() as session:
        school, staff = _chosen(session)
    if button is None or school is None:
        return _refuse("Unknown clock button.", 404)
    step = button(deps.engine(), deps.settings(), school_id=school.id)
    for line in step.lines:
        flash(line, "clock")
    return _back(school, staff, "clock")


def reply() -> Response:
    """Post the parent's text to the real inbound-SMS route, signed as Twilio signs it."""
    if (refused := _forged()) is not None:
        return refused
    settings, engine = deps.settings(), deps.engine()
    body = (request.form.get("body") or "").strip()[:MAX_TEXT]
    with deps.db() as session:
        school, staff = _chosen(session)
        contact = session.get(Contact, request.form.get("contact_id", type=int) or 0)
        if school is None or contact is None or contact.school_id != school.id or not contact.mobile:
            return _refuse("That family has no mobile number in this school.", 404)
        now = service.current(session, school=school)
        from_number, to_number = contact.mobile, service.school_number(school)
    if not body:
        flash("Type the parent's reply first.", "error")
        return _back(school, staff, f"family-{contact.id}")
    params = service.inbound_sms_params(
        settings=settings, from_number=from_number, to_number=to_number, body=body
    )
    headers = {"X-Twilio-Signature": service.sign(settings, params), "X-Sandbox-Now": now.isoformat()}
    answer = current_app.test_client().post(service.SMS_PATH, data=params, headers=headers)
    if answer.status_code != 200:
        log.warning("sandbox reply: /twilio/sms answered %s", answer.status_code)
        flash(f"The SMS webhook refused the text ({answer.status_code}).", "error")
        return _back(school, staff, f"family-{contact.id}")
    # What the clock would do next: deliver the thank-you, post the alerts.
    service.run_jobs(
        engine, settings, school=school, at=now, jobs=[("send-outbox", {}), ("deliver-alerts", {})]
    )
    flash(f"Text from {contact.first_name} received by the school (Twilio webhook, signed).", "ok")
    return _back(school, staff, f"family-{contact.id}")


def chat() -> Response:
    if (refused := _forged()) is not None:
        return refused
    text = (request.form.get("text") or "").strip()[:MAX_TEXT]
    with deps.db() as session:
        school, staff = _chosen(session)
        if school is None or staff is None:
            return _refuse("Choose a member of staff.", 404)
        if not text:
            return _back(school, staff, "chat")
        now = service.current(session, school=school)
    with deps.db() as session:
        result = run_command(session, staff=session.get(Staff, staff.id), text=text, now=now)
    entry = {
        "who": f"{staff.name} ({staff.role.replace('_', ' ')})",
        "text": text,
        "ok": result.ok,
        "title": result.title,
        "output": plain.command(result),
        "choices": [(c.label, c.command) for c in result.choices],
    }
    with _lock:
        _transcript(school.id).appendleft(entry)
    return _back(school, staff, "chat")


def alert_action(alert_id: int, action: str) -> Response:
    if (refused := _forged()) is not None:
        return refused
    value = (request.form.get("value") or "").strip() or None
    with deps.db() as session:
        school, staff = _chosen(session)
        if school is None or staff is None:
            return _refuse("Choose a member of staff.", 404)
        now = service.current(session, school=school)
    try:
        with deps.db() as session:
            alert = act(
                session,
                alert_id=alert_id,
                action=action,
                actor=Actor.of(session.get(Staff, staff.id)),
                value=value,
                now=now,
            )
            title = alert.title
    except UserError as exc:
        flash(str(exc), "error")
    else:
        flash(f"{staff.name}: {action.replace('_', ' ')} on “{title}”.", "ok")
    return _back(school, staff, f"alert-{alert_id}")


def register(app: Flask) -> None:
    """Mount the sandbox's routes on the product's app (only when ``settings.sandbox_on``)."""
    if not app.config["SETTINGS"].sandbox_on:
        return
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"  # the page's session cookie (notices, form token)
    app.add_url_rule("/sandbox", "sandbox", page, methods=["GET"])
    app.add_url_rule("/sandbox/clock/<what>", "sandbox_clock", clock_button, methods=["POST"])
    app.add_url_rule("/sandbox/reply", "sandbox_reply", reply, methods=["POST"])
    app.add_url_rule("/sandbox/chat", "sandbox_chat", chat, methods=["POST"])
    app.add_url_rule(
        "/sandbox/alerts/<int:alert_id>/<action>", "sandbox_alert", alert_action, methods=["POST"]
    )


def create_app(settings: Settings | None = None) -> Flask:
    """The product's app with the sandbox mounted: what ``run-local`` serves (and the sandbox tests)."""
    from handlers.app import create_app as product_app

    return product_app(settings, extra_edges=(register,))
