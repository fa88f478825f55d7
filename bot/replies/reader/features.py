"""Character n-gram TF-IDF features, computed the same way when training and when reading a reply.

Character n-grams inside word boundaries (scikit-learn's ``char_wb``) need no tokenizer or word
list per language, survive typos and txt-speak ("temprature" shares most of its n-grams with
"temperature") and work for every script the corpus has. Training uses scikit-learn with
``char_ngrams`` as its analyzer; run time recomputes the same vector with numpy alone, so the web
process never imports scikit-learn. A test checks both give the same vector.
"""

from __future__ import annotations

import math
import re

import numpy as np

from bot.replies.text import normalise

NGRAM_RANGE = (1, 4)
_SPACES = re.compile(r"\s\s+")
_DIGIT = re.compile(r"\d")


def model_text(text: str) -> str:
    """The text the model sees: folded like the rules see it, every digit written as 0.

    "8.40" and "9.15" then share their n-grams: the model learns that a time was given, not which.
    """
    return _DIGIT.sub("0", normalise(text))


def char_ngrams(text: str) -> list[str]:
    """scikit-learn's ``char_wb`` n-grams of ``model_text(text)``."""
    low, high = NGRAM_RANGE
    grams: list[str] = []
    for word in _SPACES.sub(" ", model_text(text)).split():
        w = f" {word} "
        size = len(w)
        for n in range(low, high + 1):
            offset = 0
            grams.append(w[offset : offset + n])
            while offset + n < size:
                offset += 1
                grams.append(w[offset : offset + n])
            if offset == 0:  # a short word counts once
                break
    return grams


class Features:
    """Maps a reply to its L2-normalised, sublinear TF-IDF vector over a fixed vocabulary."""

    def __init__(self, vocabulary: list[str], idf: np.ndarray):
        self.index = {gram: i for i, gram in enumerate(vocabulary)}
        self.idf = idf.astype(np.float64)

    def sparse(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(feature indices, weights) of the reply; n-grams not in the vocabulary are ignored."""
        counts: dict[int, int] = {}
        for gram in char_ngrams(text):
            i = self.index.get(gram)
            if i is not None:
                counts[i] = counts.get(i, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts))
        weights = tf * self.idf[idx]
        norm = float(np.sqrt(weights @ weights))
        return idx, weights / norm if norm else weights
