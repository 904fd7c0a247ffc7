"""Expected failures, as an operator should meet them: one line that names the setting and the fix.

A database that does not answer, a Telegram token the Bot API refuses, a Bot API out of reach or an
extra that was not installed are problems of the deployment, not bugs: `explain` turns each into
that line (the command prints it and exits 1); anything it does not recognise stays a bug, logged
with its traceback.
"""

from __future__ import annotations

from bot.settings import Settings
from support.store import default_database_file

# The extra that brings each optional module, and what needs it.
EXTRAS = {
    "starlette": ("all", "the web process (serve)"),
    "uvicorn": ("all", "the web process (serve) and Telegram"),
    "telegram": ("telegram", "Telegram (TELEGRAM_BOT_TOKEN)"),
    "slack_bolt": ("slack", "Slack (SLACK_BOT_TOKEN)"),
    "slack_sdk": ("slack", "Slack (SLACK_BOT_TOKEN)"),
    "aiohttp": ("slack", "Slack (SLACK_BOT_TOKEN)"),
    "psycopg": ("postgres", "a PostgreSQL DATABASE_URL"),
}


def explain(error: BaseException, settings: Settings) -> str | None:
    """The one line for an expected failure, or None when `error` is not one."""
    if isinstance(error, ModuleNotFoundError):
        return missing_extra(error)
    if _is_connection_failure(error):
        return (
            f"cannot reach the database {database_of(settings)} ({_first_line(getattr(error, 'orig', None) or error, settings)}): "
            "check DATABASE_URL and that the database server is running and reachable"
        )
    return _telegram_failure(error, settings)


def missing_extra(error: ModuleNotFoundError) -> str | None:
    module = (error.name or "").split(".")[0]
    if module not in EXTRAS:
        return None
    extra, needed_by = EXTRAS[module]
    return (
        f"the Python package {module!r} is not installed, and {needed_by} needs it: "
        f"pip install 'neogenesis-bot[{extra}]' (from a clone: pip install -r requirements.txt)"
    )


def database_of(settings: Settings) -> str:
    """The database as an operator may see it: the URL without its password, or the SQLite file."""
    if settings.get("DATABASE_URL"):
        return settings.masked("DATABASE_URL")
    return f"SQLite file {default_database_file(settings.get('BOT_DATA_DIR'))} (BOT_DATA_DIR)"


def _is_connection_failure(error: BaseException) -> bool:
    """SQLAlchemy's OperationalError: the database refused, timed out, or the file cannot be opened."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(error, (OperationalError, InterfaceError))


def _telegram_failure(error: BaseException, settings: Settings) -> str | None:
    try:
        from telegram.error import InvalidToken, NetworkError
    except ImportError:
        return None
    api_url = settings.get("TELEGRAM_API_URL")
    if isinstance(error, InvalidToken):
        return f"TELEGRAM_BOT_TOKEN was refused by the Bot API at {api_url}: copy the token from @BotFather again"  # as `telegram` says
    if isinstance(error, NetworkError):
        return f"cannot reach the Bot API at {api_url} ({_first_line(error, settings)}): check TELEGRAM_API_URL and the network"
    return None


def _first_line(error: object, settings: Settings) -> str:
    """The error's first line, short, with every secret hidden (a driver may quote the URL)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    for secret in settings.secret_values():
        text = text.replace(secret, "****")
    return text[:200]
