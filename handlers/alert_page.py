"""``/a/<token>``: act on an alert from the email it came in (schools without Slack or Teams).

The link (``bot.alerts.links``) works for one alert and the one staff address it was emailed to, and
expires. The page shows what the email already said and the alert's buttons; pressing one runs
``bot.commands.acting.act``, the same door Slack, Teams and the sandbox use, recorded as the member
of staff with that address (or as the address itself, in the role the alert was sent to). A form
post must carry a CSRF token derived from the link and the secret key.
"""

import hashlib
import hmac
import logging

from flask import Flask, Response, request
from sqlmodel import select

from bot import clock
from bot.actors import Actor
from bot.alerts.actions import available
from bot.alerts.links import AlertLinkInvalid, read_alert_token
from bot.alerts.view import facts, history
from bot.commands.acting import act
from bot.errors import UserError
from bot.settings import Settings
from bot.templates import env
from handlers import deps
from storage.models import Alert, School, Staff

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
ROLE_FOR_AUDIENCE = {"dsl": "dsl", "attendance": "attendance_officer", "pastoral": "pastoral"}


def csrf_token(settings: Settings, token: str) -> str:
    return hmac.new(settings.secret_key.encode(), f"alert-page:{token}".encode(), hashlib.sha256).hexdigest()


def _invalid(message: str, status: int) -> Response:
    html = env().get_template("pages/reply_invalid.html").render(lang="en", message=message)
    return Response(html, status=status, content_type="text/html; charset=utf-8", headers=HEADERS)


def _actor(session, alert: Alert, school: School, address: str) -> Actor:
    staff = session.exec(
        select(Staff).where(Staff.school_id == school.id, Staff.active, Staff.email == address.lower())
    ).first()
    if staff is not None:
        return Actor.of(staff)
    return Actor(name=address, role=ROLE_FOR_AUDIENCE.get(alert.audience, "pastoral"), school_id=school.id)


def register(app: Flask) -> None:
    @app.route("/a/<token>", methods=["GET", "POST"])
    def alert_page(token: str):
        settings = deps.settings()
        try:
            alert_id, address = read_alert_token(settings, token)
        except AlertLinkInvalid as exc:
            return _invalid(str(exc), 400)
        notice, ok, status = None, True, 200
        with deps.db() as session:
            alert = session.get(Alert, alert_id)
            if alert is None:
                return _invalid("This alert no longer exists.", 404)
            school = session.get(School, alert.school_id)
            actor = _actor(session, alert, school, address)
            if request.method == "POST":
                if not hmac.compare_digest(request.form.get("csrf", ""), csrf_token(settings, token)):
                    log.warning("alert page: bad csrf token for alert %s", alert_id)
                    return _invalid("This form has expired: open the link from the email again.", 400)
                action = request.form.get("action", "")
                try:
                    with session.begin_nested():
                        act(session, alert_id=alert.id, action=action, actor=actor, now=clock.now())
                    notice = "Recorded. Thank you."
                    log.info("alert page: alert %s %s by staff %s", alert.id, action, actor.staff_id)
                except UserError as exc:
                    notice, ok, status = str(exc), False, 400
            actions = [(a.id, a.label) for a in available(alert)] if alert.status == "open" else []
            html = (
                env()
                .get_template("pages/alert.html")
                .render(
                    lang="en",
                    school=school.name,
                    alert=alert,
                    facts=facts(session, alert),
                    history=history(session, alert),
                    actions=actions,
                    actor=actor.label if actor.staff_id else actor.name,
                    csrf=csrf_token(settings, token),
                    action_url=f"/a/{token}",
                    notice=notice,
                    ok=ok,
                )
            )
        return Response(html, status=status, content_type="text/html; charset=utf-8", headers=HEADERS)
