"""The production web process, started for real (`python -m service serve` on 127.0.0.1) and driven over
HTTP: health and metrics, a Slack event and a Telegram webhook update through the same process, a
catalogue edit picked up while running, a broken edit refused, and SIGTERM in the middle of traffic
with nothing lost."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.fakes.slack_api import FakeSlackAPI, SlackSender, mention_event
from tests.fakes.smtp import free_port
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.test_slack import SECRET as SLACK_SECRET, TOKEN as SLACK_TOKEN
from tests.test_telegram import TOKEN as TELEGRAM_TOKEN
from tests.polling import eventually

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "service-webhook-secret"


START_SECONDS = 90


class RunningService:
    """`python -m service serve` in a subprocess, against the fake Slack and Telegram APIs."""

    def __init__(self, tmp_path: Path, slack: FakeSlackAPI, telegram: FakeTelegramAPI, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.intents = tmp_path / "intents"
        shutil.copytree(ROOT / "intents", self.intents, ignore=shutil.ignore_patterns("*.md"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "SLACK_", "TELEGRAM_", "SMTP", "DATABASE", "SUPPORT_"))}
        env.update(
            PORT=str(self.port),
            BOT_DATA_DIR=str(tmp_path / "data"),
            BOT_INTENTS_DIR=str(self.intents),
            BOT_LOG_LEVEL="INFO",
            SLACK_BOT_TOKEN=SLACK_TOKEN,
            SLACK_SIGNING_SECRET=SLACK_SECRET,
            SLACK_API_URL=slack.base_url,
            TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
            TELEGRAM_API_URL=telegram.base_url,
            TELEGRAM_WEBHOOK_URL=f"{self.url}/telegram/webhook",
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
            **settings,
        )
        self.log = (tmp_path / "service.log").open("w+")
        self.process = subprocess.Popen([sys.executable, "-m", "service", "serve"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.http = httpx.Client(base_url=self.url, timeout=5)
        # a deadline, not a delay: a start on a busy 2-core machine (imports, the model) can take a while
        eventually(lambda: self.http.get("/healthz").status_code == 200, timeout=START_SECONDS, what="the service to start", running=lambda: self.process.poll() is None)
        self.slack = SlackSender(f"{self.url}/slack/events", SLACK_SECRET)

    def health(self) -> dict:
        return self.http.get("/healthz").json()

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=40)
        self.http.close()
        self.slack.close()
        self.log.close()
        return code


@pytest.fixture
def fakes():
    with FakeSlackAPI() as slack, FakeTelegramAPI(TELEGRAM_TOKEN) as telegram:
        yield slack, telegram


@pytest.fixture
def service(tmp_path, fakes):
    running = RunningService(tmp_path, *fakes)
    yield running
    running.stop()


def test_health_and_metrics(service):
    health = service.health()
    assert health["status"] == "ok"
    assert health["catalogue"]["intents"] > 100 and health["database"] == "ok"
    assert health["deliveries"]["failed"] == 0
    assert health["platforms"] == {"slack": True, "telegram": "webhook"}
    metrics = service.http.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE neogenesis_matching_seconds histogram" in metrics.text
    assert 'neogenesis_deliveries{status="failed"} 0.0' in metrics.text


def test_a_slack_event_and_a_telegram_update_through_the_same_process(service, fakes):
    slack, telegram = fakes
    assert telegram.webhook and telegram.webhook["url"] == f"{service.url}/telegram/webhook"

    assert service.slack.event(mention_event("<@U0NEOGENESIS> how long does a bottle of recovery last?")).status_code == 200
    assert "18 days" in slack.wait_for_post()["text"]

    assert telegram.deliver(telegram.new_update(message=telegram.new_message(text="what is recovery?"))) == 200
    assert "70%" in telegram.next_sent().text
    assert telegram.deliver(telegram.new_update(message=telegram.new_message(text="hi")), secret="wrong") == 403

    metrics = eventually(lambda: (text := service.http.get("/metrics").text) and 'channel="telegram"' in text and text)
    assert 'neogenesis_messages_total{channel="slack",kind="answer"} 1.0' in metrics
    assert 'neogenesis_messages_total{channel="telegram",kind="answer"} 1.0' in metrics


def test_a_catalogue_edit_is_picked_up_and_a_broken_one_refused(service, fakes):
    slack, _ = fakes
    recovery = service.intents / "recovery.yaml"
    recovery.write_text(recovery.read_text().replace("approximately 18 days", "approximately 19 days"))
    eventually(lambda: service.health()["catalogue"]["reloads"] == 1, timeout=120, what="the reload (a retraining)")
    service.slack.event(mention_event("<@U0NEOGENESIS> how long does the 5ml recovery last?"))
    assert "19 days" in slack.wait_for_post()["text"]

    (service.intents / "broken.yaml").write_text("intents:\n  - id: [oops\n")
    broken = eventually(lambda: service.health()["catalogue"]["last_error"], what="the refusal")
    assert "broken.yaml" in broken
    assert service.health()["status"] == "ok" and service.health()["catalogue"]["reloads"] == 1
    service.slack.event(mention_event("<@U0NEOGENESIS> how long does the 5ml recovery last?"))
    assert "19 days" in slack.wait_for_post(2)["text"]  # still the last good catalogue
    assert "catalogue edit refused" in service.output()


def test_sigterm_in_the_middle_of_traffic_loses_nothing(tmp_path, fakes):
    slack, telegram = fakes
    service = RunningService(tmp_path, slack, telegram)
    questions = 12
    for n in range(questions):
        assert service.slack.event(mention_event(f"<@U0NEOGENESIS> how long does a bottle of recovery last? ({n})")).status_code == 200
        assert telegram.deliver(telegram.new_update(message=telegram.new_message(text="what is recovery?"))) == 200
    assert service.stop() == 0  # SIGTERM right after the last acknowledgement
    assert len([p for p in slack.posts() if "18 days" in p["text"]]) == questions
    assert len([m for m in telegram.sent if "70%" in m.text]) == questions
    assert "web process stopped" in Path(service.log.name).read_text()


def test_the_worker_process_polls_telegram_sends_mail_and_stops_cleanly(tmp_path):
    """`python -m service worker`: Telegram long polling and hand-off email in one process; SIGTERM ends it
    after the work in hand, with exit code 0."""
    from tests.fakes.smtp import SmtpServer

    smtp = SmtpServer().start()
    with FakeTelegramAPI(TELEGRAM_TOKEN) as telegram:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "SLACK_", "TELEGRAM_", "SMTP", "DATABASE", "SUPPORT_"))}
        env.update(BOT_DATA_DIR=str(tmp_path), TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN, TELEGRAM_API_URL=telegram.base_url, SMTP_URL=smtp.url, BOT_LOG_LEVEL="INFO", BOT_DEFAULT_REGION="US")
        log = (tmp_path / "worker.log").open("w+")
        worker = subprocess.Popen([sys.executable, "-m", "service", "worker"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            telegram.wait_for("getUpdates", timeout=30)
            telegram.user_says("what is recovery?")
            assert "70%" in telegram.next_sent(timeout=15).text
            telegram.user_says("my parcel never arrived, please email me at jo@example.com")
            handoff = telegram.next_sent(timeout=15)
            assert "jo@example.com" in handoff.text
            assert smtp.mailbox.arrived.wait(timeout=15)
            code = re.search(r"NG-\d+", handoff.text).group()
            assert smtp.mailbox.mails[0]["Subject"].startswith(f"[{code}]")
        finally:
            worker.send_signal(signal.SIGTERM)
            returncode = worker.wait(timeout=40)
            smtp.stop()
            log.close()
    assert returncode == 0
    assert "worker process stopped" in (tmp_path / "worker.log").read_text()
