"""`neogenesis-bot worker`: the background process. It sends hand-off deliveries (email, the Slack
support channel, relays to customers), does Telegram long polling when no webhook is set (one worker
at a time), keeps the catalogue current, and forgets conversation turns older than
BOT_TURN_RETENTION_DAYS. On SIGTERM it finishes the delivery and the Telegram updates in hand, then
exits."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.settings import Settings
from service.reload import CatalogueReloader
from service.worker_metrics import serve_worker_metrics
from support import outages
from support.delivery import senders_for
from support.desk import SupportDesk
from support.journal import SentJournal
from support.outbox import DeliveryWorker, Outbox

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 3600
POLLING_LEASE = "telegram-polling"
POLLING_LEASE_SECONDS = 30.0


async def housekeeping(desk: SupportDesk, retention_days: int, stop: asyncio.Event, journal: SentJournal | None = None) -> None:
    """Prune old turns, handled-event ids and rate windows, hourly."""
    while not stop.is_set():
        try:
            removed = await asyncio.to_thread(desk.state.prune, retention_days)
        except Exception as error:
            if not outages.is_outage(error):
                raise
            removed = {}  # the database is away (logged by support.outages): next time
        if journal is not None:
            await asyncio.to_thread(journal.prune)
        if any(removed.values()):
            log.info("housekeeping removed %s", removed)
        try:
            await asyncio.wait_for(stop.wait(), timeout=HOUSEKEEPING_SECONDS)
        except asyncio.TimeoutError:
            pass


async def poll_telegram(settings: Settings, desk: SupportDesk, holder: str, stop: asyncio.Event) -> None:
    """Long-poll Telegram while this worker holds the polling lease. The Bot API allows one poller
    per bot, so with several workers one polls and the others stand by, taking over within
    POLLING_LEASE_SECONDS if it stops."""
    from adapters import telegram as telegram_adapter

    application = None
    try:
        while not stop.is_set():
            try:
                holding = await asyncio.to_thread(desk.state.hold_lease, POLLING_LEASE, holder, POLLING_LEASE_SECONDS)
            except Exception as error:
                if not outages.is_outage(error):
                    raise
                holding = application is not None  # the database is away: carry on as before until it is back
            if holding and application is None:
                application = telegram_adapter.build_application(settings, desk)
                await telegram_adapter.start(application)
            elif not holding and application is not None:
                log.warning("another worker took over Telegram polling")
                await telegram_adapter.stop(application)
                application = None
            try:
                await asyncio.wait_for(stop.wait(), timeout=POLLING_LEASE_SECONDS / 3)
            except asyncio.TimeoutError:
                pass
    finally:
        if application is not None:
            await telegram_adapter.stop(application)  # the updates in hand are answered first
            await asyncio.to_thread(desk.state.release_lease, POLLING_LEASE, holder)


async def work(settings: Settings, stop: asyncio.Event) -> None:
    desk = SupportDesk.from_settings(settings)
    lease = int(settings.get("BOT_DELIVERY_LEASE_SECONDS") or 120)
    database = desk.state.engine.url.render_as_string(hide_password=True)
    journal = SentJournal.in_folder(settings.get("BOT_DATA_DIR"), database)  # sends survive a database outage
    worker = DeliveryWorker(Outbox(desk.state.engine, lease_seconds=lease), senders_for(settings, desk), journal=journal)
    reloader = CatalogueReloader(desk)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(reloader.reload("SIGHUP")))
    retention = int(settings.get("BOT_TURN_RETENTION_DAYS") or 90)
    jobs = [worker.run(stop), reloader.watch(stop), housekeeping(desk, retention, stop, journal)]
    polling = bool(settings.get("TELEGRAM_BOT_TOKEN") and not settings.get("TELEGRAM_WEBHOOK_URL"))
    if polling:
        jobs.append(poll_telegram(settings, desk, worker.name, stop))
    metrics_server = serve_worker_metrics(settings)
    log.info(
        "worker ready: sends %s%s",
        ", ".join(sorted(worker.senders)) or "nothing (no SMTP_URL, Slack or Telegram set)",
        "; long-polls Telegram" if polling else "",
    )
    try:
        await asyncio.gather(*jobs)
    finally:
        if metrics_server is not None:
            await asyncio.to_thread(metrics_server.shutdown)
        log.info("worker process stopped")


def main(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """Run until SIGTERM or SIGINT (or `stop` is set)."""

    async def run() -> None:
        done = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, done.set)
        await work(settings, done)

    asyncio.run(run())
    return 0
