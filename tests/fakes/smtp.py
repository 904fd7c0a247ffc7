"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every mail it accepts, for hand-off tests,
and a hung one (`SilentServer`) that takes connections and never answers.

A test can hold mails at the server (`mailbox.hold()`): each sender then waits, mid-send, until the
test sees as many waiting as it wants (`mailbox.wait_until_held(3)`) and lets them go (`release()`).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class Mailbox:
    """aiosmtpd handler: every accepted mail, parsed; `arrived` is set on each delivery."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.arrived = threading.Event()
        self.held = 0  # senders waiting mid-send while the mailbox is held
        self._open = threading.Event()
        self._open.set()
        self._changed = threading.Condition()

    def hold(self) -> None:
        """From now on each mail waits at the end of its DATA, unanswered, until `release()`."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def wait_until_held(self, count: int, timeout: float = 60) -> None:
        """Wait until `count` mails are waiting at once: as many senders mid-send at the same moment."""
        with self._changed:
            assert self._changed.wait_for(lambda: self.held >= count, timeout), f"{self.held} of {count} senders arrived"

    async def handle_DATA(self, server, session, envelope) -> str:
        if not self._open.is_set():
            with self._changed:
                self.held += 1
                self._changed.notify_all()
            await asyncio.get_running_loop().run_in_executor(None, self._open.wait, 60)
            with self._changed:
                self.held -= 1
        with self._changed:
            self.mails.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
            self.recipients.append(list(envelope.rcpt_tos))
            self._changed.notify_all()
        self.arrived.set()
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """Start and stop a real SMTP server on a fixed loopback port (so it can be 'down for a while')."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        self.mailbox.release()
        if self._controller:
            self._controller.stop()
            self._controller = None


class SilentServer:
    """A hung mail server: it takes each connection and never says a word, so a client waits for the
    greeting until it gives up. `connected` is set once a client is waiting."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.connected = threading.Event()
        self._clients: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, name="silent-smtp", daemon=True)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SilentServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        try:
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass
        self._socket.close()
        for client in self._clients:
            client.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._socket.accept()
            except OSError:  # closed by stop()
                return
            self._clients.append(client)
            self.connected.set()
