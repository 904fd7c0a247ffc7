"""Start-up checks of the long-running processes, so a deployment mistake stops them at once with one
clear line instead of surfacing later as failed deliveries: the mail server in SMTP_URL answers and
takes the login, the Bot API accepts TELEGRAM_BOT_TOKEN. Settings that work but do less than the
operator probably meant are warned about."""

from __future__ import annotations

import asyncio
import logging

from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)


def check_worker(settings: Settings) -> None:
    """Raise SettingsError naming the setting when the worker could not do its job."""
    for warning in warnings_for(settings):
        log.warning("%s", warning)
    if settings.get("SMTP_URL"):
        check_mail_server(settings)
    if settings.get("TELEGRAM_BOT_TOKEN"):
        check_telegram_token(settings)


def warnings_for(settings: Settings) -> list[str]:
    """A warning for each setting that has no effect as configured."""
    warnings = []
    if settings.get("SLACK_SUPPORT_CHANNEL") and not settings.get("SLACK_BOT_TOKEN"):
        warnings.append(
            "SLACK_SUPPORT_CHANNEL is set but SLACK_BOT_TOKEN is not: tickets cannot be posted to the support "
            "channel; set SLACK_BOT_TOKEN (and SLACK_SIGNING_SECRET) or unset SLACK_SUPPORT_CHANNEL"
        )
    return warnings


def check_mail_server(settings: Settings) -> None:
    from support.mail import SmtpServer
    from support.outbox import DeliveryFailed

    server = SmtpServer.from_url(settings.get("SMTP_URL") or "")
    try:
        server.check()
    except DeliveryFailed as error:
        fix = "check the user name and password in SMTP_URL" if error.permanent else "check the host and port in SMTP_URL and that the mail server is running"
        raise SettingsError(f"the mail server in SMTP_URL ({settings.masked('SMTP_URL')}) {error}: {fix}") from None


def check_telegram_token(settings: Settings) -> None:
    """Ask the Bot API who the bot is (getMe): a refused token or an unreachable API raises the
    Telegram error, which the command line words as one line."""
    from telegram import Bot

    async def ask() -> None:
        bot = Bot(settings.get("TELEGRAM_BOT_TOKEN") or "", base_url=settings.get("TELEGRAM_API_URL") or "https://api.telegram.org/bot")
        async with bot:  # initialize() calls getMe
            pass

    asyncio.run(ask())
