"""The support desk: what happens to a message around the core's answer.

Adapters hold a desk: they convert a platform event to a `Message`, call `handle`, and render the
`Reply`. The desk resolves the person's region (their own choice, else what the adapter knows, else
the default), throttles people who flood it, asks the core, turns a hand-off into a ticket (asking
first how to reach the person when support could not otherwise), sends the messages of someone
a person is already helping to that person instead of answering them, and records every turn.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import datetime, timedelta

from bot.context import Context, chosen
from bot.core import SupportBot
from bot.hours import parse_hours
from support.logs import fields
from bot.records import Message, Reply
from bot.replies import REGION_OPTION
from bot.settings import Settings
from support import metrics
from support.contact import find_contact, is_attempted_contact
from support.state import ConversationState
from support.store import open_engine
from support.tickets import Line, Routing, Ticket, Tickets

log = logging.getLogger(__name__)

CANCEL_WORDS = frozenset({"cancel", "no", "no thanks", "nevermind", "never mind", "stop", "skip"})
# What people type when asked "Australia or the United States?" (the buttons send the code itself).
REGION_WORDS = {
    "AU": frozenset({"au", "aus", "australia", "oz", "in australia", "australian", "aussie"}),
    "US": frozenset({"us", "usa", "u s", "u s a", "america", "united states", "the united states", "the us", "the usa", "in the us", "in the usa", "american", "states", "the states"}),
}


class SupportDesk:
    """One per process; safe to call from several threads (all state is in the database)."""

    def __init__(
        self,
        bot: SupportBot,
        state: ConversationState,
        rate_limit: int = 20,
        tickets: Tickets | None = None,
        ask_region: bool = False,
        context_minutes: int = 30,
    ) -> None:
        self.bot = bot
        self.state = state
        self.rate_limit = rate_limit
        self.tickets = tickets
        self.ask_region = ask_region  # True: a person whose region is unknown is asked it when it matters
        self.context_lifetime = timedelta(minutes=context_minutes)

    @classmethod
    def from_settings(cls, settings: Settings) -> SupportDesk:
        """A desk on the configured catalogue and database (migrated on the way), with tickets."""
        bot = SupportBot.load(settings.intents_dir, settings.default_region)
        engine = open_engine(settings.get("DATABASE_URL"), settings.get("BOT_DATA_DIR"))
        routing = Routing(
            addresses={code: settings.get(f"SUPPORT_EMAIL_{code}") or region.email for code, region in bot.catalogue.regions.items()},
            support_channel=settings.get("SLACK_SUPPORT_CHANNEL"),
            email=bool(settings.get("SMTP_URL")),
            hours={code: parse_hours(settings.get(f"SUPPORT_HOURS_{code}") or "") for code in bot.catalogue.regions if settings.get(f"SUPPORT_HOURS_{code}")},
            reasons=bot.catalogue.reasons,
        )
        return cls(
            bot,
            ConversationState(engine),
            int(settings.get("BOT_RATE_LIMIT") or 20),
            Tickets(engine, routing),
            ask_region=not settings.is_given("BOT_DEFAULT_REGION"),
            context_minutes=int(settings.get("BOT_CONTEXT_MINUTES") or 30),
        )

    def region_for(self, message: Message) -> str:
        """The person's own choice, else the region the platform suggests, else the default."""
        chosen = self.state.region_of(message.channel, message.user_id)
        return self.bot.region_of(replace(message, region=chosen or message.region))

    def known_region(self, message: Message) -> str | None:
        """The person's region if it is known (their choice, the platform's, or a default the brand
        set on purpose); None when the desk should ask it before an answer that depends on it."""
        for region in (self.state.region_of(message.channel, message.user_id), message.region):
            if region and region.strip().upper() in self.bot.catalogue.regions:
                return region.strip().upper()
        return None if self.ask_region else self.bot.default_region

    def handle(self, message: Message) -> Reply | None:
        """The reply to a message, or None when there is nothing to say: the person is throttled and
        was told so, or their message went to the support person handling their ticket."""
        started = time.perf_counter()
        reply = self._handle(message)
        elapsed = time.perf_counter() - started
        kind = reply.kind if reply else "none"
        metrics.MESSAGES.labels(channel=message.channel, kind=kind).inc()
        metrics.MATCH_SECONDS.observe(elapsed)
        if reply and reply.kind == "escalate":
            metrics.ESCALATIONS.labels(reason=reply.reason or "-", region=reply.region).inc()
        log.info(
            "message %s",
            fields(
                channel=message.channel,
                region=reply.region if reply else message.region,
                kind=kind,
                intent=reply.intent_id if reply else None,
                score=reply.score if reply else None,
                ticket=reply.ticket if reply else None,
                latency_ms=elapsed * 1000,
            ),
        )
        return reply

    def _handle(self, message: Message) -> Reply | None:
        count = self.state.count_message(f"{message.channel}:{message.user_id}")
        known = self.known_region(message)
        region = known or self.region_for(message)
        message = replace(message, region=region)
        if count > self.rate_limit:
            log.info("throttled a %s user after %d messages this minute", message.channel, count)
            return self.bot.writer.notice("slow_down", region) if count == self.rate_limit + 1 else None
        ticket = self.tickets.active_for(message.thread) if self.tickets else None
        reply = None
        if ticket and ticket.status == "awaiting_contact":
            reply = self._take_contact(ticket, message)
        elif ticket and ticket.support_channel:
            self.tickets.customer_said(ticket, message.text)  # type: ignore[union-attr]
            self.state.record_turn(message, message.thread, Reply("escalate", "(to the support team)", region, ticket=ticket.code))
            return None
        if reply is None:
            reply = self._with_ticket(message, self._converse(message, known))
        return replace(reply, turn=self.state.record_turn(message, message.thread, reply))

    def choose(self, intent_id: str, message: Message) -> Reply:
        """The reply when a person picks a suggested question (a button, a number) or a region."""
        message = replace(message, text=message.text or f"[picked] {intent_id}")
        known = self.known_region(message)
        message = replace(message, region=known or self.region_for(message))
        if intent_id.startswith(REGION_OPTION):
            region = intent_id.removeprefix(REGION_OPTION).upper()
            if region in self.bot.catalogue.regions:
                reply = self._region_chosen(replace(message, region=region), self.state.context_of(message.thread))
            else:
                reply = self.bot.writer.notice("unknown_option", message.region)
        elif known is None and intent_id in self.bot.catalogue.by_id and self._depends_on_region(self.bot.answer(intent_id, message.region)):
            stored = self.state.context_of(message.thread)
            self.state.save_context(message.thread, message.user_id, **_columns(self._context(stored, message)), pending_intent=intent_id)
            reply = self.bot.writer.ask_region(message.region)
        else:
            reply = self._with_ticket(message, self._picked(intent_id, message))
        metrics.MESSAGES.labels(channel=message.channel, kind=reply.kind).inc()
        return replace(reply, turn=self.state.record_turn(message, message.thread, reply))

    def feedback(self, message: Message, turn_id: int, helpful: bool) -> bool:
        """Record a "Helpful? Yes / No" vote from the person whose turn it was."""
        recorded = self.state.record_verdict(turn_id, message.user_id, helpful)
        if recorded:
            metrics.FEEDBACK.labels(helpful="yes" if helpful else "no").inc()
        return recorded

    def set_region(self, message: Message, region: str) -> Reply:
        """Remember a person's region choice; the reply confirms it (or lists the regions)."""
        region = region.strip().upper()
        if region not in self.bot.catalogue.regions:
            return self.bot.writer.notice("choose_region", self.region_for(message))
        self.state.set_region(message.channel, message.user_id, region)
        return self.bot.writer.notice("region_set", region, kind="social")

    def first_time(self, source: str, event_id: str) -> bool:
        """Whether this event is new to every process (retries and duplicates are not)."""
        return self.state.first_time(source, event_id)

    # -- conversations -----------------------------------------------------------------------

    def _converse(self, message: Message, known: str | None) -> Reply:
        """The core's reply in the light of the conversation's context, which it then keeps. With
        the person's region unknown (`known` None), a reply that depends on it waits for the answer
        to "Australia or the United States?"; one that does not names every region's contacts."""
        stored = self.state.context_of(message.thread)
        if stored is not None and stored["user_id"] != message.user_id:
            stored = None  # someone else in the same thread: their context is theirs
        waiting = stored is not None and (stored.get("pending_text") is not None or stored.get("pending_intent"))
        if known is None and waiting and (region := region_named(message.text)):
            return self._region_chosen(replace(message, region=region), stored)
        context = self._context(stored, message)
        turn = self.bot.converse(message, context, self.state.clock())
        reply = turn.reply
        if known is None and reply.region == message.region and self._depends_on_region(reply):  # else they named one
            self.state.save_context(message.thread, message.user_id, **_columns(context), pending_text=message.text)
            log.info("asked a %s user for their region before answering", message.channel)
            return self.bot.writer.ask_region(reply.region)
        if known is None and reply.kind in ("fallback", "social"):
            reply = self.bot.writer.naming_every_region(reply)
        if turn.context is not None or waiting:
            kept = _columns(turn.context)
            if known is None and kept:  # answered the same in every region: it holds in whichever they choose
                kept["region"] = None
            self.state.save_context(message.thread, message.user_id, **kept)
        return reply

    def _region_chosen(self, message: Message, stored: dict | None) -> Reply:
        """The person chose their region (a button, a number, or typed): remember it, then answer
        the question that was waiting for it, or confirm the choice when none was."""
        region = message.region or self.bot.default_region
        self.state.set_region(message.channel, message.user_id, region)
        log.info("a %s user chose region %s", message.channel, region)
        if stored and stored["user_id"] != message.user_id:
            stored = None  # a question someone else in the thread is waiting on stays theirs
        context = _columns(self._context(stored, message))
        if stored and stored.get("pending_intent"):
            self.state.save_context(message.thread, message.user_id, **context)
            return self._with_ticket(message, self._picked(stored["pending_intent"], message))
        if stored and stored.get("pending_text") is not None:
            self.state.save_context(message.thread, message.user_id, **context)
            asked = replace(message, text=stored["pending_text"])
            return self._with_ticket(asked, self._converse(asked, region))
        return self.bot.writer.notice("region_set", region, kind="social")

    def _picked(self, intent_id: str, message: Message) -> Reply:
        """The answer to a question the person picked; the conversation carries on from it."""
        reply = self.bot.answer(intent_id, message.region)
        stored = self.state.context_of(message.thread)
        context = chosen(intent_id, reply.region, self.state.clock(), self.bot.catalogue, self._context(stored, message))
        if context is not None:
            self.state.save_context(message.thread, message.user_id, **_columns(context))
        return reply

    def _reply_in_context(self, message: Message) -> Reply:
        """What the bot would say to `message` in its conversation, without keeping anything."""
        context = self._context(self.state.context_of(message.thread), message)
        return self.bot.converse(message, context, self.state.clock()).reply

    def _depends_on_region(self, reply: Reply) -> bool:
        """Whether `reply` would say something else in another region: a hand-off (the address
        differs) or an answer with a version per region."""
        if reply.kind == "escalate":
            return True
        intent = self.bot.catalogue.by_id.get(reply.intent_id or "")
        return reply.kind == "answer" and intent is not None and intent.region_dependent

    def _context(self, stored: dict | None, message: Message) -> Context | None:
        """The conversation's context if it is this person's and recent enough to lean on."""
        if not stored or not stored.get("intent") or stored["user_id"] != message.user_id:
            return None
        if stored["updated_at"] + self.context_lifetime < self.state.clock():
            return None
        products = tuple(p for p in (stored.get("products") or "").split(",") if p)
        region = stored.get("region") or message.region or ""  # none stored: an answer the same everywhere
        return Context(stored["intent"], stored.get("question") or "", products, stored.get("category") or "", region, stored["updated_at"])

    # -- hand-offs ---------------------------------------------------------------------------

    def _with_ticket(self, message: Message, reply: Reply) -> Reply:
        """A hand-off becomes a ticket when tickets reach someone; other replies stay as they are."""
        if reply.kind == "escalate" and self.tickets and self.tickets.routing.delivers:
            return self._hand_off(message, reply)
        return reply

    def _hand_off(self, message: Message, reply: Reply) -> Reply:
        """Open a ticket for an escalation; ask how to reach the person if support needs to know."""
        assert self.tickets is not None
        transcript = [
            line
            for turn in self.state.recent_turns(message.thread, limit=8)
            for line in (Line("customer", turn["text"]), Line("bot", turn["reply"]))
        ]
        transcript.append(Line("customer", message.text))  # then what the customer is told, worded with the ticket
        contact = find_contact(message.text)
        needs_contact = not self.tickets.routing.relays and contact is None
        told: list[Reply] = []

        def worded(opened: Ticket) -> str:
            told.append(self._handoff_reply(reply, opened, "ask_contact" if needs_contact else "handoff_ticket"))
            return told[-1].text

        ticket = self.tickets.open(
            reason=reply.reason or "human",
            intent=reply.intent_id,
            region=reply.region,
            channel=message.channel,
            conversation=message.thread,
            user_id=message.user_id,
            user_name=message.user_name,
            workspace=message.workspace,
            contact=contact,
            transcript=transcript,
            awaiting_contact=needs_contact,
            bot_says=worded,
        )
        log.info("hand-off %s opened (%s, %s, %s)", ticket.code, ticket.reason, ticket.region, ticket.channel)
        return told[-1]

    def _take_contact(self, ticket: Ticket, message: Message) -> Reply | None:
        """The answer to "how can we reach you?"; None when the person moved on to something else
        (a new question gets its answer, and the unfinished hand-off is dropped)."""
        assert self.tickets is not None
        if message.text.strip().lower().strip(".!") in CANCEL_WORDS:
            self.tickets.cancel(ticket)
            log.info("hand-off %s cancelled by the customer", ticket.code)
            return self.bot.writer.notice("contact_cancelled", ticket.region, kind="social")
        contact = find_contact(message.text)
        if contact is None and is_attempted_contact(message.text):
            return self.bot.writer.notice("contact_invalid", ticket.region)
        if contact is None:
            would_say = self._reply_in_context(message)
            if would_say.kind == "escalate" and would_say.intent_id == ticket.intent:  # "should I stop using it?": the same hand-off
                return self._handoff_reply(Reply("escalate", "", ticket.region, ticket.intent, reason=ticket.reason), ticket, "ask_contact", with_brand_words=False)
            if would_say.kind in ("answer", "escalate", "social"):  # a question of its own (or a follow-up), not a reply to us
                self.tickets.cancel(ticket)
                log.info("hand-off %s dropped: the customer moved on", ticket.code)
                return None
            return self.bot.writer.notice("contact_invalid", ticket.region)
        opened = self.tickets.provide_contact(ticket, contact)
        log.info("hand-off %s opened with a contact", opened.code)
        intent = self.bot.catalogue.by_id.get(opened.intent or "")
        reply = Reply("escalate", "", opened.region, opened.intent, reason=opened.reason)
        return self._handoff_reply(reply, opened, "handoff_ticket", with_brand_words=intent is None)

    def _handoff_reply(self, reply: Reply, ticket: Ticket, message_key: str, with_brand_words: bool = True) -> Reply:
        catalogue = self.bot.catalogue
        routing = self.tickets.routing  # type: ignore[union-attr]
        followup_key = "followup_relay" if routing.relays else "followup_email"
        values = {
            "followup": catalogue.fill(catalogue.messages[followup_key], ticket.region, reached_at=ticket.contact or ""),
            "hours": self._hours_note(ticket.region),
        }
        intent = catalogue.by_id.get(reply.intent_id or "") if with_brand_words else None
        return self.bot.writer.handoff(
            intent,
            ticket.region,
            ticket.reason,
            reply.score,
            message_key=message_key,
            escalate_to=ticket.routed_to,
            ticket=ticket.code,
            **values,
        )

    def _hours_note(self, region: str) -> str:
        hours = self.tickets.routing.hours.get(region) if self.tickets else None
        now = self.tickets.clock() if self.tickets else datetime.now()
        if hours is None or hours.is_open(now):
            return ""
        opening = hours.next_opening(now)
        when = f"{opening:%A} {opening.day} {opening:%B}, {opening:%H:%M} ({opening.tzname()})"
        return self.bot.catalogue.fill(self.bot.catalogue.messages["outside_hours"], region, when=when)


def region_named(text: str) -> str | None:
    """The region a person typed in answer to "Australia or the United States?", if they did."""
    said = " ".join("".join(ch if ch.isalnum() else " " for ch in text.casefold()).split())
    return next((code for code, names in REGION_WORDS.items() if said in names), None)


def _columns(context: Context | None) -> dict[str, str | None]:
    """A context as the columns `ConversationState.save_context` keeps."""
    if context is None:
        return {}
    return {
        "region": context.region,
        "intent": context.intent_id,
        "question": context.question,
        "products": ",".join(context.products),
        "category": context.category,
    }
