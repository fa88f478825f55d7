"""SMS segment counting: GSM-7 (with its extension table) versus UCS-2.

One character outside GSM-7 (a curly quote, an emoji, any non-Latin script) turns the whole
message into UCS-2, and every part is billed, so templates are checked with this.
"""

import math
import unicodedata

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")


GSM7_ALL = frozenset(GSM7_BASIC | GSM7_EXTENDED)


def is_gsm7(text: str) -> bool:
    return GSM7_ALL.issuperset(text)


def encoding(text: str) -> str:
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def units(text: str) -> int:
    """Length in encoding units: GSM-7 septets (extension chars count 2) or UTF-16 code units."""
    if is_gsm7(text):
        return len(text) + sum(text.count(ch) for ch in GSM7_EXTENDED)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    n = units(text)
    if GSM7_ALL.issuperset(text):
        single, multi = 160, 153
    else:
        single, multi = 70, 67
    if n <= single:
        return 1
    return math.ceil(n / multi)


_FOLD = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ı": "i",
        "İ": "I",
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "–": "-",
        "—": "-",
        "…": "...",
    }
)


def fold_to_gsm7(text: str) -> str:
    """Latin text without its diacritics (ą→a, ș→s), keeping those GSM-7 has (é, ñ, ü...).

    Used only when a Latin-script message would not fit in two UCS-2 segments: people write SMS in
    Polish or Romanian without diacritics every day, but a third segment costs every family.
    """
    out = []
    for ch in text.translate(_FOLD):
        if ch in GSM7_BASIC or ch in GSM7_EXTENDED:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(base if base and is_gsm7(base) else ch)
    return "".join(out)


def fit(text: str, max_segments: int = 2) -> str:
    """The message as is when it fits; else with diacritics folded if that makes it fit."""
    if segments(text) <= max_segments:
        return text
    folded = fold_to_gsm7(text)
    return folded if segments(folded) < segments(text) else text
