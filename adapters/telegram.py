"""The Telegram adapter: Telegram updates in, the support desk's replies out (python-telegram-bot v22).

Like bolt-python's adapters it only converts: an update becomes the core's `Message`, the desk
answers, and `telegram_render` turns the `Reply` into an escaped message with inline buttons. What
the bot says lives in the catalogue and the core, never here.

    neogenesis-bot telegram      long polling; with TELEGRAM_WEBHOOK_URL, a webhook on $PORT

For other code: `build_application` (handlers wired to a desk), `start` / `stop` (connect to the Bot
API, let go), `webhook_routes` / `web_app` (the webhook endpoint, to mount in any Starlette app),
`send_to_chat` (one text to one chat, split and retried) and `delivery_senders` (support replies
relayed to customers by the delivery worker).
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import socket
from collections import Counter
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Bot, InlineKeyboardMarkup, ReplyParameters, Update
from telegram import Message as TelegramMessage
from telegram.constants import ChatType, MessageEntityType, ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationHandlerStop,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from adapters import guard
from adapters.server import GracefulServer
from adapters.telegram_render import (
    CATEGORY,
    FEEDBACK,
    QUESTION,
    REGION,
    TOPICS,
    html,
    questions_keyboard,
    read_callback,
    regions_keyboard,
    reply_keyboard,
    reply_text,
    split_text,
    topics_keyboard,
    without_feedback,
)
from support.logs import hide_secrets
from bot.records import Message, Reply
from bot.settings import Settings, SettingsError
from support.desk import SupportDesk
from support.outbox import Delivery, DeliveryFailed, Sender

log = logging.getLogger(__name__)

CHANNEL = "telegram"
HUMAN_INTENT = "talk-to-human"  # the catalogue's "let me talk to a person" hand-off, for /human
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as a secret_token
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]  # what the bot answers; nothing else is asked for
GROUP_CHATS = (ChatType.GROUP, ChatType.SUPERGROUP)
FLOOD_RETRIES = 3  # times a send waits out a 429 (RetryAfter) and tries again
RETRY_PAUSES = (0.5, 2.0)  # seconds before the 2nd and 3rd try of a send that failed on the network
MAX_CONCURRENT_CHATS = 32

Context = ContextTypes.DEFAULT_TYPE


# -- converters -------------------------------------------------------------------------------


def to_message(update: Update, text: str) -> Message:
    """The core's Message for what the update's person said (or picked), in their conversation.

    A private chat is one conversation; in a group each person has their own, so one person's
    hand-off never catches another's messages; a forum topic is a conversation of its own.
    """
    user, chat = update.effective_user, update.effective_chat
    assert chat is not None  # only updates with a chat reach the handlers (ALLOWED_UPDATES)
    user_id = str(user.id) if user else str(chat.id)
    conversation = f"{CHANNEL}:{chat.id}" if chat.type == ChatType.PRIVATE else f"{CHANNEL}:{chat.id}:{user_id}"
    said = update.effective_message
    if said is not None and said.is_topic_message and said.message_thread_id:
        conversation += f":topic{said.message_thread_id}"  # chat_of() still reads the chat id
    name = f"{user.full_name} (@{user.username})" if user and user.username else (user.full_name if user else None)
    return Message(text=text, user_id=user_id, channel=CHANNEL, conversation=conversation, user_name=name)


def chat_of(conversation: str) -> int:
    """The chat id in a conversation name made by `to_message`."""
    return int(conversation.split(":")[1])


def addressed_text(message: TelegramMessage, bot: Bot) -> str | None:
    """What a person said to the bot: in a private chat all of it; in a group only a message that
    mentions the bot (the mention taken out) or replies to it; None when it was not for the bot."""
    text = message.text or message.caption or ""
    if message.chat.type not in GROUP_CHATS:
        return text
    kinds = [MessageEntityType.MENTION, MessageEntityType.TEXT_MENTION]
    entities = message.parse_entities(kinds) if message.text else message.parse_caption_entities(kinds)
    mentions = [
        words
        for entity, words in entities.items()
        if (entity.type == MessageEntityType.MENTION and words[1:].lower() == (bot.username or "").lower())
        or (entity.type == MessageEntityType.TEXT_MENTION and entity.user is not None and entity.user.id == bot.id)
    ]
    replied = message.reply_to_message
    replies_to_bot = bool(replied and replied.from_user and replied.from_user.id == bot.id and not replied.forum_topic_created)
    if not mentions and not replies_to_bot:
        return None
    for words in mentions:
        text = text.replace(words, " ")
    return " ".join(text.split())


def desk_of(context: Context) -> SupportDesk:
    return context.bot_data["desk"]


# -- handlers ---------------------------------------------------------------------------------


async def drop_repeats(update: Update, context: Context) -> None:
    """Stop an update that an earlier delivery of it, or another process, already handled."""
    event_id = f"{context.bot.id}:{update.update_id}"  # update ids count per bot
    if not await asyncio.to_thread(desk_of(context).first_time, CHANNEL, event_id):
        log.info("telegram update %s already handled; skipped", update.update_id)
        raise ApplicationHandlerStop


async def start_command(update: Update, context: Context) -> None:
    """/start: a greeting and the topics as buttons."""
    catalogue = desk_of(context).bot.catalogue
    await say(update, context, await words(update, context, "telegram_welcome"), topics_keyboard(catalogue))


async def help_command(update: Update, context: Context) -> None:
    """/help: what the bot does, and its commands."""
    await say(update, context, await words(update, context, "telegram_help"))


async def region_command(update: Update, context: Context) -> None:
    """/region: AU / US buttons; `/region AU` chooses at once."""
    desk = desk_of(context)
    if not context.args:
        await say(update, context, await words(update, context, "choose_region"), regions_keyboard(desk.bot.catalogue))
        return
    reply = await asyncio.to_thread(desk.set_region, to_message(update, " ".join(context.args)), context.args[0])
    await say(update, context, reply.text, None if reply.kind == "social" else regions_keyboard(desk.bot.catalogue))


async def human_command(update: Update, context: Context) -> None:
    """/human: a hand-off to a person, through the desk like any other."""
    text = update.effective_message.text if update.effective_message else ""
    reply = await asyncio.to_thread(desk_of(context).choose, HUMAN_INTENT, to_message(update, text or "/human"))
    await render(update, context, reply)


async def other_command(update: Update, context: Context) -> None:
    """Any other command: the help; in a group only if it names this bot (another bot may own it)."""
    message = update.effective_message
    command = (message.text or "").split(maxsplit=1)[0] if message else ""
    in_group = update.effective_chat is not None and update.effective_chat.type in GROUP_CHATS
    if in_group and not command.lower().endswith(f"@{(context.bot.username or '').lower()}"):
        return
    await help_command(update, context)


async def text_message(update: Update, context: Context) -> None:
    """Words from a person (a message or a caption): the desk's reply, if the bot was addressed."""
    assert update.effective_message is not None
    text = addressed_text(update.effective_message, context.bot)
    if text is None:
        return
    reply = await asyncio.to_thread(desk_of(context).handle, to_message(update, text))
    if reply is not None:  # None: throttled and already told, or passed to the person on the ticket
        await render(update, context, reply)


async def not_text(update: Update, context: Context) -> None:
    """A sticker, photo, voice note or the like with no words: a friendly word, if it was for the bot."""
    assert update.effective_message is not None
    if addressed_text(update.effective_message, context.bot) is not None:
        await say(update, context, await words(update, context, "no_text"))


async def button(update: Update, context: Context) -> None:
    """A button press: acknowledged at once, then a question answered, a topic opened, a region set."""
    query = update.callback_query
    assert query is not None
    desk = desk_of(context)
    catalogue = desk.bot.catalogue
    kind, value = read_callback(query.data)
    if kind == FEEDBACK:
        await feedback(update, context, value)
        return
    try:
        await query.answer()
    except BadRequest as error:  # pressed before a restart, say: too old to acknowledge, still worth answering
        log.info("could not acknowledge a button press: %s", error)
    if kind == QUESTION:
        await render(update, context, await asyncio.to_thread(desk.choose, value, to_message(update, "")))
    elif kind == CATEGORY and (category := next((c for c in catalogue.categories if c.id == value and c.shown), None)):
        back = await words(update, context, "telegram_all_topics")
        text = f"{category.title}\n{await words(update, context, 'telegram_pick_question')}"
        await show_instead(update, context, text, questions_keyboard(catalogue, category.id, back))
    elif kind == TOPICS:
        await show_instead(update, context, await words(update, context, "telegram_welcome"), topics_keyboard(catalogue))
    elif kind == REGION:
        reply = await asyncio.to_thread(desk.set_region, to_message(update, ""), value)
        await show_instead(update, context, reply.text, None if reply.kind == "social" else regions_keyboard(catalogue))
    else:  # a topic that is gone, or data this bot never made
        log.info("a button this bot does not know was pressed in chat %s", update.effective_chat.id if update.effective_chat else "-")
        await say(update, context, await words(update, context, "unknown_option"))


async def feedback(update: Update, context: Context, value: str) -> None:
    """"Helpful? Yes / No": recorded against the turn, thanked, and the buttons go away."""
    query = update.callback_query
    assert query is not None
    verdict, _, turn = value.partition(":")
    if turn.isdigit():
        await asyncio.to_thread(desk_of(context).feedback, to_message(update, ""), int(turn), verdict == "y")
    try:
        await query.answer(text=await words(update, context, "feedback_thanks"))
        if query.message is not None:
            await query.edit_message_reply_markup(reply_markup=without_feedback(query.message.reply_markup))
    except BadRequest as error:  # too old to acknowledge, or already edited: the vote is recorded anyway
        log.info("could not acknowledge a feedback press: %s", error)


async def on_error(update: object, context: Context) -> None:
    """Log the failure with its chat; the person gets a short apology, never the details."""
    chat = update.effective_chat if isinstance(update, Update) else None
    log.error(
        "handling telegram update %s in chat %s failed",
        getattr(update, "update_id", "-"),
        chat.id if chat else "-",
        exc_info=context.error,
    )
    if chat is None or not isinstance(update, Update):
        return
    try:
        catalogue = desk_of(context).bot.catalogue
        await say(update, context, catalogue.fill(catalogue.messages["apology"], desk_of(context).bot.default_region))
    except TelegramError as error:
        log.warning("could not apologise in telegram chat %s: %s", chat.id, error)


# -- saying things ----------------------------------------------------------------------------


async def words(update: Update, context: Context, key: str) -> str:
    """One of the bot's own messages from the catalogue, for the person's region."""
    desk = desk_of(context)
    region = await asyncio.to_thread(desk.region_for, to_message(update, ""))
    return desk.bot.writer.notice(key, region).text


async def render(update: Update, context: Context, reply: Reply) -> None:
    """A desk reply in the update's chat: its text, its options as buttons, "Helpful?" under answers."""
    await say(update, context, reply_text(reply), reply_keyboard(reply, desk_of(context).bot.catalogue.messages))


async def say(update: Update, context: Context, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Send `text` to the update's chat; in a group, as a reply to the message it came from."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None
    reply_to = message.message_id if message and chat.type in GROUP_CHATS else None
    thread_id = message.message_thread_id if message and message.is_topic_message else None
    await send_to_chat(context.bot, chat.id, text, keyboard=keyboard, reply_to=reply_to, thread_id=thread_id)


async def show_instead(update: Update, context: Context, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    """Show `text` in place of the message whose button was pressed (a menu moving on); a new
    message when that one can no longer be edited."""
    query = update.callback_query
    if query and query.message and query.message.is_accessible and len(split_text(text)) == 1:
        try:
            await query.edit_message_text(html(text), parse_mode=ParseMode.HTML, reply_markup=keyboard)
            return
        except BadRequest as error:
            if "not modified" in str(error).lower():  # the same button pressed twice
                return
            log.info("could not edit a message in telegram chat %s (%s); sending a new one", query.message.chat.id, error)
    await say(update, context, text, keyboard)


async def send_to_chat(
    bot: Bot,
    chat_id: int | str,
    text: str,
    *,
    keyboard: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
    thread_id: int | None = None,
) -> list[TelegramMessage]:
    """Send plain `text` to a chat: escaped, split under Telegram's limit, `keyboard` under the last
    part, the first part replying to message `reply_to` (if it still exists).

    A flood limit (429) is waited out by the bot's rate limiter; a network failure is logged with
    the chat and tried again twice, then raised.
    """
    parts = split_text(text)
    sent = []
    for number, part in enumerate(parts, start=1):
        markup = keyboard if number == len(parts) else None
        sent.append(await _send(bot, chat_id, html(part), markup, reply_to if number == 1 else None, thread_id))
    return sent


async def _send(
    bot: Bot, chat_id: int | str, html_text: str, keyboard: InlineKeyboardMarkup | None, reply_to: int | None, thread_id: int | None
) -> TelegramMessage:
    reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
    pauses = list(RETRY_PAUSES)
    while True:
        try:
            return await bot.send_message(
                chat_id, html_text, parse_mode=ParseMode.HTML, reply_markup=keyboard, reply_parameters=reply, message_thread_id=thread_id
            )
        except NetworkError as error:
            if isinstance(error, BadRequest) or not pauses:  # a refusal is final, and so is the last try
                raise
            pause = pauses.pop(0)
            log.warning("sending to telegram chat %s failed (%s); trying again in %.1f s", chat_id, error, pause)
            await asyncio.sleep(pause)


# -- wiring -----------------------------------------------------------------------------------


class ChatByChat(BaseUpdateProcessor):
    """Updates of one chat one at a time, in the order they came; different chats at once.

    A slow answer in one chat never holds up another, and a person's quick messages are answered in
    the order they sent them. Waiting updates are cheap; at most `max_concurrent_chats` are worked on.
    """

    def __init__(self, max_concurrent_chats: int) -> None:
        super().__init__(max_concurrent_updates=10_000)
        self._working = asyncio.Semaphore(max_concurrent_chats)
        self._chats: dict[int | None, asyncio.Lock] = {}
        self._waiting: Counter = Counter()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
        lock = self._chats.setdefault(chat, asyncio.Lock())
        self._waiting[chat] += 1
        try:
            async with lock, self._working:
                await coroutine
        finally:
            self._waiting[chat] -= 1
            if not self._waiting[chat]:  # forget idle chats, so the table stays small
                del self._waiting[chat], self._chats[chat]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def build_application(settings: Settings, desk: SupportDesk) -> Application:
    """The python-telegram-bot Application, its handlers wired to `desk`."""
    application = (
        Application.builder()
        .token(settings.get("TELEGRAM_BOT_TOKEN") or "")
        .base_url(settings.get("TELEGRAM_API_URL") or "https://api.telegram.org/bot")
        .rate_limiter(AIORateLimiter(max_retries=FLOOD_RETRIES))
        .concurrent_updates(ChatByChat(MAX_CONCURRENT_CHATS))
        .build()
    )
    application.bot_data["desk"] = desk
    new = filters.UpdateType.MESSAGE  # edited messages and channel posts are left alone
    application.add_handler(TypeHandler(Update, drop_repeats), group=-1)
    application.add_handler(CommandHandler("start", start_command, filters=new))
    application.add_handler(CommandHandler("help", help_command, filters=new))
    application.add_handler(CommandHandler("region", region_command, filters=new))
    application.add_handler(CommandHandler("human", human_command, filters=new))
    application.add_handler(MessageHandler(new & filters.COMMAND, other_command))
    application.add_handler(MessageHandler(new & (filters.TEXT | filters.CAPTION), text_message))
    application.add_handler(MessageHandler(new & ~filters.StatusUpdate.ALL, not_text))  # joins, pins...: silence
    application.add_handler(CallbackQueryHandler(button))
    application.add_error_handler(on_error)
    return application


async def start(application: Application, webhook_url: str | None = None, secret: str | None = None) -> None:
    """Connect to the Bot API (a refused token fails here), then take updates: register the
    webhook, or start long polling (which removes any webhook first)."""
    await application.initialize()
    if webhook_url:
        await application.bot.set_webhook(webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
    else:
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
    await application.start()
    log.info("telegram bot @%s is taking updates (%s)", application.bot.username, f"webhook {webhook_url}" if webhook_url else "long polling")


async def stop(application: Application) -> None:
    """Stop taking updates, finish the ones in hand, let go of the Bot API.

    The webhook stays registered: another process may be serving it, and Telegram keeps updates
    for it until one answers.
    """
    if application.updater and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()


def webhook_routes(application: Application, secret: str, path: str = DEFAULT_WEBHOOK_PATH) -> list[Route]:
    """The webhook endpoint: a POST with Telegram's secret header queues its update; anything else
    is refused before its body is read."""

    async def receive_update(request: Request) -> Response:
        try:
            guard.check_telegram_secret(request, SECRET_HEADER, secret)
        except guard.Refused as refusal:
            guard.log_refusal("telegram webhook request", request, refusal)
            return PlainTextResponse("forbidden", status_code=403)
        body = b""
        try:
            body = await guard.read_body(request)
            update = Update.de_json(guard.telegram_update(body), application.bot)
        except guard.Refused as refusal:
            guard.log_refusal("telegram webhook request", request, refusal, len(body) or None)
            return PlainTextResponse("not an update", status_code=refusal.status)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
            log.warning("telegram webhook request whose body is not an update refused: %s", type(error).__name__)
            return PlainTextResponse("not an update", status_code=400)
        await application.update_queue.put(update)
        return Response(status_code=200)

    return [Route(path, receive_update, methods=["POST"])]


def web_app(application: Application, webhook_url: str, secret: str) -> Starlette:
    """A Starlette app serving the webhook at `webhook_url`'s path."""
    return Starlette(routes=webhook_routes(application, secret, urlsplit(webhook_url).path))


def webhook_url_of(settings: Settings) -> str | None:
    """TELEGRAM_WEBHOOK_URL, with the default path when it names only a host."""
    url = settings.get("TELEGRAM_WEBHOOK_URL")
    if not url:
        return None
    parts = urlsplit(url)
    return url if parts.path not in ("", "/") else urlunsplit(parts._replace(path=DEFAULT_WEBHOOK_PATH))


def webhook_secret_of(settings: Settings) -> str:
    """TELEGRAM_WEBHOOK_SECRET, required in webhook mode and in the form Telegram accepts."""
    settings.require("TELEGRAM_WEBHOOK_SECRET")
    secret = settings.get("TELEGRAM_WEBHOOK_SECRET") or ""
    if not WEBHOOK_SECRET.match(secret):
        raise SettingsError("TELEGRAM_WEBHOOK_SECRET must be 1-256 letters, digits, _ or - (what Telegram accepts)")
    return secret


async def serve(application: Application, settings: Settings) -> None:
    """Run until SIGINT or SIGTERM: long polling, or the webhook on $PORT with TELEGRAM_WEBHOOK_URL."""
    webhook_url = webhook_url_of(settings)
    try:
        if webhook_url:
            secret = settings.get("TELEGRAM_WEBHOOK_SECRET") or ""
            listening = _listen(int(settings.get("PORT") or 8000))  # Telegram's first POST waits in the backlog
            await start(application, webhook_url, secret)
            server = GracefulServer(uvicorn.Config(web_app(application, webhook_url, secret), lifespan="off", log_config=None))
            await server.serve(sockets=[listening])
        else:
            await start(application)
            stopped = asyncio.Event()
            _on_signals(stopped.set)
            await stopped.wait()
    finally:
        await stop(application)


def main(settings: Settings) -> int:
    """`neogenesis-bot telegram`: check the settings, wire the bot to a desk, run until stopped."""
    settings.require("TELEGRAM_BOT_TOKEN")
    token = settings.get("TELEGRAM_BOT_TOKEN") or ""
    secret = webhook_secret_of(settings) if webhook_url_of(settings) else settings.get("TELEGRAM_WEBHOOK_SECRET")
    hide_secrets(token, token.partition(":")[2], secret)  # the part after the colon is the secret one
    application = build_application(settings, SupportDesk.from_settings(settings))
    api_url = settings.get("TELEGRAM_API_URL")
    try:
        asyncio.run(serve(application, settings))
    except InvalidToken:
        raise SettingsError(f"TELEGRAM_BOT_TOKEN was refused by the Bot API at {api_url}: copy the token from @BotFather again") from None
    except NetworkError as error:
        reason = str(error).replace(token, "****")
        raise SettingsError(f"cannot reach the Bot API at {api_url} ({reason}): check TELEGRAM_API_URL and the network") from None
    return 0


def delivery_senders(settings: Settings, desk: SupportDesk) -> dict[str, Sender]:
    """For the delivery worker: support replies (and the farewell) relayed into the customer's chat."""
    bot = Bot(settings.get("TELEGRAM_BOT_TOKEN") or "", base_url=settings.get("TELEGRAM_API_URL") or "https://api.telegram.org/bot")
    messages = desk.bot.catalogue.messages

    async def relay(delivery: Delivery) -> None:
        ticket = await asyncio.to_thread(desk.tickets.get, delivery.ticket_id) if desk.tickets else None
        if ticket is None:
            raise DeliveryFailed(f"ticket {delivery.ticket_id} does not exist", permanent=True)
        chat_id = chat_of(ticket.conversation)
        text = str(delivery.payload.get("text", ""))
        if delivery.payload.get("author") != "bot":
            text = f"{messages['support_reply']}\n\n{text}"
        try:
            await send_to_chat(bot, chat_id, text)
        except (Forbidden, BadRequest) as error:  # blocked, or the chat is gone: trying again will not help
            raise DeliveryFailed(f"Telegram refused the message to chat {chat_id}: {error}", permanent=True) from error
        except TelegramError as error:  # the network, a flood wait: the worker tries again later
            raise DeliveryFailed(f"sending to Telegram chat {chat_id} failed: {error}") from error

    return {f"{CHANNEL}_relay": relay}


# -- helpers ----------------------------------------------------------------------------------


def _listen(port: int) -> socket.socket:
    try:
        return socket.create_server(("0.0.0.0", port))
    except OSError as error:
        raise SettingsError(f"cannot listen on PORT {port}: {error.strerror}") from None


def _on_signals(callback: Callable[[], object]) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, callback)
