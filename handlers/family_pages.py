"""What the two family pages share: the reply page (``/r/<token>``) and the report page (``/n/<token>``).

Both are opened from a link a family was sent, render in the family's language from the gettext
catalogs (``bot.templates.render_page``: ``lang`` and ``dir`` on ``<html>``, so Arabic and Urdu lay
out right to left), carry a CSRF token derived from the link, and answer a link that cannot be used
with one friendly page (``pages/reply_invalid.html``) saying why.
"""

import hashlib
import hmac
from datetime import date

from flask import Response, request

from bot.settings import Settings
from bot.templates import LANGUAGES, SOURCE_LANGUAGE, render_page

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
}
# Why a link cannot be used: each is a sentence in pages/reply_invalid.html.
UNUSABLE = ("invalid", "expired", "revoked", "no_children")


def csrf_token(settings: Settings, page: str, token: str) -> str:
    """The form's token for one page (``reply-page``, ``report-page``) and one link."""
    return hmac.new(settings.secret_key.encode(), f"{page}:{token}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(settings: Settings, page: str, token: str) -> bool:
    return hmac.compare_digest(request.form.get("csrf", ""), csrf_token(settings, page, token))


def page(template: str, lang: str | None, status: int = 200, **ctx) -> Response:
    """``pages/{template}`` in the family's language, with the headers every family page carries."""
    html = render_page(f"pages/{template}", lang, **ctx)
    return Response(html, status=status, content_type="text/html; charset=utf-8", headers=HEADERS)


def unusable(why: str, status: int, lang: str | None = None) -> Response:
    """The link cannot be used (``why`` in ``UNUSABLE``). Without the family's language (a forged
    or broken link names nobody), the browser's languages choose."""
    assert why in UNUSABLE, why
    lang = lang or request.accept_languages.best_match(LANGUAGES) or SOURCE_LANGUAGE
    return page("reply_invalid.html", lang, status, why=why)


def parse_date(raw: str) -> date | None | bool:
    """A date field; None when left empty, False when it is not a date."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return False
