"""Several processes on one database, as a brand runs the bot behind a load balancer: web processes
that each may receive any Slack event (and Slack's retries of it), and delivery workers racing over
one outbox. Every process here is a real one (`python -m service slack`, `python -m service worker`), on a
SQLite file and on a PostgreSQL server (tests/databases.py), talking to a fake Slack Web API and a
real SMTP server on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

import pytest
from sqlalchemy import func, select

from support.outbox import Outbox
from support.store import deliveries, handled_events, open_engine
from support.tickets import Line, Routing, Tickets
from tests.databases import database  # noqa: F401  (a fixture: each test runs on SQLite and PostgreSQL)
from tests.fakes.slack_api import BOT_USER_ID, FakeSlackAPI, SlackSender, mention_event, message_event
from tests.fakes.smtp import SilentServer, SmtpServer, free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "xoxb-0000000000-0000000000000-testtokentesttokentest"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ADDRESSES = {"AU": "customerservice@neogenesispro.com.au", "US": "info@neogenesis.com"}


class BotProcess:
    """One bot process, its log (stderr) read line by line as it comes."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(args, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._lock:
                self.lines.append(line)

    @property
    def log(self) -> str:
        with self._lock:
            return "".join(self.lines)

    def count(self, text: str) -> int:
        """Lines of the log so far that contain `text`."""
        with self._lock:
            return sum(text in line for line in self.lines)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as a platform stops a process; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> int:
        self.process.kill()
        return self.process.wait(10)

    def wait_for_port(self, port: int, timeout: float = 60) -> None:
        """Wait until the process accepts connections on `port` on 127.0.0.1."""

        def accepting() -> bool:
            assert self.process.poll() is None, f"the process ended; its log:\n{self.log}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                return False
            return True

        wait_until(accepting, timeout, f"the process listened on port {port}")


@pytest.fixture
def start_process(tmp_path, database) -> Iterator[Callable[..., BotProcess]]:
    """start_process("worker", SMTP_URL=...) -> `python -m service worker` with those settings, on the
    test's database. All are gone after the test."""
    started: list[BotProcess] = []
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "SLACK_", "TELEGRAM_", "SMTP", "DATABASE", "MAIL_", "SUPPORT_", "PORT"))}

    def start(*command: str, **settings: str) -> BotProcess:
        env = {**clean, "PYTHONPATH": str(ROOT), "DATABASE_URL": database, "BOT_DATA_DIR": str(tmp_path), "BOT_LOG_LEVEL": "INFO", **settings}
        process = BotProcess([sys.executable, "-m", "service", *command], env, tmp_path)  # not in the repository: no .env
        started.append(process)
        return process

    yield start
    for number, process in enumerate(started, start=1):
        if process.process.poll() is None:
            process.kill()
        print(f"--- process {number} (exit {process.process.returncode}):\n{process.log}")  # shown when the test fails


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting until {what}")
        time.sleep(0.05)


def open_tickets(database: str, count: int) -> Tickets:
    """`count` hand-offs, each with an email to send: the outbox holds `count` pending deliveries."""
    tickets = Tickets(open_engine(database), Routing(addresses=ADDRESSES, email=True))
    for n in range(count):
        tickets.open(
            reason="human",
            region=("AU", "US")[n % 2],
            channel="telegram",
            conversation=f"telegram:{n}",
            user_id=str(n),
            contact=f"buyer{n}@example.com",
            transcript=[Line("customer", "can I talk to a person please?")],
        )
    return tickets


def senders_of(database: str) -> Counter:
    """How many deliveries each worker settled (the last claim stays on the row)."""
    with open_engine(database).begin() as connection:
        return Counter(dict(connection.execute(select(deliveries.c.claimed_by, func.count()).group_by(deliveries.c.claimed_by)).all()))


# -- web processes ------------------------------------------------------------------------------------


def two_slack_processes(start_process, api: FakeSlackAPI) -> tuple[list[int], list]:
    """Two real `slack` processes against one fake Slack API, each listening on a port of its own."""
    ports = [free_port(), free_port()]
    web = [
        start_process("slack", SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=api.base_url, PORT=str(port))
        for port in ports
    ]
    for process, port in zip(web, ports):
        process.wait_for_port(port)
    return ports, web


def test_duplicate_slack_deliveries_to_two_processes_are_answered_once(start_process, database):
    events = [mention_event(f"<@{BOT_USER_ID}> how long does a bottle of recovery last?", user=f"U0RESELLER{n:02d}") for n in range(20)]
    with FakeSlackAPI() as api:
        ports, web = two_slack_processes(start_process, api)

        def deliver(n: int, to: int, retry: int | None) -> int:
            sender = SlackSender(f"http://127.0.0.1:{ports[to]}/slack/events", SECRET)
            try:
                return sender.event(events[n], event_id=f"Ev0SCALE{n:02d}", retry=retry).status_code
            finally:
                sender.close()

        # Each event reaches both processes at the same moment: once as sent, once as Slack's retry,
        # the first delivery going to one process or the other in turn.
        with ThreadPoolExecutor(8) as pool:
            sent = [pool.submit(deliver, n, (n + copy) % 2, copy or None) for n in range(len(events)) for copy in (0, 1)]
            assert [delivery.result() for delivery in sent] == [200] * 2 * len(events)

        posts = api.wait_for("chat.postMessage", count=len(events), timeout=60)
        # A duplicate is dropped before Slack gets its 200, so with every 200 in and every drop
        # logged, no further answer can be on its way.
        dropped = "dropped a repeated delivery of Slack event"
        wait_until(lambda: sum(p.count(dropped) for p in web) >= len(events), 10, "each process logged the duplicates it dropped")
        assert Counter(post["thread_ts"] for post in api.posts()) == {event["ts"]: 1 for event in events}
        assert all("18 days" in post["text"] for post in posts)
        for process in web:
            process.stop()

    with open_engine(database).begin() as connection:
        handled = connection.execute(select(func.count()).select_from(handled_events).where(handled_events.c.source == "slack-event")).scalar()
    assert handled == len(events)


def test_two_web_processes_continue_one_slack_thread(start_process, database):
    """The thread's context is in the database: a follow-up that reaches the other process leans on
    the answer the first one gave."""
    with FakeSlackAPI() as api:
        ports, web = two_slack_processes(start_process, api)
        senders = [SlackSender(f"http://127.0.0.1:{port}/slack/events", SECRET) for port in ports]
        try:
            asked = mention_event(f"<@{BOT_USER_ID}> how long does the 5ml recovery bottle last?")
            assert senders[0].event(asked).status_code == 200
            [first] = api.wait_for("chat.postMessage", count=1, timeout=30)
            assert "18 days" in first["text"]

            follow_up = message_event("and the 30ml?", thread_ts=asked["ts"])
            assert senders[1].event(follow_up).status_code == 200
            second = api.wait_for("chat.postMessage", count=2, timeout=30)[1]
        finally:
            for sender in senders:
                sender.close()
        assert second["thread_ts"] == asked["ts"]
        assert "6 months" in second["text"]
        assert all(process.count("kind=answer intent=recovery-bottle-life") == 1 for process in web)  # one answer each
        for process in web:
            process.stop()


# -- delivery workers ---------------------------------------------------------------------------------


def test_three_workers_racing_over_500_deliveries_send_each_exactly_once(start_process, database):
    open_tickets(database, 500)
    outbox = Outbox(open_engine(database))
    assert outbox.backlog()["pending"] == 500
    smtp = SmtpServer().start()
    try:
        smtp.mailbox.hold()
        workers = [start_process("worker", SMTP_URL=smtp.url) for _ in range(3)]
        smtp.mailbox.wait_until_held(3)  # each worker is one mail at a time: three mid-send at once
        smtp.mailbox.release()

        wait_until(lambda: outbox.backlog()["sent"] == 500, 180, "the outbox was drained")
        assert [worker.stop() for worker in workers] == [0, 0, 0]
    finally:
        smtp.stop()

    message_ids = [mail["Message-ID"] for mail in smtp.mailbox.mails]
    assert len(message_ids) == 500 and len(set(message_ids)) == 500
    assert outbox.backlog() == {"pending": 0, "sending": 0, "sent": 500, "failed": 0}
    assert len(senders_of(database)) == 3  # all three took part


def test_a_worker_killed_mid_claim_leaves_nothing_unsent(start_process, database):
    open_tickets(database, 30)
    outbox = Outbox(open_engine(database))
    hung = SilentServer().start()
    try:
        dying = start_process("worker", SMTP_URL=hung.url, BOT_DELIVERY_LEASE_SECONDS="2")
        assert hung.connected.wait(60), f"the worker never tried to send; its log:\n{dying.log}"
        # the worker's start-up check of the mail server connects first (and, unanswered, lets it start)
        wait_until(lambda: any(f":{dying.process.pid}:" in (worker or "") for worker in senders_of(database)), 60, "the worker claimed deliveries")
        [name] = [worker for worker in senders_of(database) if worker and f":{dying.process.pid}:" in worker]
        claimed = senders_of(database)[name]  # a batch, its first mail stuck on the way out
        assert outbox.backlog() == {"pending": 30 - claimed, "sending": claimed, "sent": 0, "failed": 0}
        assert dying.kill() == -signal.SIGKILL  # mid-send, its claims still held
    finally:
        hung.stop()

    smtp = SmtpServer().start()
    try:
        rescuer = start_process("worker", SMTP_URL=smtp.url)
        wait_until(lambda: outbox.backlog()["sent"] == 30, 60, "the claims expired and everything was sent")
        assert rescuer.stop() == 0
    finally:
        smtp.stop()

    message_ids = sorted(mail["Message-ID"] for mail in smtp.mailbox.mails)
    assert message_ids == sorted(f"<ng-{1000 + n}-email-email@neogenesis-bot>" for n in range(1, 31))
    assert outbox.backlog() == {"pending": 0, "sending": 0, "sent": 30, "failed": 0}
    assert name not in senders_of(database)  # the rescuer sent everything
