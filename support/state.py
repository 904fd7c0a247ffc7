"""Conversation state shared by every process: events already handled, region choices, throttling,
and the log of turns. All of it lives in the database, so any web process can take any request."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from bot.records import Message, Reply
from support.contact import redact
from support.store import conversation_contexts, handled_events, leases, rate_windows, turns, user_regions, utcnow


class ConversationState:
    """Reads and writes the shared conversation state; every method is one short transaction."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def first_time(self, source: str, event_id: str) -> bool:
        """True the first time an event id is seen from `source`, in any process; False after."""
        try:
            with self.engine.begin() as connection:
                connection.execute(handled_events.insert().values(source=source, event_id=str(event_id), handled_at=self.clock()))
            return True
        except IntegrityError:
            return False

    def hold_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Take or renew the lease `name` for `seconds`; True if `holder` has it now. A lease whose
        holder stopped renewing it (a process that died) can be taken once it expires."""
        now = self.clock()
        statement = self._insert(leases).values(name=name, holder=holder, expires_at=now + timedelta(seconds=seconds))
        statement = statement.on_conflict_do_update(
            index_elements=[leases.c.name],
            set_={"holder": statement.excluded.holder, "expires_at": statement.excluded.expires_at},
            where=(leases.c.holder == holder) | (leases.c.expires_at < now),
        )
        with self.engine.begin() as connection:
            connection.execute(statement)
            return connection.execute(select(leases.c.holder).where(leases.c.name == name)).scalar() == holder

    def release_lease(self, name: str, holder: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(leases).where(leases.c.name == name, leases.c.holder == holder))

    def region_of(self, platform: str, user_id: str) -> str | None:
        with self.engine.begin() as connection:
            return connection.execute(
                select(user_regions.c.region).where(user_regions.c.platform == platform, user_regions.c.user_id == user_id)
            ).scalar()

    def set_region(self, platform: str, user_id: str, region: str) -> None:
        statement = self._insert(user_regions).values(platform=platform, user_id=user_id, region=region, updated_at=self.clock())
        statement = statement.on_conflict_do_update(
            index_elements=[user_regions.c.platform, user_regions.c.user_id],
            set_={"region": statement.excluded.region, "updated_at": statement.excluded.updated_at},
        )
        with self.engine.begin() as connection:
            connection.execute(statement)

    def context_of(self, conversation: str) -> dict | None:
        """The stored context of a conversation (see `save_context`), or None."""
        with self.engine.begin() as connection:
            row = connection.execute(select(conversation_contexts).where(conversation_contexts.c.conversation == conversation)).mappings().first()
            return dict(row) if row else None

    def save_context(self, conversation: str, user_id: str, **values: str | None) -> None:
        """Replace a conversation's context: `region`, `intent`, `question`, `products`, `category`,
        `pending_text`, `pending_intent` (any left out are cleared); stamped with the time."""
        columns = ("region", "intent", "question", "products", "category", "pending_text", "pending_intent")
        row = {"conversation": conversation, "user_id": user_id, "updated_at": self.clock(), **{c: values.get(c) for c in columns}}
        statement = self._insert(conversation_contexts).values(**row)
        statement = statement.on_conflict_do_update(
            index_elements=[conversation_contexts.c.conversation],
            set_={name: statement.excluded[name] for name in row if name != "conversation"},
        )
        with self.engine.begin() as connection:
            connection.execute(statement)

    def count_message(self, key: str, window_seconds: int = 60) -> int:
        """Count one message for `key` in the current window; returns the window's count so far."""
        window = int(self.clock().timestamp()) // window_seconds
        statement = self._insert(rate_windows).values(key=key, window=window, count=1)
        statement = statement.on_conflict_do_update(
            index_elements=[rate_windows.c.key, rate_windows.c.window], set_={"count": rate_windows.c.count + 1}
        ).returning(rate_windows.c.count)
        with self.engine.begin() as connection:
            return connection.execute(statement).scalar_one()

    def record_turn(self, message: Message, conversation: str, reply: Reply) -> int:
        """Store one turn, card numbers and contacts hidden (a ticket keeps the contact); returns its id."""
        with self.engine.begin() as connection:
            return connection.execute(
                turns.insert().values(
                    channel=message.channel,
                    conversation=conversation,
                    user_id=message.user_id,
                    region=reply.region,
                    text=redact(message.text)[:4000],
                    reply_kind=reply.kind,
                    intent=reply.intent_id,
                    score=reply.score,
                    reply=redact(reply.text)[:4000],
                    ticket=reply.ticket,
                    created_at=self.clock(),
                )
            ).inserted_primary_key[0]

    def record_verdict(self, turn_id: int, user_id: str, helpful: bool) -> bool:
        """A person's "Helpful?" vote on their own turn; False if the turn is not theirs."""
        with self.engine.begin() as connection:
            return connection.execute(
                update(turns).where(turns.c.id == turn_id, turns.c.user_id == user_id).values(helpful=helpful)
            ).rowcount == 1

    def recent_turns(self, conversation: str, limit: int = 10) -> list[dict]:
        """The last `limit` turns of a conversation, oldest first."""
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(turns).where(turns.c.conversation == conversation).order_by(turns.c.id.desc()).limit(limit)
            ).mappings()
            return [dict(row) for row in reversed(list(rows))]

    def prune(self, turns_older_than_days: int, events_older_than_days: int = 7) -> dict[str, int]:
        """Forget old turns, handled-event ids and rate windows; returns how many rows went."""
        cutoff_turns = self.clock() - timedelta(days=turns_older_than_days)
        cutoff_events = self.clock() - timedelta(days=events_older_than_days)
        current_window = int(self.clock().timestamp()) // 60
        with self.engine.begin() as connection:
            removed = {
                "turns": connection.execute(delete(turns).where(turns.c.created_at < cutoff_turns)).rowcount,
                "handled_events": connection.execute(delete(handled_events).where(handled_events.c.handled_at < cutoff_events)).rowcount,
                "rate_windows": connection.execute(delete(rate_windows).where(rate_windows.c.window < current_window - 60)).rowcount,
                "contexts": connection.execute(delete(conversation_contexts).where(conversation_contexts.c.updated_at < cutoff_events)).rowcount,
            }
        return removed

    def turn_count(self) -> int:
        with self.engine.begin() as connection:
            return connection.execute(select(func.count()).select_from(turns)).scalar_one()
