"""The learned reply reader: the shipped model is the corpus's, features match training, the safety net.

Nothing here reads a folder outside the project: the corpus is package data and the held-out
replies live in bench/data.
"""

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from bot.replies import understand as understand_module
from bot.replies.reader import alarms, encoder, language, train
from bot.replies.reader import model as model_module
from bot.replies.reader.features import Features, char_ngrams
from bot.replies.understand import understand

WED = date(2026, 11, 25)
HELDOUT = Path(__file__).resolve().parents[1] / "bench" / "data" / "reader-heldout"


def shipped():
    model = model_module.shipped()
    assert model is not None, "bot/replies/reader/model.npz is missing: run attendance-bot reason train"
    return model


# ---- the shipped model is the one the corpus produces ----------------------------------------------


def test_shipped_model_was_trained_on_the_corpus_as_it_is_now():
    meta = shipped().meta
    assert meta["corpus_sha256"] == train.corpus_digest(), (
        "the corpus changed since the model was built: run attendance-bot reason train"
    )
    assert meta["lines"] == len(train.load_corpus())


def test_retraining_reproduces_the_shipped_features_and_heads():
    """Refit the cheap heads (concern A, language) from the corpus: same vocabulary, same weights."""
    rows = train.load_corpus()
    arrays = train.fit(rows, with_encoder=False, heads=("ca", "lang"))
    with np.load(model_module.MODEL_PATH) as shipped_arrays:
        assert list(arrays["vocab"]) == list(shipped_arrays["vocab"])
        np.testing.assert_allclose(arrays["idf"], shipped_arrays["idf"], rtol=1e-6)
        for key in ("ca_coef", "ca_int", "lang_coef", "lang_int"):
            np.testing.assert_allclose(arrays[key], shipped_arrays[key], atol=1e-4, err_msg=key)
        assert list(arrays["languages"]) == list(shipped_arrays["languages"])


def test_retraining_does_not_depend_on_the_order_floats_are_summed_in():
    """The same matrix with each row's entries in another order (as another scipy may build it) gives
    the same head: training runs to the optimum, so rounding differences cannot steer where it stops."""
    rows = train.load_corpus()
    _, _, _, a, _ = train._matrices(rows, train.SETTINGS, with_encoder=False)
    forward, backward = a.copy(), a.copy()
    forward.sort_indices()
    for i in range(backward.shape[0]):  # each row's entries last to first
        row = slice(backward.indptr[i], backward.indptr[i + 1])
        backward.indices[row], backward.data[row] = backward.indices[row][::-1], backward.data[row][::-1]
    backward.has_sorted_indices = False
    heads = [train._head("ca", {"a": x}, rows, train.SETTINGS) for x in (forward, backward)]
    np.testing.assert_allclose(heads[0].coef_, heads[1].coef_, atol=1e-4)
    np.testing.assert_allclose(heads[0].intercept_, heads[1].intercept_, atol=1e-4)


def test_run_time_features_equal_scikit_learns():
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["Jack has a temprature!!", "Poszedł do szkoły o 8:15", "ابني مريض اليوم", "k", "🤒 x"]
    vectorizer = TfidfVectorizer(analyzer=char_ngrams, sublinear_tf=True).fit(texts + ["ok thanks"])
    ours = Features(list(vectorizer.get_feature_names_out()), vectorizer.idf_)
    expected = vectorizer.transform(texts).toarray()
    for row, text in zip(expected, texts, strict=True):
        idx, weights = ours.sparse(text)
        got = np.zeros_like(row)
        got[idx] = weights
        np.testing.assert_allclose(got, row, atol=1e-12)


def test_the_model_is_loaded_once_per_process(monkeypatch):
    model_module.shipped.cache_clear()
    loads = []
    real = model_module.Model.load
    monkeypatch.setattr(
        model_module.Model,
        "load",
        classmethod(lambda cls, p=model_module.MODEL_PATH: loads.append(p) or real(p)),
    )
    for text in ("sick", "dentist at 10", "on holiday"):
        understand(text, WED)
    assert len(loads) == 1
    model_module.shipped.cache_clear()


def test_without_the_encoder_the_reader_still_reads(monkeypatch):
    monkeypatch.setattr(encoder, "embed", lambda text: None)
    assert understand("Mateo tiene fiebre y tos", WED).code == "I"
    assert understand("He left for school at 8, where is he?", WED).code == "IN_SCHOOL"


def test_as_json_keeps_exactly_the_four_keys():
    got = understand("Ona jest chora, wróci jutro", WED)
    assert list(got.as_json()) == ["code", "return_date", "concern", "confidence"]
    assert got.as_json()["return_date"] == "2026-11-26"


# ---- the safety net ---------------------------------------------------------------------------------

IN_SCHOOL_EVERY_LANGUAGE = [
    "I dropped her off at the gate myself",
    "Zawiozłem go do szkoły na 8:30",
    "Am lăsat-o la poarta școlii la 8",
    "Maine usko school chhor diya tha subah",
    "میں نے اسے سکول چھوڑا تھا صبح",
    "أبوها أخذها عالمدرسة الساعة ٨",
    "La dejé en la puerta del colegio",
    "Deixei-a na escola às 8h",
    "Je l'ai déposée devant l'école ce matin",
    "Nuvedžiau ją į mokyklą 8 val.",
    "আমি ওকে সকালে স্কুলে দিয়ে এসেছি",
    "Subaxdii ayaan iskuulka geeyay",
    "ਮੈਂ ਉਸਨੂੰ ਸਕੂਲ ਛੱਡ ਕੇ ਆਇਆ ਸੀ",
    "Onu sabah okula bıraktım",
    "Я відвела її до школи о восьмій",
    "Я отвела её в школу в восемь",
]


@pytest.mark.parametrize("text", IN_SCHOOL_EVERY_LANGUAGE)
def test_child_may_be_at_school_in_every_language(text):
    got = understand(text, WED)
    assert (got.code, got.concern, got.return_date) == ("IN_SCHOOL", True, None)


CONCERN_PHRASES = [
    "She didn't come home last night",
    "We fled the house last night with the kids",
    "Uciekł z domu w nocy, nie odbiera telefonu",
    "ما رجع عالبيت من مبارح",
    "বাড়ি ফেরেনি কাল রাত থেকে",
    "Xalay guriga ma soo noqon",
    "ਕੱਲ੍ਹ ਤੋਂ ਘਰ ਨਹੀਂ ਆਇਆ",
    "Dün geceden beri eve gelmedi",
    "Він не повернувся додому",
    "Она не пришла домой вчера",
    "Police came to the house at 3am",
    "گھر نہیں آیا رات سے",
]


@pytest.mark.parametrize("text", CONCERN_PHRASES)
def test_alarm_phrases_raise_a_concern(text):
    assert alarms.check(text).concern or alarms.check(text).in_school
    assert understand(text, WED).concern is True


@pytest.mark.parametrize(
    "text",
    [
        "Ellie has a sickness bug, back Friday",
        "Dentist at 10 then school",
        "We're on holiday in Spain",
        "Running late, 10 mins",
        "Thanks",
        "Eid Mubarak, off today",
        "Ma gorączkę, wróci w poniedziałek",
    ],
)
def test_ordinary_replies_set_off_no_alarm(text):
    assert alarms.check(text) == alarms.Alarm(in_school=False, concern=False)


def _heldout_rows():
    return [
        {**json.loads(line), "lang": p.stem}
        for p in sorted(HELDOUT.glob("*.jsonl"))
        for line in p.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def test_no_held_out_concern_is_missed_and_every_in_school_is_in_school():
    rows = _heldout_rows()
    assert len(rows) > 100
    for row in rows:
        got = understand(row["text"], date.fromisoformat(row["today"]))
        if row["concern"]:
            assert got.concern, row["text"]
        if row["code"] == "IN_SCHOOL":
            assert got.code == "IN_SCHOOL", row["text"]


# ---- language ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("My son is ill today", "en"),
        ("Syn jest chory", "pl"),
        ("Baiatul este bolnav azi", "ro"),
        ("Beta bimar hai aaj", "ur-latn"),
        ("بیٹا آج بیمار ہے", "ur"),
        ("ابني مريض اليوم", "ar"),
        ("Mi hijo está enfermo hoy", "es"),
        ("O meu filho está doente hoje", "pt"),
        ("Mon fils est malade aujourd'hui", "fr"),
        ("Sūnus šiandien serga", "lt"),
        ("আমার ছেলে আজ অসুস্থ", "bn"),
        ("Wiilkaygu maanta waa buka", "so"),
        ("ਮੇਰਾ ਮੁੰਡਾ ਅੱਜ ਬਿਮਾਰ ਹੈ", "pa"),
        ("Oğlum bugün hasta", "tr"),
        ("Мій син сьогодні хворіє", "uk"),
        ("Мой сын сегодня болеет", "ru"),
    ],
)
def test_language_is_detected(text, lang):
    assert understand(text, WED).language == lang
    assert language.name(lang) != "unknown"
    assert language.template_language(lang) == lang.split("-")[0]


def test_needs_reading_when_the_reader_is_unsure(monkeypatch):
    monkeypatch.setattr(understand_module, "NEEDS_READING_BELOW", 1.01)
    assert understand("sick", WED).needs_reading is True
    monkeypatch.setattr(understand_module, "NEEDS_READING_BELOW", 0.0)
    assert understand("sick", WED).needs_reading is False
