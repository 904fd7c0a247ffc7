"""Slack adapter: resellers ask in the brand's Slack workspace and the support desk answers.

Two converters and one call, like Bolt's own adapters: a Slack event becomes the core's `Message`,
the `SupportDesk` answers it, and `adapters.slack_render` turns the `Reply` into Block Kit. Nothing
about answers lives here. The bot answers

- a mention in a channel, in the message's thread;
- a direct message;
- `/neogenesis <question>`, privately to the asker (`/neogenesis region AU` sets their region);
- a reply in a thread the bot has already answered in;
- a click on a suggested question, where the button is.

HTTP mode serves the Events API at POST /slack/events under uvicorn (`routes()` and `lifespan` let a
larger Starlette app mount it); Socket Mode runs instead when SLACK_APP_TOKEN is set. Bolt checks each
request's signature (missing, wrong or more than five minutes old: 401). Events are acknowledged at
once and answered afterwards; a repeated delivery of an event (Slack retries after three seconds) is
acknowledged and dropped by event id, and a question that arrives twice (a mention is also a message
event) is answered once. The bot never answers itself or another bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncIterator, Awaitable, Callable, Mapping

import aiohttp
from slack_bolt import BoltResponse
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncBoltRequest
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler, async_default_handlers
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters import guard
from adapters.slack_render import ASK_ACTION_PREFIX, HELPFUL, NOT_HELPFUL, notice_message, reply_message
from adapters.slack_support import SupportChannel
from bot.records import Message, Reply
from bot.settings import Settings, SettingsError
from support.desk import SupportDesk

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
COMMAND = "/neogenesis"
ASK_ACTION = re.compile(rf"^{ASK_ACTION_PREFIX}_\d+$")
ANSWERED_SUBTYPES = {None, "thread_broadcast", "file_share"}  # a person wrote it; edits, joins and bots are not questions
REFUSED_TOKEN = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
SLACK_MARKUP = re.compile(r"<([^<>]*)>")
# Slack's acknowledgement waits for one short insert (the event id, so a retry is dropped); answers
# keep the default thread pool busy far longer. The check has threads of its own, so under load an
# acknowledgement never queues behind answers (support.store sizes the connection pool for them).
ACK_THREADS = 2
# Answers are worked out in threads that hold the GIL for milliseconds at a time; in a burst they would
# slow the event loop that acknowledges the requests still arriving. An answer waits until no request is
# being acknowledged, up to this long (well within the time a person waits for an answer).
ACK_PRIORITY_SECONDS = 2.0

Sender = Callable[[str, list[dict]], Awaitable[None]]  # posts (text, blocks) somewhere


class SlackAdapter:
    """Holds the Bolt app, the desk and the Web API client; its listeners convert, call and render."""

    def __init__(
        self,
        desk: SupportDesk,
        client: AsyncWebClient,
        signing_secret: str = "",
        region: str | None = None,
        support_channel: str | None = None,
    ) -> None:
        self.desk = desk
        self.client = client
        self.region = region  # the workspace's; a person's own choice (/neogenesis region) wins in the desk
        self.identity: dict | None = None
        self._identity_response: AsyncSlackResponse | None = None
        self.acknowledging = ThreadPoolExecutor(ACK_THREADS, thread_name_prefix="slack-ack")
        self.signature = guard.SlackSignature(signing_secret)
        self._authorizing = asyncio.Lock()
        self._authorization: AuthorizeResult | None = None
        self._requests_in_hand = 0
        self._no_requests_in_hand: asyncio.Event | None = None  # made on the serving event loop
        # Bolt ignores (and warns about) the client's token once `authorize` is given; the token is
        # only for our own calls, so the client meets Bolt without it.
        token, client.token = client.token, None
        self.app = AsyncApp(client=client, signing_secret=signing_secret, name="neogenesis-slack", authorize=lambda: self.authorize())
        client.token = token
        self.app.middleware(self.drop_repeated_events)
        self.app.event("app_mention")(self.on_mention)
        self.app.event("message")(self.on_message)
        self.app.command(COMMAND)(self.on_command)
        self.app.action(ASK_ACTION)(self.on_button)
        self.app.action(re.compile(f"^({HELPFUL}|{NOT_HELPFUL})$"))(self.on_feedback)
        self.support = SupportChannel(desk, client, support_channel) if support_channel and desk.tickets else None
        if self.support:
            self.support.register(self.app)
        self.handler = AsyncSlackRequestHandler(self.app)

    @classmethod
    def from_settings(cls, settings: Settings, desk: SupportDesk | None = None) -> SlackAdapter:
        """The adapter on the configured desk (or `desk`), token, signing secret and region."""
        return cls(
            desk or SupportDesk.from_settings(settings),
            web_client(settings),
            settings.get("SLACK_SIGNING_SECRET") or "",
            settings.get("SLACK_REGION") or (settings.default_region if settings.is_given("BOT_DEFAULT_REGION") else None),
            settings.get("SLACK_SUPPORT_CHANNEL"),
        )

    # -- serving ------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """The Events API endpoint (events, slash commands and button clicks all arrive here)."""
        return [Route(EVENTS_PATH, self.handle_http, methods=["POST"])]

    def asgi_app(self) -> Starlette:
        """A Starlette app serving `routes()`, with `lifespan`."""
        return Starlette(routes=self.routes(), lifespan=self.lifespan)

    async def handle_http(self, request: Request) -> Response:
        """One HTTP request from Slack: its size and signature checked on the raw bytes before anything
        reads it (see adapters.guard), then through Bolt (ack, listeners)."""
        body = b""
        try:
            body = await guard.read_body(request)
            self.signature.check(request, body)
            guard.check_slack_body(body, request.headers.get("content-type", ""))
        except guard.Refused as refusal:
            if guard.is_slack_ssl_check(body):  # Slack checking the certificate (unsigned): Bolt's answer
                return Response(status_code=200)
            guard.log_refusal("Slack request", request, refusal, len(body) or None)
            return Response(refusal.reason, status_code=refusal.status)
        quiet = self._quiet()
        self._requests_in_hand += 1
        quiet.clear()
        try:
            return await self.handler.handle(guard.replaying(request, body))
        finally:
            self._requests_in_hand -= 1
            if not self._requests_in_hand:
                quiet.set()

    def _quiet(self) -> asyncio.Event:
        if self._no_requests_in_hand is None:
            self._no_requests_in_hand = asyncio.Event()
            self._no_requests_in_hand.set()
        return self._no_requests_in_hand

    async def after_acknowledgements(self) -> None:
        """Wait (a little) until the requests in hand are acknowledged: see ACK_PRIORITY_SECONDS."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._quiet().wait(), timeout=ACK_PRIORITY_SECONDS)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: object = None) -> AsyncIterator[None]:
        """Start-up for a host app: checks the token once; nothing needs closing afterwards."""
        await self.startup()
        yield

    async def startup(self) -> None:
        """Ask Slack who the bot is (once); a refused token or unreachable API is a settings problem."""
        if self.identity is not None:
            return
        try:
            identity = await self.client.auth_test()
        except SlackApiError as error:
            code = error.response.get("error")
            if code in REFUSED_TOKEN:
                raise SettingsError(f"SLACK_BOT_TOKEN was refused by Slack ({code})") from None
            raise
        except aiohttp.ClientError as error:
            raise SettingsError(f"cannot reach the Slack Web API at {self.client.base_url} ({error}); check SLACK_API_URL") from None
        self._identity_response = identity
        self.identity = dict(identity.data)  # type: ignore[arg-type]
        log.info("Slack: answering as @%s in %s, region %s", self.identity.get("user"), self.identity.get("team"), self.region)

    async def authorize(self) -> AuthorizeResult:
        """Bolt's authorization, from the one `auth.test` made at start-up: without it, Bolt calls
        `auth.test` for every request that arrives before its first answer is cached, so a burst
        multiplies the calls (and Slack's rate limit turns them into failures)."""
        async with self._authorizing:
            if self._authorization is None:
                await self.startup()
                assert self._identity_response is not None
                self._authorization = AuthorizeResult.from_auth_test_response(
                    auth_test_response=self._identity_response, bot_token=self.client.token
                )
        return self._authorization

    async def open_session(self) -> None:
        """One HTTP session for every Web API call this event loop makes, its connections kept alive:
        without one, slack_sdk opens a session and a new connection for each call and closes them."""
        if self.client.session is None or self.client.session.closed:
            self.client.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.client.timeout))

    async def close_session(self) -> None:
        session, self.client.session = self.client.session, None
        if session is not None:
            await session.close()

    async def run_socket_mode(self, app_token: str) -> None:
        """Answer over Socket Mode (no public URL needed) until cancelled."""
        await self.startup()
        handler = AsyncSocketModeHandler(self.app, app_token)
        try:
            await handler.connect_async()
            log.info("Slack: connected over Socket Mode")
            await asyncio.Event().wait()
        finally:
            await handler.close_async()

    # -- listeners ----------------------------------------------------------------------------

    async def drop_repeated_events(self, body: dict, request: AsyncBoltRequest, next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Acknowledge and drop an event already taken: Slack retries one it thinks went unanswered."""
        event_id = body.get("event_id")
        if body.get("type") == "event_callback" and event_id:
            first = asyncio.get_running_loop().run_in_executor(self.acknowledging, self.desk.first_time, "slack-event", event_id)
            if not await first:
                retry = request.headers.get("x-slack-retry-num", ["-"])[0]
                log.info("dropped a repeated delivery of Slack event %s (retry %s)", event_id, retry)
                return BoltResponse(status=200, body="")
        return await next()

    async def on_mention(self, event: dict, body: dict, context: AsyncBoltContext) -> None:
        """`@bot question` in a channel: answer in the message's thread."""
        if is_from_a_person(event):
            await self.answer(event, thread_of(event), body.get("event_id"), context.bot_user_id)

    async def on_message(self, event: dict, body: dict, context: AsyncBoltContext) -> None:
        """A direct message, a mention, or a reply in a thread the bot is in; other chatter is not ours."""
        if not is_from_a_person(event):
            return
        if self.support and await self.support.on_thread_reply(event):
            return  # the support team answering a ticket, not a question for the bot
        if event.get("channel_type") == "im" or mentions(event.get("text") or "", context.bot_user_id):
            await self.answer(event, thread_of(event), body.get("event_id"), context.bot_user_id)
        elif is_thread_reply(event) and await self.is_in_thread(event["channel"], event["thread_ts"]):
            await self.answer(event, event["thread_ts"], body.get("event_id"), context.bot_user_id)

    async def on_command(self, ack: AsyncAck, command: dict, respond: AsyncRespond) -> None:
        """`/neogenesis <question>`, answered privately; `/neogenesis region AU` sets the region."""
        await ack()  # within Slack's three seconds; the answer follows through the response URL
        send = privately(respond)
        words = (command.get("text") or "").split()
        message = Message(plain_text(command.get("text") or ""), command["user_id"], "slack", self.region)
        try:
            if words and words[0].lower() == "region":
                reply = await asyncio.to_thread(self.desk.set_region, message, " ".join(words[1:]))
                await send(*reply_message(reply, self.messages))
            elif (reply := await asyncio.to_thread(self.desk.handle, message)) is not None:  # None: throttled, already told
                await send(*reply_message(reply, self.messages, asked=message.text))
        except Exception:
            log.exception("could not answer %s in %s (trigger %s)", COMMAND, command.get("channel_id"), command.get("trigger_id"))
            await self.apologise(send)

    async def on_button(self, ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond) -> None:
        """A suggested question clicked: answer it in the button's thread (privately if it was private)."""
        await ack()
        picked = (action.get("text") or {}).get("text") or ""
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
        held_by = body.get("message")
        if held_by is None or container.get("is_ephemeral"):  # Slack sends no copy of a private message
            send, conversation = privately(respond), None
        else:
            thread_ts = thread_of({**held_by, "channel": channel})
            send, conversation = in_thread(self.client, channel, thread_ts), conversation_key(channel, thread_ts)
        message = Message(picked, body["user"]["id"], "slack", self.region, conversation)
        try:
            reply = await asyncio.to_thread(self.desk.choose, action.get("value") or "", message)
            await send(*reply_message(reply, self.messages, asked=picked))
        except Exception:
            log.exception("could not answer a click on %r in %s (action %s)", action.get("value"), channel, action.get("action_ts"))
            await self.apologise(send)

    async def on_feedback(self, ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond) -> None:
        """"Helpful? Yes / No" under an answer: recorded, and thanked privately."""
        await ack()
        turn = action.get("value") or ""
        if turn.isdigit():
            message = Message("", body["user"]["id"], "slack", self.region)
            await asyncio.to_thread(self.desk.feedback, message, int(turn), action.get("action_id") == HELPFUL)
        try:
            await privately(respond)(*notice_message(self.messages["feedback_thanks"]))
        except Exception:
            log.exception("could not thank for feedback (action %s)", action.get("action_ts"))

    # -- the work -----------------------------------------------------------------------------

    async def answer(self, event: dict, thread_ts: str | None, event_id: str | None, bot_user_id: str | None) -> None:
        """Answer one message once, in `thread_ts` (None: at the top of a direct message)."""
        channel = event["channel"]
        send = in_thread(self.client, channel, thread_ts)
        try:
            await self.after_acknowledgements()
            if not await asyncio.to_thread(self.desk.first_time, "slack-message", f"{channel}:{event['ts']}"):
                return  # the same message, delivered as a mention and as a message event
            message = to_message(event, bot_user_id, self.region, conversation_key(channel, thread_ts), self.workspace)
            if (reply := await asyncio.to_thread(self.desk.handle, message)) is not None:  # None: throttled, already told
                await send(*reply_message(reply, self.messages))
        except Exception:
            log.exception("could not answer Slack event %s in %s", event_id, channel)
            await self.apologise(send)

    async def send_reply(self, channel: str, thread_ts: str | None, reply: Reply, asked: str | None = None) -> str:
        """Post a core `Reply` as Block Kit in a thread (None: top level); returns the new message's ts."""
        return await post_in_thread(self.client, channel, thread_ts, *reply_message(reply, self.messages, asked))

    async def apologise(self, send: Sender) -> None:
        """Tell the person something went wrong (never how); a failure here is only logged."""
        try:
            await send(*notice_message(self.messages["apology"]))
        except Exception:
            log.exception("could not send the apology either")

    async def is_in_thread(self, channel: str, thread_ts: str) -> bool:
        """Whether the bot has answered in this thread before (its turns are recorded per thread)."""
        return bool(await asyncio.to_thread(self.desk.state.recent_turns, conversation_key(channel, thread_ts), 1))

    @property
    def messages(self) -> Mapping[str, str]:
        return self.desk.bot.catalogue.messages

    @property
    def workspace(self) -> str | None:
        """The workspace's name, for whoever picks up a hand-off."""
        return (self.identity or {}).get("team")


async def post_in_thread(client: AsyncWebClient, channel: str, thread_ts: str | None, text: str, blocks: list[dict] | None = None) -> str:
    """Post mrkdwn `text` (already escaped) and `blocks` in a thread, or at the top when `thread_ts` is
    None; returns the message's ts. Rate-limited calls are retried by the client per Retry-After."""
    response = await client.chat_postMessage(
        channel=channel, thread_ts=thread_ts, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
    )
    return response["ts"]


def in_thread(client: AsyncWebClient, channel: str, thread_ts: str | None) -> Sender:
    """A sender posting in a thread, for everyone in the channel to see."""

    async def send(text: str, blocks: list[dict]) -> None:
        await post_in_thread(client, channel, thread_ts, text, blocks)

    return send


def privately(respond: AsyncRespond) -> Sender:
    """A sender answering only the person who asked (an ephemeral message, via the response URL)."""

    async def send(text: str, blocks: list[dict]) -> None:
        await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)

    return send


def web_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: SLACK_BOT_TOKEN, SLACK_API_URL, and retries on 429 per Retry-After."""
    base_url = settings.get("SLACK_API_URL") or "https://slack.com/api/"
    return AsyncWebClient(
        token=settings.get("SLACK_BOT_TOKEN"),
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        retry_handlers=[*async_default_handlers(), AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )


# -- converting Slack to the core -----------------------------------------------------------------


def to_message(event: dict, bot_user_id: str | None, region: str | None, conversation: str, workspace: str | None = None) -> Message:
    """A Slack message event as the core's `Message`: plain words, one conversation per thread."""
    text = plain_text(event.get("text") or "", bot_user_id)
    return Message(text, event["user"], "slack", region, conversation, user_name=f"<@{event['user']}>", workspace=workspace)


def plain_text(text: str, bot_user_id: str | None = None) -> str:
    """Slack's message markup as the plain words a person typed: the bot's mention dropped, other
    mentions and links as their names, `&amp;` `&lt;` `&gt;` as the characters."""

    def words(markup: re.Match[str]) -> str:
        target, _, label = markup.group(1).partition("|")
        if target.startswith("@"):
            return "" if target[1:] == bot_user_id else (label and f"@{label}") or ""
        if target.startswith("#"):
            return f"#{label}" if label else ""
        if target.startswith("!"):
            return label or "@" + target[1:].split("^")[0]
        return label or target.removeprefix("mailto:")

    plain = SLACK_MARKUP.sub(words, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]{2,}", " ", plain).strip()  # a dropped mention leaves no gap


def mentions(text: str, bot_user_id: str | None) -> bool:
    """Whether Slack markup `text` mentions the bot (`<@U123>` or `<@U123|name>`)."""
    return bool(bot_user_id) and re.search(rf"<@{re.escape(bot_user_id or '')}(\|[^>]*)?>", text) is not None


def is_from_a_person(event: dict) -> bool:
    """A new message a person wrote: not a bot's, not an edit, a join or a deletion."""
    return bool(event.get("user")) and not event.get("bot_id") and event.get("subtype") in ANSWERED_SUBTYPES


def is_thread_reply(event: dict) -> bool:
    return bool(event.get("thread_ts")) and event.get("thread_ts") != event.get("ts")


def thread_of(message: dict) -> str | None:
    """Where to answer a message: its thread; a top-level direct message gets a top-level answer."""
    if message.get("thread_ts"):
        return message["thread_ts"]
    return None if is_direct(message.get("channel") or "") else message.get("ts")


def is_direct(channel: str) -> bool:
    return channel.startswith("D")  # direct-message channel ids start with D


def conversation_key(channel: str, thread_ts: str | None) -> str:
    """The core's conversation for a thread (or a whole direct message)."""
    return f"slack:{channel}:{thread_ts}" if thread_ts else f"slack:{channel}"


# -- running ----------------------------------------------------------------------------------------


def delivery_senders(settings: Settings, desk: SupportDesk) -> dict:
    """For the delivery worker: tickets posted in the support channel, customers' messages into their
    ticket's thread, and support replies relayed to resellers (needs SLACK_SUPPORT_CHANNEL)."""
    channel = settings.get("SLACK_SUPPORT_CHANNEL")
    if not channel or desk.tickets is None:
        return {}
    return SupportChannel(desk, web_client(settings), channel).senders()


def main(settings: Settings) -> int:
    """Run the Slack app until stopped: Socket Mode with SLACK_APP_TOKEN, else the Events API on $PORT."""
    from adapters.server import serve  # only the HTTP mode needs uvicorn

    app_token = settings.get("SLACK_APP_TOKEN")
    settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN" if app_token else "SLACK_SIGNING_SECRET")
    slack = SlackAdapter.from_settings(settings)
    if app_token:
        asyncio.run(slack.run_socket_mode(app_token))
        return 0
    asyncio.run(slack.startup())  # a refused token stops here, with one line, before serving
    port = int(settings.get("PORT") or 8000)
    try:
        listening = socket.create_server(("0.0.0.0", port))
    except OSError as error:
        raise SettingsError(f"cannot listen on PORT {port}: {error.strerror}") from None
    log.info("Slack: serving the Events API at http://0.0.0.0:%d%s", port, EVENTS_PATH)
    serve(slack.asgi_app(), listening)
    return 0
