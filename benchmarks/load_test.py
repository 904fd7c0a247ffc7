"""Load test of the real web and worker processes: how fast Slack events and Telegram webhook updates
are acknowledged, whether every question gets exactly one reply and every hand-off exactly one email,
as the number of web processes grows.

    .venv/bin/python benchmarks/load_test.py                     # 1, 2 and 4 web processes; 50..400 req/s
    .venv/bin/python benchmarks/load_test.py --processes 2 --rates 100,300 --duration 5 --json out.json
    .venv/bin/python benchmarks/load_test.py --database-url postgresql://user:pass@host/db

Run by hand (it is not part of pytest); it takes a few minutes (bounded by --max-minutes) and leaves
nothing running, also on Ctrl-C. What it starts, all on 127.0.0.1:

- PostgreSQL: its own throwaway server through scripts/postgres-for-tests.sh (in a data folder of its
  own, stopped again afterwards), or the server of --database-url (its role must create databases).
  Each scenario gets a fresh database, dropped afterwards.
- One helper process with the fakes from tests/fakes: the fake Slack Web API, the fake Telegram Bot
  API and a real SMTP server (aiosmtpd). They record every reply and email, with the time it came.
- For N in --processes: N x `python -m service serve` (ports of their own, one DATABASE_URL, Slack and
  Telegram pointed at the fakes, a Telegram webhook so its route exists) and N x `python -m service worker`
  (SMTP_URL at the fake mail server), as a platform runs `web=N worker=N`. It waits for /healthz.

The load, open loop (requests leave on a schedule, whether or not earlier ones were answered), at each
rate of --rates for --duration seconds (at most --max-requests), spread round-robin over the N web
processes as a load balancer would:

- half are signed Slack Events API requests: mentions in a channel (Slack sends an `app_mention` and
  a `message` event for one mention, with different event ids, often to different processes), direct
  messages, channel chatter the bot must ignore, and retries of an earlier event id (X-Slack-Retry-Num,
  to another process, as Slack does when it thinks a delivery went unanswered);
- half are Telegram webhook updates with the secret header: new updates, and redeliveries of an
  earlier update id to another process;
- questions are the realistic phrasings of tests/data/dev.yaml; a small share are hand-offs with an
  email address ("my order never arrived, email me at ...") that open a ticket and queue an email.

Measured per level: requests sent and acknowledged per second, time to acknowledge (HTTP response
time, from the moment the request left; the generator's own lag behind its schedule is shown apart),
errors and acknowledgements slower than Slack's 3 seconds; then, polling with a deadline until every
question has its reply and the outbox is empty: replies per question (chat.postMessage per Slack
thread or direct message, sendMessage per Telegram chat: must be exactly 1, and 0 for chatter),
emails per ticket at the SMTP server (exactly 1), how long after the last request the last reply came,
and the CPU used while the load ran, by process group (web, worker, postgres, fakes, this generator,
anything else on the machine). Note that on a small machine all of these share the same cores: the
generator and the fakes take CPU the bot would otherwise have.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.slack_api import BOT_USER_ID, event_callback, mention_event, message_event, signature_headers  # noqa: E402
from tests.fakes.smtp import free_port  # noqa: E402

SLACK_TOKEN = "xoxb-0000000000-0000000000000-loadtestloadtestload"
SLACK_SECRET = "5e1ec7ab1e5ec12e75ec12e7load7e57"
TELEGRAM_TOKEN = "123456789:AAloadtestloadtestloadtestloadtest12"
WEBHOOK_SECRET = "load-test-webhook-secret"
WEBHOOK_PATH = "/telegram/webhook"
SLACK_CHANNEL = "C0RESELLERS"
SLACK_ACK_LIMIT = 3.0  # seconds Slack waits for an acknowledgement before it retries

HANDOFF_SHARE = 0.03  # of new questions
RETRY_SHARE = 0.08  # of each platform's requests: a Slack retry or a Telegram redelivery
HANDOFFS = (  # each opens a ticket with the address as its contact (checked against the catalogue)
    "my order never arrived, email me at {email}",
    "can i talk to a real person please? my email is {email}",
    "my booster arrived with the pump snapped and half of it leaked in the box, I want a replacement. reach me at {email}",
    "I want a refund for my last order, contact me at {email}",
)


# -- the fakes, in a process of their own --------------------------------------------------------------


def run_fakes(connection) -> None:
    """The helper process: fake Slack and Telegram APIs and an SMTP server; answers the load test's
    requests on `connection` ("urls", ("since", offsets), "stop") until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the load test stops us, in order
    sys.path.insert(0, str(ROOT))
    from tests.fakes.slack_api import FakeSlackAPI
    from tests.fakes.smtp import Mailbox, SmtpServer
    from tests.fakes.telegram_api import FakeTelegramAPI

    class TimedSlack(FakeSlackAPI):
        def _record(self, call) -> None:
            call.at = time.monotonic()  # CLOCK_MONOTONIC is one clock for every process on the machine
            super()._record(call)

    class AnyPrivateChat(dict):
        """The load test makes up its chats: every positive id is a private chat the fake knows."""

        def get(self, key, default=None):
            known = super().get(key)
            return known if known is not None else ({"id": key, "type": "private"} if isinstance(key, int) and key > 0 else default)

    class OpenTelegram(FakeTelegramAPI):
        def __init__(self, token: str) -> None:
            super().__init__(token)
            self._chats = AnyPrivateChat()

    class TimedMailbox(Mailbox):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []

        async def handle_DATA(self, server, session, envelope) -> str:
            answer = await super().handle_DATA(server, session, envelope)
            self.times.append(time.monotonic())
            return answer

    slack, telegram, smtp = TimedSlack().start(), OpenTelegram(TELEGRAM_TOKEN).start(), SmtpServer()
    smtp.mailbox = TimedMailbox()
    smtp.start()
    connection.send({"slack": slack.base_url, "telegram": telegram.base_url, "smtp": smtp.url, "pid": os.getpid()})
    try:
        while True:
            request = connection.recv()
            if request == "stop":
                break
            _, (slack_from, telegram_from, mail_from) = request
            slack_calls = slack.calls()
            posts = [
                (c.params.get("channel"), c.params.get("thread_ts"), c.at)
                for c in slack_calls[slack_from:]
                if c.method == "chat.postMessage" and c.ok
            ]
            telegram_calls = telegram.calls_to("sendMessage")  # in arrival order, each once answered
            sends = [(c.params.get("chat_id"), c.at) for c in telegram_calls[telegram_from:] if c.status == 200]
            count = min(len(smtp.mailbox.mails), len(smtp.mailbox.times))
            mails = [(m["X-NeoGenesis-Ticket"], m["To"], t) for m, t in zip(smtp.mailbox.mails[mail_from:count], smtp.mailbox.times[mail_from:count])]
            connection.send(
                {
                    "offsets": (len(slack_calls), len(telegram_calls), count),
                    "posts": posts,
                    "sends": sends,
                    "mails": mails,
                    "slack_failed": sum(1 for c in slack_calls[slack_from:] if not c.ok),
                    "telegram_failed": sum(1 for c in telegram_calls[telegram_from:] if c.status != 200),
                    "auth_tests": sum(1 for c in slack_calls if c.method == "auth.test"),
                }
            )
    finally:
        smtp.stop()
        telegram.close()
        slack.stop()
        connection.send("stopped")


class Fakes:
    """The load test's side of the fakes process: its URLs, and everything they received so far."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, theirs = context.Pipe()
        self.process = context.Process(target=run_fakes, args=(theirs,), name="load-test-fakes", daemon=True)
        self.process.start()
        if not self._connection.poll(30):
            raise RuntimeError("the fakes process did not start")
        self.urls = self._connection.recv()
        self.pid = self.urls["pid"]
        self._offsets = (0, 0, 0)
        self.posts: dict[tuple[str, str | None], list[float]] = defaultdict(list)  # (channel, thread_ts) -> times
        self.sends: dict[int, list[float]] = defaultdict(list)  # Telegram chat id -> times
        self.mails: dict[str, list[float]] = defaultdict(list)  # ticket code -> times
        self.refused = 0
        self.auth_tests = 0

    def refresh(self) -> None:
        self._connection.send(("since", self._offsets))
        news = self._connection.recv()
        self._offsets = news["offsets"]
        for channel, thread_ts, at in news["posts"]:
            self.posts[(channel, thread_ts)].append(at)
        for chat_id, at in news["sends"]:
            self.sends[int(chat_id)].append(at)
        for ticket, _to, at in news["mails"]:
            self.mails[ticket].append(at)
        self.refused += news["slack_failed"] + news["telegram_failed"]
        self.auth_tests = news["auth_tests"]

    def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError, EOFError):
                self._connection.send("stop")
                self._connection.poll(10) and self._connection.recv()
            self.process.join(10)
        if self.process.is_alive():
            self.process.kill()


# -- PostgreSQL -----------------------------------------------------------------------------------------


class Postgres:
    """A PostgreSQL server to make scenario databases on: --database-url's, or a throwaway one of the
    load test's own (scripts/postgres-for-tests.sh in its own data folder, stopped at the end)."""

    def __init__(self, url: str | None) -> None:
        self.started_here = False
        self.data_dir: Path | None = None
        if url:
            self.url = url
            return
        self.data_dir = Path(tempfile.gettempdir()) / f"neogenesis-loadtest-postgres-{os.getuid()}"
        self.env = {**os.environ, "NEOGENESIS_TEST_POSTGRES_DIR": str(self.data_dir)}
        script = str(ROOT / "scripts" / "postgres-for-tests.sh")
        running = subprocess.run([script, "url"], env=self.env, capture_output=True, text=True)
        if running.returncode == 0:
            self.url = running.stdout.strip()
        else:
            self.url = subprocess.run([script, "start"], env=self.env, capture_output=True, text=True, check=True).stdout.strip()
            self.started_here = True

    def stop(self) -> None:
        if self.started_here:
            subprocess.run([str(ROOT / "scripts" / "postgres-for-tests.sh"), "stop"], env=self.env, capture_output=True)
            self.started_here = False

    def postmaster_pid(self) -> int | None:
        """The server's main process, when it is ours (its children are the backends)."""
        with contextlib.suppress(OSError, ValueError, TypeError):
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])  # type: ignore[operator]
        return None

    @contextlib.contextmanager
    def fresh_database(self) -> Iterator[str]:
        import psycopg

        name = f"neogenesis_load_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
            try:
                yield urlunsplit(urlsplit(self.url)._replace(path=f"/{name}"))
            finally:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def outbox_state(database_url: str, after_ticket: int) -> tuple[dict[str, int], list[tuple[int, str, str]]]:
    """The deliveries by status, and the tickets with an id above `after_ticket` (id, code, status)."""
    import psycopg

    with psycopg.connect(database_url, connect_timeout=10) as connection:
        backlog = dict(connection.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall())
        tickets = connection.execute("SELECT id, code, status FROM tickets WHERE id > %s ORDER BY id", (after_ticket,)).fetchall()
    return backlog, tickets


# -- the bot's processes --------------------------------------------------------------------------------


class Cluster:
    """N web processes and W workers on one database, their logs in `folder`."""

    def __init__(self, webs: int, workers: int, database_url: str, fakes: Fakes, folder: Path) -> None:
        self.folder = folder
        self.ports = [free_port() for _ in range(webs)]
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "SLACK_", "TELEGRAM_", "SMTP", "DATABASE", "MAIL_", "SUPPORT_", "PORT"))}
        common = {
            **clean,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url,
            "BOT_LOG_LEVEL": "INFO",
            "BOT_RATE_LIMIT": "1000000",  # every question comes from a person of its own anyway
            "BOT_DATA_DIR": str(folder / "data"),
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_API_URL": fakes.urls["slack"],
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_API_URL": fakes.urls["telegram"],
            "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SMTP_URL": fakes.urls["smtp"],
        }
        self.webs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        for number, port in enumerate(self.ports, start=1):
            env = {**common, "PORT": str(port), "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}{WEBHOOK_PATH}"}
            self.webs.append(self._start(["serve"], env, f"web-{number}.log"))
        for number in range(1, workers + 1):
            env = {**common, "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{self.ports[0]}{WEBHOOK_PATH}"}  # a webhook: no polling
            self.workers.append(self._start(["worker"], env, f"worker-{number}.log"))

    def _start(self, command: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen:
        log = self.folder / log_name
        self.logs.append(log)
        with log.open("w") as output:  # the child keeps its own copy of the descriptor
            return subprocess.Popen(
                [sys.executable, "-m", "service", *command], cwd=self.folder, env=env,
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )

    @property
    def processes(self) -> list[subprocess.Popen]:
        return self.webs + self.workers

    def wait_until_ready(self, timeout: float = 90) -> None:
        """Every web process answers /healthz with 200 and every worker has started its delivery loop."""
        deadline = time.monotonic() + timeout
        waiting = set(range(len(self.webs)))
        while waiting or not all("delivery worker" in log.read_text() for log in self.logs[len(self.webs):]):
            for process, log in zip(self.processes, self.logs):
                if process.poll() is not None:
                    raise RuntimeError(f"{log.name} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            for index in list(waiting):
                with contextlib.suppress(OSError):
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[index]}/healthz", timeout=2) as response:
                        if response.status == 200:
                            waiting.discard(index)
            if time.monotonic() > deadline:
                raise RuntimeError(f"the processes were not ready within {timeout} s (logs in {self.folder})")
            time.sleep(0.1)

    def messages_handled(self) -> int:
        """neogenesis_messages_total over every web process: questions the desk has handled."""
        total = 0.0
        for port in self.ports:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                for line in response.read().decode().splitlines():
                    if line.startswith("neogenesis_messages_total{"):
                        total += float(line.rsplit(" ", 1)[1])
        return int(total)

    def stop(self, timeout: float = 40) -> list[int | None]:
        """SIGTERM to all (as a platform stops them), then SIGKILL whatever is left; the exit codes."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            if process.poll() is None:
                process.kill()
                process.wait(10)
        return [process.returncode for process in self.processes]

    def problems_logged(self) -> int:
        return sum(len(re.findall(r" (?:ERROR|CRITICAL) |Traceback", log.read_text(errors="replace"))) for log in self.logs)


# -- CPU ------------------------------------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, with_exited_children: bool = False) -> float:
    """User + system CPU time of one process so far (0 when it is gone); with its children that
    have exited and been waited for (a postmaster's backends that came and went)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(value) for value in fields[11:15 if with_exited_children else 13]) / TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
    return found


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent not idle, summed over cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / TICKS


class CpuMeter:
    """CPU used by each group of processes between `start()` and `stop()`, in % of one core."""

    def __init__(self, groups: dict[str, list[int]], postmaster: int | None) -> None:
        self.groups = groups
        self.postmaster = postmaster

    def _sample(self) -> dict[str, float]:
        sample = {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in self.groups.items()}
        if self.postmaster:
            sample["postgres"] = cpu_seconds(self.postmaster, with_exited_children=True) + sum(map(cpu_seconds, children_of(self.postmaster)))
        sample["machine"] = machine_busy_seconds()
        return sample

    def start(self) -> None:
        self._first, self._began = self._sample(), time.monotonic()

    def stop(self) -> dict[str, float]:
        last, elapsed = self._sample(), time.monotonic() - self._began
        used = {name: 100 * max(0.0, last[name] - self._first.get(name, 0.0)) / elapsed for name in last}
        used["other"] = max(0.0, used["machine"] - sum(v for k, v in used.items() if k != "machine"))
        return {name: round(value) for name, value in used.items()}


# -- the traffic ----------------------------------------------------------------------------------------


@dataclass
class Question:
    """Something said to the bot (or near it): where its reply goes and how many replies it wants."""

    platform: str  # slack | telegram
    key: tuple  # (channel, thread_ts) on Slack, the chat id on Telegram
    text: str
    wants: int = 1  # 0 for channel chatter the bot must leave alone
    handoff: bool = False
    sent_at: float | None = None  # when its first request left (monotonic)


@dataclass
class Request:
    at: float  # seconds after the level starts
    platform: str
    body: bytes
    headers: dict[str, str]
    target: int  # which web process
    question: Question
    kind: str  # new (a direct message, a Telegram update) | mention | companion | retry | chatter


@dataclass
class Traffic:
    """Makes each level's requests; ids stay unique over the whole run."""

    questions: list[str]
    seed: int
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def level(self, rate: float, duration: float, max_requests: int, processes: int) -> tuple[list[Request], list[Question]]:
        count = min(int(rate * duration), max_requests)
        requests: list[Request] = []
        questions: list[Question] = []
        companions: list[Request] = []  # the `message` event that goes with each `app_mention`
        sent: dict[str, list[Request]] = {"slack": [], "telegram": []}  # candidates for a retry
        stamp = int(time.time())  # Slack signs with the time; Bolt accepts five minutes of skew
        for number in range(count):
            at = number / rate
            target = number % processes
            platform = "slack" if number % 2 == 0 else "telegram"
            earlier = [r for r in sent[platform][-200:] if r.at <= at - 0.5]
            if earlier and self.rng.random() < RETRY_SHARE:
                original = self.rng.choice(earlier)
                retry_to = (original.target + 1) % processes  # a retry lands on another process
                headers = dict(original.headers)
                if platform == "slack":
                    headers = {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
                requests.append(Request(at, platform, original.body, headers, retry_to, original.question, "retry"))
                continue
            if platform == "slack" and companions:
                companion = companions.pop(0)
                requests.append(Request(at, platform, companion.body, companion.headers, target, companion.question, "companion"))
                sent["slack"].append(requests[-1])
                continue
            request = self._new_slack(at, target, stamp) if platform == "slack" else self._new_telegram(at, target)
            requests.append(request)
            questions.append(request.question)
            if request.kind != "chatter":
                sent[platform].append(request)
            if request.kind == "mention":
                companions.append(self._companion(request, stamp))
        return requests, questions

    def _text(self) -> tuple[str, bool]:
        if self.rng.random() < HANDOFF_SHARE:
            return self.rng.choice(HANDOFFS).format(email=f"customer{next(self.ids)}@example.com"), True
        return self.rng.choice(self.questions), False

    def _new_slack(self, at: float, target: int, stamp: int) -> Request:
        n = next(self.ids)
        ts = f"{1700000000 + n}.{n % 1000000:06d}"
        user = f"U{n:09d}"
        roll = self.rng.random()
        if roll < 0.1:  # chatter in the channel, not for the bot
            event = message_event(self.rng.choice(self.questions), user=user, channel=SLACK_CHANNEL, ts=ts)
            question = Question("slack", (SLACK_CHANNEL, ts), event["text"], wants=0)
            kind = "chatter"
        elif roll < 0.55:  # a mention in the channel: answered in its thread
            text, handoff = self._text()
            event = mention_event(f"<@{BOT_USER_ID}> {text}", user=user, channel=SLACK_CHANNEL, ts=ts)
            question = Question("slack", (SLACK_CHANNEL, ts), text, handoff=handoff)
            kind = "mention"
        else:  # a direct message: answered at the top of the conversation
            text, handoff = self._text()
            channel = f"D{n:09d}"
            event = message_event(text, user=user, channel=channel, ts=ts, channel_type="im")
            question = Question("slack", (channel, None), text, handoff=handoff)
            kind = "new"
        return self._slack_request(at, target, event, f"Ev{n:010d}", question, kind, stamp)

    def _companion(self, mention: Request, stamp: int) -> Request:
        """The `message.channels` event Slack also sends for a mention (another event id)."""
        event = dict(json.loads(mention.body)["event"], type="message", channel_type="channel")
        return self._slack_request(mention.at, mention.target, event, f"Ev{next(self.ids):010d}", mention.question, "companion", stamp)

    @staticmethod
    def _slack_request(at: float, target: int, event: dict, event_id: str, question: Question, kind: str, stamp: int) -> Request:
        body = json.dumps(event_callback(event, event_id))
        headers = {"Content-Type": "application/json", **signature_headers(body, SLACK_SECRET, stamp)}
        return Request(at, "slack", body.encode(), headers, target, question, kind)

    def _new_telegram(self, at: float, target: int) -> Request:
        n = next(self.ids)
        chat = 10_000_000 + n
        text, handoff = self._text()
        update = {
            "update_id": 100_000_000 + n,
            "message": {
                "message_id": n, "date": int(time.time()), "text": text,
                "chat": {"id": chat, "type": "private", "first_name": "Customer"},
                "from": {"id": chat, "is_bot": False, "first_name": "Customer", "username": f"customer{n}"},
            },
        }
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        return Request(at, "telegram", json.dumps(update).encode(), headers, target, Question("telegram", chat, text, handoff=handoff), "new")


def load_questions() -> list[str]:
    """The development set's realistic questions (its hand-off cases are left to HANDOFFS)."""
    cases = yaml.safe_load((ROOT / "tests" / "data" / "dev.yaml").read_text(encoding="utf-8"))
    return [case["text"] for case in cases if case.get("expect") != "escalate"]


# -- driving --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    request: Request
    sent: float  # monotonic
    lag: float  # how late it left against the schedule
    ack: float | None  # seconds to the response; None when there was none
    status: int | None
    error: str | None = None


async def drive(requests: list[Request], ports: list[int], timeout: float) -> list[Outcome]:
    """Send `requests` on their schedule (open loop), each to its process; every response timed."""
    urls = {
        (platform, index): f"http://127.0.0.1:{port}{'/slack/events' if platform == 'slack' else WEBHOOK_PATH}"
        for index, port in enumerate(ports)
        for platform in ("slack", "telegram")
    }
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=0)  # no client-side cap on connections: open loop
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as session:

        async def send(request: Request, due: float) -> Outcome:
            sent = loop.time()
            if request.question.sent_at is None:
                request.question.sent_at = sent
            try:
                async with session.post(urls[(request.platform, request.target)], data=request.body, headers=request.headers) as response:
                    await response.read()
                    return Outcome(request, sent, sent - due, loop.time() - sent, response.status)
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                return Outcome(request, sent, sent - due, None, None, type(error).__name__)

        begin = loop.time() + 0.1
        tasks = []
        for request in requests:
            due = begin + request.at
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(send(request, due)))
        return await asyncio.gather(*tasks)


# -- one level, measured --------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def reply_times(fakes: Fakes, question: Question) -> list[float]:
    return fakes.posts.get(question.key, []) if question.platform == "slack" else fakes.sends.get(question.key, [])


def wait_until_answered(cluster: Cluster, fakes: Fakes, database_url: str, questions: list[Question], handled_before: int,
                        last_ticket: int, timeout: float) -> tuple[bool, list[tuple[int, str, str]]]:
    """Poll (with a deadline) until every question has its reply, the desk has handled every one, and
    every opened ticket's email is out; returns whether that happened, and the new tickets."""
    deadline = time.monotonic() + timeout
    wanted = [q for q in questions if q.wants]
    while True:
        fakes.refresh()
        replied = all(reply_times(fakes, q) for q in wanted)
        if replied and cluster.messages_handled() >= handled_before + len(wanted):
            backlog, tickets = outbox_state(database_url, last_ticket)
            emailed = all(fakes.mails.get(code) for _, code, status in tickets if status == "open")
            if emailed and not backlog.get("pending") and not backlog.get("sending"):
                return True, tickets
        if time.monotonic() > deadline:
            return False, outbox_state(database_url, last_ticket)[1]
        time.sleep(0.25)


@dataclass
class LevelResult:
    processes: int
    rate: int
    requests: int
    seconds: float  # first request out to last acknowledgement in
    acks_per_second: float
    ack_p50_ms: float
    ack_p99_ms: float
    ack_max_ms: float
    over_3s: int
    errors: int
    lag_p99_ms: float
    questions: int
    replies_min: int
    replies_max: int
    chatter_replied: int
    handoffs: int
    tickets: int  # opened with a contact, so emailed
    awaiting_contact: int  # questions the bot handed off without a contact: it asked for one, no email yet
    emails_min: int | None
    emails_max: int | None
    reply_p50_ms: float
    reply_p99_ms: float
    slack_done_s: float  # last Slack reply, seconds after the last request left
    telegram_done_s: float
    answered: bool
    cpu: dict[str, float]
    ack_by_platform: dict[str, dict[str, float]] = field(default_factory=dict)
    errors_by_kind: dict[str, int] = field(default_factory=dict)


def run_level(cluster: Cluster, fakes: Fakes, traffic: Traffic, meter: CpuMeter, database_url: str, processes: int, rate: int,
              args: argparse.Namespace, state: dict) -> LevelResult:
    requests, questions = traffic.level(rate, args.duration, args.max_requests, processes)
    meter.start()
    outcomes = asyncio.run(drive(requests, cluster.ports, timeout=30))
    cpu = meter.stop()
    acked = [o for o in outcomes if o.ack is not None and o.status == 200]
    errors = [o for o in outcomes if o.ack is None or o.status != 200]
    first = min(o.sent for o in outcomes)
    last_out = max(o.sent for o in outcomes)
    last_in = max((o.sent + o.ack for o in outcomes if o.ack is not None), default=last_out)
    acks_ms = [o.ack * 1000 for o in acked]
    by_platform = {
        platform: {
            "p50_ms": round(percentile([o.ack * 1000 for o in acked if o.request.platform == platform], 0.50), 1),
            "p99_ms": round(percentile([o.ack * 1000 for o in acked if o.request.platform == platform], 0.99), 1),
            "max_ms": round(max((o.ack * 1000 for o in acked if o.request.platform == platform), default=float("nan")), 1),
        }
        for platform in ("slack", "telegram")
    }

    answered, tickets = wait_until_answered(cluster, fakes, database_url, questions, state["handled"], state["last_ticket"], args.settle_timeout)
    wanted = [q for q in questions if q.wants]
    state["handled"] += len(wanted)
    state["last_ticket"] = max([state["last_ticket"], *(t[0] for t in tickets)])
    counts = [len(reply_times(fakes, q)) for q in wanted]
    latencies = [(min(reply_times(fakes, q)) - q.sent_at) * 1000 for q in wanted if reply_times(fakes, q) and q.sent_at]
    done = {}  # the platform's last reply, after its last request left
    for platform in ("slack", "telegram"):
        last_request = max((o.sent for o in outcomes if o.request.platform == platform), default=last_out)
        last_reply = max((max(reply_times(fakes, q)) for q in wanted if q.platform == platform and reply_times(fakes, q)), default=last_request)
        done[platform] = max(0.0, last_reply - last_request)
    emails = [len(fakes.mails.get(code, [])) for _, code, status in tickets if status == "open"]
    return LevelResult(
        processes=processes,
        rate=rate,
        requests=len(requests),
        seconds=round(last_in - first, 2),
        acks_per_second=round(len(acked) / (last_in - first), 1),
        ack_p50_ms=round(percentile(acks_ms, 0.50), 1),
        ack_p99_ms=round(percentile(acks_ms, 0.99), 1),
        ack_max_ms=round(max(acks_ms, default=float("nan")), 1),
        over_3s=sum(1 for o in outcomes if o.ack is None or o.ack > SLACK_ACK_LIMIT),
        errors=len(errors),
        lag_p99_ms=round(percentile([o.lag * 1000 for o in outcomes], 0.99), 1),
        questions=len(wanted),
        replies_min=min(counts, default=0),
        replies_max=max(counts, default=0),
        chatter_replied=sum(1 for q in questions if not q.wants and reply_times(fakes, q)),
        handoffs=sum(1 for q in wanted if q.handoff),
        tickets=len(emails),
        awaiting_contact=sum(1 for t in tickets if t[2] == "awaiting_contact"),
        emails_min=min(emails, default=None),
        emails_max=max(emails, default=None),
        reply_p50_ms=round(percentile(latencies, 0.50), 1),
        reply_p99_ms=round(percentile(latencies, 0.99), 1),
        slack_done_s=round(done["slack"], 2),
        telegram_done_s=round(done["telegram"], 2),
        answered=answered,
        cpu=cpu,
        ack_by_platform=by_platform,
        errors_by_kind=dict(Counter(o.error or f"HTTP {o.status}" for o in errors)),
    )


# -- a scenario: N web processes ------------------------------------------------------------------------


def warm_up(cluster: Cluster, fakes: Fakes, traffic: Traffic, database_url: str, processes: int, state: dict) -> None:
    """A few questions to each process first (first connections, first imports), not measured."""
    requests, questions = traffic.level(rate=20, duration=processes, max_requests=20 * processes, processes=processes)
    asyncio.run(drive(requests, cluster.ports, timeout=30))
    answered, tickets = wait_until_answered(cluster, fakes, database_url, questions, state["handled"], state["last_ticket"], 60)
    if not answered:
        raise RuntimeError(f"the warm-up questions were not all answered (logs in {cluster.folder})")
    state["handled"] += sum(1 for q in questions if q.wants)
    state["last_ticket"] = max([state["last_ticket"], *(t[0] for t in tickets)])


def run_scenario(processes: int, args: argparse.Namespace, postgres: Postgres, fakes: Fakes, traffic: Traffic,
                 folder: Path, deadline: float, running: list[Cluster]) -> dict:
    workers = processes if args.workers is None else args.workers
    scenario = {"processes": processes, "workers": workers, "levels": [], "notes": []}
    fakes.refresh()
    fakes.mails.clear()  # ticket codes start at NG-1001 again in each fresh database
    with postgres.fresh_database() as database_url:
        logs = folder / f"{processes}-web"
        logs.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        cluster = Cluster(processes, workers, database_url, fakes, logs)
        running.append(cluster)
        try:
            cluster.wait_until_ready()
            scenario["startup_s"] = round(time.monotonic() - started, 1)
            state = {"handled": 0, "last_ticket": 0}
            warm_up(cluster, fakes, traffic, database_url, processes, state)
            meter = CpuMeter({"web": [p.pid for p in cluster.webs], "worker": [p.pid for p in cluster.workers], "fakes": [fakes.pid], "loadgen": [os.getpid()]},
                             postgres.postmaster_pid())
            for rate in args.rates:
                if time.monotonic() > deadline:
                    scenario["notes"].append(f"stopped before {rate}/s: --max-minutes reached")
                    break
                result = run_level(cluster, fakes, traffic, meter, database_url, processes, rate, args, state)
                scenario["levels"].append(result)
                print(format_row(result), flush=True)
            # late duplicates would show now: count every level's replies again
            fakes.refresh()
            scenario["problems_logged"] = cluster.problems_logged()
        finally:
            scenario["exit_codes"] = cluster.stop()
            running.remove(cluster)
    return scenario


# -- the report -----------------------------------------------------------------------------------------

COLUMNS = (
    ("procs", 5), ("rate/s", 6), ("reqs", 5), ("acks/s", 6), ("ack p50", 8), ("ack p99", 8), ("ack max", 8), (">3s", 3),
    ("err", 3), ("lag p99", 8), ("replies/q", 9), ("chatter", 7), ("tickets", 7), ("emails/t", 8), ("reply p50", 9),
    ("reply p99", 9), ("slack done", 10), ("tg done", 8), ("CPU web/wrk/pg/fakes/gen/other = busy", 38),
)


def header() -> str:
    return " | ".join(name.rjust(width) for name, width in COLUMNS) + "\n" + "-|-".join("-" * width for _, width in COLUMNS)


def format_row(r: LevelResult) -> str:
    ms = lambda value: f"{value:.1f}ms" if value == value else "-"  # noqa: E731  (nan: none)
    emails = "-" if r.emails_min is None else (f"{r.emails_min}" if r.emails_min == r.emails_max else f"{r.emails_min}-{r.emails_max}")
    replies = f"{r.replies_min}" if r.replies_min == r.replies_max else f"{r.replies_min}-{r.replies_max}"
    c = r.cpu
    cpu = f"{c.get('web', 0)}/{c.get('worker', 0)}/{c.get('postgres', '?')}/{c.get('fakes', 0)}/{c.get('loadgen', 0)}/{c.get('other', 0)} = {c.get('machine', 0)}%"
    cells = (
        r.processes, r.rate, r.requests, f"{r.acks_per_second:.0f}", ms(r.ack_p50_ms), ms(r.ack_p99_ms), ms(r.ack_max_ms), r.over_3s,
        r.errors, ms(r.lag_p99_ms), replies + ("" if r.answered else " !"), r.chatter_replied, f"{r.tickets}/{r.handoffs}", emails,
        ms(r.reply_p50_ms), ms(r.reply_p99_ms), f"{r.slack_done_s:.1f}s", f"{r.telegram_done_s:.1f}s", cpu,
    )
    return " | ".join(str(cell).rjust(width) for cell, (_, width) in zip(cells, COLUMNS))


LEGEND = """\
rate/s: offered (open loop, half Slack, half Telegram); reqs: requests sent, retries and duplicates included
acks/s: requests acknowledged (HTTP 200) per second; ack p50/p99/max: HTTP response time from the moment
  the request left; >3s: over Slack's 3 s or never answered; err: not HTTP 200 (or no response)
lag p99: how late the generator sent against its schedule (its own CPU starvation, not the bot's)
replies/q: min-max replies per question (must be 1; "!" = not all answered before --settle-timeout);
  chatter: channel messages not for the bot that got a reply (must be 0)
tickets: tickets opened with a contact / hand-off questions asked; emails/t: emails per ticket at the SMTP server (must be 1)
reply p50/p99: question sent -> its reply at the fake API; slack/tg done: last reply after the last request
CPU: % of one core while the load ran (200% = both cores); pg: the server of the load test's own (? with --database-url)"""


def machine_conditions() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "0")
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory_gb": round(int(memory) / 1024 / 1024, 1),
            "load_average_at_start": os.getloadavg(), "python": sys.version.split()[0]}


def interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    numbers = lambda text: [int(n) for n in text.split(",")]  # noqa: E731
    parser.add_argument("--processes", type=numbers, default=[1, 2, 4], help="web process counts to try (default 1,2,4)")
    parser.add_argument("--workers", type=int, help="worker processes per scenario (default: as many as web processes)")
    parser.add_argument("--rates", type=numbers, default=[50, 100, 200, 400], help="requests per second per level (default 50,100,200,400)")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per level (default 6)")
    parser.add_argument("--max-requests", type=int, default=3000, help="at most this many requests per level (default 3000)")
    parser.add_argument("--settle-timeout", type=float, default=120.0, help="seconds to wait for every reply after a level (default 120)")
    parser.add_argument("--max-minutes", type=float, default=12.0, help="no new level starts after this (default 12)")
    parser.add_argument("--database-url", help="a PostgreSQL server whose role may create databases (default: a throwaway one)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--logs", type=Path, help="keep the processes' logs here (default: a temporary folder, removed)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)

    deadline = time.monotonic() + args.max_minutes * 60
    folder = args.logs or Path(tempfile.mkdtemp(prefix="neogenesis-load-"))
    folder.mkdir(parents=True, exist_ok=True)
    conditions = machine_conditions()
    print(f"machine: {conditions['cpus']} CPUs ({conditions['cpu_model']}), {conditions['memory_gb']} GB, "
          f"load average {' '.join(f'{x:.2f}' for x in conditions['load_average_at_start'])}, Python {conditions['python']}")
    signal.signal(signal.SIGINT, interrupted)  # even where it was inherited as ignored (a background job)
    signal.signal(signal.SIGTERM, interrupted)  # clean up as on Ctrl-C
    running: list[Cluster] = []
    scenarios: list[dict] = []
    postgres = fakes = None
    try:
        postgres = Postgres(args.database_url)
        fakes = Fakes()
        traffic = Traffic(load_questions(), args.seed)
        print(f"PostgreSQL {'of --database-url' if args.database_url else 'throwaway, ' + str(postgres.data_dir)}; fakes in process {fakes.pid}; logs in {folder}\n")
        print(header(), flush=True)
        for processes in args.processes:
            if time.monotonic() > deadline:
                print(f"(skipped {processes} web processes: --max-minutes reached)")
                continue
            scenarios.append(run_scenario(processes, args, postgres, fakes, traffic, folder, deadline, running))
            s = scenarios[-1]
            print(f"   ^ {processes} web + {s['workers']} worker processes: ready in {s.get('startup_s', '?')} s; exit codes on SIGTERM "
                  f"{s['exit_codes']}; {s['problems_logged']} ERROR/Traceback lines logged" + "".join(f"; {n}" for n in s["notes"]), flush=True)
        print("\n" + LEGEND)
        print(f"\nSlack auth.test calls: {fakes.auth_tests}; API calls the fakes refused: {fakes.refused}")
    except KeyboardInterrupt:
        print("\ninterrupted: stopping every process", file=sys.stderr)
        return 130
    finally:
        for cluster in running:
            cluster.stop(timeout=10)
        if fakes:
            fakes.stop()
        if postgres:
            postgres.stop()
        if args.json:
            levels = [asdict(level) for s in scenarios for level in s["levels"]]
            others = [{k: v for k, v in s.items() if k != "levels"} for s in scenarios]
            args.json.write_text(json.dumps({"machine": conditions, "arguments": {k: str(v) for k, v in vars(args).items()},
                                             "scenarios": others, "levels": levels}, indent=2))
        if not args.logs:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
