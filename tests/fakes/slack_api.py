"""Slack, faked at its two edges, for end-to-end tests of the Slack adapter over real HTTP.

`FakeSlackAPI` is a small Slack Web API on 127.0.0.1 (aiohttp, any free port): point a real
`AsyncWebClient(base_url=api.base_url)` (SLACK_API_URL) at it. It answers `auth.test`,
`chat.postMessage`, `chat.postEphemeral`, `chat.update` and `apps.connections.open` as Slack does,
takes `response_url` posts (`api.response_url("...")`) and a Socket Mode WebSocket, records every
call, and lets a test script a response (a 429 once, an error). Waiting is on a condition with a
timeout, never a sleep:

    with FakeSlackAPI() as api:
        api.script("chat.postMessage", status=429, headers={"Retry-After": "1"})
        ...
        post = api.wait_for_post()
        assert post["thread_ts"] == "1700000000.000100"

`SlackSender` is Slack's side of the Events API: it signs a payload with the signing secret exactly as
Slack does (`v0:timestamp:body`, HMAC-SHA256, `X-Slack-Signature`, `X-Slack-Request-Timestamp`) and
POSTs it to the app; its helpers build the payloads of a mention, a message, a slash command and a
button click. The payload builders below are plain functions, usable on their own.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import urlencode

import httpx
from aiohttp import WSMsgType, web
from slack_sdk.signature import SignatureVerifier

BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T0NEOGEN"
TEAM_NAME = "NeoGenesis Resellers"
APP_ID = "A0NEOGEN"


@dataclass
class Call:
    """One request the fake received and how it answered: `method` is the Web API method,
    "response_url" for a response URL post, "socket_ack" for a Socket Mode acknowledgement."""

    method: str
    params: dict[str, Any]
    token: str | None = None
    status: int = 200
    path: str = ""
    response: dict[str, Any] = field(default_factory=dict)  # what the fake answered

    def __getitem__(self, name: str) -> Any:
        return self.params.get(name)

    @property
    def ok(self) -> bool:
        """The fake accepted it (HTTP 200 and not `"ok": false`)."""
        return self.status == 200 and self.response.get("ok") is not False


@dataclass
class Scripted:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


class FakeSlackAPI:
    """A fake Slack Web API on 127.0.0.1 that records every call; use as a context manager."""

    def __init__(self, bot_user_id: str = BOT_USER_ID, bot_id: str = BOT_ID, team_id: str = TEAM_ID) -> None:
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self.port = 0
        self._calls: list[Call] = []
        self._scripts: dict[str, list[Scripted]] = {}
        self._changed = threading.Condition()
        self._timestamps = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-slack-api", daemon=True)
        self._runner: web.AppRunner | None = None
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel -> what was posted there, oldest first

    # -- running ----------------------------------------------------------------------------------

    def start(self) -> FakeSlackAPI:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> FakeSlackAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The Web API base URL, as slack_sdk's `base_url` takes it (with the trailing slash)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "command") -> str:
        """A response URL for a slash command or button payload; posts to it are recorded."""
        return f"http://127.0.0.1:{self.port}/response/{name}"

    # -- scripting and reading ----------------------------------------------------------------------

    def script(self, method: str, status: int = 200, headers: dict[str, str] | None = None, body: dict[str, Any] | None = None) -> None:
        """Answer the next call of `method` this way instead (queue several for several calls).

        A 429 gets Slack's `{"ok": false, "error": "ratelimited"}` unless `body` says otherwise."""
        if body is None and status == 429:
            body = {"ok": False, "error": "ratelimited"}
        with self._changed:
            self._scripts.setdefault(method, []).append(Scripted(status, headers or {}, body))

    def calls(self, method: str | None = None) -> list[Call]:
        """Every call received so far (of `method`), in order, answered or not."""
        with self._changed:
            return [c for c in self._calls if method is None or c.method == method]

    def posts(self) -> list[Call]:
        """The messages actually posted: chat.postMessage calls the fake accepted."""
        return [c for c in self.calls("chat.postMessage") if c.ok]

    def private_replies(self) -> list[Call]:
        """What was sent to response URLs (slash command and ephemeral button answers)."""
        return self.calls("response_url")

    def wait_for(self, method: str, count: int = 1, timeout: float = 10, accepted: bool = True) -> list[Call]:
        """Wait until `count` calls of `method` arrived (accepted ones only, by default); returns them."""

        def matching() -> list[Call]:
            return [c for c in self._calls if c.method == method and (c.ok or not accepted)]

        with self._changed:
            if not self._changed.wait_for(lambda: len(matching()) >= count, timeout):
                seen = [(c.method, c.status) for c in self._calls]
                raise AssertionError(f"expected {count} {method} call(s) within {timeout}s; the fake saw {seen}")
            return matching()

    def wait_for_post(self, number: int = 1, timeout: float = 10) -> Call:
        """The `number`th accepted chat.postMessage, once it has arrived."""
        return self.wait_for("chat.postMessage", number, timeout)[number - 1]

    def wait_for_private_reply(self, number: int = 1, timeout: float = 10) -> Call:
        return self.wait_for("response_url", number, timeout)[number - 1]

    # -- Socket Mode ----------------------------------------------------------------------------------

    def send_over_socket(self, payload: dict[str, Any], kind: str = "events_api", timeout: float = 10) -> str:
        """Deliver an envelope (events_api, slash_commands, interactive) to the connected Socket Mode
        client; returns its envelope id (the client acknowledges with it, recorded as "socket_ack")."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._sockets, timeout):
                raise AssertionError("no Socket Mode client connected")
            socket = self._sockets[-1]
        envelope_id = f"env-{next(self._timestamps)}"
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload, "accepts_response_payload": kind != "events_api", "retry_attempt": 0, "retry_reason": ""}
        asyncio.run_coroutine_threadsafe(socket.send_str(json.dumps(envelope)), self._loop).result(timeout=timeout)
        return envelope_id

    # -- the server -----------------------------------------------------------------------------------

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._web_api)
        app.router.add_get("/api/{method}", self._web_api)  # some methods (conversations.history) are GETs
        app.router.add_post("/response/{name}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        await self._runner.cleanup()  # type: ignore[union-attr]

    def _record(self, call: Call) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def _next_script(self, method: str) -> Scripted | None:
        with self._changed:
            queue = self._scripts.get(method)
            return queue.pop(0) if queue else None

    async def _web_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or params.pop("token", None)
        scripted = self._next_script(method)
        if scripted is not None and (scripted.status != 200 or scripted.body is not None):
            answer = scripted.body or {"ok": True}
            self._record(Call(method, params, token, scripted.status, request.path, answer))
            return web.json_response(answer, status=scripted.status, headers=scripted.headers)
        answer = self._answer(method, params)
        self._record(Call(method, params, token, 200, request.path, answer))
        return web.json_response(answer)

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://neogenesis-resellers.slack.com/", "team": TEAM_NAME, "user": "neogenesis",
                    "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id, "is_enterprise_install": False}
        if method == "chat.postMessage":
            ts = f"{1700000000 + next(self._timestamps)}.000100"
            message = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "ts": ts,
                       "text": params.get("text"), "blocks": params.get("blocks")}
            if params.get("thread_ts"):
                message["thread_ts"] = params["thread_ts"]
            metadata = params.get("metadata")
            if metadata:
                message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
            with self._changed:
                self.messages.setdefault(params.get("channel"), []).append(message)
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}
        if method == "chat.update":
            with self._changed:
                for message in self.messages.get(params.get("channel"), []):
                    if message["ts"] == params.get("ts"):
                        message.update(text=params.get("text"), blocks=params.get("blocks"))
                        return {"ok": True, "channel": params.get("channel"), "ts": message["ts"]}
            return {"ok": False, "error": "message_not_found"}
        if method in ("conversations.history", "conversations.replies"):
            with self._changed:
                posted = list(self.messages.get(params.get("channel"), []))
            if method == "conversations.replies":
                posted = [m for m in posted if m["ts"] == params.get("ts") or m.get("thread_ts") == params.get("ts")]
            else:
                posted = [m for m in reversed(posted) if not m.get("thread_ts")]
            include = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
            return {"ok": True, "messages": [m if include else {k: v for k, v in m.items() if k != "metadata"} for m in posted]}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{1700000000 + next(self._timestamps)}.000200"}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        return {"ok": True}

    async def _response_url(self, request: web.Request) -> web.Response:
        self._record(Call("response_url", await _params(request), None, 200, request.path))
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_str(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": APP_ID}}))
        with self._changed:
            self._sockets.append(socket)
            self._changed.notify_all()
        async for frame in socket:
            if frame.type == WSMsgType.TEXT:
                self._record(Call("socket_ack", json.loads(frame.data), None, 200, request.path))
        with self._changed:
            self._sockets.remove(socket)
        return socket


async def _params(request: web.Request) -> dict[str, Any]:
    """A request's parameters, from JSON or a form, with JSON-encoded fields (blocks) decoded."""
    if request.content_type == "application/json":
        return dict(await request.json())
    params: dict[str, Any] = dict(await request.post())
    params.update(request.query)
    for name in ("blocks", "attachments", "metadata"):
        if isinstance(params.get(name), str):
            params[name] = json.loads(params[name])
    return params


# -- Slack's side of the Events API ------------------------------------------------------------------


def signature_headers(body: str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack signs a request with."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


_ids = itertools.count(1)


def new_ts() -> str:
    """A fresh Slack message timestamp."""
    return f"{1600000000 + next(_ids)}.{next(_ids):06d}"


def message_event(text: str, user: str = "U0ESTHETICIAN", channel: str = "C0RESELLERS", ts: str | None = None,
                  thread_ts: str | None = None, channel_type: str = "channel", **extra: Any) -> dict[str, Any]:
    """A `message` event as Slack sends it (text in Slack markup: `<@U…>`, `&amp;`)."""
    ts = ts or new_ts()
    event = {"type": "message", "user": user, "text": text, "ts": ts, "event_ts": ts, "channel": channel,
             "channel_type": channel_type, "team": TEAM_ID}
    if thread_ts:
        event["thread_ts"] = thread_ts
    event.update(extra)
    return event


def mention_event(text: str, **fields: Any) -> dict[str, Any]:
    """An `app_mention` event: the same message, as the mention Slack also sends."""
    event = message_event(text, **fields)
    event["type"] = "app_mention"
    event.pop("channel_type")
    return event


def event_callback(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
        "event_context": "4-eyJldCI6Im1lc3NhZ2UifQ",
    }


def slash_command(text: str, response_url: str, user: str = "U0ESTHETICIAN", channel: str = "C0RESELLERS",
                  command: str = "/neogenesis") -> dict[str, str]:
    """The form fields of a slash command."""
    return {
        "token": "legacy-verification-token", "team_id": TEAM_ID, "team_domain": "neogenesis-resellers",
        "channel_id": channel, "channel_name": "resellers", "user_id": user, "user_name": "esthetician",
        "command": command, "text": text, "api_app_id": APP_ID, "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": f"{next(_ids)}.trigger",
    }


def button_click(button: dict[str, Any], message: dict[str, Any] | None, channel: str, response_url: str,
                 user: str = "U0ESTHETICIAN", ephemeral: bool = False) -> dict[str, Any]:
    """The `block_actions` payload of a click on `button` (a Block Kit button element) in `message`
    (as the bot posted it; None for an ephemeral message, which Slack does not send back)."""
    container = {"type": "message", "message_ts": (message or {}).get("ts") or new_ts(), "channel_id": channel, "is_ephemeral": ephemeral}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "esthetician", "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": container,
        "trigger_id": f"{next(_ids)}.trigger",
        "team": {"id": TEAM_ID, "domain": "neogenesis-resellers"},
        "channel": {"id": channel, "name": "resellers"},
        "response_url": response_url,
        "actions": [{**button, "block_id": "related", "action_ts": f"{time.time():.6f}"}],
    }
    if message is not None and not ephemeral:
        payload["message"] = message
    return payload


class SlackSender:
    """Slack's servers: signs payloads and POSTs them to the app's request URL over real HTTP."""

    def __init__(self, url: str, signing_secret: str) -> None:
        self.url = url
        self.signing_secret = signing_secret
        self.http = httpx.Client(timeout=10)

    def close(self) -> None:
        self.http.close()

    def post(self, body: str, content_type: str = "application/json", *, timestamp: int | None = None,
             headers: dict[str, str] | None = None, signed: bool = True) -> httpx.Response:
        """POST `body` as Slack does; `timestamp` signs as of another time, `signed=False` sends no signature."""
        sent = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
        if signed:
            sent.update(signature_headers(body, self.signing_secret, timestamp))
        sent.update(headers or {})
        return self.http.post(self.url, content=body.encode(), headers=sent)

    def event(self, event: dict[str, Any], event_id: str | None = None, retry: int | None = None, **post: Any) -> httpx.Response:
        """Deliver an Events API event (`retry`: as Slack's Nth retry, with X-Slack-Retry-Num)."""
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        headers.update(post.pop("headers", None) or {})
        return self.post(json.dumps(event_callback(event, event_id)), headers=headers, **post)

    def command(self, fields: dict[str, str], **post: Any) -> httpx.Response:
        return self.post(urlencode(fields), "application/x-www-form-urlencoded", **post)

    def interaction(self, payload: dict[str, Any], **post: Any) -> httpx.Response:
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", **post)


def buttons_in(blocks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every button in a message's blocks, in order."""
    for block in blocks or []:
        if block.get("type") == "actions":
            yield from (e for e in block["elements"] if e.get("type") == "button")
