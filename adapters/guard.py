"""The front door of the web endpoints: a request from the internet costs nothing until it proves it
comes from Slack or Telegram.

Its size is checked from its `Content-Length` and again while its body streams in (a lying or
missing length changes nothing), so no more than `MAX_BODY_BYTES` is ever held; its credentials
(Slack's signature over the raw bytes and timestamp, Telegram's secret header) are checked before
its body is parsed or logged. Of a refused request the log keeps the reason, its length and where
it came from, never its content. An authenticated body that does not parse gets a 400, not a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.types import Message as AsgiMessage

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000  # Slack's events and Telegram's updates are a few KB; 1 MB is generous
TIMESTAMP = re.compile(r"[0-9]{1,12}")


class Refused(Exception):
    """A request turned away: the HTTP status and a short reason (no part of the request in it)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request's body, or Refused(413) as soon as it is known to be over `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isascii() or not declared.isdigit()):
        raise Refused(400, "malformed Content-Length")
    if declared is not None and int(declared) > limit:
        raise Refused(413, f"body of {int(declared)} bytes declared")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # a missing or lying Content-Length: stop reading here
            raise Refused(413, f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def replaying(request: Request, body: bytes) -> Request:
    """The same request with its body already read, for a handler that reads the body itself (Bolt)."""
    given = False

    async def receive() -> AsgiMessage:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await request.receive()  # what comes after the body: the client disconnecting

    return Request(request.scope, receive)


def source_of(request: Request) -> str:
    return request.client.host if request.client else "-"


def log_refusal(what: str, request: Request, refusal: Refused, length: int | None = None) -> None:
    """One line: what was refused, why, how long it was and where from; nothing the sender wrote."""
    declared = request.headers.get("content-length", "")
    size = length if length is not None else (declared if declared.isascii() and declared.isdigit() else "?")
    log.warning("%s refused (%d %s): %s bytes from %s", what, refusal.status, refusal.reason, size, source_of(request))


# -- Slack --------------------------------------------------------------------------------------


class SlackSignature:
    """Slack's request signing: HMAC-SHA256 of `v0:<timestamp>:<raw body>`, at most five minutes old."""

    def __init__(self, signing_secret: str) -> None:
        from slack_sdk.signature import SignatureVerifier  # here: the Telegram adapter uses this module without the Slack extra

        self.verifier = SignatureVerifier(signing_secret) if signing_secret.strip() else None

    def check(self, request: Request, body: bytes) -> None:
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        if self.verifier is None or not signature or not signature.isascii() or not TIMESTAMP.fullmatch(timestamp):
            raise Refused(401, "no valid signature")
        try:
            valid = self.verifier.is_valid(body, timestamp, signature)
        except UnicodeDecodeError:  # slack_sdk signs text; Slack signs bytes, and sends only UTF-8
            valid = self._is_valid_bytes(body, timestamp, signature)
            if valid:
                raise Refused(400, "malformed body") from None
        if not valid:
            raise Refused(401, "bad or expired signature")

    def _is_valid_bytes(self, body: bytes, timestamp: str, signature: str) -> bool:
        assert self.verifier is not None
        if abs(time.time() - int(timestamp)) > 60 * 5:
            return False
        digest = hmac.new(self.verifier.signing_secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(f"v0={digest}", signature)


def check_slack_body(body: bytes, content_type: str) -> None:
    """Refused(400) unless a signed body is what Slack sends: a JSON object (events), or a form
    (slash commands; button clicks carry a JSON object in its `payload` field)."""
    try:
        text = body.decode("utf-8")
        if content_type.split(";")[0].strip().lower() == "application/json":
            _json_object(text)
        else:
            form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
            if "payload" in form:
                _json_object(form["payload"][0])
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise Refused(400, "malformed body") from None


def is_slack_ssl_check(body: bytes) -> bool:
    """Slack's certificate check for a slash command URL (`ssl_check=1&token=…`), which Bolt answers
    with an empty 200 before any signature check; it carries nothing to act on."""
    return len(body) < 1000 and parse_qs(body.decode("latin-1")).get("ssl_check") == ["1"]


def _json_object(text: str) -> dict:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


# -- Telegram -----------------------------------------------------------------------------------


def check_telegram_secret(request: Request, header: str, secret: str) -> None:
    given = request.headers.get(header, "")
    if not secret or not hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode()):
        raise Refused(403, "no valid secret")


def telegram_update(body: bytes) -> dict:
    """The JSON object of a webhook update; Refused(400) for anything else."""
    try:
        return _json_object(body.decode("utf-8"))
    except (ValueError, RecursionError):
        raise Refused(400, "malformed body") from None
