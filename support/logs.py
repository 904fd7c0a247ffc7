"""Logging: one readable key=value line per event, with email addresses, phone numbers and card
numbers masked (people type them into hand-offs; logs are not where they belong), in the message and
in tracebacks alike. Every record is one line: control characters in it (a newline a customer typed,
a traceback's own line breaks) are escaped, so no text can forge a line of its own."""

from __future__ import annotations

import logging

from support.contact import mask
from support.outages import QuietOutages
from support.printable import one_line


MAX_MESSAGE_CHARS = 10_000  # what a log line keeps of a message; masking and escaping look at no more
MAX_TRACEBACK_CHARS = 50_000


class MaskContacts(logging.Filter):
    """Masks emails, phone numbers and card numbers in every record's message, arguments and
    traceback, and escapes their control characters."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = one_line(mask(clipped(record.getMessage(), MAX_MESSAGE_CHARS))), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = one_line(mask(clipped(record.exc_text, MAX_TRACEBACK_CHARS)))
        if record.stack_info:
            record.stack_info = one_line(mask(clipped(record.stack_info, MAX_TRACEBACK_CHARS)))
        return True


class OneLineFormatter(logging.Formatter):
    """The standard format, with the traceback on the record's own line (after " | ") instead of the
    lines below it: the filter has already escaped the line breaks inside it."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", " | ")


def clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters)"


class HideSecrets(logging.Filter):
    """Masks secret values (tokens, passwords) wherever they appear: httpx logs request URLs, and a
    Telegram bot token is part of every one; a traceback may quote a connection string."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            record.msg, record.args = self._mask(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._mask(record.exc_text)
        return True

    def _mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "****")
        return text


def hide_secrets(*secrets: str | None) -> None:
    """Mask these values in every log line from now on (first, before anything rewrites the line)."""
    values = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)
    if values:
        for handler in logging.getLogger().handlers:
            handler.filters.insert(0, HideSecrets(values))


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr, contacts masked. Inside a host that already logs (a test runner, an embedding
    app) its handlers stay and only get the masking."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(OneLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    for handler in root.handlers:
        if not any(isinstance(f, QuietOutages) for f in handler.filters):
            handler.addFilter(QuietOutages())  # first: a dropped record costs no masking
        if not any(isinstance(f, MaskContacts) for f in handler.filters):
            handler.addFilter(MaskContacts())
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "urllib3", "aiosmtpd", "mail.log"):  # request lines can carry tokens
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for verifier in ("slack_bolt.AsyncRequestVerification", "slack_bolt.RequestVerification"):
        # Bolt logs the body of a request whose signature fails at INFO; adapters.guard turns those
        # away first, and a stray one must not reach the log either. A filter, as Bolt resets levels.
        if not logging.getLogger(verifier).filters:
            logging.getLogger(verifier).addFilter(lambda record: record.levelno >= logging.WARNING)


def fields(**values: object) -> str:
    """key=value pairs for a structured log line; values with spaces are quoted."""
    parts = []
    for key, value in values.items():
        text = "-" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))
        parts.append(f'{key}="{text}"' if " " in text or not text else f"{key}={text}")
    return " ".join(parts)
