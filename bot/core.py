"""The support bot: a `Message` in, a `Reply` out. Platform adapters and the CLI hold one of these."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from bot import context as conversation
from bot.calibration import Calibration, read_calibration
from bot.catalogue import Catalogue
from bot.loading import load_catalogue
from bot.matcher import Matcher, Ranking
from bot.policy import SAFETY_CATEGORIES, Decision, decide
from bot.records import Message, Reply
from bot.replies import ReplyWriter

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000  # longer is a paste, not a question; Telegram itself stops at 4,096


class SupportBot:
    """Answers one message at a time; keeps no conversation state, so any thread may call it.

    Building one trains the intent model on the catalogue (a second or two).
    """

    def __init__(
        self,
        catalogue: Catalogue,
        default_region: str = "US",
        calibration: Calibration | None = None,
    ) -> None:
        if default_region not in catalogue.regions:
            raise ValueError(f"default region {default_region!r} is not one of {', '.join(catalogue.regions)}")
        self.catalogue = catalogue
        self.default_region = default_region
        self.calibration = calibration or (read_calibration(catalogue.directory) if catalogue.directory else None) or Calibration()
        self.thresholds = self.calibration.thresholds
        self.matcher = Matcher(catalogue, self.calibration)
        self.writer = ReplyWriter(catalogue)
        self._named = {
            intent.id: self.matcher.answer_products(intent)
            for intent in catalogue.intents
            if intent.region_dependent and intent.category in SAFETY_CATEGORIES
        }

    @classmethod
    def load(cls, intents_dir: Path | str | None = None, default_region: str = "US") -> SupportBot:
        """A bot on the catalogue in `intents_dir` (default: BOT_INTENTS_DIR or the shipped one)."""
        return cls(load_catalogue(intents_dir), default_region)

    def region_of(self, message: Message) -> str:
        """The message's region if the catalogue knows it, else the default region."""
        if message.region:
            region = message.region.strip().upper()
            if region in self.catalogue.regions:
                return region
            log.warning("unknown region %r from %s; using %s", message.region, message.channel, self.default_region)
        return self.default_region

    def reply(self, message: Message) -> Reply:
        """The reply to one message. Never raises: odd input gets a friendly word instead."""
        region = self.region_of(message)
        text = message.text if isinstance(message.text, str) else ""
        if not text.strip():
            return self.writer.notice("empty", region)
        if len(text) > MAX_MESSAGE_CHARS:
            log.info("message of %d characters from %s refused as too long", len(text), message.channel)
            return self.writer.notice("too_long", region)
        try:
            decision = self.decide(text)
        except Exception:  # a bug must cost one reply, not the conversation
            log.exception("matching failed for a message from %s", message.channel)
            return self.writer.fallback(region)
        return self._reply_to(text, decision, region)

    def _reply_to(self, text: str, decision: Decision, region: str) -> Reply:
        """The reply to a message as it stands, once decided."""
        if decision.kind == "fallback" and decision.intent is None and not _looks_like_text(text):
            return self.writer.notice("no_text", region)
        return self.write(decision, region)

    def write(self, decision: Decision, region: str) -> Reply:
        """The reply for a decision in `region`."""
        if decision.kind == "answer" and self.pages_disagree(decision.intent.id, region, decision.products):
            # The AU page says avoid it, the US page says every product is safe: a person answers.
            return replace(self.writer.handoff(None, region, "medical", decision.score), intent_id=decision.intent.id)
        return self.writer.write(decision, region)

    def pages_disagree(self, intent_id: str, region: str, products: frozenset[str]) -> bool:
        """Whether a safety answer's region pages disagree about a product the message names: one
        region's answer names it (as an exception) where `region`'s answer does not."""
        named = self._named.get(intent_id)
        if not named or not products:
            return False
        elsewhere = frozenset().union(*(found for other, found in named.items() if other != region))
        return bool(products & (elsewhere - named.get(region, named.get(None, frozenset()))))

    def converse(self, message: Message, context: conversation.Context | None = None, now: datetime | None = None) -> conversation.Turn:
        """The reply to a message in a conversation whose last answer was `context`, and the context
        to carry on with. A follow-up ("and the 30ml?") is read against the context; a context from
        another region is not used. The caller keeps the context: the bot stores nothing."""
        region = self.region_of(message)
        now = now or datetime.now(timezone.utc)
        if context is not None and context.region != region:
            context = None
        text = message.text if isinstance(message.text, str) else ""
        reading = None
        if context is not None and text.strip() and len(text) <= MAX_MESSAGE_CHARS:
            try:
                reading = conversation.read(self, text, context, region)
            except Exception:  # a bug must cost one reply, not the conversation
                log.exception("reading a follow-up failed for a message from %s", message.channel)
                return conversation.Turn(self.writer.fallback(region), context)
        if reading is not None and reading.follow_up:
            reply = self.write(reading.decision, reading.region or region)
        elif reading is not None and reading.decision is not None:  # the message as it stands, already decided
            reply = self._reply_to(text, reading.decision, region)
        else:
            reading, reply = conversation.Reading(text), self.reply(message)
        return conversation.Turn(reply, conversation.carry_on(reading, reply, context, region, now, self.catalogue))

    def decide(self, text: str) -> Decision:
        """How the bot would handle `text`, before any wording."""
        return decide(self.rank(text), self.catalogue, self.thresholds)

    def rank(self, text: str) -> Ranking:
        """The intents `text` could be, best first."""
        return self.matcher.rank(text)

    def answer(self, intent_id: str, region: str | None = None) -> Reply:
        """The reply for an intent a user picked (a button, a numbered option)."""
        region = self.region_of(Message("", region=region))
        intent = self.catalogue.by_id.get(intent_id)
        if intent is None:
            log.warning("unknown intent %r picked", intent_id)
            return self.writer.notice("unknown_option", region)
        return self.writer.answer(intent, region)


def _looks_like_text(text: str) -> bool:
    """Whether text has words, and is not mostly emoji, symbols or binary junk."""
    visible = [ch for ch in text if not ch.isspace()]
    words = sum(unicodedata.category(ch)[0] in "LN" for ch in visible)
    junk = sum(unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") or ch == "\ufffd" for ch in visible)
    return words > 0 and junk * 10 <= len(visible)
