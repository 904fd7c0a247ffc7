"""The deployment as Heroku's Python buildpack builds it: the repository's files (as a clone has them)
in a folder of their own, a fresh virtual environment, `pip install -r requirements.txt`, then each
Procfile command run by a shell with $PORT set, on SQLite, against the fake Telegram Bot API: `web`
answers /healthz 200 and `worker` says it is ready and answers a Telegram message by long polling.

This builds and installs the project for real (about a minute, from the local package index)."""

from __future__ import annotations

import os
import shutil
import signal
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
OWN_SETTINGS = ("BOT_", "SLACK_", "TELEGRAM_", "SMTP", "DATABASE", "MAIL_", "SUPPORT_", "PORT", "WORKER_", "VIRTUAL_ENV", "PYTHON")


def clone(target: Path) -> Path:
    """The files a fresh clone has (tracked, plus new files not yet committed and not ignored)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the clone the buildpack would get cannot be made")
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def procfile(app: Path) -> dict[str, str]:
    lines = (app / "Procfile").read_text().splitlines()
    return dict((name.strip(), command.strip()) for name, _, command in (line.partition(":") for line in lines if line.strip()))


class Process:
    """A Procfile command, run by a shell as the platform runs it, its output in a file."""

    def __init__(self, command: str, app: Path, env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self.log = log.open("w")
        self.process = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=app, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text()

    def wait_for(self, check, what: str, timeout: float = 60.0):
        return eventually(check, timeout, what, details=self.output, running=lambda: self.process.poll() is None)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=40)
        finally:
            self.log.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """(the app folder, its virtual environment's bin folder), built as the buildpack does."""
    base = tmp_path_factory.mktemp("deploy")
    app = clone(base / "app")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(OWN_SETTINGS)}
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "-r", "requirements.txt"], cwd=app, env=clean, capture_output=True, text=True, timeout=900
    )
    assert install.returncode == 0, install.stdout + install.stderr
    hook = subprocess.run(  # the buildpack runs bin/post_compile next, with the new environment first on PATH
        ["bash", "bin/post_compile"], cwd=app, env={**clean, "PATH": f"{venv / 'bin'}{os.pathsep}{clean.get('PATH', '')}"},
        capture_output=True, text=True, timeout=300,
    )
    assert hook.returncode == 0 and "intent model for" in hook.stdout, hook.stdout + hook.stderr
    return app, venv / "bin"


def test_the_repository_declares_its_python_and_its_dependency_file():
    assert (ROOT / ".python-version").read_text().strip() == "3.11"
    requirements = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert requirements == [".[all]"]  # the project itself, with every extra the Procfile needs


def test_the_buildpack_install_brings_every_extra_the_procfile_needs(built):
    _, bin_folder = built
    imported = subprocess.run(
        [str(bin_folder / "python"), "-c", "import starlette, uvicorn, psycopg, telegram, slack_bolt, aiohttp; print('ok')"],
        capture_output=True, text=True, timeout=120,
    )
    assert imported.stdout.strip() == "ok", imported.stderr


def test_web_and_worker_start_from_the_procfile_as_the_platform_runs_them(built, tmp_path):
    app, bin_folder = built
    commands = procfile(app)
    assert set(commands) == {"web", "worker"}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(OWN_SETTINGS)}
    with FakeTelegramAPI(TOKEN) as telegram:
        env = {
            **clean,
            "PATH": f"{bin_folder}{os.pathsep}{clean.get('PATH', '')}",
            "BOT_DATA_DIR": str(tmp_path / "data"),  # SQLite, shared by both processes
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram.base_url,
        }
        web_port, metrics_port = free_port(), free_port()
        web = Process(commands["web"], app, {**env, "PORT": str(web_port)}, tmp_path / "web.log")
        worker = Process(commands["worker"], app, {**env, "PORT": str(free_port()), "WORKER_METRICS_PORT": str(metrics_port)}, tmp_path / "worker.log")
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{web_port}", timeout=5) as http:
                health = web.wait_for(lambda: (answer := http.get("/healthz")).status_code == 200 and answer.json(), "web to answer /healthz")
            assert health["status"] == "ok" and health["database"] == "ok"
            assert health["catalogue"]["intents"] > 100  # the installed package carries its catalogue
            assert health["platforms"]["telegram"] == "polling in the worker"
            assert "_intents/.model/intent-model-" in web.output() and "intent model trained" not in web.output()  # the build trained it

            worker.wait_for(lambda: "worker ready" in worker.output(), "the worker to say it is ready")
            worker.wait_for(lambda: "is taking updates (long polling)" in worker.output(), "the worker to long-poll Telegram")
            telegram.user_says("how long does the 5ml recovery last?")
            assert "18 days" in telegram.next_sent(timeout=20).text
        finally:
            codes = {"web": web.stop(), "worker": worker.stop()}
    assert codes == {"web": 0, "worker": 0}, web.output() + worker.output()
    assert "Traceback" not in web.output() + worker.output()
