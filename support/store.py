"""The bot's database: one SQLAlchemy engine, the schema, and the bot's own versioned migrations.

`DATABASE_URL` chooses the database (SQLite or PostgreSQL); with none set, a SQLite file in the
bot's data folder. Every process (web, worker) opens the same database and migrates it on start;
migrations run one process at a time (an advisory lock on PostgreSQL, an immediate transaction on
SQLite) and each runs once.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import platformdirs
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.engine import Connection, make_url

from support import outages

log = logging.getLogger(__name__)

DATABASE_FILE = "neogenesis-bot.sqlite3"
# Database calls run in asyncio's default thread pool, min(32, CPUs + 4) threads, and in the Slack
# adapter's two acknowledgement threads, each holding a connection while it works. The pool keeps as
# many: with fewer (SQLAlchemy's default is 5), the extra connections are closed as soon as they come
# back and opened again in the next burst, a new server process and a password exchange each time.
POOL_SIZE = min(32, (os.cpu_count() or 1) + 4) + 2
metadata = MetaData()


def utcnow() -> datetime:
    """Now, in UTC: the default clock of everything that writes times here."""
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator):
    """A moment, written and read back in UTC on every database: PostgreSQL returns `timestamptz` in
    the session's time zone (the server's default, often not UTC), and SQLite keeps no zone at all."""

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        return value.astimezone(timezone.utc) if value is not None and value.tzinfo is not None else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

# Events and updates already handled, so a retry or a second process never answers twice.
handled_events = Table(
    "handled_events",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("handled_at", UtcDateTime(), nullable=False, index=True),
)

# A person's own region choice (/region on Telegram, /neogenesis region on Slack).
user_regions = Table(
    "user_regions",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("user_id", String(100), primary_key=True),
    Column("region", String(8), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# Messages per person per minute, for polite throttling.
rate_windows = Table(
    "rate_windows",
    metadata,
    Column("key", String(150), primary_key=True),
    Column("window", Integer, primary_key=True),
    Column("count", Integer, nullable=False),
)

# Every turn of every conversation: what was asked and how the bot replied.
turns = Table(
    "turns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("conversation", String(200), nullable=False, index=True),
    Column("user_id", String(100), nullable=False),
    Column("region", String(8), nullable=False),
    Column("text", Text, nullable=False),
    Column("reply_kind", String(16), nullable=False),
    Column("intent", String(100)),
    Column("score", Float),
    Column("reply", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, index=True),
    Column("ticket", String(20)),
    Column("helpful", Boolean),  # the person's verdict from the "Helpful?" buttons, if they gave one
)


# A hand-off to a person. `code` (NG-1042) is what the customer is told.
tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(20), unique=True),
    Column("status", String(20), nullable=False, index=True),  # awaiting_contact|open|claimed|resolved|cancelled
    Column("reason", String(32), nullable=False),
    Column("intent", String(100)),
    Column("region", String(8), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("conversation", String(200), nullable=False, index=True),  # where replies go back to
    Column("user_id", String(100), nullable=False),
    Column("user_name", String(200)),
    Column("workspace", String(100)),
    Column("contact", String(200)),
    Column("routed_to", String(200), nullable=False),
    Column("support_channel", String(50)),
    Column("support_thread", String(50), index=True),
    Column("claimed_by", String(100)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("resolved_at", UtcDateTime()),
)

# The ticket's conversation: the transcript at hand-off, then everything said after.
ticket_messages = Table(
    "ticket_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False, index=True),
    Column("author", String(16), nullable=False),  # customer|bot|support|note
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# The outbox: every message to a person (email, support channel post, relay to the customer) is
# written here in the same transaction as the ticket change that causes it, then sent by a worker.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),  # email|support_post|support_thread|telegram_relay|slack_relay
    Column("key", String(100), nullable=False, unique=True),  # stable: Message-ID, idempotency key
    Column("payload", Text, nullable=False),  # JSON
    Column("status", String(16), nullable=False),  # pending|sending|sent|failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("claimed_by", String(100)),
    Column("claimed_until", UtcDateTime()),
    Column("last_error", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime()),
    Index("deliveries_due", "status", "next_attempt_at"),
)


# Jobs only one process may do at a time (long-polling Telegram: the Bot API allows one poller).
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)


# Each conversation's context: what its last answer was about (so a follow-up like "and the 30ml?"
# can be read against it, by any process), and a question waiting for the person's region.
conversation_contexts = Table(
    "conversation_contexts",
    metadata,
    Column("conversation", String(200), primary_key=True),
    Column("user_id", String(100), nullable=False),
    Column("region", String(8)),
    Column("intent", String(100)),
    Column("question", Text),
    Column("products", String(400)),
    Column("category", String(50)),
    Column("pending_text", Text),  # asked while the region was unknown; answered once it is chosen
    Column("pending_intent", String(100)),  # ... or a question picked from the options
    Column("updated_at", UtcDateTime(), nullable=False, index=True),
)


def _create(*tables: Table) -> Callable[[Connection], None]:
    def migrate(connection: Connection) -> None:
        metadata.create_all(connection, tables=list(tables))

    return migrate


# Append only: a released migration is never edited, so every database upgrades the same way.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (
    _create(handled_events, user_regions, rate_windows, turns),
    _create(tickets, ticket_messages, deliveries),
    _create(leases),
    _create(conversation_contexts),
)


def default_database_file(data_dir: str | None = None) -> Path:
    """The SQLite file used when DATABASE_URL is not set: in `data_dir`, else the user's data folder."""
    folder = Path(data_dir) if data_dir else Path(platformdirs.user_data_dir("neogenesis-bot", appauthor=False))
    return folder / DATABASE_FILE


def database_url(url: str | None, data_dir: str | None = None) -> str:
    """The SQLAlchemy URL for `url`, or a SQLite file in `data_dir` (default: the user's data folder)."""
    if not url:
        path = default_database_file(data_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    for plain in ("postgres://", "postgresql://"):  # Heroku writes postgres://; we talk psycopg 3
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def open_engine(url: str | None = None, data_dir: str | None = None) -> Engine:
    """An engine on the configured database, migrated to the current schema."""
    engine = create_engine(database_url(url, data_dir), pool_pre_ping=True, pool_size=POOL_SIZE)
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    outages.watch(engine)
    migrate(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    """Several processes share the file: WAL lets readers and one writer work at once, and every
    transaction takes the write lock when it begins, so two writers queue instead of deadlocking."""
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine, migrations: tuple[Callable[[Connection], None], ...] = MIGRATIONS) -> int:
    """Apply the migrations this database has not had; returns the schema version."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(8217001)"))
        schema_version.create(connection, checkfirst=True)
        current = connection.execute(select(schema_version.c.version)).scalar()
        if current is None:
            connection.execute(schema_version.insert().values(version=0))
            current = 0
        # Creating a new database is routine (a first run, a read-only command); upgrading one is news.
        level = logging.DEBUG if current == 0 else logging.INFO
        for version in range(current + 1, len(migrations) + 1):
            log.log(level, "upgrading the database schema to version %d", version)
            migrations[version - 1](connection)
        if current < len(migrations):
            connection.execute(schema_version.update().values(version=len(migrations)))
        return max(current, len(migrations))


def describe(engine: Engine) -> str:
    """The database as it may be shown in logs: no password."""
    return make_url(str(engine.url)).render_as_string(hide_password=True)
