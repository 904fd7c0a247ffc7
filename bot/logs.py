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
