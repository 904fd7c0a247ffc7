"""Shared test helpers: the bot on the shipped catalogue, and `ask` for transcript-style tests."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest
import yaml

from bot.core import SupportBot
from bot.loading import default_intents_dir, load_catalogue
from bot.records import Message, Reply

DATA = Path(__file__).parent / "data"
SHIPPED_INTENTS = default_intents_dir()


@pytest.fixture(scope="session")
def catalogue():
    return load_catalogue(SHIPPED_INTENTS)


@pytest.fixture(scope="session")
def bot(catalogue) -> SupportBot:
    return SupportBot(catalogue, default_region="US")


@pytest.fixture(scope="session")
def reply(bot) -> Callable[..., Reply]:
    """reply("text", region="AU", channel="telegram") -> the bot's Reply."""

    def _reply(text: str, region: str | None = None, channel: str = "telegram") -> Reply:
        return bot.reply(Message(text, user_id="tester", channel=channel, region=region))

    return _reply


@pytest.fixture(scope="session")
def ask(reply) -> Callable[..., str]:
    """ask("text", region="AU") -> the reply's text, as a person would read it."""

    def _ask(text: str, region: str | None = None, channel: str = "telegram") -> str:
        return reply(text, region, channel).text

    return _ask


@pytest.fixture
def intents_copy(tmp_path) -> Path:
    """A writable copy of the shipped catalogue, for tests that break it on purpose."""
    target = tmp_path / "intents"
    shutil.copytree(SHIPPED_INTENTS, target, ignore=shutil.ignore_patterns("*.md"))
    return target


SHOP = {  # a small catalogue in the neutral default frame (no catalogue.yaml)
    "delivery-time": ["how long does shipping take", "how many days until my order is delivered", "delivery times", "shipping time to my address"],
    "returns": ["can I return a product", "how do I send something back for a refund", "return policy", "returning goods"],
    "opening-hours": ["when is the shop open", "what are your opening hours", "are you open on sunday", "closing time today"],
}
EVERYDAY = ["what is the weather tomorrow", "tell me a joke", "who won the football", "set an alarm for 7", "play some music"]


def write_shop(folder: Path) -> Path:
    """A three-intent shop catalogue with a few everyday negatives, quick to train."""
    intents = [
        {"id": name, "category": "shop", "question": texts[0], "examples": texts[1:], "answer": f"The {name} answer."}
        for name, texts in SHOP.items()
    ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shop.yaml").write_text(yaml.safe_dump({"intents": intents}), encoding="utf-8")
    (folder / "not-ours.yaml").write_text(yaml.safe_dump({"phrasings": EVERYDAY}), encoding="utf-8")
    return folder
