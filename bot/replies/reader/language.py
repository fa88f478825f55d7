"""The reply's language, for staff ("Polish") and for the thank-you text (``pl``).

The model's language head was trained on the corpus, whose files are one per language and script
(``ur-latn`` is Urdu written in Latin letters, as many families text). On the held-out replies it
named the language better than lingua-language-detector restricted to the same 15 languages, which
cannot know romanised Urdu or Punjabi and needs ~40-400 MB (bench/reader_compare.py), so the head
is used alone.
"""

from __future__ import annotations

NAMES = {
    "en": "English",
    "pl": "Polish",
    "ro": "Romanian",
    "ur": "Urdu",
    "ur-latn": "Urdu (romanised)",
    "ar": "Arabic",
    "es": "Spanish",
    "pt": "Portuguese",
    "lt": "Lithuanian",
    "fr": "French",
    "bn": "Bengali",
    "so": "Somali",
    "pa": "Punjabi",
    "pa-latn": "Punjabi (romanised)",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ru": "Russian",
}
# Below this the head is guessing (one-word replies such as "ok"): say English, the school's language.
SURE = 0.7


def name(code: str | None) -> str:
    """The language's English name for staff; "unknown" when not detected."""
    return NAMES.get(code or "", "unknown")


def template_language(code: str | None) -> str:
    """The family-template language for a detected language: ``ur-latn`` -> ``ur``."""
    return (code or "en").split("-")[0]
