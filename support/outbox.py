"""The delivery worker: sends what the outbox holds, once each, surviving outages and crashes.

A delivery is claimed for a while (a lease), sent, then marked sent. The claim is renewed just
before each send, so a batch that outlasts its lease never sends what another worker has taken
since; the lease must outlast one send (the SMTP timeout is 20 s). If sending fails it is tried
again later, waiting longer each time; after `max_attempts` it is marked failed and stays visible
(`neogenesis-bot tickets`) until someone re-queues it. A worker that dies mid-send leaves a claim
that expires, so another worker (or the same one after a restart) picks the delivery up. Several
workers can run at once: claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL and one writer at a time
on SQLite, so no delivery is claimed twice.

A send that completes while the database is unreachable is written to the sent journal (a file of
the worker's own, `support.journal`) and marked sent when the database is back, without being sent
again, even if the worker restarts or its claim expires meanwhile (docs/delivery.md).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import random
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Mapping, Union

from sqlalchemy import Engine, and_, func, or_, select, update

from support import outages
from support.journal import SentJournal
from support.store import deliveries, utcnow

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """Sending failed; `permanent` failures are not retried, `later` ones wait for a condition."""

    def __init__(self, message: str, permanent: bool = False, later: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.later = later  # e.g. the support thread does not exist yet: not an attempt used up


@dataclass(frozen=True)
class Delivery:
    id: int
    ticket_id: int
    kind: str
    key: str
    payload: dict
    attempts: int
    retaken: bool = False  # claimed after another claim expired: an earlier send may have got through
    created_at: datetime | None = None

    @property
    def journal_key(self) -> str:
        """The delivery in the sent journal: its key, and when it was queued (a database made anew
        reuses keys, never the moment they were queued)."""
        return f"{self.key} {self.created_at.isoformat()}" if self.created_at else self.key

    @property
    def may_have_been_sent(self) -> bool:
        """Whether a sender that can check should look for an earlier copy before sending again."""
        return self.retaken or self.attempts > 0


Sender = Callable[[Delivery], Union[None, Awaitable[None]]]


class Outbox:
    """Claims and settles deliveries in the database."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow, lease_seconds: int = 120, max_attempts: int = 8) -> None:
        self.engine = engine
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts

    def claim_due(self, worker: str, limit: int = 20, kinds: tuple[str, ...] | None = None) -> list[Delivery]:
        """Claim up to `limit` deliveries that are due (or whose claim expired) for `worker`."""
        now = self.clock()
        due = or_(
            and_(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now),
            and_(deliveries.c.status == "sending", deliveries.c.claimed_until < now),
        )
        query = select(deliveries).where(due).order_by(deliveries.c.id).limit(limit).with_for_update(skip_locked=True)
        if kinds:
            query = query.where(deliveries.c.kind.in_(kinds))
        with self.engine.begin() as connection:
            rows = connection.execute(query).mappings().all()
            if rows:
                connection.execute(
                    update(deliveries)
                    .where(deliveries.c.id.in_([row["id"] for row in rows]))
                    .values(status="sending", claimed_by=worker, claimed_until=now + self.lease)
                )
        return [
            Delivery(r["id"], r["ticket_id"], r["kind"], r["key"], json.loads(r["payload"]), r["attempts"], r["status"] == "sending", r["created_at"])
            for r in rows
        ]

    def renew(self, delivery: Delivery, worker: str) -> bool:
        """Extend `worker`'s claim on a delivery to a full lease from now, just before sending it;
        False if the claim lapsed and another worker took the delivery (it is theirs to send)."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery.id, deliveries.c.claimed_by == worker, deliveries.c.status == "sending")
                .values(claimed_until=self.clock() + self.lease)
            )
        return result.rowcount == 1

    def mark_sent(self, delivery: Delivery, worker: str) -> bool:
        """Settle a sent delivery; False if this worker's claim had been taken over meanwhile."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery.id, deliveries.c.claimed_by == worker, deliveries.c.status == "sending")
                .values(status="sent", sent_at=self.clock(), claimed_until=None, last_error=None, attempts=deliveries.c.attempts + 1)
            )
        return result.rowcount == 1

    def mark_failed(self, delivery: Delivery, worker: str, error: DeliveryFailed) -> str:
        """Record a failed attempt; returns the new status (pending again, or failed for good)."""
        attempts = delivery.attempts if error.later else delivery.attempts + 1
        final = error.permanent or attempts >= self.max_attempts
        status = "failed" if final else "pending"
        with self.engine.begin() as connection:
            connection.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery.id, deliveries.c.claimed_by == worker)
                .values(
                    status=status,
                    attempts=attempts,
                    last_error=str(error)[:500],
                    claimed_until=None,
                    next_attempt_at=self.clock() + self.backoff(attempts, error.later),
                )
            )
        return status

    @staticmethod
    def backoff(attempts: int, later: bool = False) -> timedelta:
        """How long to wait before the next try: 15 s, 30 s, 1 min ... up to an hour, with jitter."""
        if later:
            return timedelta(seconds=5)
        seconds = min(3600, 15 * 2 ** max(0, attempts - 1))
        return timedelta(seconds=seconds * random.uniform(0.8, 1.2))

    def requeue_failed(self, ticket_id: int | None = None) -> int:
        """Put failed deliveries (of one ticket, or all) back in the queue; returns how many."""
        condition = deliveries.c.status == "failed"
        if ticket_id is not None:
            condition = and_(condition, deliveries.c.ticket_id == ticket_id)
        with self.engine.begin() as connection:
            return connection.execute(
                update(deliveries).where(condition).values(status="pending", attempts=0, next_attempt_at=self.clock(), last_error=None)
            ).rowcount

    def backlog(self) -> dict[str, int]:
        """How many deliveries are pending, being sent, and failed."""
        with self.engine.begin() as connection:
            rows = connection.execute(select(deliveries.c.status, func.count()).group_by(deliveries.c.status)).all()
        counts = {"pending": 0, "sending": 0, "sent": 0, "failed": 0}
        counts.update({status: count for status, count in rows})
        return counts


class DeliveryWorker:
    """Sends due deliveries with the sender registered for their kind."""

    def __init__(
        self, outbox: Outbox, senders: Mapping[str, Sender], name: str | None = None, batch: int = 20, journal: SentJournal | None = None
    ) -> None:
        self.outbox = outbox
        self.senders = dict(senders)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{random.randrange(1 << 30):x}"
        self.batch = batch
        self.journal = journal
        self.unsettled: dict[int, Delivery] = {}  # sent, but the database could not be told yet

    async def run_once(self) -> int:
        """Settle what was sent during an outage, then send every delivery due now; returns how many
        deliveries were claimed or settled."""
        settled = await self.settle_unsettled()
        claimed = await asyncio.to_thread(self.outbox.claim_due, self.name, self.batch, tuple(self.senders) or None)
        for delivery in claimed:
            await self.deliver(delivery)
        return len(claimed) + settled

    async def settle_unsettled(self) -> int:
        """Mark sent what was sent while the database was away (raises while it still is)."""
        waiting = list(self.unsettled.values())
        for delivery in waiting:
            await self.settle(delivery, raise_errors=True)
        return len(waiting)

    async def settle(self, delivery: Delivery, raise_errors: bool = False) -> None:
        """Mark a sent delivery sent; if the database is away, keep it to mark when it is back."""
        try:
            marked = await asyncio.to_thread(self.outbox.mark_sent, delivery, self.name)
        except Exception:
            self.unsettled[delivery.id] = delivery
            if raise_errors:
                raise
            log.info("delivery %d (%s, ticket %d) sent; it is marked sent once the database answers", delivery.id, delivery.kind, delivery.ticket_id)
            return
        self.unsettled.pop(delivery.id, None)
        if marked:
            log.info("delivery %d (%s, ticket %d) sent", delivery.id, delivery.kind, delivery.ticket_id)

    async def deliver(self, delivery: Delivery) -> None:
        sender = self.senders.get(delivery.kind)
        if not await asyncio.to_thread(self.outbox.renew, delivery, self.name):  # the batch took longer than the lease
            log.info("delivery %d (%s, ticket %d) left to the worker that took it over", delivery.id, delivery.kind, delivery.ticket_id)
            return
        if self.journal and await asyncio.to_thread(self.journal.was_sent, delivery.journal_key):
            log.info("delivery %d (%s, ticket %d) was sent before the database could record it; not sent again", delivery.id, delivery.kind, delivery.ticket_id)
            await self.settle(delivery)
            return
        try:
            if sender is None:
                raise DeliveryFailed(f"no sender for {delivery.kind} deliveries is configured", later=True)
            outcome = sender(delivery) if inspect.iscoroutinefunction(sender) else await asyncio.to_thread(sender, delivery)
            if inspect.isawaitable(outcome):
                await outcome
        except DeliveryFailed as error:
            status = await asyncio.to_thread(self.outbox.mark_failed, delivery, self.name, error)
            level = logging.INFO if error.later else logging.WARNING
            log.log(level, "delivery %d (%s, ticket %d) not sent: %s; now %s", delivery.id, delivery.kind, delivery.ticket_id, error, status)
        except Exception as error:  # a bug in a sender must not stop the others; retried like an outage
            log.exception("delivery %d (%s, ticket %d) failed unexpectedly", delivery.id, delivery.kind, delivery.ticket_id)
            await asyncio.to_thread(self.outbox.mark_failed, delivery, self.name, DeliveryFailed(f"{type(error).__name__}: {error}"))
        else:
            if self.journal:  # first, where no database outage can stop it
                await asyncio.to_thread(self.journal.record, delivery.journal_key)
            await self.settle(delivery)

    async def run(self, stop: asyncio.Event, idle_seconds: float = 1.0) -> None:
        """Work until `stop` is set; finishes the delivery in hand before returning."""
        log.info("delivery worker %s started (%s)", self.name, ", ".join(sorted(self.senders)) or "no senders")
        while not stop.is_set():
            try:
                busy = await self.run_once()
            except Exception as error:
                if not outages.is_outage(error):  # an outage is logged where it starts and ends (support.outages)
                    log.exception("delivery worker %s: failed, retrying", self.name)
                busy = 0
            if not busy:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=idle_seconds)
                except asyncio.TimeoutError:
                    pass
        log.info("delivery worker %s stopped", self.name)
