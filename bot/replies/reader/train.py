"""Rebuild ``model.npz`` from the labelled corpus: ``attendance-bot reason train``.

Deterministic: the corpus is read in file-name order, every head is solved to convergence (see
``SOLVER``: no random state, no dependence on float summation order) and the encoder runs on one
thread. The model stores a digest of the corpus it was trained on, so the test suite can tell when
the corpus changed and the shipped model was not rebuilt.

Training needs scikit-learn (a dependency of the package, but imported only here: the web process
reads the model with numpy alone).
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from pathlib import Path

import numpy as np

from bot.replies import rules
from bot.replies.reader import encoder
from bot.replies.reader.features import NGRAM_RANGE, char_ngrams
from bot.replies.reader.model import MODEL_PATH

CORPUS_DIR = Path(__file__).resolve().parents[1] / "corpus"
# Chosen by cross-validation on the corpus and the tuning part of the dev sets (bench/reader_compare.py).
SETTINGS = {
    "C": 20.0,  # inverse regularisation of every head
    "min_df": 2,  # an n-gram must occur in two replies: halves the features and the training time
    "rule_weight": 3.0,  # scale of the rules' one-hot reading among the features
    "encoder_weight": 2.0,  # scale of the sentence embedding among the features
    "cascade": 0.8,  # head A's top probability below which head B (with the encoder) reads
    "concern_band": [0.1, 1.01],  # head A's concern probability from 0.1: head B decides concern
}


def load_corpus(directory: Path = CORPUS_DIR) -> list[dict]:
    """Every labelled line, each with its language (the file's name: ``pl.jsonl`` -> ``pl``)."""
    rows = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append({**json.loads(line), "lang": path.stem})
    return rows


def corpus_digest(directory: Path = CORPUS_DIR) -> str:
    """SHA-256 over the corpus files' names and bytes, in order."""
    h = hashlib.sha256()
    for path in sorted(directory.glob("*.jsonl")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _matrices(rows: list[dict], settings: dict, with_encoder: bool):
    """TF-IDF features, the rules' one-hot reading and (optionally) the embeddings, for every row."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [r["text"] for r in rows]
    vectorizer = TfidfVectorizer(analyzer=char_ngrams, sublinear_tf=True, min_df=settings["min_df"])
    tfidf = vectorizer.fit_transform(texts)
    readings = [rules.read(t) for t in texts]
    rule_codes = sorted({r["code"] for r in rows} | {r.code for r in readings})
    w = settings["rule_weight"]
    one_hot = np.zeros((len(rows), len(rule_codes) + 1))
    for i, reading in enumerate(readings):
        one_hot[i, rule_codes.index(reading.code)] = w if reading.confidence >= 0.8 else w / 2
        if reading.confidence < 0.8:
            one_hot[i, -1] = w
    a = sp.hstack([tfidf, sp.csr_matrix(one_hot)]).tocsr()
    b = None
    if with_encoder:
        emb = np.vstack([encoder.embed(t) for t in texts]) * settings["encoder_weight"]
        b = sp.hstack([a, sp.csr_matrix(emb)]).tocsr()
    return vectorizer, tfidf, rule_codes, a, b


# Fit every head to its optimum, not to wherever a loose stopping rule leaves it. With 15k n-grams
# and 2.4k replies the problem is badly conditioned: lbfgs at its default tol stopped far short
# (weights 0.1-0.9 from the optimum), so the same matrix with its sparse indices in another order
# (another scipy, or a matrix sorted in place) gave other weights, and the shipped model could not
# be rebuilt. Newton-CG reaches a gradient of 1e-8 in ~10-20 steps; the weights then agree to ~1e-5
# whatever the summation order (tests/test_reader.py checks both).
SOLVER = {"solver": "newton-cg", "tol": 1e-8, "max_iter": 1000}

HEADS = ("a", "ca", "lang", "b", "cb")  # code and concern heads A and B, and the language head


def _head(name: str, matrices: dict, rows: list[dict], settings: dict):
    """Fit one head: A reads n-grams and the rules, B adds the encoder, lang reads n-grams only."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    x = matrices["tfidf" if name == "lang" else name[-1]]
    if name == "lang":
        y, kw = [r["lang"] for r in rows], {}
    elif name.startswith("c"):
        y, kw = [bool(r["concern"]) for r in rows], {"class_weight": "balanced"}
    else:
        y, kw = [r["code"] for r in rows], {}
    with warnings.catch_warnings():  # a head that stopped short would not be reproducible: fail
        warnings.simplefilter("error", ConvergenceWarning)
        return LogisticRegression(C=settings["C"], **SOLVER, **kw).fit(x, y)


def fit(
    rows: list[dict],
    settings: dict | None = None,
    *,
    with_encoder: bool | None = None,
    heads: tuple[str, ...] = HEADS,
) -> dict:
    """Train `heads` on `rows`; the arrays ``Model`` reads (the test suite refits a cheap few)."""
    settings = {**SETTINGS, **(settings or {})}
    with_encoder = encoder.available() if with_encoder is None else with_encoder
    vectorizer, tfidf, rule_codes, a, b = _matrices(rows, settings, with_encoder)
    matrices = {"tfidf": tfidf, "a": a, "b": b}
    arrays = {
        "vocab": np.array(vectorizer.get_feature_names_out(), dtype=str),
        "idf": vectorizer.idf_.astype(np.float32),
        "rule_codes": np.array(rule_codes, dtype=str),
    }
    for name in heads:
        if name in ("b", "cb") and b is None:
            continue
        model = _head(name, matrices, rows, settings)
        arrays[f"{name}_coef"] = model.coef_.T.astype(np.float32)
        arrays[f"{name}_int"] = model.intercept_.astype(np.float32)
        if name in ("a", "lang"):
            arrays["classes" if name == "a" else "languages"] = np.array(model.classes_, dtype=str)
    if b is None and "b" in heads:  # no encoder: head B is head A, and the cascade never asks for it
        arrays |= {
            "b_coef": arrays["a_coef"],
            "b_int": arrays["a_int"],
            "cb_coef": arrays["ca_coef"],
            "cb_int": arrays["ca_int"],
        }
        settings = {**settings, "cascade": 0.0, "concern_band": [2.0, 2.0]}
    arrays["meta"] = np.array(
        json.dumps(
            {**settings, "ngram_range": list(NGRAM_RANGE), "encoder": b is not None, "lines": len(rows)}
        )
    )
    return arrays


def train(directory: Path = CORPUS_DIR, out: Path = MODEL_PATH) -> dict:
    """Fit on the whole corpus and write the model file; returns its metadata."""
    rows = load_corpus(directory)
    arrays = fit(rows)
    meta = {**json.loads(str(arrays["meta"])), "corpus_sha256": corpus_digest(directory)}
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    out.write_bytes(buffer.getvalue())
    return meta
