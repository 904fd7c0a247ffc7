"""Hardening (issue 12), each problem reproduced against the real web process (`python -m service
serve` on 127.0.0.1, fake Slack and Telegram APIs) or the real function where a process adds
nothing: unauthenticated input costs nothing, tracebacks and log lines carry no contact and cannot be
forged, stored text keeps no card number, a date is not a contact, operators' terminals are safe."""

from __future__ import annotations

import hashlib
import json
import hmac
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from bot.records import Message
from support.contact import find_contact, is_attempted_contact, mask, redact
from tests.databases import database  # noqa: F401  (a fixture: each test runs on SQLite and PostgreSQL)
from tests.fakes.smtp import SmtpServer
from tests.test_handoff import make_desk
from tests.test_service import WEBHOOK_SECRET, RunningService, eventually, fakes, service  # noqa: F401  (fixtures)
from tests.test_slack import SECRET as SLACK_SECRET

ROOT = Path(__file__).resolve().parent.parent
FORGED = "\n2026-12-01 12:00:00,000 INFO support.desk: message channel=slack region=US kind=escalate intent=refund"


def unsigned(size: int) -> dict:
    """What the probe sent: `size` bytes of "a", a current timestamp and a signature that is wrong."""
    return {"content": b"a" * size, "headers": {"X-Slack-Signature": "v0=00", "X-Slack-Request-Timestamp": str(int(time.time())), "Content-Type": "application/json"}}


def timed(call):
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


# -- 1 and 2: unauthenticated input costs nothing ----------------------------------------------------


def test_unsigned_bodies_of_128_kb_and_5_mb_are_refused_at_once_while_healthz_answers(service):
    health_times: list[float] = []
    stop = threading.Event()

    def keep_asking_for_health() -> None:
        with httpx.Client(base_url=service.url, timeout=5) as http:
            while not stop.is_set():
                answer, seconds = timed(lambda: http.get("/healthz"))
                assert answer.status_code == 200
                health_times.append(seconds)

    log_before = len(service.output())
    prober = threading.Thread(target=keep_asking_for_health)
    prober.start()
    try:
        with httpx.Client(base_url=service.url, timeout=30) as http:
            http.get("/healthz")  # a warm connection, so the timings are the server's
            small, small_seconds = timed(lambda: http.post("/slack/events", **unsigned(128 * 1024)))
            large, large_seconds = timed(lambda: http.post("/slack/events", **unsigned(5 * 1024 * 1024)))
            streamed = http.post("/slack/events", content=iter([b"a" * 65536] * 80), headers=unsigned(0)["headers"])  # no Content-Length
    finally:
        stop.set()
        prober.join()
    print(f"unsigned 128 KB refused in {small_seconds * 1000:.1f} ms, 5 MB in {large_seconds * 1000:.1f} ms; /healthz at most {max(health_times, default=0) * 1000:.0f} ms meanwhile")
    assert small.status_code == 401 and small_seconds < 0.1, small_seconds
    assert large.status_code == 413 and large_seconds < 0.1, large_seconds
    assert streamed.status_code == 413
    assert health_times and max(health_times) < 1.0
    logged = service.output()[log_before:]
    assert "aaaa" not in logged and len(logged) < 2000  # length and source, never the body
    assert "Slack request refused (401 bad or expired signature): 131072 bytes from 127.0.0.1" in logged


@pytest.mark.parametrize(
    "body, content_type, headers",
    [
        ('{"type": "event_callback", "event": ', "application/json", {}),  # malformed JSON
        ("\udcff", "application/json", {}),  # not UTF-8
        ("[" * 100_000 + "]" * 100_000, "application/json", {}),  # nested past the parser's depth
        ("payload=" + "%5B" * 50_000, "application/x-www-form-urlencoded", {}),
    ],
    ids=["malformed-json", "not-utf8", "deep-nesting", "deep-nesting-in-a-form"],
)
def test_a_signed_body_that_does_not_parse_gets_400_not_500(service, body, content_type, headers):
    raw = body.encode("utf-8", "surrogateescape")
    answer = service.http.post("/slack/events", content=raw, headers={"Content-Type": content_type, **signed(raw), **headers})
    assert answer.status_code == 400
    assert "Traceback" not in service.output()


def signed(raw: bytes) -> dict[str, str]:
    """Slack's signature headers for raw bytes (the fakes sign text)."""
    stamp = str(int(time.time()))
    digest = hmac.new(SLACK_SECRET.encode(), b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def test_unsigned_garbage_and_a_timestamp_that_is_not_a_number_get_401_not_500(service):
    now = str(int(time.time()))
    for headers in ({"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}, {}, {"X-Slack-Request-Timestamp": now.encode(), "X-Slack-Signature": b"v0=\xe9"}):
        for body in (b'{"unclosed', b"\xff\xfe", b"[" * 100_000):
            assert service.http.post("/slack/events", content=body, headers=headers).status_code == 401
    ssl_check = service.http.post("/slack/events", content=b"ssl_check=1&token=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert ssl_check.status_code == 200 and ssl_check.content == b""  # Slack's unsigned certificate check, as Bolt answers it
    assert "Traceback" not in service.output()


def test_telegram_bodies_are_limited_and_checked_after_the_secret(service, fakes):
    _, telegram = fakes
    secret = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    path = "/telegram/webhook"
    assert service.http.post(path, content=b"a" * (5 * 1024 * 1024), headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}).status_code == 403
    large, seconds = timed(lambda: service.http.post(path, content=b"a" * (5 * 1024 * 1024), headers=secret))
    assert large.status_code == 413 and seconds < 0.1
    assert service.http.post(path, content=b"[" * 100_000, headers=secret).status_code == 400
    assert service.http.post(path, content=b'{"update_id": ', headers=secret).status_code == 400
    assert telegram.deliver(telegram.new_update(message=telegram.new_message(text="what is recovery?"))) == 200
    assert "70%" in telegram.next_sent().text  # and real updates still work
    assert "Traceback" not in service.output()


# -- 3 and 4: log lines cannot be forged and carry no contact, tracebacks included -----------------------


LOGGING_PROGRAM = """
import logging, sys
from support.logs import setup_logging
setup_logging("INFO")
text = sys.argv[1]
logging.getLogger("adapters.slack").warning("could not answer %s", text)
try:
    raise ValueError(f"insert failed [parameters: ({text!r}, 'jo@example.com')]\\nsecond line")
except ValueError:
    logging.getLogger("adapters.telegram").exception("handling telegram update 7 failed")
logging.getLogger("support.guard").warning("refused a message of 123456789 characters")
"""


def test_a_forged_log_line_is_part_of_one_escaped_line_and_tracebacks_carry_no_contact():
    typed = f"call me on 555\u2010123\u20104567 or jo@example.com{FORGED}\x1b]0;pwned\x07"
    done = subprocess.run([sys.executable, "-c", LOGGING_PROGRAM, typed], cwd=ROOT, capture_output=True, text=True, timeout=60)
    lines = done.stderr.splitlines()
    assert len(lines) == 3, lines  # one line per record: the message, the traceback, the count
    assert " WARNING adapters.slack: could not answer " in lines[0] and "\\n2026-12-01 12:00:00,000 INFO support.desk" in lines[0]
    assert "\\x1b]0;pwned\\x07" in lines[0] and "\x1b" not in done.stderr
    assert "jo@example.com" not in done.stderr and "\u2010" not in done.stderr and "***67" in lines[0]  # U+2010 dashes too
    assert "Traceback (most recent call last):" in lines[1] and "ValueError" in lines[1]
    assert lines[2].endswith("refused a message of 123456789 characters")  # a count is not a phone number


def test_a_message_with_a_nul_character_opens_its_ticket_and_no_contact_is_logged(bot, database, caplog):
    from tests.test_handoff import Clock

    desk = make_desk(bot, database, Clock(), email=True)
    text = "my order never arrived\x00 I want a refund, email me at jo@example.com"
    with caplog.at_level("INFO"):
        reply = desk.handle(Message(text, user_id="77", channel="telegram", region="AU", conversation="telegram:77"))
    assert reply.kind == "escalate" and reply.ticket
    ticket = desk.tickets.get(reply.ticket)
    assert ticket.contact == "jo@example.com" and ticket.status == "open"
    assert "jo@example.com" not in caplog.text and not any(r.exc_info for r in caplog.records)


# -- 5 and 6: what is kept, and what counts as a contact -------------------------------------------------


CARD = "4111 1111 1111 1111"


def test_a_date_an_order_number_and_a_card_are_not_contacts_and_no_card_is_stored_or_mailed(bot, database):
    from support.outbox import DeliveryWorker, Outbox
    from support.mail import EmailSender, SmtpServer as SmtpTarget
    from tests.test_handoff import Clock, customer

    smtp = SmtpServer().start()
    try:
        desk = make_desk(bot, database, Clock(), email=True)
        asked = customer(desk, f"I ordered on 2024-03-15 and it arrived broken, I want a refund. My card was {CARD}")
        assert asked.kind == "escalate" and "2024-03-15" not in asked.text
        ticket = desk.tickets.get(asked.ticket)
        assert ticket.status == "awaiting_contact" and ticket.contact is None
        for not_a_contact in ("12345678", CARD, "2024-03-15"):
            again = customer(desk, not_a_contact)
            assert again is not None and desk.tickets.get(ticket.id).status == "awaiting_contact", not_a_contact
        opened = customer(desk, "you can call me on +61 412 345 678")
        assert "+61 412 345 678" in opened.text
        assert desk.tickets.get(ticket.id).contact == "+61 412 345 678"  # kept where support needs it

        turns = desk.state.recent_turns("telegram:4242", 20)
        stored = " ".join(t["text"] + t["reply"] for t in turns) + " ".join(line.text for line in desk.tickets.lines(ticket))
        assert "4111" not in stored and "412 345 678" not in stored and "[card number]" in stored

        worker = DeliveryWorker(Outbox(desk.state.engine), {"email": EmailSender(SmtpTarget.from_url(smtp.url), "bot@neogenesis.test")})
        import asyncio

        asyncio.run(worker.run_once())
        assert smtp.mailbox.arrived.wait(10)
        body = smtp.mailbox.mails[0].get_content()
        assert "4111" not in body and "Contact: +61 412 345 678" in body
    finally:
        smtp.stop()


@pytest.mark.parametrize(
    "text, contact",
    [
        ("email me at jo@example.com", "jo@example.com"),
        ("call 0412 345 678", "0412 345 678"),
        ("my number is 555\u2010123\u20104567", "555\u2010123\u20104567"),  # Unicode's dashes are hyphens
        ("my number is 555\u2212123\u20134567", "555\u2212123\u20134567"),
        ("(02) 9876 5432", "(02) 9876 5432"),
        ("4155550100", "4155550100"),  # the whole answer is a number: they were asked for one
        ("I ordered on 2024-03-15", None),
        ("order 12345678 is broken", None),
        ("12345678", None),
        (CARD, None),
        ("from 192.168.100.200", None),
    ],
)
def test_what_counts_as_a_contact(text, contact):
    assert find_contact(text) == contact


@pytest.mark.parametrize(
    "text, attempted",
    [
        ("jo@example", True),  # no domain ending: not an address, but meant as one
        ("x" * 250 + "@example.com", True),
        ("0412 345", True),
        ("+61 (0) 412", True),
        ("how do i use recovery", False),
        ("i want a refund, write to me@", False),  # a sentence: it may be a question of its own
        ("2 pumps", False),
        ("123", False),
    ],
)
def test_what_counts_as_an_attempt_at_a_contact(text, attempted):
    assert is_attempted_contact(text) is attempted


def test_masking_is_linear_on_hostile_text():
    for hostile in ("a" * 1_000_000, "1 " * 500_000, "a@" * 500_000, "-1" * 500_000):
        _, seconds = timed(lambda: mask(hostile))
        assert seconds < 2.0, (hostile[:4], seconds)
    assert redact(f"jo@example.com, 0412 345 678, card {CARD}") == "j***@***, ***78, card [card number]"


# -- 7: operators' terminals -----------------------------------------------------------------------------


def test_tickets_and_the_report_print_a_terminal_escape_escaped(bot, tmp_path):
    import os

    from bot.settings import Settings
    from support.desk import SupportDesk

    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "SLACK_", "TELEGRAM_", "SMTP", "DATABASE", "SUPPORT_"))}
    env.update(BOT_DATA_DIR=str(tmp_path), SMTP_URL="smtp://127.0.0.1:9")
    desk = SupportDesk.from_settings(Settings.from_env(env))
    reply = desk.handle(Message("\x1b]0;pwned\x07 I want a refund, jo@example.com", user_id="9", channel="telegram", region="US", conversation="telegram:9"))
    desk.handle(Message("\x1b[2J what is the meaning of zorblax?", user_id="9", channel="telegram", region="US", conversation="telegram:9"))
    for command in (["tickets", reply.ticket], ["report"]):
        done = subprocess.run([sys.executable, "-m", "service", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "\\x1b]0;pwned\\x07" in subprocess.run(
        [sys.executable, "-m", "service", "tickets", reply.ticket], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    ).stdout


# -- 9: a burst is authorised once and acknowledged in time -----------------------------------------------


BURST = 200


def test_200_simultaneous_events_are_all_acknowledged_within_3_s_with_one_auth_test(tmp_path, fakes, database):
    import asyncio

    from tests.fakes.slack_api import event_callback, mention_event, signature_headers

    slack, telegram = fakes
    service = RunningService(tmp_path, slack, telegram, DATABASE_URL=database)
    try:
        at_start_up = len(slack.calls("auth.test"))  # the token check before serving, and Bolt's identity
        asked = [mention_event(f"<@U0NEOGENESIS> what is recovery? ({n})", user=f"U0PERSON{n}") for n in range(BURST)]  # 200 people
        bodies = [json.dumps(event_callback(event)) for event in asked]

        async def burst() -> list[tuple[int, float]]:
            """Every request on its own connection at once, written and read with plain sockets: the
            server's time, not an HTTP client's (Slack's senders are not on this machine's two cores)."""
            requests = [
                f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n".encode()
                + "".join(f"{name}: {value}\r\n" for name, value in signature_headers(body, SLACK_SECRET).items()).encode()
                + b"Connection: close\r\n\r\n"
                + body.encode()
                for body in bodies
            ]
            started = time.perf_counter()

            async def one(request: bytes) -> tuple[int, float]:
                reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
                writer.write(request)
                await writer.drain()
                status_line = await reader.readline()
                acknowledged = time.perf_counter() - started
                writer.close()
                return int(status_line.split()[1]), acknowledged

            return await asyncio.gather(*(one(request) for request in requests))

        outcomes = asyncio.run(burst())
        statuses = [status for status, _ in outcomes]
        slowest = max(seconds for _, seconds in outcomes)
        print(f"{BURST} simultaneous events on {database.split(':')[0]}: all acknowledged within {slowest:.2f} s")
        assert statuses == [200] * BURST
        assert slowest < 3.0, slowest  # Slack's limit for an acknowledgement (the criterion)
        assert at_start_up <= 2 and len(slack.calls("auth.test")) == at_start_up  # at start-up, never once per request
        eventually(lambda: len(slack.posts()) == BURST, timeout=120, what="every event answered")
    finally:
        service.stop()
    assert "Failed to run a middleware" not in Path(service.log.name).read_text()
