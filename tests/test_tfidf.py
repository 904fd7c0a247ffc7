"""A built model reads texts without scikit-learn (bot.tfidf): its features and scores must be the
ones scikit-learn's own transform gives, or the model would answer differently from how it learned."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import hstack

from bot.model import CHARACTER_NGRAMS, WORD_NGRAMS, IntentModel, tfidf_vectorizer
from bot.model_cache import file_model, model_name
from bot.tfidf import CHARACTERS_WITHIN_WORDS, WORDS, TfidfTerms
from conftest import SHIPPED_INTENTS

ROOT = Path(__file__).resolve().parent.parent

ODD_TEXTS = [
    "",
    "   ",
    "a",
    "is it ok",
    "recovery  vs\tbooster\n\nserum",
    "how long does recovery last",
    "s2rm s2rm s2rm s2rm",
    "ok 🤔 ok",
    "crème für gesicht\u00a0nbsp\u2003em-space",
    "supercalifragilisticexpialidocious " * 40,
]


@pytest.fixture(scope="module")
def texts(bot):
    return [example.text for example in bot.matcher.training.all]


@pytest.mark.parametrize("analyzer, ngram_range", [(WORDS, WORD_NGRAMS), (CHARACTERS_WITHIN_WORDS, CHARACTER_NGRAMS)])
def test_features_are_scikit_learns(texts, analyzer, ngram_range):
    fitted = tfidf_vectorizer(analyzer, ngram_range).fit(texts)
    ours = TfidfTerms(analyzer, ngram_range, fitted.vocabulary_, fitted.idf_)
    probe = ODD_TEXTS + texts[::7]
    for text, expected in zip(probe, fitted.transform(probe).toarray()):
        features, values = ours.weights(text)
        row = np.zeros(len(ours))
        row[features] = values
        assert np.allclose(row, expected, atol=1e-12), text
        assert sorted(ours.grams(text)) == sorted(fitted.build_analyzer()(text)), text


def test_a_models_scores_are_the_sparse_product_it_learned_with(texts, bot, tmp_path):
    model = bot.matcher.model
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = IntentModel.load(path)
    probe = ODD_TEXTS + texts[::11]
    learned = {}
    for name, terms in (("words", loaded._words), ("chars", loaded._chars)):
        vectorizer = tfidf_vectorizer(terms.analyzer, terms.ngram_range, vocabulary=terms.vocabulary)
        vectorizer.idf_ = terms.idf
        learned[name] = vectorizer.transform(probe)
    expected = (hstack([learned["words"], learned["chars"]]).tocsr().astype(np.float32) @ loaded._weights) + loaded._bias
    assert np.allclose(loaded.scores_many(probe), expected, atol=1e-5)
    assert np.array_equal(loaded.scores_many(probe), model.scores_many(probe))
    assert loaded.labels == model.labels


def test_the_command_line_answers_from_a_built_model_without_loading_scikit_learn_or_sqlalchemy(bot, tmp_path):
    cache = tmp_path / "cache"
    file_model(bot.matcher.model, cache, model_name(bot.catalogue))
    probe = (  # the command line, as `neogenesis-bot ask` starts
        "import sys; from service.cli import main\n"
        "main(['ask', 'how long does recovery last'])\n"
        "print(sorted(m for m in ('sklearn', 'scipy.stats', 'sqlalchemy') if m in sys.modules))\n"
    )
    environment = {**os.environ, "BOT_MODEL_CACHE": str(cache), "BOT_INTENTS_DIR": str(SHIPPED_INTENTS), "BOT_LOG_LEVEL": "WARNING"}
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=environment, cwd=ROOT, timeout=120)
    *reply, loaded = ran.stdout.strip().split("\n")
    assert "18 days" in "\n".join(reply), ran.stderr
    assert loaded == "[]"
