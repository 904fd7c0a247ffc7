"""The catalogue as the core sees it: intents, regions, vocabulary and the bot's own messages.

Built by `bot.loading.load_catalogue`, which checks the YAML; everything here is already valid.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

KINDS = ("answer", "handoff", "social", "fallback")
PLACEHOLDERS = frozenset({"email", "phone", "contact", "region_name", "reason", "topics", "ticket", "followup", "hours", "reached_at", "when"})


@dataclass(frozen=True)
class Handoff:
    """A region's answer that is a hand-off to a person instead of text."""

    reason: str


@dataclass(frozen=True)
class Intent:
    """One question the bot knows, the ways people ask it, and what it says back."""

    id: str
    kind: str
    category: str
    question: str
    examples: tuple[str, ...]
    answers: Mapping[str, str | Handoff]  # region code -> text or hand-off; None key: every region
    related: tuple[str, ...] = ()
    reason: str | None = None
    triggers: tuple[str, ...] = ()
    source: str = "bot"
    file: str = ""

    def answer_for(self, region: str) -> str | Handoff | None:
        """This intent's answer in `region`: its own variant, else the one for every region."""
        return self.answers.get(region, self.answers.get(None))

    @property
    def region_dependent(self) -> bool:
        return any(key is not None for key in self.answers)


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    email: str
    contact: str
    phone: str | None = None


@dataclass(frozen=True)
class Category:
    id: str
    title: str
    shown: bool = True


@dataclass(frozen=True)
class Vocabulary:
    """Words the matcher reads specially: product aliases, synonyms, short forms, emoji."""

    products: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    synonyms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    shorthand: Mapping[str, str] = field(default_factory=dict)
    emoji: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalogue:
    intents: tuple[Intent, ...]
    categories: tuple[Category, ...]
    regions: Mapping[str, Region]
    reasons: Mapping[str, str]
    messages: Mapping[str, str]
    vocabulary: Vocabulary
    directory: str = ""
    negatives: tuple[str, ...] = ()  # everyday requests that are none of ours: the model learns "not ours"
    by_id: Mapping[str, Intent] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", MappingProxyType({i.id: i for i in self.intents}))

    @property
    def topics(self) -> str:
        """The user-facing categories as one phrase: "our products, how to use them, ..."."""
        titles = [c.title[0].lower() + c.title[1:] for c in self.categories if c.shown]
        return ", ".join(titles[:-1]) + " and " + titles[-1] if len(titles) > 1 else "".join(titles)

    def fill(self, template: str, region: str, reason: str | None = None, **extra: str) -> str:
        """`template` with its placeholders filled in for `region` (and any `extra` values)."""
        where = self.regions[region]
        values = {
            "email": where.email,
            "phone": where.phone or where.email,
            "contact": where.contact,
            "region_name": where.name,
            "reason": self.reasons.get(reason or "", reason or ""),
            "topics": self.topics,
            **extra,
        }
        return template.format_map(_Blank(values)).strip()


class _Blank(dict):
    """Placeholders with no value in this reply (a {ticket} in a CLI answer) read as nothing."""

    def __missing__(self, key: str) -> str:
        return ""


def placeholders_in(text: str) -> set[str]:
    """The `{name}` placeholders a text uses."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
