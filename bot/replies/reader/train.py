"""Rebuild ``model.npz`` from the labelled corpus: ``attendance-bot reason train``.

Deterministic: the corpus is read in file-name order, scikit-learn's lbfgs solver has no random
state, and the encoder runs on one thread. The model stores a digest of the corpus it was trained
on, so the test suite can tell when the corpus changed and the shipped model was not rebuilt.

Training needs scikit-learn (a dependency of the package, but imported only here: the web process
reads the model with numpy alone).
"""

from __future__ import annotations

import hashlib
import io
import json
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
    "rule_weight": 3.0,  # scale of the rules' one-hot reading among the features
    "encoder_weight": 2.0,  # scale of the sentence embedding among the features
    "cascade": 0.8,  # head A's top probability below which head B (with the encoder) reads
    "concern_band": [0.1, 0.9],  # head A's concern probability in this band: ask head B too
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
    vectorizer = TfidfVectorizer(analyzer=char_ngrams, sublinear_tf=True)
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


def fit(rows: list[dict], settings: dict | None = None, *, with_encoder: bool | None = None) -> dict:
    """Train every head on `rows`; the arrays ``Model`` reads."""
    from sklearn.linear_model import LogisticRegression

    settings = {**SETTINGS, **(settings or {})}
    with_encoder = encoder.available() if with_encoder is None else with_encoder
    vectorizer, tfidf, rule_codes, a, b = _matrices(rows, settings, with_encoder)
    codes = [r["code"] for r in rows]
    concerns = [bool(r["concern"]) for r in rows]

    def lr(x, y, **kw):
        return LogisticRegression(C=settings["C"], max_iter=5000, **kw).fit(x, y)

    code_a = lr(a, codes)
    concern_a = lr(a, concerns, class_weight="balanced")
    lang = lr(tfidf, [r["lang"] for r in rows])
    arrays = {
        "vocab": np.array(vectorizer.get_feature_names_out(), dtype=str),
        "idf": vectorizer.idf_.astype(np.float32),
        "classes": np.array(code_a.classes_, dtype=str),
        "rule_codes": np.array(rule_codes, dtype=str),
        "languages": np.array(lang.classes_, dtype=str),
        "a_coef": code_a.coef_.T.astype(np.float32), "a_int": code_a.intercept_.astype(np.float32),
        "ca_coef": concern_a.coef_.T.astype(np.float32), "ca_int": concern_a.intercept_.astype(np.float32),
        "lang_coef": lang.coef_.T.astype(np.float32), "lang_int": lang.intercept_.astype(np.float32),
    }
    if b is not None:
        code_b = lr(b, codes)
        concern_b = lr(b, concerns, class_weight="balanced")
        arrays |= {
            "b_coef": code_b.coef_.T.astype(np.float32),
            "b_int": code_b.intercept_.astype(np.float32),
            "cb_coef": concern_b.coef_.T.astype(np.float32),
            "cb_int": concern_b.intercept_.astype(np.float32),
        }
    else:  # no encoder: head B is head A, and the cascade never asks for the encoder
        arrays |= {"b_coef": arrays["a_coef"], "b_int": arrays["a_int"],
                   "cb_coef": arrays["ca_coef"], "cb_int": arrays["ca_int"]}
        settings = {**settings, "cascade": 0.0, "concern_band": [2.0, 2.0]}
    arrays["meta"] = np.array(json.dumps({**settings, "ngram_range": list(NGRAM_RANGE),
                                          "encoder": with_encoder, "lines": len(rows)}))
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
