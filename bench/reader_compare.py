"""How the reply reader was chosen: 5-fold cross-validation on the corpus, per approach.

Usage: python -m bench.reader_compare        (several minutes: it embeds every corpus line once)

Each fold trains on four fifths of the corpus and reads the fifth, so every figure is on phrasings
the approach did not see. Approaches: the rules alone; character n-gram TF-IDF + logistic
regression (head A without the rules); multilingual-e5 embeddings + logistic regression; n-grams +
rules (head A); n-grams + rules + e5 (head B); and the shipped cascade (A, then B when A's top
probability is under the cascade setting). Code accuracy is split into English and other languages.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from bot.replies import rules  # noqa: E402
from bot.replies.reader import encoder  # noqa: E402
from bot.replies.reader.train import SETTINGS, SOLVER, _matrices, load_corpus  # noqa: E402


def main() -> None:
    rows = load_corpus()
    start = time.perf_counter()
    _, tfidf, _, a, b = _matrices(rows, SETTINGS, with_encoder=encoder.available())
    print(f"{len(rows)} corpus lines; features and embeddings in {time.perf_counter() - start:.0f} s")
    y = np.array([r["code"] for r in rows])
    group = np.array(["en" if r["lang"] == "en" else "other" for r in rows])
    rule_codes = np.array([rules.read(r["text"]).code for r in rows])
    variants = {"char n-grams": tfidf, "n-grams + rules (A)": a}
    if b is not None:
        variants["e5 only"] = sp.csr_matrix(b[:, a.shape[1] :])
        variants["n-grams + rules + e5 (B)"] = b
    strata = [c if (y == c).sum() >= 5 else "rare" for c in y]
    right: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for train_idx, test_idx in StratifiedKFold(5, shuffle=True, random_state=0).split(rows, strata):
        probs = {}
        for name, x in variants.items():
            clf = LogisticRegression(C=SETTINGS["C"], **SOLVER).fit(x[train_idx], y[train_idx])
            probs[name] = (clf.classes_, clf.predict_proba(x[test_idx]))
        for k, i in enumerate(test_idx):
            right["rules alone"][group[i]].append(rule_codes[i] == y[i])
            for name, (classes, p) in probs.items():
                right[name][group[i]].append(classes[p[k].argmax()] == y[i])
            if b is not None:
                classes, pa = probs["n-grams + rules (A)"]
                _, pb = probs["n-grams + rules + e5 (B)"]
                use_b = pa[k].max() < SETTINGS["cascade"]
                right["cascade A -> B (shipped)"][group[i]].append(
                    classes[(pb[k] if use_b else pa[k]).argmax()] == y[i]
                )
                right["cascade: share read by B"][group[i]].append(use_b)
    for name, by_group in right.items():
        cells = "  ".join(f"{g} {np.mean(v):6.1%}" for g, v in sorted(by_group.items()))
        print(f"{name:28} {cells}")


if __name__ == "__main__":
    main()
