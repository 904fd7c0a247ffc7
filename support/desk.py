"""The support desk: what happens to a message around the core's answer.

Adapters hold a desk: they convert a platform event to a `Message`, call `handle`, and render the
`Reply`. The desk resolves the person's region (their own choice, else what the adapter knows, else
the default), throttles people who flood it, asks the core, and records the turn.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.core import SupportBot
from bot.records import Message, Reply
from bot.settings import Settings
from support.state import ConversationState
from support.store import open_engine

log = logging.getLogger(__name__)


class SupportDesk:
    """One per process; safe to call from several threads (all state is in the database)."""

    def __init__(self, bot: SupportBot, state: ConversationState, rate_limit: int = 20) -> None:
        self.bot = bot
        self.state = state
        self.rate_limit = rate_limit

    @classmethod
    def from_settings(cls, settings: Settings) -> SupportDesk:
        """A desk on the configured catalogue and database (migrated on the way)."""
        bot = SupportBot.load(settings.intents_dir, settings.default_region)
        engine = open_engine(settings.get("DATABASE_URL"), settings.get("BOT_DATA_DIR"))
        return cls(bot, ConversationState(engine), int(settings.get("BOT_RATE_LIMIT") or 20))

    def region_for(self, message: Message) -> str:
        """The person's own choice, else the region the platform suggests, else the default."""
        chosen = self.state.region_of(message.channel, message.user_id)
        return self.bot.region_of(replace(message, region=chosen or message.region))

    def handle(self, message: Message) -> Reply | None:
        """The reply to a message, or None when the person is throttled and was already told so."""
        count = self.state.count_message(f"{message.channel}:{message.user_id}")
        region = self.region_for(message)
        if count > self.rate_limit:
            log.info("throttled %s user after %d messages this minute", message.channel, count)
            if count == self.rate_limit + 1:
                return self.bot.writer.notice("slow_down", region)
            return None
        reply = self.bot.reply(replace(message, region=region))
        self.state.record_turn(message, message.thread, reply)
        return reply

    def choose(self, intent_id: str, message: Message) -> Reply:
        """The reply when a person picks a suggested question (a button, a number)."""
        reply = self.bot.answer(intent_id, self.region_for(message))
        self.state.record_turn(replace(message, text=f"[picked] {intent_id}"), message.thread, reply)
        return reply

    def set_region(self, message: Message, region: str) -> Reply:
        """Remember a person's region choice; the reply confirms it (or lists the regions)."""
        region = region.strip().upper()
        catalogue = self.bot.catalogue
        if region not in catalogue.regions:
            return self.bot.writer.notice("choose_region", self.region_for(message))
        self.state.set_region(message.channel, message.user_id, region)
        return self.bot.writer.notice("region_set", region, kind="social")

    def first_time(self, source: str, event_id: str) -> bool:
        """Whether this event is new to every process (retries and duplicates are not)."""
        return self.state.first_time(source, event_id)
