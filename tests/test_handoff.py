"""Hand-offs to people: a ticket with everything support needs, an email that always arrives once,
and the customer told what happens next. A real SMTP server (aiosmtpd) and a real database: a SQLite
file and a PostgreSQL server (tests/databases.py)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.hours import parse_hours
from bot.records import Message
from support.desk import SupportDesk
from support.mail import EmailSender, SmtpServer as SmtpTarget
from support.outbox import DeliveryFailed, DeliveryWorker, Outbox
from support.state import ConversationState
from support.store import open_engine
from support.tickets import Routing, Tickets
from tests.databases import database  # noqa: F401  (a fixture: each test runs on SQLite and PostgreSQL)
from tests.fakes.smtp import SmtpServer

ROOT = Path(__file__).resolve().parent.parent
ADDRESSES = {"AU": "customerservice@neogenesispro.com.au", "US": "info@neogenesis.com"}


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 18, 1, 0, tzinfo=timezone.utc)  # a Wednesday, noon in Sydney

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def make_desk(bot, database_url: str, clock: Clock, **routing) -> SupportDesk:
    engine = open_engine(database_url)
    tickets = Tickets(engine, Routing(addresses=ADDRESSES, reasons=bot.catalogue.reasons, **routing), clock=clock)
    return SupportDesk(bot, ConversationState(engine, clock=clock), tickets=tickets)


@pytest.fixture
def desk(bot, database, clock) -> SupportDesk:
    return make_desk(bot, database, clock, email=True)


def worker_for(desk: SupportDesk, smtp_url: str, clock: Clock) -> DeliveryWorker:
    outbox = Outbox(desk.state.engine, clock=clock)
    return DeliveryWorker(outbox, {"email": EmailSender(SmtpTarget.from_url(smtp_url), "bot@neogenesis.test")}, name="test-worker")


def customer(desk: SupportDesk, text: str, region: str = "AU", user: str = "4242", channel: str = "telegram"):
    return desk.handle(Message(text, user_id=user, channel=channel, region=region, conversation=f"{channel}:{user}", user_name="Jane Citizen"))


def test_a_telegram_customer_is_asked_how_to_be_reached_then_support_gets_an_email(desk, smtp, clock):
    customer(desk, "what is recovery?")
    asked = customer(desk, "I broke out in a rash after using booster last night, what do I do?")
    assert asked.kind == "escalate" and asked.ticket
    assert "email address or phone number" in asked.text

    again = customer(desk, "umm i dunno")
    assert "doesn't look like an email address" in again.text

    passed_on = customer(desk, "jane.citizen@example.com")
    assert passed_on.kind == "escalate"
    assert f"ticket {asked.ticket}" in passed_on.text
    assert "customerservice@neogenesispro.com.au" in passed_on.text and "jane.citizen@example.com" in passed_on.text

    assert asyncio.run(worker_for(desk, smtp.url, clock).run_once()) == 1
    [mail] = smtp.mailbox.mails
    assert smtp.mailbox.recipients == [["customerservice@neogenesispro.com.au"]]
    assert mail["Subject"] == f"[{asked.ticket}] Hand-off: a skin reaction (AU, telegram)"
    assert mail["Reply-To"] == "jane.citizen@example.com"
    assert mail["Message-ID"] == f"<{asked.ticket.lower()}-email-email@neogenesis-bot>"
    body = mail.get_content()
    assert "Opened: 2026-11-18 01:00 UTC" in body  # in UTC, whatever the database server's time zone
    assert "Jane Citizen" in body and "Contact: jane.citizen@example.com" in body
    assert "customer: what is recovery?" in body and "70%" in body  # the transcript, bot replies too
    assert "broke out in a rash" in body


def test_an_absurdly_long_address_is_not_taken_for_a_contact(desk):
    too_long = "x" * 250 + "@example.com"  # longer than any real one, and than the ticket keeps
    asked = customer(desk, f"i want a refund, write to {too_long}")
    assert asked.kind == "escalate" and "email address or phone number" in asked.text
    assert "doesn't look like an email address" in customer(desk, too_long).text
    assert f"ticket {asked.ticket}" in customer(desk, "a@b.com").text


def test_us_hand_offs_go_to_the_us_address_and_name_the_phone(desk, smtp, clock):
    reply = customer(desk, "can i talk to a real person please, my number is +1 619 555 0100", region="US")
    assert reply.kind == "escalate" and reply.escalate_to == "info@neogenesis.com"
    assert "info@neogenesis.com" in reply.text and "+1 619 555 0100" in reply.text
    asyncio.run(worker_for(desk, smtp.url, clock).run_once())
    assert smtp.mailbox.recipients == [["info@neogenesis.com"]]
    assert smtp.mailbox.mails[0]["Reply-To"] is None  # a phone number is not an address to reply to


def test_a_cancelled_hand_off_sends_nothing(desk, smtp, clock):
    customer(desk, "i want a refund")
    assert "haven't passed it on" in customer(desk, "cancel").text
    assert asyncio.run(worker_for(desk, smtp.url, clock).run_once()) == 0
    assert customer(desk, "what is recovery").kind == "answer"


def test_outside_support_hours_the_customer_hears_when_to_expect_an_answer(bot, database, clock):
    hours = {"AU": parse_hours("Mon-Fri 09:00-17:00 Australia/Sydney")}
    desk = make_desk(bot, database, clock, email=True, hours=hours)
    clock.now = datetime(2026, 11, 21, 3, 0, tzinfo=timezone.utc)  # Saturday afternoon in Sydney
    reply = customer(desk, "my order never arrived, email me at a@b.com")
    assert "away right now" in reply.text and "Monday 23 November, 09:00 (AEDT)" in reply.text
    clock.now = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)  # Monday noon
    assert "away right now" not in customer(desk, "talk to a person please, a@b.com", user="9").text


def test_mail_server_down_for_a_while_then_every_ticket_is_delivered_exactly_once(desk, clock):
    server = SmtpServer()  # not started: the port refuses connections
    worker = worker_for(desk, server.url, clock)
    codes = [customer(desk, f"i need a refund please, reach me at buyer{n}@example.com", user=str(n)).ticket for n in range(3)]

    assert asyncio.run(worker.run_once()) == 3
    assert Outbox(desk.state.engine, clock).backlog()["pending"] == 3
    assert asyncio.run(worker.run_once()) == 0  # backing off: nothing is due yet

    clock.advance(minutes=1)
    assert asyncio.run(worker.run_once()) == 3  # still down: a second failed attempt each
    server.start()
    try:
        clock.advance(minutes=5)
        assert asyncio.run(worker.run_once()) == 3
        clock.advance(hours=2)
        assert asyncio.run(worker.run_once()) == 0
    finally:
        server.stop()
    subjects = sorted(mail["Subject"] for mail in server.mailbox.mails)
    assert subjects == sorted(f"[{code}] Hand-off: an order, delivery or refund (AU, telegram)" for code in codes)
    assert Outbox(desk.state.engine, clock).backlog() == {"pending": 0, "sending": 0, "sent": 3, "failed": 0}


def test_a_refused_mail_fails_for_good_visibly_and_can_be_requeued(desk, clock, smtp):
    class Refusing:
        def __call__(self, delivery):
            raise DeliveryFailed("mail refused: 550 no such user", permanent=True)

    code = customer(desk, "refund please, a@b.com").ticket
    outbox = Outbox(desk.state.engine, clock)
    asyncio.run(DeliveryWorker(outbox, {"email": Refusing()}, name="w").run_once())
    [delivery] = desk.tickets.deliveries_of(desk.tickets.get(code))
    assert delivery["status"] == "failed" and "550" in delivery["last_error"]

    assert outbox.requeue_failed() == 1
    asyncio.run(worker_for(desk, smtp.url, clock).run_once())
    assert len(smtp.mailbox.mails) == 1


def test_a_worker_that_dies_mid_send_leaves_nothing_unsent(desk, clock, smtp):
    code = customer(desk, "refund please, a@b.com").ticket
    outbox = Outbox(desk.state.engine, clock, lease_seconds=60)
    [claimed] = outbox.claim_due("worker-that-dies")
    assert outbox.claim_due("other-worker") == []  # claimed: nobody else takes it
    clock.advance(seconds=61)  # the claim expires
    asyncio.run(worker_for(desk, smtp.url, clock).run_once())
    assert len(smtp.mailbox.mails) == 1 and code in smtp.mailbox.mails[0]["Subject"]
    assert not outbox.mark_sent(claimed, "worker-that-dies")  # the dead worker's late word is ignored


def test_a_worker_whose_claims_lapse_mid_batch_leaves_the_rest_to_the_worker_that_took_them(desk, clock):
    first, second = [customer(desk, f"refund please, reach me at buyer{n}@example.com", user=str(n)).ticket for n in range(2)]
    sent = []
    other = DeliveryWorker(Outbox(desk.state.engine, clock, lease_seconds=60), {"email": lambda d: sent.append(("other", d.payload["ticket"]))}, name="other")

    def slow_sender(delivery):  # its first send outlasts the claim on the whole batch
        sent.append(("slow", delivery.payload["ticket"]))
        if len(sent) == 1:
            clock.advance(seconds=61)
            assert asyncio.run(other.run_once()) == 2  # meanwhile another worker takes both lapsed claims

    slow = DeliveryWorker(Outbox(desk.state.engine, clock, lease_seconds=60), {"email": slow_sender}, name="slow")
    assert asyncio.run(slow.run_once()) == 2
    # The first mail may go twice (a send that outlasts its claim is the case `retaken` flags); the
    # second, not yet begun when the claim lapsed, is left to the worker that took it.
    assert sent == [("slow", first), ("other", first), ("other", second)]


def test_workers_racing_over_the_outbox_never_claim_a_delivery_twice(desk, database, clock):
    for n in range(40):
        customer(desk, f"i need a refund please, reach me at buyer{n}@example.com", user=str(n))
    outboxes = [Outbox(open_engine(database), clock) for _ in range(4)]  # four workers, four engines

    def drain(worker: int) -> list[int]:
        taken = []
        while claimed := outboxes[worker].claim_due(f"worker-{worker}", limit=3):
            taken += [delivery.id for delivery in claimed]
        return taken

    with ThreadPoolExecutor(4) as pool:
        claims = [delivery for taken in pool.map(drain, range(4)) for delivery in taken]
    assert len(claims) == len(set(claims)) == 40
    assert Outbox(desk.state.engine, clock).backlog()["sending"] == 40


KILLED_AFTER_THE_TICKET = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {root!r})
    from bot.core import SupportBot
    from bot.records import Message
    from support.desk import SupportDesk
    from support.state import ConversationState
    from support.store import open_engine
    from support.tickets import Routing, Tickets

    engine = open_engine({url!r})
    routing = Routing(addresses={addresses!r}, email=True)
    desk = SupportDesk(SupportBot.load(), ConversationState(engine), tickets=Tickets(engine, routing))
    reply = desk.handle(Message("my parcel arrived damaged, email me on kim@example.com", user_id="7", channel="telegram", region="US"))
    print(reply.ticket, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # before any worker sends anything
    """
)


def test_the_bot_killed_between_writing_a_ticket_and_sending_it_delivers_it_on_restart(database, smtp, clock, bot):
    url = database
    script = KILLED_AFTER_THE_TICKET.format(root=str(ROOT), url=url, addresses=ADDRESSES)
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert process.returncode == -signal.SIGKILL
    code = process.stdout.strip()
    assert code.startswith("NG-")

    restarted = make_desk(bot, url, clock, email=True)
    clock.now = datetime.now(timezone.utc) + timedelta(seconds=1)
    asyncio.run(worker_for(restarted, smtp.url, clock).run_once())
    [mail] = smtp.mailbox.mails
    assert mail["Subject"].startswith(f"[{code}]") and smtp.mailbox.recipients == [["info@neogenesis.com"]]


def test_the_default_sqlite_file_and_a_database_url_both_work(bot, tmp_path, clock):
    by_data_dir = SupportDesk(bot, ConversationState(open_engine(data_dir=str(tmp_path / "data"))))
    assert by_data_dir.handle(Message("hi", user_id="1")).kind == "social"
    assert (tmp_path / "data" / "neogenesis-bot.sqlite3").exists()
    by_url = make_desk(bot, f"sqlite:///{tmp_path / 'elsewhere.db'}", clock, email=True)
    assert customer(by_url, "refund please a@b.com").ticket == "NG-1001"
    assert (tmp_path / "elsewhere.db").exists()


def test_the_tickets_command_lists_and_shows(database, smtp):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "SLACK_", "TELEGRAM_", "SMTP", "DATABASE"))},
        "DATABASE_URL": database,
        "SMTP_URL": smtp.url,
        "BOT_LOG_LEVEL": "WARNING",
    }
    script = (
        "from bot.settings import Settings; from bot.records import Message; from support.desk import SupportDesk\n"
        "desk = SupportDesk.from_settings(Settings.from_env())\n"
        "print(desk.handle(Message('refund please, reach me at a@b.com', user_id='5', channel='telegram', region='AU')).ticket)\n"
    )
    code = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    listing = subprocess.run([sys.executable, "-m", "service", "tickets"], env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert f"{code}" in listing and "open" in listing and "email pending" in listing
    shown = subprocess.run([sys.executable, "-m", "service", "tickets", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "customerservice@neogenesispro.com.au" in shown and "customer: refund please" in shown and "email" in shown
