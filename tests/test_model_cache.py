"""The model cache: a start with an unchanged catalogue takes the trained model instead of training,
and a start that must train says so before the wait."""

import logging

from bot.core import SupportBot
from bot.loading import load_catalogue
from bot.records import Message
from conftest import write_shop


def test_the_first_start_says_it_trains_and_the_next_takes_the_cached_model(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("BOT_MODEL_CACHE", str(tmp_path / "cache"))
    catalogue = load_catalogue(write_shop(tmp_path / "shop"))
    with caplog.at_level(logging.INFO, logger="bot.model_cache"):
        first = SupportBot(catalogue)
    assert "training the intent model for this catalogue (once" in caplog.text
    assert "intent model trained in" in caplog.text

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.model_cache"):
        second = SupportBot(catalogue)
    assert "training" not in caplog.text and "intent model loaded from" in caplog.text
    text = "how many days until my order is delivered"
    assert (first.matcher.model.scores(text) == second.matcher.model.scores(text)).all()
    assert first.reply(Message(text)).text == second.reply(Message(text)).text


def test_with_the_cache_off_every_start_trains_and_says_why(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("BOT_MODEL_CACHE", "off")
    with caplog.at_level(logging.INFO, logger="bot.model_cache"):
        SupportBot(load_catalogue(write_shop(tmp_path / "shop")))
    assert "training the intent model for this catalogue (the model cache is off)" in caplog.text
