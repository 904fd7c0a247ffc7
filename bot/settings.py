"""Settings from the environment: each one declared once, with its help text, default and check.

`Settings.from_env()` reads them all and reports every missing or malformed one in one message.
Secrets are marked so `neogenesis-bot config` and the logs show them masked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Mapping

REGIONS = ("AU", "US")


def _region(value: str) -> str | None:
    return None if value.upper() in REGIONS else f"must be one of {', '.join(REGIONS)}"


def _log_level(value: str) -> str | None:
    return None if value.upper() in ("DEBUG", "INFO", "WARNING", "ERROR") else "must be DEBUG, INFO, WARNING or ERROR"


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
)


class SettingsError(Exception):
    """Some settings are missing or malformed; the message names each of them."""


@dataclass(frozen=True)
class Settings:
    values: Mapping[str, str | None]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, required: tuple[str, ...] = ()) -> Settings:
        """Every declared setting from `env` (default os.environ); `required` ones must be set."""
        env = os.environ if env is None else env
        values: dict[str, str | None] = {}
        problems = []
        for setting in SETTINGS:
            raw = env.get(setting.name, "").strip() or None
            value = raw if raw is not None else setting.default
            if value is None and setting.name in required:
                problems.append(f"{setting.name} is not set ({setting.help})")
            elif raw is not None and setting.check and (problem := setting.check(raw)):
                problems.append(f"{setting.name} {problem}")
            values[setting.name] = value
        if problems:
            raise SettingsError("; ".join(problems))
        return cls(values)

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    @property
    def default_region(self) -> str:
        return (self.get("BOT_DEFAULT_REGION") or "US").upper()

    @property
    def intents_dir(self) -> str | None:
        return self.get("BOT_INTENTS_DIR")
