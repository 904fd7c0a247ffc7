"""`neogenesis-bot config`: every setting as the bot will use it. An unset setting shows what takes
its place (the SQLite file, the catalogue's support addresses), secrets are masked, and a bad value is
marked in the table, which is printed in full either way, so one mistake does not hide the rest."""

from __future__ import annotations

import os
from typing import Mapping

from bot.settings import SETTINGS, Settings


def config_table(env: Mapping[str, str] | None = None) -> tuple[list[str], list[str]]:
    """(the table's lines, the problems found) for the settings in `env` (default os.environ)."""
    env = os.environ if env is None else env
    values: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    for setting in SETTINGS:
        raw = env.get(setting.name, "").strip() or None
        values[setting.name] = raw if raw is not None else setting.default
        if raw is not None and setting.check and (problem := setting.check(raw)):
            problems[setting.name] = f"{setting.name} {problem}"
    settings = Settings(values)
    fallbacks = _fallbacks(settings)
    lines, group = [], None
    for setting in SETTINGS:
        if setting.group != group:
            group = setting.group
            lines.append(f"[{group}]")
        shown = settings.masked(setting.name)
        if settings.get(setting.name) is None and setting.name in fallbacks:
            shown = f"(not set: {fallbacks[setting.name]})"
        mark = f"   <- {problems[setting.name].removeprefix(setting.name + ' ')}" if setting.name in problems else ""
        lines.append(f"  {setting.name:<26} {shown}{mark}")
    return lines, list(problems.values())


def _fallbacks(settings: Settings) -> dict[str, str]:
    """What the bot uses in place of each unset setting that has no fixed default."""
    from bot.loading import default_intents_dir
    from support.store import default_database_file

    database = default_database_file(settings.get("BOT_DATA_DIR"))
    intents = settings.intents_dir or str(default_intents_dir())
    fallbacks = {
        "BOT_INTENTS_DIR": f"the shipped catalogue, {intents}",
        "BOT_DATA_DIR": str(database.parent),
        "DATABASE_URL": f"SQLite file {database}",
        "TELEGRAM_WEBHOOK_URL": "long polling, in the worker",
        "SLACK_REGION": f"BOT_DEFAULT_REGION, {settings.default_region}",
        "SMTP_URL": "hand-offs are not emailed",
        "SLACK_SUPPORT_CHANNEL": "tickets are not posted in Slack",
    }
    for code, address in _catalogue_addresses(intents).items():
        fallbacks[f"SUPPORT_EMAIL_{code}"] = f"{address}, from the catalogue"
    return fallbacks


def _catalogue_addresses(intents: str) -> dict[str, str]:
    """Each region's support address from the catalogue; none when it does not load (`validate` says why)."""
    from bot.loading import CatalogueError, load_catalogue

    try:
        catalogue = load_catalogue(intents)
    except (CatalogueError, OSError):
        return {}
    return {code: region.email for code, region in catalogue.regions.items()}
