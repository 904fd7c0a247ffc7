"""Tickets: a hand-off becomes a ticket a person works on, and everything it must send goes in the
outbox in the same transaction, so no hand-off is ever lost between "passed on" and "sent".

Lifecycle: awaiting_contact (we asked how to reach the person) -> open -> claimed -> resolved, or
cancelled. With a support channel in Slack, the ticket is posted there; support replies in its
thread are relayed to the customer, and the customer's further messages go into the thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Mapping

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import Connection

from bot.hours import SupportHours
from support.contact import redact, redact_cards
from support.store import deliveries, ticket_messages, tickets, utcnow

ACTIVE = ("awaiting_contact", "open", "claimed")
CODE_OFFSET = 1000  # NG-1001 is the first ticket
NOTE_MARKER = "!note"


@dataclass(frozen=True)
class Routing:
    """Where hand-offs go: an address per region, a Slack support channel, support hours."""

    addresses: Mapping[str, str]
    support_channel: str | None = None
    email: bool = True  # SMTP is configured: hand-offs are emailed
    hours: Mapping[str, SupportHours] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)  # reason -> words for people

    @property
    def relays(self) -> bool:
        """Whether support can answer through the bot (a support channel in Slack)."""
        return bool(self.support_channel)

    @property
    def delivers(self) -> bool:
        """Whether a ticket reaches anyone (by email or in Slack); if not, people write in themselves."""
        return self.email or self.relays


@dataclass(frozen=True)
class Ticket:
    id: int
    code: str
    status: str
    reason: str
    intent: str | None
    region: str
    channel: str
    conversation: str
    user_id: str
    user_name: str | None
    workspace: str | None
    contact: str | None
    routed_to: str
    support_channel: str | None
    support_thread: str | None
    claimed_by: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping) -> Ticket:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True)
class Line:
    author: str  # customer|bot|support|note
    text: str


class Tickets:
    """Opens and moves tickets; every change and the deliveries it causes commit together."""

    def __init__(self, engine: Engine, routing: Routing, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.routing = routing
        self.clock = clock

    # -- opening -----------------------------------------------------------------------------

    def open(
        self,
        *,
        reason: str,
        region: str,
        channel: str,
        conversation: str,
        user_id: str,
        transcript: Iterable[Line],
        intent: str | None = None,
        user_name: str | None = None,
        workspace: str | None = None,
        contact: str | None = None,
        awaiting_contact: bool = False,
        bot_says: Callable[[Ticket], str] | None = None,
    ) -> Ticket:
        """Open a ticket with its transcript; unless we still need a contact, queue its deliveries.
        `bot_says` words the bot's reply once the ticket has its code; the transcript ends with it."""
        now = self.clock()
        with self.engine.begin() as connection:
            ticket_id = connection.execute(
                insert(tickets).values(
                    status="awaiting_contact" if awaiting_contact else "open",
                    reason=reason,
                    intent=intent,
                    region=region,
                    channel=channel,
                    conversation=conversation,
                    user_id=user_id,
                    user_name=user_name,
                    workspace=workspace,
                    contact=contact,
                    routed_to=self.routing.addresses[region],
                    support_channel=self.routing.support_channel,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
            connection.execute(update(tickets).where(tickets.c.id == ticket_id).values(code=f"NG-{CODE_OFFSET + ticket_id}"))
            lines = [{"ticket_id": ticket_id, "author": line.author, "text": redact(line.text), "created_at": now} for line in transcript]
            if lines:
                connection.execute(insert(ticket_messages), lines)
            ticket = self._get(connection, ticket_id)
            if bot_says is not None:
                self._add_line(connection, ticket_id, Line("bot", bot_says(ticket)))
            if not awaiting_contact:
                self._queue_handoff(connection, ticket)
        return ticket

    def provide_contact(self, ticket: Ticket, contact: str) -> Ticket:
        """The person told us how to reach them: the ticket opens and goes out."""
        with self.engine.begin() as connection:
            self._set(connection, ticket.id, status="open", contact=contact)
            self._add_line(connection, ticket.id, Line("customer", redact(contact)))  # kept in clear in `contact` only
            opened = self._get(connection, ticket.id)
            self._queue_handoff(connection, opened)
        return opened

    def cancel(self, ticket: Ticket) -> Ticket:
        with self.engine.begin() as connection:
            self._set(connection, ticket.id, status="cancelled", resolved_at=self.clock())
            return self._get(connection, ticket.id)

    def _queue_handoff(self, connection: Connection, ticket: Ticket) -> None:
        if self.routing.email:
            self._queue(connection, ticket, "email", "email", self._email_payload(connection, ticket))
        if self.routing.support_channel:
            self._queue(connection, ticket, "support_post", "post", {"channel": self.routing.support_channel})

    def _email_payload(self, connection: Connection, ticket: Ticket) -> dict:
        who = ticket.user_name or ticket.user_id
        place = f"{ticket.channel.title()}" + (f" workspace {ticket.workspace}" if ticket.workspace else "")
        transcript = "\n".join(f"{line.author}: {line.text}" for line in self._lines(connection, ticket.id))
        contact = ticket.contact or ("reply in the Slack support channel thread" if self.routing.relays else "none given")
        body = (
            f"Ticket {ticket.code}: {self._reason(ticket)} ({ticket.region})\n\n"
            f"Customer: {who} on {place} (user id {ticket.user_id})\n"
            f"Contact: {contact}\n"
            f"Opened: {ticket.created_at:%Y-%m-%d %H:%M} UTC\n"
            f"Matched question: {ticket.intent or '-'}\n\n"
            f"Conversation so far:\n{transcript}\n"
        )
        reply_to = ticket.contact if ticket.contact and "@" in ticket.contact else None
        return {
            "ticket": ticket.code,
            "to": ticket.routed_to,
            "subject": f"[{ticket.code}] Hand-off: {self._reason(ticket)} ({ticket.region}, {ticket.channel})",
            "body": body,
            "reply_to": reply_to,
        }

    def _reason(self, ticket: Ticket) -> str:
        return self.routing.reasons.get(ticket.reason, ticket.reason)

    # -- the conversation after the hand-off ------------------------------------------------

    def customer_said(self, ticket: Ticket, text: str) -> None:
        """A customer's message while a person has the ticket: into the support thread (as written,
        but for card numbers: the person helping them may need a number they give)."""
        text = redact_cards(text)
        with self.engine.begin() as connection:
            line_id = self._add_line(connection, ticket.id, Line("customer", text))
            self._queue(connection, ticket, "support_thread", f"customer-{line_id}", {"text": text, "author": "customer"})

    def support_said(self, ticket: Ticket, text: str, author: str) -> bool:
        """A support person's reply in the thread: relayed to the customer unless it is a note."""
        note = text.lstrip().lower().startswith(NOTE_MARKER)
        with self.engine.begin() as connection:
            line_id = self._add_line(connection, ticket.id, Line("note" if note else "support", text))
            if not note:
                self._queue(connection, ticket, f"{ticket.channel}_relay", f"support-{line_id}", {"text": text, "author": author})
        return not note

    def claim(self, ticket: Ticket, by: str) -> Ticket:
        with self.engine.begin() as connection:
            self._set(connection, ticket.id, status="claimed", claimed_by=by)
            self._add_line(connection, ticket.id, Line("note", f"claimed by {by}"))
            return self._get(connection, ticket.id)

    def resolve(self, ticket: Ticket, by: str, farewell: str) -> Ticket:
        """Close the ticket and tell the customer (the bot answers them again from now on)."""
        if not ticket.active:
            return ticket
        with self.engine.begin() as connection:
            self._set(connection, ticket.id, status="resolved", resolved_at=self.clock(), claimed_by=ticket.claimed_by or by)
            self._add_line(connection, ticket.id, Line("note", f"resolved by {by}"))
            if ticket.channel in ("telegram", "slack"):
                self._queue(connection, ticket, f"{ticket.channel}_relay", "resolved", {"text": farewell, "author": "bot"})
            return self._get(connection, ticket.id)

    def attach_support_thread(self, ticket_id: int, channel: str, thread: str) -> None:
        with self.engine.begin() as connection:
            self._set(connection, ticket_id, support_channel=channel, support_thread=thread)

    # -- reading -----------------------------------------------------------------------------

    def active_for(self, conversation: str) -> Ticket | None:
        """The ticket a conversation is in the middle of, if any."""
        with self.engine.begin() as connection:
            row = connection.execute(
                select(tickets).where(tickets.c.conversation == conversation, tickets.c.status.in_(ACTIVE)).order_by(tickets.c.id.desc()).limit(1)
            ).mappings().first()
        return Ticket.from_row(row) if row else None

    def by_support_thread(self, channel: str, thread: str) -> Ticket | None:
        with self.engine.begin() as connection:
            row = connection.execute(
                select(tickets).where(tickets.c.support_channel == channel, tickets.c.support_thread == thread)
            ).mappings().first()
        return Ticket.from_row(row) if row else None

    def get(self, ticket_id_or_code: int | str) -> Ticket | None:
        column = tickets.c.code if isinstance(ticket_id_or_code, str) else tickets.c.id
        key = ticket_id_or_code.upper() if isinstance(ticket_id_or_code, str) else ticket_id_or_code
        with self.engine.begin() as connection:
            row = connection.execute(select(tickets).where(column == key)).mappings().first()
        return Ticket.from_row(row) if row else None

    def listing(self, status: str | None = None, limit: int = 50) -> list[Ticket]:
        query = select(tickets).order_by(tickets.c.id.desc()).limit(limit)
        if status:
            query = query.where(tickets.c.status == status)
        with self.engine.begin() as connection:
            return [Ticket.from_row(row) for row in connection.execute(query).mappings()]

    def lines(self, ticket: Ticket) -> list[Line]:
        with self.engine.begin() as connection:
            return self._lines(connection, ticket.id)

    def deliveries_of(self, ticket: Ticket) -> list[dict]:
        with self.engine.begin() as connection:
            rows = connection.execute(select(deliveries).where(deliveries.c.ticket_id == ticket.id).order_by(deliveries.c.id)).mappings()
            return [dict(row) for row in rows]

    # -- helpers -----------------------------------------------------------------------------

    def _get(self, connection: Connection, ticket_id: int) -> Ticket:
        return Ticket.from_row(connection.execute(select(tickets).where(tickets.c.id == ticket_id)).mappings().one())

    def _set(self, connection: Connection, ticket_id: int, **values) -> None:
        connection.execute(update(tickets).where(tickets.c.id == ticket_id).values(updated_at=self.clock(), **values))

    def _lines(self, connection: Connection, ticket_id: int) -> list[Line]:
        rows = connection.execute(
            select(ticket_messages.c.author, ticket_messages.c.text).where(ticket_messages.c.ticket_id == ticket_id).order_by(ticket_messages.c.id)
        )
        return [Line(author, text) for author, text in rows]

    def _add_line(self, connection: Connection, ticket_id: int, line: Line) -> int:
        return connection.execute(
            insert(ticket_messages).values(ticket_id=ticket_id, author=line.author, text=line.text, created_at=self.clock())
        ).inserted_primary_key[0]

    def _queue(self, connection: Connection, ticket: Ticket, kind: str, suffix: str, payload: dict) -> None:
        now = self.clock()
        connection.execute(
            insert(deliveries).values(
                ticket_id=ticket.id,
                kind=kind,
                key=f"{ticket.code.lower()}-{kind}-{suffix}",
                payload=json.dumps(payload),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

