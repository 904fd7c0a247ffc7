"""The records that cross the core's boundary: a message in, a reply out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ReplyKind = Literal["answer", "clarify", "escalate", "fallback", "social"]
REPLY_KINDS: tuple[str, ...] = ("answer", "clarify", "escalate", "fallback", "social")


@dataclass(frozen=True)
class Message:
    """What a person said, where, and for which region (None: the configured default).

    `conversation` names the chat or thread it belongs to (default: one per user and channel);
    `user_name` and `workspace` only help a person who picks up a hand-off.
    """

    text: str
    user_id: str = "anonymous"
    channel: str = "cli"
    region: str | None = None
    conversation: str | None = None
    user_name: str | None = None
    workspace: str | None = None

    @property
    def thread(self) -> str:
        return self.conversation or f"{self.channel}:{self.user_id}"


@dataclass(frozen=True)
class Match:
    """How well one intent fits a message: 0 (nothing in common) to 1 (the same question)."""

    intent_id: str
    score: float
    because: str = ""  # the example (or trigger) that matched best


@dataclass(frozen=True)
class Option:
    """An intent offered for the user to pick: a "did you mean" choice or a related question."""

    intent_id: str
    label: str


@dataclass(frozen=True)
class Reply:
    """What the bot says back, of exactly one kind.

    `text` is the whole reply as a user sees it in plain text; adapters render `options` and
    `related` as buttons. `escalate_to` and `reason` are set for hand-offs only.
    """

    kind: ReplyKind
    text: str
    region: str
    intent_id: str | None = None
    score: float = 0.0
    options: tuple[Option, ...] = ()
    related: tuple[Option, ...] = ()
    escalate_to: str | None = None
    reason: str | None = None
    ticket: str | None = None  # the hand-off's ticket code (NG-1042), once one is opened
    turn: int | None = None  # the stored turn, once the support desk has recorded it (for feedback)

    def as_dict(self) -> dict:
        """The reply as the JSON object `neogenesis-bot ask --json` prints."""
        return {
            "kind": self.kind,
            "intent": self.intent_id,
            "score": round(self.score, 3),
            "text": self.text,
            "options": [{"intent": o.intent_id, "label": o.label} for o in self.options],
            "related": [{"intent": o.intent_id, "label": o.label} for o in self.related],
            "escalate_to": self.escalate_to,
            "reason": self.reason,
            "ticket": self.ticket,
            "region": self.region,
        }
