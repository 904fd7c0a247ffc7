"""The support team's side in Slack: hand-off tickets in SLACK_SUPPORT_CHANNEL.

Each ticket is posted there with its transcript and Claim / Resolve buttons. A support person's reply
in the ticket's thread is relayed to the customer (on Telegram, or in the reseller's Slack thread),
marked as from the support team; a reply starting with `!note` stays internal. While the ticket is
open the customer's further messages are posted into the thread instead of being answered by the
bot. Resolve tells the customer and hands the conversation back to the bot.

Posts are deliveries from the outbox (`delivery_senders`), sent by the worker. Each carries its
delivery key as Slack message metadata, so a post retried after a crash mid-send is found instead
of posted twice.
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_render import escape
from support.desk import SupportDesk
from support.outbox import Delivery, DeliveryFailed, Sender
from support.tickets import Line, Ticket

log = logging.getLogger(__name__)

CLAIM = "ticket_claim"
RESOLVE = "ticket_resolve"
METADATA_TYPE = "neogenesis_delivery"
TRANSCRIPT_LINES = 20
WHO = {"customer": ":bust_in_silhouette: Customer", "bot": ":robot_face: Bot", "support": ":speech_balloon: Support", "note": ":memo: Note"}


def ticket_message(ticket: Ticket, lines: list[Line], reason: str) -> tuple[str, list[dict]]:
    """The ticket as the support channel shows it: who, why, transcript, and the buttons."""
    who = escape(ticket.user_name or ticket.user_id)
    status = {"open": "Open", "claimed": f"Claimed by <@{ticket.claimed_by}>" if ticket.claimed_by else "Claimed", "resolved": "Resolved"}
    head = (
        f"*{ticket.code}* · {escape(reason)} · {ticket.region} · via {ticket.channel}\n"
        f"*From:* {who}" + (f" (workspace {escape(ticket.workspace)})" if ticket.workspace else "")
        + (f" · *Contact:* {escape(ticket.contact)}" if ticket.contact else "")
        + f"\n*Status:* {status.get(ticket.status, ticket.status.title())}"
    )
    shown = [line for line in lines if line.author != "note"][-TRANSCRIPT_LINES:]
    transcript = "\n".join(f"{WHO.get(line.author, line.author)}: {escape(_short(line.text))}" for line in shown) or "_(no messages)_"
    blocks: list[dict] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": head}},
        {"type": "section", "text": {"type": "mrkdwn", "text": transcript[:2900]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Reply in this thread to answer the customer through the bot; start with `!note` to keep a reply internal."}]},
    ]
    buttons = []
    if ticket.status == "open":
        buttons.append({"type": "button", "action_id": CLAIM, "text": {"type": "plain_text", "text": "Claim"}, "value": str(ticket.id)})
    if ticket.status in ("open", "claimed"):
        buttons.append({"type": "button", "action_id": RESOLVE, "style": "primary", "text": {"type": "plain_text", "text": "Resolve"}, "value": str(ticket.id)})
    if buttons:
        blocks.append({"type": "actions", "block_id": "ticket", "elements": buttons})
    return f"{ticket.code}: {escape(reason)} ({ticket.region}, {ticket.channel})", blocks


class SupportChannel:
    """The support channel's listeners (buttons, thread replies) and its delivery senders."""

    def __init__(self, desk: SupportDesk, client: AsyncWebClient, channel: str) -> None:
        self.desk = desk
        self.client = client
        self.channel = channel

    @property
    def tickets(self):
        assert self.desk.tickets is not None
        return self.desk.tickets

    def register(self, app: AsyncApp) -> None:
        app.action(CLAIM)(self.on_claim)
        app.action(RESOLVE)(self.on_resolve)

    # -- the support team in Slack -------------------------------------------------------------

    async def on_thread_reply(self, event: dict) -> bool:
        """A message in a ticket's thread: the support team answering. True if it was one."""
        if event.get("channel") != self.channel or not event.get("thread_ts") or event.get("thread_ts") == event.get("ts"):
            return False
        ticket = await asyncio.to_thread(self.tickets.by_support_thread, self.channel, event["thread_ts"])
        if ticket is None:
            return False
        from adapters.slack import plain_text  # the same reading of Slack markup as questions get

        text = plain_text(event.get("text") or "")
        if not ticket.active:
            log.info("reply in the thread of %s ignored: the ticket is %s", ticket.code, ticket.status)
            return True
        relayed = await asyncio.to_thread(self.tickets.support_said, ticket, text, event.get("user") or "support")
        log.info("support reply on %s %s", ticket.code, "queued for the customer" if relayed else "kept as an internal note")
        return True

    async def on_claim(self, ack: AsyncAck, body: dict, action: dict) -> None:
        """Claim: the ticket is someone's; the post says whose."""
        await ack()
        ticket = await self._ticket(action)
        if ticket is None or ticket.status != "open":
            return
        ticket = await asyncio.to_thread(self.tickets.claim, ticket, body["user"]["id"])
        await self._refresh(ticket, body)

    async def on_resolve(self, ack: AsyncAck, body: dict, action: dict) -> None:
        """Resolve: the customer is told and the bot answers them again."""
        await ack()
        ticket = await self._ticket(action)
        if ticket is None or not ticket.active:
            return
        catalogue = self.desk.bot.catalogue
        farewell = catalogue.fill(catalogue.messages["ticket_resolved"], ticket.region, ticket=ticket.code)
        ticket = await asyncio.to_thread(self.tickets.resolve, ticket, body["user"]["id"], farewell)
        log.info("%s resolved by a support person", ticket.code)
        await self._refresh(ticket, body)

    async def _ticket(self, action: dict) -> Ticket | None:
        try:
            return await asyncio.to_thread(self.tickets.get, int(action.get("value") or 0))
        except ValueError:
            return None

    async def _refresh(self, ticket: Ticket, body: dict) -> None:
        """Show the ticket's new status on its post."""
        lines = await asyncio.to_thread(self.tickets.lines, ticket)
        text, blocks = ticket_message(ticket, lines, self.desk.bot.catalogue.reasons.get(ticket.reason, ticket.reason))
        message = body.get("message") or {}
        try:
            await self.client.chat_update(channel=self.channel, ts=message.get("ts") or ticket.support_thread, text=text, blocks=blocks)
        except SlackApiError as error:
            log.warning("could not update the post of %s: %s", ticket.code, error.response.get("error"))

    # -- deliveries from the outbox ------------------------------------------------------------

    def senders(self) -> dict[str, Sender]:
        return {"support_post": self.post_ticket, "support_thread": self.post_in_ticket_thread, "slack_relay": self.relay_to_reseller}

    async def post_ticket(self, delivery: Delivery) -> None:
        """Post a new ticket in the support channel and remember its thread."""
        ticket = await self._ticket_of(delivery)
        channel = delivery.payload.get("channel") or self.channel
        ts = await self._already_posted(channel, None, delivery) if delivery.may_have_been_sent else None
        if ts is None:
            lines = await asyncio.to_thread(self.tickets.lines, ticket)
            text, blocks = ticket_message(ticket, lines, self.desk.bot.catalogue.reasons.get(ticket.reason, ticket.reason))
            ts = await self._post(channel, None, text, blocks, delivery)
        await asyncio.to_thread(self.tickets.attach_support_thread, ticket.id, channel, ts)

    async def post_in_ticket_thread(self, delivery: Delivery) -> None:
        """A customer's message, in their ticket's thread."""
        ticket = await self._ticket_of(delivery)
        if not ticket.support_thread:
            raise DeliveryFailed(f"{ticket.code} is not posted in the support channel yet", later=True)
        if delivery.may_have_been_sent and await self._already_posted(ticket.support_channel or self.channel, ticket.support_thread, delivery):
            return
        text = f"{WHO['customer']}: {escape(str(delivery.payload.get('text', '')))}"
        await self._post(ticket.support_channel or self.channel, ticket.support_thread, text, None, delivery)

    async def relay_to_reseller(self, delivery: Delivery) -> None:
        """The support team's reply (or the farewell) in the reseller's own Slack thread."""
        ticket = await self._ticket_of(delivery)
        channel, _, thread = ticket.conversation.removeprefix("slack:").partition(":")
        if delivery.may_have_been_sent and thread and await self._already_posted(channel, thread, delivery):
            return
        text = escape(str(delivery.payload.get("text", "")))
        if delivery.payload.get("author") != "bot":
            text = f"*{escape(self.desk.bot.catalogue.messages['support_reply'])}*\n{text}"
        await self._post(channel, thread or None, text, None, delivery)

    async def _ticket_of(self, delivery: Delivery) -> Ticket:
        ticket = await asyncio.to_thread(self.tickets.get, delivery.ticket_id)
        if ticket is None:
            raise DeliveryFailed(f"ticket {delivery.ticket_id} does not exist", permanent=True)
        return ticket

    async def _post(self, channel: str, thread: str | None, text: str, blocks: list[dict] | None, delivery: Delivery) -> str:
        try:
            response = await self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread,
                text=text,
                blocks=blocks,
                metadata={"event_type": METADATA_TYPE, "event_payload": {"key": delivery.key}},
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as error:
            code = error.response.get("error")
            permanent = code in ("channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive")
            raise DeliveryFailed(f"Slack refused the post in {channel}: {code}", permanent=permanent) from error
        except Exception as error:  # the network: the worker tries again later
            raise DeliveryFailed(f"Slack unreachable: {type(error).__name__}") from error
        return response["ts"]

    async def _already_posted(self, channel: str, thread: str | None, delivery: Delivery) -> str | None:
        """The ts of an earlier post of this delivery, found by its metadata key, if any."""
        try:
            if thread:
                response = await self.client.conversations_replies(channel=channel, ts=thread, limit=200, include_all_metadata=True)
            else:
                response = await self.client.conversations_history(channel=channel, limit=200, include_all_metadata=True)
        except SlackApiError as error:
            log.warning("could not check %s for an earlier post of delivery %d: %s", channel, delivery.id, error.response.get("error"))
            return None
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == METADATA_TYPE and (metadata.get("event_payload") or {}).get("key") == delivery.key:
                return message.get("ts")
        return None


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
