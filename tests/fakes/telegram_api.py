"""A fake Telegram Bot API server on 127.0.0.1, for end-to-end tests of the Telegram adapter.

It speaks enough of https://core.telegram.org/bots/api for python-telegram-bot's real client:
getMe, getUpdates (long polling), sendMessage, answerCallbackQuery, editMessageText, setWebhook,
deleteWebhook and getWebhookInfo. Point the client at it with `TELEGRAM_API_URL=fake.base_url`.

    with FakeTelegramAPI(TOKEN) as telegram:
        telegram.user_says("hi")                  # what people do: say, send a sticker, edit, press
        reply = telegram.next_sent()              # what the bot sent, in order, as a person sees it
        telegram.press(reply, "Our products")     # a button of that message, by its label
        telegram.fail_next("sendMessage", 429, retry_after=1)   # script Telegram's answers

Like Telegram, it refuses (400) a message whose HTML does not parse, a text over 4,096 characters,
callback data over 64 bytes, a chat it has never seen, and an unknown callback query; a wrong token
gets 401. Once a webhook is set, updates are POSTed to it with the secret header, as Telegram does
(`deliveries` keeps each answer's status), and getUpdates answers 409. Every request, once
answered, is kept in `calls`; `allowed_updates` is recorded, not applied, so tests can show the bot
copes with any kind of update. A test can also hold a chat's sends (`hold_sends`) to make it slow.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl

import httpx

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre", "blockquote", "tg-emoji"}
HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>")
HTML_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
# Form fields python-telegram-bot sends JSON-encoded (strings are sent as they are).
JSON_FIELDS = {
    "chat_id", "message_id", "reply_markup", "reply_parameters", "allowed_updates", "offset", "limit", "timeout",
    "show_alert", "cache_time", "drop_pending_updates", "max_connections", "link_preview_options", "entities",
    "message_thread_id", "disable_notification", "protect_content",
}


@dataclass(frozen=True)
class User:
    id: int
    first_name: str
    username: str | None = None
    is_bot: bool = False

    def as_dict(self) -> dict:
        fields = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        return fields | ({"username": self.username} if self.username else {})


@dataclass(frozen=True)
class Chat:
    id: int
    type: str = "private"
    title: str | None = None

    def as_dict(self) -> dict:
        return {"id": self.id, "type": self.type} | ({"title": self.title} if self.title else {})


BOT = User(777000111, "NeoGenesis", "neogenesis_test_bot", is_bot=True)
ALICE = User(1001, "Alice", "alice")
BOB = User(1002, "Bob")
GROUP = Chat(-1001234567, "supergroup", "Skincare friends")


def private(user: User) -> Chat:
    return Chat(user.id)


@dataclass(frozen=True)
class Call:
    """One request the bot made: the method, its decoded parameters, when it arrived (monotonic
    seconds), and the HTTP status it was answered with."""

    method: str
    params: dict
    at: float
    status: int


@dataclass
class Sent:
    """A message the bot sent (or last edited), as the person sees it."""

    message_id: int
    chat_id: int
    html: str  # what the bot sent
    text: str  # what Telegram shows: tags gone, entities read
    reply_markup: dict | None = None
    reply_to: int | None = None
    edits: int = 0

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(button["text"], button.get("callback_data", "")) for row in rows for button in row]

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.buttons]


@dataclass
class _Script:
    status: int
    description: str
    parameters: dict = field(default_factory=dict)


class FakeTelegramAPI:
    """The fake server: start it (or use `with`), drive it from the test thread, read what it got."""

    def __init__(self, token: str, bot: User = BOT) -> None:
        self.token = token
        self.bot = bot
        self.calls: list[Call] = []
        self.sent: list[Sent] = []  # in the order they were sent
        self.deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status) of webhook POSTs
        self.webhook: dict | None = None
        self._chats: dict[int, dict] = {}
        self._by_id: dict[tuple[int, int], Sent] = {}
        self._updates: list[dict] = []
        self._queries: set[str] = set()
        self._holds: dict[int, threading.Event] = {}
        self._scripts: dict[str, list[_Script]] = {}
        self._next_update = 500
        self._next_message = 1
        self._read = 0
        self._closed = False
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-telegram-api", daemon=True)

    # -- running ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The `base_url` python-telegram-bot takes (it appends the token)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def start(self) -> FakeTelegramAPI:
        self._thread.start()
        return self

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()  # long polls return at once
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeTelegramAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- what people do -----------------------------------------------------------------------

    def user_says(self, text: str, user: User = ALICE, chat: Chat | None = None, reply_to: Sent | None = None) -> dict:
        """A new text message from `user` (in their private chat unless `chat`); returns it."""
        return self.user_sends(user, chat, reply_to, text=text, entities=_entities(text))

    def user_sends(self, user: User = ALICE, chat: Chat | None = None, reply_to: Sent | None = None, **content: Any) -> dict:
        """A new message with any content (sticker=..., photo=[...], voice=..., caption=...)."""
        message = self.new_message(user, chat, reply_to, **content)
        self.push(self.new_update(message=message))
        return message

    def user_edits(self, message: dict, text: str) -> dict:
        """The person edits one of their messages."""
        edited = {**message, "text": text, "entities": _entities(text), "edit_date": int(time.time())}
        self.push(self.new_update(edited_message=edited))
        return edited

    def press(self, message: Sent, label: str, user: User = ALICE) -> str:
        """The person presses the button labelled `label` under `message`; returns the query id."""
        data = dict(message.buttons)[label]
        query_id = f"query-{self._message_id()}"
        with self._changed:
            self._queries.add(query_id)
        query = {"id": query_id, "from": user.as_dict(), "chat_instance": f"ci{message.chat_id}", "data": data, "message": self._as_message(message)}
        self.push(self.new_update(callback_query=query))
        return query_id

    def new_message(self, user: User = ALICE, chat: Chat | None = None, reply_to: Sent | None = None, **content: Any) -> dict:
        """A message as Telegram describes it, not sent yet (`text=...` gets its entities marked)."""
        chat = chat or private(user)
        if "text" in content and "entities" not in content:
            content["entities"] = _entities(content["text"])
        message = {"message_id": self._message_id(), "date": int(time.time()), "chat": chat.as_dict(), "from": user.as_dict(), **content}
        if reply_to is not None:
            message["reply_to_message"] = self._as_message(reply_to)
        with self._changed:
            self._chats[chat.id] = chat.as_dict()
        return message

    def new_update(self, **fields: Any) -> dict:
        """An update with the next update id (`message=...`, `channel_post=...`, or any kind at all)."""
        with self._changed:
            self._next_update += 1
            return {"update_id": self._next_update, **fields}

    def push(self, update: dict) -> dict:
        """Hand `update` to the bot: queued for getUpdates, or POSTed to the webhook if one is set."""
        with self._changed:
            webhook = self.webhook
            if webhook is None:
                self._updates.append(update)
                self._changed.notify_all()
        if webhook is not None:
            self.deliver(update)
        return update

    def hold_sends(self, chat_id: int) -> threading.Event:
        """Make sendMessage to `chat_id` hang (a slow chat) until the returned event is set."""
        gate = threading.Event()
        with self._changed:
            self._holds[chat_id] = gate
        return gate

    def deliver(self, update: dict, secret: str | None = "registered") -> int:
        """POST `update` to the webhook as Telegram does (again, for a redelivery); `secret`: the
        registered one, another value, or None for no header. Returns the HTTP status."""
        assert self.webhook is not None, "no webhook is set"
        secret = self.webhook.get("secret_token") if secret == "registered" else secret
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        status = httpx.post(self.webhook["url"], json=update, headers=headers, timeout=5).status_code
        with self._changed:
            self.deliveries.append((update["update_id"], status))
        return status

    def fail_next(self, method: str, status: int, description: str | None = None, retry_after: int | None = None, times: int = 1) -> None:
        """Answer the next `times` calls to `method` with an error, e.g. a 429 asking to retry after a while."""
        description = description or {429: f"Too Many Requests: retry after {retry_after}", 500: "Internal Server Error"}.get(status, "Bad Request")
        parameters = {"retry_after": retry_after} if retry_after is not None else {}
        with self._changed:
            self._scripts.setdefault(method, []).extend(_Script(status, description, parameters) for _ in range(times))

    # -- what the bot did ---------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._changed:
            return [call for call in self.calls if call.method == method]

    def wait_for(self, method: str, where: Callable[[Call], bool] = lambda call: True, timeout: float = 5.0) -> Call:
        """The first call to `method` that `where` accepts, waiting up to `timeout` seconds."""
        found: list[Call] = []

        def arrived() -> bool:
            found[:] = [c for c in self.calls if c.method == method and where(c)][:1]
            return bool(found)

        with self._changed:
            if not self._changed.wait_for(arrived, timeout):
                raise AssertionError(f"no {method} call within {timeout} s; calls so far: {[c.method for c in self.calls]}")
        return found[0]

    def next_sent(self, timeout: float = 5.0) -> Sent:
        """The next message the bot sent that this test has not read yet."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.sent) > self._read, timeout):
                raise AssertionError(f"the bot sent nothing more within {timeout} s (sent so far: {[s.text[:40] for s in self.sent]})")
            self._read += 1
            return self.sent[self._read - 1]

    def unread(self) -> list[Sent]:
        """Messages sent and not read with `next_sent` yet (without waiting)."""
        with self._changed:
            return self.sent[self._read:]

    def message(self, sent: Sent) -> Sent:
        """`sent` as it is now (after any edits)."""
        with self._changed:
            return self._by_id[(sent.chat_id, sent.message_id)]

    # -- the API ------------------------------------------------------------------------------

    def handle(self, token: str, method: str, params: dict) -> tuple[int, dict]:
        """Answer one Bot API request: (HTTP status, the JSON body)."""
        arrived = time.monotonic()
        with self._changed:
            scripted = self._scripts.get(method)
            script = scripted.pop(0) if scripted else None
        if token != self.token:
            status, body = 401, _error(401, "Unauthorized")
        elif script is not None:
            status, body = script.status, _error(script.status, script.description, script.parameters)
        else:
            answer = getattr(self, f"_api_{method}", None)
            try:
                status, body = (200, {"ok": True, "result": answer(params)}) if answer else (404, _error(404, "Not Found"))
            except _Refused as refusal:
                status, body = refusal.status, _error(refusal.status, refusal.description)
        with self._changed:  # kept once answered, so a test that sees a call sees its outcome
            self.calls.append(Call(method, params, arrived, status))
            self._changed.notify_all()
        return status, body

    def _api_getMe(self, params: dict) -> dict:
        return self.bot.as_dict() | {"can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    def _api_getUpdates(self, params: dict) -> list[dict]:
        if self.webhook is not None:
            raise _Refused(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 100)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 30.0)
        with self._changed:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]  # confirmed ones go
            while not self._updates and not self._closed and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
            return self._updates[:limit]

    def _api_sendMessage(self, params: dict) -> dict:
        chat_id = params.get("chat_id")
        with self._changed:
            chat = self._chats.get(chat_id)  # type: ignore[arg-type]
            gate = self._holds.get(chat_id)  # type: ignore[arg-type]
        if gate is not None:
            gate.wait(10)
        if chat is None:
            raise _Refused(400, "Bad Request: chat not found")
        text = _shown_text(params.get("text", ""), params.get("parse_mode"))
        markup = _checked_markup(params.get("reply_markup"))
        reply_to = (params.get("reply_parameters") or {}).get("message_id")
        with self._changed:
            sent = Sent(self._message_id(), chat_id, params.get("text", ""), text, markup, reply_to)  # type: ignore[arg-type]
            self.sent.append(sent)
            self._by_id[(sent.chat_id, sent.message_id)] = sent
            self._changed.notify_all()
        return self._as_message(sent)

    def _api_editMessageText(self, params: dict) -> dict:
        with self._changed:
            sent = self._by_id.get((params.get("chat_id"), params.get("message_id")))  # type: ignore[arg-type]
        if sent is None:
            raise _Refused(400, "Bad Request: message to edit not found")
        text = _shown_text(params.get("text", ""), params.get("parse_mode"))
        markup = _checked_markup(params.get("reply_markup"))
        if text == sent.text and markup == sent.reply_markup:
            raise _Refused(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same")
        with self._changed:
            sent.html, sent.text, sent.reply_markup, sent.edits = params.get("text", ""), text, markup, sent.edits + 1
            self._changed.notify_all()
        return self._as_message(sent)

    def _api_editMessageReplyMarkup(self, params: dict) -> dict:
        with self._changed:
            sent = self._by_id.get((params.get("chat_id"), params.get("message_id")))  # type: ignore[arg-type]
        if sent is None:
            raise _Refused(400, "Bad Request: message to edit not found")
        markup = _checked_markup(params.get("reply_markup"))
        if markup == sent.reply_markup:
            raise _Refused(400, "Bad Request: message is not modified")
        with self._changed:
            sent.reply_markup, sent.edits = markup, sent.edits + 1
            self._changed.notify_all()
        return self._as_message(sent)

    def _api_answerCallbackQuery(self, params: dict) -> bool:
        with self._changed:
            if params.get("callback_query_id") not in self._queries:
                raise _Refused(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
            self._queries.discard(params["callback_query_id"])
        return True

    def _api_setWebhook(self, params: dict) -> bool:
        with self._changed:
            self.webhook = {"url": params["url"], "secret_token": params.get("secret_token"), "allowed_updates": params.get("allowed_updates")}
        return True

    def _api_deleteWebhook(self, params: dict) -> bool:
        with self._changed:
            self.webhook = None
        return True

    def _api_getWebhookInfo(self, params: dict) -> dict:
        return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    # -- helpers ------------------------------------------------------------------------------

    def _message_id(self) -> int:
        with self._changed:
            self._next_message += 1
            return self._next_message

    def _as_message(self, sent: Sent) -> dict:
        message = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": self._chats.get(sent.chat_id, {"id": sent.chat_id, "type": "private"}),
            "from": self.bot.as_dict(),
            "text": sent.text,
        }
        return message | ({"reply_markup": sent.reply_markup} if sent.reply_markup else {})


class _Refused(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _error(status: int, description: str, parameters: dict | None = None) -> dict:
    return {"ok": False, "error_code": status, "description": description} | ({"parameters": parameters} if parameters else {})


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _shown_text(text: str, parse_mode: str | None) -> str:
    """What Telegram would show for `text`, or a 400 as Telegram refuses it."""
    shown = _read_html(text) if (parse_mode or "").upper() == "HTML" else text
    if not shown.strip():
        raise _Refused(400, "Bad Request: message text is empty")
    if _utf16(shown) > MAX_TEXT:
        raise _Refused(400, "Bad Request: message is too long")
    return shown


def _read_html(text: str) -> str:
    """Telegram's HTML parse mode: only its tags, balanced; every other <, > and & escaped."""
    shown, open_tags, at = [], [], 0
    while at < len(text):
        character = text[at]
        if character == "<":
            tag = HTML_TAG.match(text, at)
            if tag is None or tag.group(2).lower() not in HTML_TAGS:
                raise _Refused(400, f"Bad Request: can't parse entities: Unsupported start tag at byte offset {at}")
            name = tag.group(2).lower()
            if tag.group(1):
                if not open_tags or open_tags.pop() != name:
                    raise _Refused(400, f"Bad Request: can't parse entities: Unmatched end tag at byte offset {at}")
            else:
                open_tags.append(name)
            at = tag.end()
        elif character == "&":
            entity = HTML_ENTITY.match(text, at)
            if entity is None:
                raise _Refused(400, f"Bad Request: can't parse entities: Character '&' is reserved at byte offset {at}")
            shown.append(html.unescape(entity.group(0)))
            at = entity.end()
        elif character == ">":
            raise _Refused(400, f"Bad Request: can't parse entities: Character '>' is reserved at byte offset {at}")
        else:
            shown.append(character)
            at += 1
    if open_tags:
        raise _Refused(400, f"Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"{open_tags[-1]}\"")
    return "".join(shown)


def _checked_markup(markup: dict | None) -> dict | None:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if not button.get("text"):
                raise _Refused(400, "Bad Request: button text is empty")
            if len(button.get("callback_data", "").encode()) > MAX_CALLBACK_DATA:
                raise _Refused(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


def _entities(text: str) -> list[dict]:
    """The entities Telegram marks in a typed text: bot commands and @mentions (UTF-16 offsets)."""
    found = []
    for kind, pattern in (("bot_command", r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{5,32})?"), ("mention", r"(?<![\w@/])@[A-Za-z0-9_]{5,32}")):
        for match in re.finditer(pattern, text):
            found.append({"type": kind, "offset": _utf16(text[: match.start()]), "length": _utf16(match.group())})
    return sorted(found, key=lambda entity: entity["offset"])


def _decode(params: dict[str, str]) -> dict:
    decoded: dict = {}
    for name, value in params.items():
        try:
            decoded[name] = json.loads(value) if name in JSON_FIELDS else value
        except ValueError:
            decoded[name] = value  # a chat id like "@channel"
    return decoded


def _handler_for(fake: FakeTelegramAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            if self.headers.get("Content-Type", "").startswith("application/json"):
                params = json.loads(body or "{}")
            else:
                params = _decode(dict(parse_qsl(body, keep_blank_values=True)))
            match = re.fullmatch(r"/bot([^/]*)/(\w+)", self.path.split("?")[0])
            status, answer = fake.handle(match.group(1), match.group(2), params) if match else (404, _error(404, "Not Found"))
            payload = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a long poll cancelled at shutdown)

        do_GET = do_POST

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `calls` instead
            pass

    return Handler
