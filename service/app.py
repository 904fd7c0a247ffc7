"""`neogenesis-bot serve`: the one web process. One Starlette app under uvicorn on $PORT hosts

    POST /slack/events        Slack's Events API (events, slash commands, button clicks)
    POST <webhook path>       Telegram's webhook (with TELEGRAM_WEBHOOK_URL)
    GET  /healthz             catalogue, database and delivery backlog; 503 when not healthy
    GET  /metrics             Prometheus text

Whichever of Slack and Telegram is configured is served; with Telegram but no webhook URL, the
worker process does the long polling. The catalogue is reloaded when intents/ changes or on SIGHUP.
On SIGTERM the server stops taking requests, finishes the ones in hand and the work they started
(Slack answers run after Slack's acknowledgement; Telegram updates wait in a queue), then exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from typing import AsyncIterator
from urllib.parse import urlsplit

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.settings import Settings, SettingsError
from service.reload import CatalogueReloader
from support import metrics, outages
from support.desk import SupportDesk
from support.outbox import Outbox

log = logging.getLogger(__name__)

GRACE_SECONDS = 20.0  # what SIGTERM allows for work in hand (Heroku gives 30 s in all)


def configured_platforms(settings: Settings) -> tuple[bool, bool]:
    """(Slack, Telegram): which platforms the settings turn on; neither is a start-up error."""
    slack = bool(settings.get("SLACK_BOT_TOKEN"))
    telegram = bool(settings.get("TELEGRAM_BOT_TOKEN"))
    if not (slack or telegram):
        raise SettingsError(
            "neither Slack nor Telegram is configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, "
            "or TELEGRAM_BOT_TOKEN (see neogenesis-bot config)"
        )
    if slack:
        settings.require("SLACK_SIGNING_SECRET")
    return slack, telegram


class Service:
    """The web process: the desk, the platform endpoints, health and metrics, catalogue reloads."""

    def __init__(self, settings: Settings, desk: SupportDesk | None = None) -> None:
        self.settings = settings
        slack, telegram = configured_platforms(settings)
        self.desk = desk or SupportDesk.from_settings(settings)
        self.reloader = CatalogueReloader(self.desk)
        self.outbox = Outbox(self.desk.state.engine)
        self.routes = [Route("/healthz", self.health), Route("/metrics", self.metrics)]
        self.slack = self.telegram = None
        if slack:
            from adapters.slack import SlackAdapter

            self.slack = SlackAdapter.from_settings(settings, desk=self.desk)
            self.routes += self.slack.routes()
        if telegram:
            from adapters import telegram as telegram_adapter

            self.telegram_adapter = telegram_adapter
            self.webhook_url = telegram_adapter.webhook_url_of(settings)
            if self.webhook_url:  # without one, the worker polls Telegram
                secret = telegram_adapter.webhook_secret_of(settings)
                self.telegram = telegram_adapter.build_application(settings, self.desk)
                self.routes += telegram_adapter.webhook_routes(self.telegram, secret, urlsplit(self.webhook_url).path)
        self.app = Starlette(routes=self.routes, lifespan=self.lifespan)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reloader.reload("SIGHUP")))
        watcher = asyncio.create_task(self.reloader.watch(stop), name="catalogue-watch")
        if self.slack:
            await self.slack.startup()
            await self.slack.open_session()
        if self.telegram:
            await self.telegram_adapter.start(self.telegram, self.webhook_url, self.settings.get("TELEGRAM_WEBHOOK_SECRET"))
        log.info("serving %s", ", ".join(r.path for r in self.routes))
        try:
            yield
        finally:
            stop.set()
            if self.telegram:
                await self.telegram_adapter.stop(self.telegram)  # handles the updates already queued
            await watcher
            await finish_work_in_hand(GRACE_SECONDS)
            if self.slack:
                await self.slack.close_session()  # after the answers in hand are posted
            log.info("web process stopped")

    async def health(self, request: Request) -> Response:
        """Healthy when the catalogue serves and the database answers; the backlog is reported."""
        status = self.reloader.status
        report: dict = {
            "catalogue": {"intents": status.intents, "loaded_at": status.loaded_at.isoformat(), "reloads": status.reloads, "last_error": status.last_error},
            "platforms": {"slack": self.slack is not None, "telegram": "webhook" if self.telegram else ("polling in the worker" if self.settings.get("TELEGRAM_BOT_TOKEN") else False)},
        }
        healthy = status.intents > 0
        try:
            report["database"] = await asyncio.to_thread(self._database_ok)
            report["deliveries"] = await asyncio.to_thread(self.outbox.backlog)
        except Exception as error:  # a database that does not answer is the unhealthy case
            if not outages.is_outage(error):  # an outage is logged where it starts and ends
                log.error("health check: the database does not answer: %s", type(error).__name__)
            report["database"], healthy = "unavailable", False
        report["status"] = "ok" if healthy else "unhealthy"
        return JSONResponse(report, status_code=200 if healthy else 503)

    def _database_ok(self) -> str:
        with self.desk.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return "ok"

    async def metrics(self, request: Request) -> Response:
        try:
            backlog = await asyncio.to_thread(self.outbox.backlog)
        except Exception:
            backlog = None
        return Response(metrics.exposition(backlog), media_type="text/plain; version=0.0.4; charset=utf-8")


async def finish_work_in_hand(timeout: float) -> None:
    """Wait for the tasks requests started (Slack answers after the acknowledgement), up to `timeout`."""
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current and not _is_the_servers(task)]
    if pending:
        done, still = await asyncio.wait(pending, timeout=timeout)
        if still:
            log.warning("%d task(s) still running after %.0f s at shutdown", len(still), timeout)


def _is_the_servers(task: asyncio.Task) -> bool:
    """uvicorn's own tasks, which are waiting for this shutdown to finish."""
    code = getattr(task.get_coro(), "cr_code", None)
    return code is None or "uvicorn" in code.co_filename


def main(settings: Settings) -> int:
    """Run the web process on $PORT until SIGTERM."""
    from adapters.server import serve

    service = Service(settings)
    port = int(settings.get("PORT") or 8000)
    try:
        listening = socket.create_server(("0.0.0.0", port))
    except OSError as error:
        raise SettingsError(f"cannot listen on PORT {port}: {error.strerror}") from None
    log.info("web process listening on 0.0.0.0:%d", port)
    serve(service.app, listening, grace_seconds=int(GRACE_SECONDS))
    return 0
