"""uvicorn as our processes run it: on SIGTERM or SIGINT it stops taking connections, lets the
requests in hand finish (and, through the app's lifespan, the work they started), then returns, so
the process exits 0. uvicorn's own handling re-raises the signal afterwards, ending the process before
whatever runs after the server (the bot finishing its updates) could."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from typing import Iterator

import uvicorn


class GracefulServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stop)
        yield

    def stop(self) -> None:
        self.should_exit = True


def serve(app, sock: socket.socket, lifespan: str = "on", grace_seconds: int = 20) -> None:
    """Serve `app` on an already listening socket until SIGTERM/SIGINT."""
    config = uvicorn.Config(app, lifespan=lifespan, log_config=None, access_log=False, timeout_graceful_shutdown=grace_seconds)
    asyncio.run(GracefulServer(config).serve(sockets=[sock]))
