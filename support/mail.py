"""Hand-off emails: composed when a ticket opens, sent by the delivery worker over SMTP.

`SMTP_URL` is smtp://user:pass@host:587 (STARTTLS when the server offers it; add ?starttls=required
to insist) or smtps://user:pass@host:465 (TLS from the first byte). The Message-ID is derived from
the delivery's stable key, so a retry after a crash mid-send is recognisably the same mail.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Iterator
from urllib.parse import parse_qs, unquote, urlsplit

from support.contact import redact_cards
from support.outbox import Delivery, DeliveryFailed

MESSAGE_ID_DOMAIN = "neogenesis-bot"


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    require_starttls: bool = False
    timeout: float = 20.0

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:pass@host:587 or smtps://user:pass@host:465")
        implicit = parts.scheme == "smtps"
        options = parse_qs(parts.query)
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 587),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            require_starttls=options.get("starttls", [""])[0] == "required",
        )

    def send(self, message: EmailMessage) -> None:
        """Send one message; raises DeliveryFailed (permanent for a refused recipient or login)."""
        try:
            with self._session() as client:
                client.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPAuthenticationError, smtplib.SMTPSenderRefused) as error:
            raise DeliveryFailed(f"mail refused: {_summary(error)}", permanent=True) from error
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryFailed(f"mail server unavailable: {_summary(error)}") from error

    def check(self) -> None:
        """Connect and log in, sending nothing: raises DeliveryFailed (permanent for a refused login)."""
        try:
            with self._session():
                pass
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryFailed(f"refused the login ({_summary(error)})", permanent=True) from error
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryFailed(f"does not answer ({_summary(error)})") from error

    @contextlib.contextmanager
    def _session(self) -> Iterator[smtplib.SMTP]:
        """A connection, encrypted when the server allows (or must), logged in when configured."""
        if self.implicit_tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            client.ehlo()
            if not self.implicit_tls and client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            elif self.require_starttls and not self.implicit_tls:
                raise DeliveryFailed("the mail server does not offer STARTTLS", permanent=True)
            if self.username:
                client.login(self.username, self.password or "")
            yield client


def compose(payload: dict, key: str, sender: str) -> EmailMessage:
    """The email for an `email` delivery's payload."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Message-ID"] = f"<{key}@{MESSAGE_ID_DOMAIN}>"
    message["Date"] = formatdate(localtime=False)
    message["X-NeoGenesis-Ticket"] = payload["ticket"]
    if payload.get("reply_to"):
        message["Reply-To"] = payload["reply_to"]
    message.set_content(redact_cards(payload["body"]))  # a last check: no card number leaves by mail
    return message


class EmailSender:
    """Sends `email` deliveries through one SMTP server."""

    def __init__(self, server: SmtpServer, sender: str) -> None:
        self.server = server
        self.sender = sender

    def __call__(self, delivery: Delivery) -> None:
        self.server.send(compose(delivery.payload, delivery.key, self.sender))


def _summary(error: Exception) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__
