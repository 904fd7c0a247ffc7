"""Start-up checks of the long-running processes, so a deployment mistake stops them at once with one
clear line instead of surfacing later as failed deliveries: the mail server in SMTP_URL answers and
takes the login, the Bot API accepts TELEGRAM_BOT_TOKEN. Settings that work but do less than the
operator probably meant are warned about."""

from __future__ import annotations

import asyncio
import logging

from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)

MAIL_CHECK_SECONDS = 5.0  # a mail server greets within a second or two; slower is an outage, not a setting


def check_worker(settings: Settings) -> None:
    """Raise SettingsError naming the setting when the worker could not do its job."""
    for warning in warnings_for(settings):
        log.warning("%s", warning)
    if settings.get("SMTP_URL"):
        check_mail_server(settings)
    if settings.get("TELEGRAM_BOT_TOKEN"):
        check_telegram_token(settings)


def check_web(settings: Settings) -> None:
    """Raise SettingsError (or the Telegram error) when a token the web process uses is refused:
    checked before the server starts, since a failure inside its start-up ends in uvicorn's traceback."""
    if settings.get("SLACK_BOT_TOKEN"):
        check_slack_token(settings)
    if settings.get("TELEGRAM_BOT_TOKEN") and settings.get("TELEGRAM_WEBHOOK_URL"):
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
    """A refused connection, an unknown host or a refused login is a setting to fix; a server that is
    slow to answer is an outage the outbox rides out (hand-off emails wait and are retried), so the
    worker starts anyway, with a warning."""
    import smtplib
    from dataclasses import replace

    from support.mail import SmtpServer
    from support.outbox import DeliveryFailed

    server = replace(SmtpServer.from_url(settings.get("SMTP_URL") or ""), timeout=MAIL_CHECK_SECONDS)
    where = f"the mail server in SMTP_URL ({settings.masked('SMTP_URL')})"
    try:
        server.check()
    except DeliveryFailed as error:
        if isinstance(error.__cause__, (TimeoutError, smtplib.SMTPServerDisconnected)):
            log.warning("%s %s: hand-off emails wait and are retried", where, error)
            return
        fix = "check the user name and password in SMTP_URL" if error.permanent else "check the host and port in SMTP_URL and that the mail server is running"
        raise SettingsError(f"{where} {error}: {fix}") from None


def check_slack_token(settings: Settings) -> None:
    """Ask Slack who the bot is (auth.test), as the Slack adapter does when it starts."""
    from urllib.error import URLError

    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    api_url = settings.get("SLACK_API_URL") or "https://slack.com/api/"
    try:
        WebClient(token=settings.get("SLACK_BOT_TOKEN"), base_url=api_url, timeout=20).auth_test()
    except SlackApiError as error:
        code = error.response.get("error")
        raise SettingsError(f"SLACK_BOT_TOKEN was refused by Slack ({code}): copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page") from None
    except (URLError, OSError) as error:
        raise SettingsError(f"cannot reach the Slack Web API at {api_url} ({getattr(error, 'reason', error)}): check SLACK_API_URL and the network") from None


def check_telegram_token(settings: Settings) -> None:
    """Ask the Bot API who the bot is (getMe): a refused token or an unreachable API raises the
    Telegram error, which the command line words as one line."""
    from telegram import Bot

    async def ask() -> None:
        bot = Bot(settings.get("TELEGRAM_BOT_TOKEN") or "", base_url=settings.get("TELEGRAM_API_URL") or "https://api.telegram.org/bot")
        async with bot:  # initialize() calls getMe
            pass

    asyncio.run(ask())
