"""What an automated call says, in the family's language, with a voice Twilio offers for it.

``VOICES`` maps a language to the ``<Say>`` locale and voice. Twilio fails a ``<Say>`` whose voice
and language do not go together, so only pairs from Twilio's list of text-to-speech voices are
here; a language without one (Somali today) is spoken in English, starting with a short apology.
The words come from the same gettext catalogs as the texts (``bot.templates``), so a language's
call and its SMS are translated together, and carry only the children's first names and the
school's name.
"""

from dataclasses import dataclass

from bot.templates import SOURCE_LANGUAGE, join_names, language, translate, translate_plural

# language -> (Say ``language``, Say ``voice``): Google standard voices on Twilio.
VOICES: dict[str, tuple[str, str]] = {
    "en": ("en-GB", "Google.en-GB-Standard-A"),
    "pl": ("pl-PL", "Google.pl-PL-Standard-A"),
    "ro": ("ro-RO", "Google.ro-RO-Standard-A"),
    "ur": ("ur-IN", "Google.ur-IN-Standard-A"),
    "ar": ("ar-XA", "Google.ar-XA-Standard-A"),
    "es": ("es-ES", "Google.es-ES-Standard-A"),
    "pt": ("pt-PT", "Google.pt-PT-Standard-A"),
    "lt": ("lt-LT", "Google.lt-LT-Standard-A"),
    "fr": ("fr-FR", "Google.fr-FR-Standard-A"),
    "bn": ("bn-IN", "Google.bn-IN-Standard-A"),
    "pa": ("pa-IN", "Google.pa-IN-Standard-A"),
    "tr": ("tr-TR", "Google.tr-TR-Standard-A"),
    "uk": ("uk-UA", "Google.uk-UA-Standard-A"),
}


def voice_for(code: str | None) -> tuple[str, str, str]:
    """(language the call is spoken in, Say locale, Say voice); English when Twilio has no voice."""
    lang = language(code)
    if lang not in VOICES:
        lang = SOURCE_LANGUAGE
    return (lang, *VOICES[lang])


@dataclass(frozen=True)
class Script:
    """Every sentence a call may say, already in the call's language."""

    language: str  # the language spoken
    wanted: str  # the family's language (differs when there is no voice for it)
    locale: str
    voice: str
    apology: str | None  # said first when the call cannot be in the family's language
    greeting: str
    about: str
    menu: list[str]
    no_choice: str
    not_a_choice: str
    goodbye_call_us: str
    machine: str
    connecting: str
    office_no_answer: str
    record_prompt: str
    thanks: str
    nothing_recorded: str

    def transcript(self) -> str:
        """What a person who answers hears first: kept as the outbox message's body."""
        return " ".join(filter(None, [self.apology, self.greeting, self.about, *self.menu]))


def compose_script(*, language: str | None, first_names: list[str], school: str, office_line: bool) -> Script:
    """The call's sentences. ``office_line``: the school has a number to put the family through to."""
    wanted = _language(language)
    lang, locale, voice = voice_for(wanted)
    names = join_names(first_names, lang)
    count = len(dict.fromkeys(first_names)) or 1

    def _(message: str, **variables) -> str:
        return translate(lang, message, **variables)

    menu = []
    if office_line:
        menu.append(_("To speak to the school office, press 1."))
    menu.append(_("To leave a short message for the school, press 2."))
    apology = None
    if wanted != lang:
        # In English on purpose: there is no voice for the family's language.
        apology = "We are sorry that this call is in English."
    return Script(
        language=lang,
        wanted=wanted,
        locale=locale,
        voice=voice,
        apology=apology,
        greeting=_("Hello. This is an automated call from %(school)s.", school=school),
        about=translate_plural(
            lang,
            "%(names)s is not in school today and we do not know why.",
            "%(names)s are not in school today and we do not know why.",
            count,
            names=names,
        ),
        menu=menu,
        no_choice=_("We did not hear a choice."),
        not_a_choice=_("Sorry, that is not one of the choices."),
        goodbye_call_us=_("Please call the school office as soon as you can. Goodbye."),
        machine=translate_plural(
            lang,
            "Hello, this is %(school)s. %(names)s is not in school today. Please call the school office as "
            "soon as you can. Thank you.",
            "Hello, this is %(school)s. %(names)s are not in school today. Please call the school office as "
            "soon as you can. Thank you.",
            count,
            school=school,
            names=names,
        ),
        connecting=_("Putting you through to the school office. Please hold."),
        office_no_answer=_("Sorry, nobody in the office could answer."),
        record_prompt=_(
            "Please leave a short message after the tone: the reason, and when they will be "
            "back. Press the hash key when you have finished."
        ),
        thanks=_("Thank you. We have your message. Goodbye."),
        nothing_recorded=_("We did not hear a message. Please call the school office. Goodbye."),
    )


def _language(code: str | None) -> str:
    return language(code)
