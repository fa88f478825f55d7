"""Load the trained reader once per process and read a reply with it.

Two heads share the character n-gram features and the rules' reading (one-hot, so the model learned
from the corpus when the rules are right): head A uses only those and costs well under a
millisecond; head B adds the sentence encoder's embedding and costs ~20 ms. B reads a reply only
when A is unsure of the code (top probability under ``cascade``, stored with the model) or gives a
concern some weight (then B decides the concern: A alone raised false alarms on replies such as "GP
at 10:40, then school"). Most replies take the fast path; the hard ones, often in the languages
with the least training text, get the encoder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.replies.reader import encoder
from bot.replies.reader.features import Features

MODEL_PATH = Path(__file__).with_name("model.npz")


@dataclass(frozen=True)
class ModelReading:
    code: str
    confidence: float  # the chosen head's probability for `code`
    concern: float  # probability that the reply is a welfare concern
    in_school: float  # probability of IN_SCHOOL, whatever the top code
    language: str
    language_confidence: float
    encoder_used: bool
    second: str = "NONE"  # the runner-up code and its probability
    second_confidence: float = 0.0


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max())
    return z / z.sum()


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


class Model:
    """The arrays written by ``bot.replies.reader.train``, and the arithmetic to apply them."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.meta = json.loads(str(arrays["meta"]))
        self.features = Features([str(g) for g in arrays["vocab"]], arrays["idf"])
        self.classes = [str(c) for c in arrays["classes"]]
        self.rule_codes = [str(c) for c in arrays["rule_codes"]]
        self.languages = [str(c) for c in arrays["languages"]]
        self.arrays = {k: v.astype(np.float64) for k, v in arrays.items() if k.endswith(("_coef", "_int"))}
        self.n_text = len(self.features.index)
        self.cascade = float(self.meta["cascade"])
        self.concern_band = tuple(self.meta["concern_band"])

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> Model:
        with np.load(path, allow_pickle=False) as data:
            return cls({k: data[k] for k in data.files})

    def rule_vector(self, rule_code: str, rule_confidence: float) -> np.ndarray:
        """The rules' reading as features: their code (half weight when unsure) and an "unsure" flag."""
        weight = float(self.meta["rule_weight"])
        v = np.zeros(len(self.rule_codes) + 1)
        if rule_code in self.rule_codes:
            v[self.rule_codes.index(rule_code)] = weight if rule_confidence >= 0.8 else weight / 2
        if rule_confidence < 0.8:
            v[-1] = weight
        return v

    def _logits(self, head: str, idx, weights, rules, embedding=None) -> np.ndarray:
        coef = self.arrays[f"{head}_coef"]
        out = weights @ coef[idx] + rules @ coef[self.n_text : self.n_text + len(rules)]
        if embedding is not None:
            start = self.n_text + len(rules)
            out = out + (embedding * float(self.meta["encoder_weight"])) @ coef[start:]
        return out + self.arrays[f"{head}_int"]

    def read(
        self, text: str, rule_code: str, rule_confidence: float, *, use_encoder: bool = True
    ) -> ModelReading:
        idx, weights = self.features.sparse(text)
        rules = self.rule_vector(rule_code, rule_confidence)
        probs = _softmax(self._logits("a", idx, weights, rules))
        concern = _sigmoid(float(self._logits("ca", idx, weights, rules)[0]))
        low, high = self.concern_band
        embedding = None
        if use_encoder and (probs.max() < self.cascade or low <= concern < high):
            embedding = encoder.embed(text)
        if embedding is not None:
            probs = _softmax(self._logits("b", idx, weights, rules, embedding))
            concern = _sigmoid(float(self._logits("cb", idx, weights, rules, embedding)[0]))
        lang = _softmax(weights @ self.arrays["lang_coef"][idx] + self.arrays["lang_int"])
        best, second = (int(i) for i in np.argsort(probs)[::-1][:2])
        return ModelReading(
            code=self.classes[best],
            confidence=float(probs[best]),
            concern=concern,
            in_school=float(probs[self.classes.index("IN_SCHOOL")]) if "IN_SCHOOL" in self.classes else 0.0,
            language=self.languages[int(lang.argmax())],
            language_confidence=float(lang.max()),
            encoder_used=embedding is not None,
            second=self.classes[second],
            second_confidence=float(probs[second]),
        )


@lru_cache(maxsize=1)
def shipped() -> Model | None:
    """The model shipped with the package, loaded once per process; None if it has not been built."""
    return Model.load(MODEL_PATH) if MODEL_PATH.exists() else None
