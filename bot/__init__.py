"""The NeoGenesis support bot's core: catalogue, matcher, replies. No chat platform is imported here."""

from bot.core import SupportBot
from bot.records import Match, Message, Option, Reply

__all__ = ["Match", "Message", "Option", "Reply", "SupportBot"]
