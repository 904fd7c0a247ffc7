"""`neogenesis-bot worker`: the background process. It sends hand-off deliveries (email, the Slack
support channel, relays to customers), does Telegram long polling when no webhook is set, keeps the
catalogue current, and forgets conversation turns older than BOT_TURN_RETENTION_DAYS. On SIGTERM it
finishes the delivery and the Telegram updates in hand, then exits."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.settings import Settings
from service.reload import CatalogueReloader
from support.delivery import senders_for
from support.desk import SupportDesk
from support.outbox import DeliveryWorker, Outbox

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 3600


async def housekeeping(desk: SupportDesk, retention_days: int, stop: asyncio.Event) -> None:
    """Prune old turns, handled-event ids and rate windows, hourly."""
    while not stop.is_set():
        removed = await asyncio.to_thread(desk.state.prune, retention_days)
        if any(removed.values()):
            log.info("housekeeping removed %s", removed)
        try:
            await asyncio.wait_for(stop.wait(), timeout=HOUSEKEEPING_SECONDS)
        except asyncio.TimeoutError:
            pass


async def work(settings: Settings, stop: asyncio.Event) -> None:
    desk = SupportDesk.from_settings(settings)
    lease = int(settings.get("BOT_DELIVERY_LEASE_SECONDS") or 120)
    worker = DeliveryWorker(Outbox(desk.state.engine, lease_seconds=lease), senders_for(settings, desk))
    reloader = CatalogueReloader(desk)
    telegram = None
    if settings.get("TELEGRAM_BOT_TOKEN"):
        from adapters import telegram as telegram_adapter

        if not telegram_adapter.webhook_url_of(settings):
            telegram = telegram_adapter.build_application(settings, desk)
            await telegram_adapter.start(telegram)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(reloader.reload("SIGHUP")))
    retention = int(settings.get("BOT_TURN_RETENTION_DAYS") or 90)
    try:
        await asyncio.gather(worker.run(stop), reloader.watch(stop), housekeeping(desk, retention, stop))
    finally:
        if telegram is not None:
            await telegram_adapter.stop(telegram)  # the updates in hand are answered first
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
