"""Shared test helpers: the bot on the shipped catalogue, and `ask` for transcript-style tests."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest

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
