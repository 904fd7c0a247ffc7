"""Logging: one readable key=value line per event, with email addresses and phone numbers masked
(people type them into hand-offs; logs are not where they belong)."""

from __future__ import annotations

import logging

from support.contact import mask


class MaskContacts(logging.Filter):
    """Masks emails and phone numbers in every record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = ()
        record.msg = mask(str(record.msg))
        return True


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
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    for handler in root.handlers:
        if not any(isinstance(f, MaskContacts) for f in handler.filters):
            handler.addFilter(MaskContacts())
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "urllib3", "aiosmtpd", "mail.log"):  # request lines can carry tokens
        logging.getLogger(noisy).setLevel(logging.WARNING)


def fields(**values: object) -> str:
    """key=value pairs for a structured log line; values with spaces are quoted."""
    parts = []
    for key, value in values.items():
        text = "-" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))
        parts.append(f'{key}="{text}"' if " " in text or not text else f"{key}={text}")
    return " ".join(parts)
