"""The database going away under running processes (issue 12): a mail whose send completes while the
database is unreachable goes out once, not again when its claim expires; and the worker and the web
process log an outage once when it starts and once when it ends, with a count, not a traceback a
second. Real processes (`python -m service worker`, `serve`), a real SMTP server, and the database
taken away for real: on PostgreSQL it stops accepting the database's connections and drops the ones it
has; on SQLite another process holds the file's lock (every transaction there begins by taking it)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from support.outbox import Outbox
from support.store import open_engine
from tests.databases import POSTGRES_ENV, database  # noqa: F401  (a fixture: each test runs on SQLite and PostgreSQL)
from tests.fakes.slack_api import FakeSlackAPI, mention_event
from tests.fakes.smtp import SmtpServer
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.test_scale_out import open_tickets, start_process, wait_until  # noqa: F401  (start_process is a fixture)
from tests.test_service import RunningService
from tests.test_telegram import TOKEN as TELEGRAM_TOKEN

LEASE_SECONDS = 2


@contextlib.contextmanager
def database_away(database: str) -> Iterator[None]:
    """The database unreachable for the bot until the block ends."""
    if database.startswith("sqlite"):
        holder = sqlite3.connect(urlsplit(database).path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # the bot's BEGIN IMMEDIATE waits its 10 s, then fails
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    import psycopg

    name = urlsplit(database).path.lstrip("/")
    with psycopg.connect(os.environ[POSTGRES_ENV], autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def test_a_mail_sent_while_the_database_is_away_goes_out_once(start_process, database, tmp_path):
    open_tickets(database, 1)
    outbox = Outbox(open_engine(database))
    smtp = SmtpServer().start()
    smtp.mailbox.hold()  # the mail waits at the server, mid-send
    try:
        worker = start_process("worker", SMTP_URL=smtp.url, BOT_DELIVERY_LEASE_SECONDS=str(LEASE_SECONDS), BOT_DATA_DIR=str(tmp_path))
        smtp.mailbox.wait_until_held(1)
        with database_away(database):
            smtp.mailbox.release()  # the send completes; the database cannot be told
            wait_until(lambda: worker.count("database is unavailable") == 1, 60, "the worker noticed the outage")
            sent_at = time.monotonic()
            wait_until(lambda: time.monotonic() > sent_at + LEASE_SECONDS + 1, 10, "the claim expired")
        wait_until(lambda: outbox.backlog()["sent"] == 1, 60, "the delivery was marked sent")
        assert worker.stop() == 0
    finally:
        smtp.stop()
    assert [mail["Message-ID"] for mail in smtp.mailbox.mails] == ["<ng-1001-email-email@neogenesis-bot>"]
    assert outbox.backlog() == {"pending": 0, "sending": 0, "sent": 1, "failed": 0}
    assert worker.count("database is unavailable") == 1 and worker.count("database is available again after") == 1
    assert "Traceback" not in worker.log


def test_a_worker_restarted_during_the_outage_does_not_send_again(start_process, database, tmp_path):
    open_tickets(database, 1)
    outbox = Outbox(open_engine(database))
    smtp = SmtpServer().start()
    smtp.mailbox.hold()
    settings = dict(SMTP_URL=smtp.url, BOT_DELIVERY_LEASE_SECONDS=str(LEASE_SECONDS), BOT_DATA_DIR=str(tmp_path))
    try:
        first = start_process("worker", **settings)
        smtp.mailbox.wait_until_held(1)
        with database_away(database):
            smtp.mailbox.release()
            wait_until(lambda: first.count("database is unavailable") == 1, 60, "the worker noticed the outage")
            first.kill()  # it dies before the database is back: only its journal knows the mail went
        second = start_process("worker", **settings)
        wait_until(lambda: outbox.backlog()["sent"] == 1, 60, "the delivery was marked sent")
        assert second.stop() == 0
    finally:
        smtp.stop()
    assert len(smtp.mailbox.mails) == 1
    assert second.count("was sent before the database could record it; not sent again") == 1


def test_the_web_process_logs_an_outage_once_when_it_starts_and_once_when_it_ends(tmp_path, database):
    if database.startswith("sqlite"):
        import pytest

        pytest.skip("on SQLite every request would wait out the lock's 10 s; the worker's test covers SQLite")
    with FakeSlackAPI() as slack, FakeTelegramAPI(TELEGRAM_TOKEN) as telegram:
        service = RunningService(tmp_path, slack, telegram, DATABASE_URL=database)
        try:
            with database_away(database):
                for n in range(20):
                    service.slack.event(mention_event(f"<@U0NEOGENESIS> what is recovery? ({n})"))
                    assert service.http.get("/healthz").status_code == 503
            wait_until(lambda: service.http.get("/healthz").status_code == 200, 30, "the database answered again")
            assert service.slack.event(mention_event("<@U0NEOGENESIS> how long does a bottle of recovery last?")).status_code == 200
            assert "18 days" in slack.wait_for_post()["text"]
        finally:
            service.stop()
        log = Path(service.log.name).read_text()
    assert log.count("database is unavailable") == 1 and log.count("database is available again after") == 1
    assert "Traceback" not in log
