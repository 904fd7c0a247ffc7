"""The sent journal: which deliveries this machine has handed over (to the mail server, to Slack or
Telegram), kept in a small SQLite file of its own beside the process, outside the main database.

A send can complete while the database is unreachable: the worker cannot mark it sent, and when
its claim expires the delivery would be sent again. The worker writes the delivery's key here the
moment the send completes, before it touches the database, and looks here before every send: a key
found here is marked sent without sending it again. Workers on the same machine (sharing the data
folder) share the journal; see docs/delivery.md for what it does not cover.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import platformdirs

JOURNAL_FILE = "sent-deliveries-{database}.sqlite3"  # one per database: delivery keys repeat across databases
KEEP_DAYS = 14  # far longer than any outage a claim outlives; then the database has long known


class SentJournal:
    """A durable set of delivery keys that were sent; safe to use from several threads and processes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connection() as connection:
            connection.execute("CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY, sent_at TEXT NOT NULL)")
            connection.execute("CREATE INDEX IF NOT EXISTS sent_at ON sent (sent_at)")

    @classmethod
    def in_folder(cls, data_dir: str | None, database: str) -> SentJournal:
        """The journal of the database named `database` (its URL, password hidden) in BOT_DATA_DIR
        (default: the user's data folder, as for the SQLite database)."""
        folder = Path(data_dir) if data_dir else Path(platformdirs.user_data_dir("neogenesis-bot", appauthor=False))
        return cls(folder / JOURNAL_FILE.format(database=hashlib.sha256(database.encode()).hexdigest()[:16]))

    def record(self, key: str) -> None:
        """Remember that `key` was sent (committed to disk before this returns)."""
        now = datetime.now(timezone.utc)
        with self._connection() as connection:
            connection.execute("INSERT OR IGNORE INTO sent (key, sent_at) VALUES (?, ?)", (key, now.isoformat()))

    def was_sent(self, key: str) -> bool:
        with self._connection() as connection:
            return connection.execute("SELECT 1 FROM sent WHERE key = ?", (key,)).fetchone() is not None

    def prune(self, keep_days: int = KEEP_DAYS) -> int:
        """Forget keys older than `keep_days`; returns how many."""
        cutoff = (datetime.now(timezone.utc) - timedelta(days=keep_days)).isoformat()
        with self._connection() as connection:
            return connection.execute("DELETE FROM sent WHERE sent_at < ?", (cutoff,)).rowcount

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (sqlite3 connections stay in their thread); used as a transaction."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=10)
            connection.execute("PRAGMA synchronous=FULL")  # a recorded send survives a power cut
            self._local.connection = connection
        return connection
