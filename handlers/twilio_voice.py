"""Twilio's webhooks for automated calls: what a call says, and what happened on it.

``/twilio/voice/<message id>/answer`` is the ``url`` the sender gave ``calls.create``; the others
are the ``action`` of each TwiML verb this module writes, and ``/twilio/voice/status`` is the
call's status callback. Every request is signature-checked exactly like the SMS webhooks
(``X-Twilio-Signature`` over the PUBLIC url and every POST parameter): a forged one gets 403 and
nothing is written. The edge only verifies, parses, calls ``bot.calls.service`` once and writes
TwiML with the official ``VoiceResponse``; the words come from the script in the family's language.

    answer ──person──> greeting + menu (Gather 1 digit) ──1──> Dial the school office ──> dialled
       │                      │  └──2──> Record a message ──> recorded (+ recording status callback)
       └──machine──> short "please call the school" message, hang up
                        nothing / other key: the menu once more (…/gather?again=1), then goodbye
"""

import logging

from flask import Flask, Response, request
from twilio.twiml.voice_response import VoiceResponse

from bot import clock
from bot.calls import service
from bot.calls.script import Script, voice_for
from bot.settings import Settings
from handlers import deps
from handlers.twilio_signature import signature_ok

log = logging.getLogger(__name__)

BASE = "/twilio/voice"
GATHER_SECONDS = 6
RECORD_SECONDS = 60
OFFICE_RING_SECONDS = 25


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), status=200, content_type="text/xml; charset=utf-8")


def _forbidden() -> Response:
    return Response("forbidden", status=403, content_type="text/plain")


def _say(node, text: str, script: Script) -> None:
    node.say(text, language=script.locale, voice=script.voice)


def _url(settings: Settings, message_id: int, step: str, query: str = "") -> str:
    return f"{settings.public_base_url.rstrip('/')}{BASE}/{message_id}/{step}{query}"


def _menu(
    response: VoiceResponse, settings: Settings, call: service.Call, *, first: bool, again: bool
) -> None:
    """The greeting (first time) and the menu, inside a one-digit Gather."""
    gather = response.gather(
        num_digits=1,
        timeout=GATHER_SECONDS,
        method="POST",
        action=_url(settings, call.message_id, "gather", "?again=1" if again else ""),
        action_on_empty_result=True,
    )
    script = call.script
    if first:
        if script.apology:
            _, locale, voice = voice_for("en")
            gather.say(script.apology, language=locale, voice=voice)
        _say(gather, script.greeting, script)
        _say(gather, script.about, script)
    for line in script.menu if call.office_number else script.menu[-1:]:
        _say(gather, line, script)


def _record(response: VoiceResponse, settings: Settings, call: service.Call) -> None:
    _say(response, call.script.record_prompt, call.script)
    response.record(
        max_length=RECORD_SECONDS,
        finish_on_key="#",
        play_beep=True,
        trim="trim-silence",
        method="POST",
        action=_url(settings, call.message_id, "recorded"),
        recording_status_callback=_url(settings, call.message_id, "recording"),
        recording_status_callback_event="completed",
        recording_status_callback_method="POST",
    )


def _gone() -> Response:
    """A call we cannot place (unknown message, another call's sid): end it politely, write nothing."""
    response = VoiceResponse()
    response.hangup()
    return _twiml(response)


def register(app: Flask) -> None:
    """The URLs Twilio calls, as an explicit list (both Record callbacks share one view)."""
    app.add_url_rule(f"{BASE}/<int:message_id>/answer", view_func=voice_answer, methods=["POST"])
    app.add_url_rule(f"{BASE}/<int:message_id>/gather", view_func=voice_gather, methods=["POST"])
    app.add_url_rule(f"{BASE}/<int:message_id>/dialled", view_func=voice_dialled, methods=["POST"])
    app.add_url_rule(f"{BASE}/<int:message_id>/recorded", view_func=voice_recording, methods=["POST"])
    app.add_url_rule(f"{BASE}/<int:message_id>/recording", view_func=voice_recording, methods=["POST"])
    app.add_url_rule(f"{BASE}/status", view_func=voice_status, methods=["POST"])


def voice_answer(message_id: int):
    """The call was answered: a person hears the menu, an answering machine a short message."""
    settings = deps.settings()
    if not signature_ok(settings, request):
        log.warning("twilio voice answer: bad signature")
        return _forbidden()
    with deps.db() as session:
        found = service.answer(
            session,
            message_id=message_id,
            call_sid=request.form.get("CallSid", ""),
            answered_by=request.form.get("AnsweredBy"),
            now=clock.now(),
        )
    if found is None:
        return _gone()
    call, machine = found
    response = VoiceResponse()
    if machine:
        _say(response, call.script.machine, call.script)
        response.hangup()
    else:
        _menu(response, settings, call, first=True, again=False)
    log.info("twilio voice: message %s answered (%s)", message_id, "machine" if machine else "person")
    return _twiml(response)


def voice_gather(message_id: int):
    """The key pressed at the menu (or none): put through to the office, record, or ask once more."""
    settings = deps.settings()
    if not signature_ok(settings, request):
        log.warning("twilio voice gather: bad signature")
        return _forbidden()
    digits = (request.form.get("Digits") or "").strip()
    with deps.db() as session:
        call = service.choice(
            session,
            message_id=message_id,
            call_sid=request.form.get("CallSid", ""),
            digits=digits,
            now=clock.now(),
        )
    if call is None:
        return _gone()
    response = VoiceResponse()
    _after_choice(response, settings, call, digits=digits, again=request.args.get("again") == "1")
    log.info("twilio voice: message %s choice %r", message_id, digits or "-")
    return _twiml(response)


def _after_choice(
    response: VoiceResponse, settings: Settings, call: service.Call, *, digits: str, again: bool
) -> None:
    """What the caller hears next; after a second menu with no valid choice, goodbye."""
    script = call.script
    if digits == "1" and call.office_number:
        _say(response, script.connecting, script)
        dial = response.dial(
            action=_url(settings, call.message_id, "dialled"), method="POST", timeout=OFFICE_RING_SECONDS
        )
        dial.number(call.office_number)
    elif digits == "2":
        _record(response, settings, call)
    elif again:
        _say(response, script.goodbye_call_us, script)
        response.hangup()
    else:
        _say(response, script.not_a_choice if digits else script.no_choice, script)
        _menu(response, settings, call, first=False, again=True)


def voice_dialled(message_id: int):
    """The office call ended: hang up if they spoke, else offer to record a message."""
    settings = deps.settings()
    if not signature_ok(settings, request):
        log.warning("twilio voice dialled: bad signature")
        return _forbidden()
    with deps.db() as session:
        found = service.dialled(
            session,
            message_id=message_id,
            call_sid=request.form.get("CallSid", ""),
            dial_status=request.form.get("DialCallStatus", ""),
            now=clock.now(),
        )
    if found is None:
        return _gone()
    call, spoke = found
    response = VoiceResponse()
    if spoke:
        response.hangup()
    else:
        _say(response, call.script.office_no_answer, call.script)
        _record(response, settings, call)
    return _twiml(response)


def voice_recording(message_id: int):
    """The Record verb's action (the caller is still on the line) and the recording's status
    callback (after the call): both carry the recording, the first one to arrive records it."""
    settings = deps.settings()
    if not signature_ok(settings, request):
        log.warning("twilio voice recording: bad signature")
        return _forbidden()
    form = request.form
    try:
        seconds = int(form.get("RecordingDuration") or 0)
    except ValueError:
        seconds = 0
    with deps.db() as session:
        call = service.recording(
            session,
            message_id=message_id,
            call_sid=form.get("CallSid", ""),
            recording_sid=form.get("RecordingSid", ""),
            recording_url=form.get("RecordingUrl", ""),
            seconds=seconds,
            now=clock.now(),
        )
    if call is None:
        return _gone()
    if request.path.endswith("/recording"):
        return Response("", status=204)
    response = VoiceResponse()
    _say(response, call.script.thanks if seconds else call.script.nothing_recorded, call.script)
    response.hangup()
    return _twiml(response)


def voice_status():
    """The call's status callback: how it ended (busy, no answer, failed...) goes to the service."""
    settings = deps.settings()
    if not signature_ok(settings, request):
        log.warning("twilio voice status: bad signature")
        return _forbidden()
    sid, status = request.form.get("CallSid"), request.form.get("CallStatus")
    if not sid or not status:
        return "", 200
    with deps.db() as session:
        service.record_status(
            session,
            call_sid=sid,
            call_status=status,
            answered_by=request.form.get("AnsweredBy"),
            error_code=request.form.get("ErrorCode") or None,
            now=clock.now(),
        )
    return "", 200
