"""The README's local run, as a new user follows it: a `.env` holding only the Telegram token (here
pointed at the fake Bot API), `honcho start`, then /healthz on the port the README names, a message
answered by the worker's long polling, and the worker's metrics counting it. And when the worker
cannot start, honcho stops both processes, with the worker's one line saying why."""

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
from honcho.command import DEFAULTS as HONCHO_DEFAULTS

from tests.fakes.smtp import free_port
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.test_telegram import TOKEN
from tests.polling import eventually

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # where pip put neogenesis-bot and honcho
OWN_SETTINGS = ("BOT_", "SLACK_", "TELEGRAM_", "SMTP", "DATABASE", "MAIL_", "SUPPORT_", "PORT", "WORKER_")


def readme_local_run() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme[readme.index("To run them locally as a platform would") :][:1500]


def test_the_readme_names_the_port_honcho_gives_the_web_process():
    local_run = readme_local_run()
    assert "honcho start" in local_run
    named = re.search(r"curl localhost:(\d+)/healthz", local_run)
    assert named and named.group(1) == HONCHO_DEFAULTS["port"] == "5000"


class Honcho:
    """`honcho start` in a folder holding the Procfile and a .env, as the README has it."""

    def __init__(self, folder: Path, dotenv: dict[str, str], base_port: int) -> None:
        shutil.copy(ROOT / "Procfile", folder / "Procfile")
        (folder / ".env").write_text("".join(f"{name}={value}\n" for name, value in dotenv.items()))
        clean = {k: v for k, v in os.environ.items() if not k.startswith(OWN_SETTINGS)}
        env = {**clean, "PATH": f"{BIN}{os.pathsep}{clean.get('PATH', '')}"}
        self.log = (folder / "honcho.log").open("w+")
        # -p: the README's port is honcho's default, 5000; a test takes a free one so runs never collide
        self.process = subprocess.Popen(
            [str(BIN / "honcho"), "start", "-p", str(base_port)], cwd=folder, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()

    def wait_for(self, check, what: str, timeout: float = 60.0):
        return eventually(check, timeout, what, details=self.output)

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return None


@pytest.fixture
def telegram():
    with FakeTelegramAPI(TOKEN) as fake:
        yield fake


def test_a_first_local_run_serves_health_on_the_web_port_and_answers_telegram_from_the_worker(tmp_path, telegram):
    web_port, metrics_port = free_port(), free_port()
    honcho = Honcho(
        tmp_path,
        {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": telegram.base_url, "BOT_DATA_DIR": str(tmp_path / "data"), "WORKER_METRICS_PORT": str(metrics_port)},
        web_port,
    )
    try:
        health = honcho.wait_for(lambda: (answer := httpx.get(f"http://localhost:{web_port}/healthz")).status_code == 200 and answer.json(), "/healthz")
        assert health["status"] == "ok" and health["platforms"]["telegram"] == "polling in the worker"
        honcho.wait_for(lambda: "is taking updates (long polling)" in honcho.output(), "the worker to poll Telegram")
        telegram.user_says("what is recovery?")
        assert "70%" in telegram.next_sent(timeout=20).text
        metrics = honcho.wait_for(lambda: (text := httpx.get(f"http://localhost:{metrics_port}/metrics").text) and "neogenesis_matching_seconds_count 1.0" in text, "the worker's metrics")
        assert metrics
    finally:
        code = honcho.stop()
    output = honcho.output()
    assert re.search(r"web\.1\s+\| .*web process listening on 0\.0\.0\.0:%d" % web_port, output), output
    assert re.search(r"worker\.1\s+\| .*worker ready", output), output
    assert "web process stopped" in output and "worker process stopped" in output, output  # both finished cleanly
    assert "Traceback" not in output and code is not None, output


def test_a_worker_that_cannot_start_stops_both_processes_and_says_why_in_one_line(tmp_path, telegram):
    refused = "987654321:AAAnotherTokenThatIsNotTheBots_xyz"
    honcho = Honcho(tmp_path, {"TELEGRAM_BOT_TOKEN": refused, "TELEGRAM_API_URL": telegram.base_url, "BOT_DATA_DIR": str(tmp_path / "data")}, free_port())
    code = honcho.wait_for(lambda: honcho.process.poll() is not None, "honcho to stop both processes") and honcho.stop()
    output = honcho.output()
    worker_lines = [line for line in output.splitlines() if re.search(r"worker\.1\s+\|", line)]
    said = [line for line in worker_lines if "neogenesis-bot:" in line]
    assert len(said) == 1 and said[0].endswith(f"TELEGRAM_BOT_TOKEN was refused by the Bot API at {telegram.base_url}: copy the token from @BotFather again"), output
    assert re.search(r"web\.1\s+\| .*(stopped|exited)", output) or "sending SIGTERM to web.1" in output, output
    assert "Traceback" not in output and code != 0, output
