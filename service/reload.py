"""Live catalogue updates: when intents/ changes (or on SIGHUP) the catalogue is loaded and checked
again; a good one replaces the one serving, a broken one is refused with its problems logged."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bot.core import SupportBot
from bot.loading import CatalogueError, load_catalogue
from support.desk import SupportDesk

log = logging.getLogger(__name__)


@dataclass
class ReloadStatus:
    loaded_at: datetime
    intents: int
    last_error: str | None = None
    reloads: int = 0


class CatalogueReloader:
    """Watches the desk's catalogue folder and swaps in a new bot when a valid edit lands."""

    def __init__(self, desk: SupportDesk, interval: float = 2.0) -> None:
        self.desk = desk
        self.folder = Path(desk.bot.catalogue.directory)
        self.interval = interval
        self.status = ReloadStatus(datetime.now(timezone.utc), len(desk.bot.catalogue.intents))
        self._seen = self._fingerprint()
        self._lock = asyncio.Lock()

    def _fingerprint(self) -> tuple:
        try:
            return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in self.folder.glob("*.yaml")))
        except OSError:
            return ()

    async def reload(self, why: str) -> bool:
        """Load the catalogue again; True if the new one now serves."""
        async with self._lock:
            self._seen = self._fingerprint()
            old = self.desk.bot
            try:
                new = await asyncio.to_thread(lambda: SupportBot(load_catalogue(self.folder), old.default_region))
            except CatalogueError as error:
                self.status.last_error = "; ".join(error.problems)
                log.error("catalogue edit refused (%s), still serving the previous one: %s", why, self.status.last_error)
                return False
            self.desk.bot = new
            self.status = ReloadStatus(datetime.now(timezone.utc), len(new.catalogue.intents), None, self.status.reloads + 1)
            log.info("catalogue reloaded (%s): %d intents", why, len(new.catalogue.intents))
            return True

    async def watch(self, stop: asyncio.Event) -> None:
        """Reload whenever the folder's files change, until `stop` is set."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
            except asyncio.TimeoutError:
                if self._fingerprint() != self._seen:
                    await self.reload("files changed")
