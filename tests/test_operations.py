"""What an operator meets when the deployment is wrong: each command stops with one line that names
the setting and the fix, exit status 1, no traceback; and the worker's own metrics count what it
answers. Every command runs as a person runs it, `python -m service ...` in a subprocess."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.fakes.smtp import free_port
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.test_telegram import TOKEN
from tests.polling import eventually

ROOT = Path(__file__).resolve().parent.parent
OTHER_TOKEN = "987654321:AAAnotherTokenThatIsNotTheBots_xyz"
OWN_SETTINGS = ("BOT_", "SLACK_", "TELEGRAM_", "SMTP", "DATABASE", "MAIL_", "SUPPORT_", "PORT", "WORKER_")


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(OWN_SETTINGS)}
    return {**clean, "PYTHONPATH": str(ROOT), "BOT_DATA_DIR": str(tmp_path / "data"), "WORKER_METRICS_PORT": "off", **settings}


def run(tmp_path: Path, *command: str, **settings: str) -> subprocess.CompletedProcess:
    """The command in a folder of its own (no .env), to its end; a server that starts is a failure."""
    return subprocess.run(
        [sys.executable, "-m", "service", *command], cwd=tmp_path, env=environment(tmp_path, **settings), capture_output=True, text=True, timeout=60
    )


def assert_one_clear_line(result: subprocess.CompletedProcess, *words: str) -> str:
    """At most 3 lines, no traceback, exit 1; the last line says what is wrong and names `words`."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert 1 <= len(lines) <= 3 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[-1], lines[-1]
    return lines[-1]


def unreachable_postgres() -> str:
    return f"postgresql://bot:hunter22secret@127.0.0.1:{free_port()}/bot"  # nothing listens there


@pytest.fixture
def telegram():
    with FakeTelegramAPI(TOKEN) as fake:
        yield fake


# -- a database that does not answer ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["tickets", "report", "worker", "serve"])
def test_a_database_that_does_not_answer_is_one_line_naming_database_url(command, tmp_path, telegram):
    url = unreachable_postgres()
    result = run(tmp_path, command, DATABASE_URL=url, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=telegram.base_url)
    line = assert_one_clear_line(result, "cannot reach the database", "DATABASE_URL", "Connection refused")
    assert "hunter22secret" not in result.stderr and "bot:****@127.0.0.1" in line


def test_a_sqlite_file_that_cannot_be_opened_is_one_line(tmp_path):
    result = run(tmp_path, "tickets", DATABASE_URL=f"sqlite:///{tmp_path}/no/such/folder/bot.sqlite3")
    assert_one_clear_line(result, "cannot reach the database", "unable to open database file", "DATABASE_URL")


# -- Telegram ----------------------------------------------------------------------------------------


def test_a_token_the_bot_api_refuses_stops_the_worker_with_one_line(tmp_path, telegram):
    result = run(tmp_path, "worker", TELEGRAM_BOT_TOKEN=OTHER_TOKEN, TELEGRAM_API_URL=telegram.base_url)
    line = assert_one_clear_line(result)
    assert line == f"neogenesis-bot: TELEGRAM_BOT_TOKEN was refused by the Bot API at {telegram.base_url}: copy the token from @BotFather again"
    assert OTHER_TOKEN.split(":")[1] not in result.stderr
    assert [call.method for call in telegram.calls] == ["getMe"]  # checked before anything else is started


def test_a_bot_api_out_of_reach_stops_the_worker_with_one_line(tmp_path):
    api = f"http://127.0.0.1:{free_port()}/bot"
    result = run(tmp_path, "worker", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api)
    assert_one_clear_line(result, f"cannot reach the Bot API at {api}", "TELEGRAM_API_URL")
    assert TOKEN.split(":")[1] not in result.stderr


def test_a_token_the_bot_api_refuses_stops_serve_in_webhook_mode_with_one_line(tmp_path, telegram):
    port = free_port()
    result = run(
        tmp_path, "serve", PORT=str(port), TELEGRAM_BOT_TOKEN=OTHER_TOKEN, TELEGRAM_API_URL=telegram.base_url,
        TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/webhook", TELEGRAM_WEBHOOK_SECRET="webhook-secret",
    )
    assert_one_clear_line(result, "TELEGRAM_BOT_TOKEN was refused by the Bot API")


def test_a_slack_token_slack_refuses_stops_serve_with_one_line(tmp_path):
    from tests.fakes.slack_api import FakeSlackAPI
    from tests.test_slack import SECRET as SLACK_SECRET, TOKEN as SLACK_TOKEN

    with FakeSlackAPI() as slack:
        slack.script("auth.test", body={"ok": False, "error": "token_revoked"})
        result = run(tmp_path, "serve", PORT=str(free_port()), SLACK_BOT_TOKEN=SLACK_TOKEN, SLACK_SIGNING_SECRET=SLACK_SECRET, SLACK_API_URL=slack.base_url)
    assert_one_clear_line(result, "SLACK_BOT_TOKEN was refused by Slack (token_revoked)", "OAuth & Permissions")
    assert SLACK_TOKEN not in result.stderr


# -- the mail server -----------------------------------------------------------------------------------


def test_a_mail_server_that_does_not_answer_stops_the_worker_with_one_line(tmp_path):
    result = run(tmp_path, "worker", SMTP_URL=f"smtp://bot:mailpass99@127.0.0.1:{free_port()}")
    line = assert_one_clear_line(result, "the mail server in SMTP_URL", "does not answer", "check the host and port in SMTP_URL")
    assert "mailpass99" not in result.stderr and "smtp://bot:****@127.0.0.1" in line


def test_a_mail_server_slow_to_answer_is_an_outage_the_worker_starts_through(tmp_path):
    from tests.fakes.smtp import SilentServer

    hung = SilentServer().start()
    log = (tmp_path / "worker.log").open("w+")
    worker = subprocess.Popen(
        [sys.executable, "-m", "service", "worker"], cwd=tmp_path, env=environment(tmp_path, SMTP_URL=hung.url), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        eventually(lambda: "worker ready" in Path(log.name).read_text(), timeout=30, what="the worker to be ready")
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=40)
        hung.stop()
    output = Path(log.name).read_text()
    assert re.search(r"WARNING .*the mail server in SMTP_URL \(.*\) does not answer .*: hand-off emails wait and are retried", output), output
    assert "Traceback" not in output and code == 0, output


# -- extras that were not installed ----------------------------------------------------------------


def hide_package(tmp_path: Path, name: str) -> str:
    """A PYTHONPATH on which `import name` fails as it does when the package is not installed."""
    shadow = tmp_path / "without" / name
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(f"raise ModuleNotFoundError(\"No module named '{name}'\", name={name!r})\n")
    return f"{shadow.parent}{os.pathsep}{ROOT}"


@pytest.mark.parametrize(
    "command, missing, settings, extra",
    [
        ("serve", "starlette", {"TELEGRAM_BOT_TOKEN": TOKEN}, "all"),
        ("serve", "uvicorn", {"TELEGRAM_BOT_TOKEN": TOKEN}, "all"),
        ("worker", "telegram", {"TELEGRAM_BOT_TOKEN": TOKEN}, "telegram"),
        ("tickets", "psycopg", {"DATABASE_URL": "postgres://bot:pw@127.0.0.1:5/bot"}, "postgres"),
    ],
)
def test_a_missing_extra_is_one_line_with_the_pip_install_that_brings_it(tmp_path, command, missing, settings, extra):
    result = run(tmp_path, command, PYTHONPATH=hide_package(tmp_path, missing), **settings)
    assert_one_clear_line(result, f"'{missing}'", "is not installed", f"pip install 'neogenesis-bot[{extra}]'", "pip install -r requirements.txt")


# -- settings that do less than meant ----------------------------------------------------------------


def test_an_http_webhook_url_is_refused_because_telegram_needs_https(tmp_path):
    result = run(tmp_path, "serve", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_URL="http://bot.example.com/telegram/webhook")
    assert_one_clear_line(result, "TELEGRAM_WEBHOOK_URL must be an https:// URL")


def test_a_support_channel_without_slack_tokens_is_warned_about(tmp_path):
    result = run(tmp_path, "config", SLACK_SUPPORT_CHANNEL="C0SUPPORT")
    assert result.returncode == 0
    assert "warning: SLACK_SUPPORT_CHANNEL is set but SLACK_BOT_TOKEN is not" in result.stdout


# -- the worker's own metrics ------------------------------------------------------------------------


def test_the_worker_serves_metrics_of_the_messages_it_answers_by_long_polling(tmp_path, telegram):
    port = free_port()
    log = (tmp_path / "worker.log").open("w+")
    worker = subprocess.Popen(
        [sys.executable, "-m", "service", "worker"],
        cwd=tmp_path,
        env=environment(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=telegram.base_url, WORKER_METRICS_PORT=str(port), BOT_LOG_LEVEL="INFO", BOT_DEFAULT_REGION="US"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for question in ("what is recovery?", "how long does the 5ml recovery last?", "hi", "can I talk to a person"):
            telegram.user_says(question)
            telegram.next_sent(timeout=30)
        metrics = eventually(lambda: (text := httpx.get(f"http://127.0.0.1:{port}/metrics").text) and "neogenesis_matching_seconds_count 4.0" in text and text, timeout=30, what="the worker metrics")
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=40)
    log.seek(0)
    output = log.read()
    answered = sum(float(n) for n in re.findall(r'^neogenesis_messages_total\{channel="telegram",kind="\w+"\} (\S+)$', metrics, re.M))
    assert answered == 4
    assert re.search(r'^neogenesis_escalations_total\{reason="\w+",region="US"\} 1\.0$', metrics, re.M)
    assert f"worker metrics on 0.0.0.0:{port}/metrics" in output and "worker ready" in output
    assert code == 0, output


def test_a_second_worker_on_the_same_metrics_port_runs_without_its_own_metrics(tmp_path):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        log = (tmp_path / "worker.log").open("w+")
        worker = subprocess.Popen(
            [sys.executable, "-m", "service", "worker"], cwd=tmp_path, env=environment(tmp_path, WORKER_METRICS_PORT=str(port)), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            eventually(lambda: "worker ready" in Path(log.name).read_text(), timeout=30, what="the worker to be ready")
        finally:
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(timeout=40)
    output = Path(log.name).read_text()
    assert f"worker metrics are off: cannot listen on WORKER_METRICS_PORT {port}" in output
    assert code == 0, output


