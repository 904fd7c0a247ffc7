"""What real conversations say about the catalogue: how much the bot answered alone, what people
ask most, which answers they found unhelpful, why they were handed off, and the questions it could
not answer, grouped by similarity with the intent each group most likely belongs to."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from rapidfuzz import fuzz
from sqlalchemy import Engine, select

from bot.core import SupportBot
from support.printable import one_line
from support.store import turns

SIMILAR = 75  # rapidfuzz similarity of two readings at which they are "the same question"
LIKELY = 0.2  # a group whose best intent scores below this probably needs a new intent


@dataclass
class Group:
    """Unanswered questions that say the same thing."""

    texts: list[str]
    intent: str | None = None
    score: float = 0.0

    @property
    def size(self) -> int:
        return len(self.texts)

    @property
    def example(self) -> str:
        return min(self.texts, key=len)


@dataclass
class Insights:
    since: datetime
    until: datetime
    questions: int = 0
    answered: int = 0
    handed_off: int = 0
    unanswered: int = 0
    social: int = 0
    by_channel: Counter = field(default_factory=Counter)
    top_intents: list[tuple[str, int]] = field(default_factory=list)
    unhelpful: list[tuple[str, int, list[str]]] = field(default_factory=list)  # intent, votes, what was asked
    helpful_votes: int = 0
    unhelpful_votes: int = 0
    handoffs_by_reason: list[tuple[str, int]] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    @property
    def answered_share(self) -> float:
        return self.answered / self.questions if self.questions else 0.0


def parse_since(text: str) -> timedelta:
    """ "7d", "24h", "90m" -> a timedelta."""
    units = {"d": "days", "h": "hours", "m": "minutes", "w": "weeks"}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise ValueError(f"--since takes a number and a unit like 7d, 24h or 2w, not {text!r}")
    return timedelta(**{units[text[-1]]: int(text[:-1])})


def gather(engine: Engine, bot: SupportBot, since: timedelta, now: datetime | None = None) -> Insights:
    """Insights from the turns and tickets of the last `since`."""
    until = now or datetime.now(timezone.utc)
    start = until - since
    with engine.begin() as connection:
        rows = connection.execute(select(turns).where(turns.c.created_at >= start).order_by(turns.c.id)).mappings().all()
    found = Insights(since=start, until=until)
    reasons: Counter = Counter()
    answered_intents: Counter = Counter()
    unhelpful: dict[str, list[str]] = {}
    unanswered_texts: list[str] = []
    tickets_seen: set[str] = set()
    for row in rows:
        kind = row["reply_kind"]
        if kind == "escalate" and row["ticket"]:
            if row["ticket"] in tickets_seen:  # the same hand-off going on: the contact given, words for support
                continue
            tickets_seen.add(row["ticket"])
        found.by_channel[row["channel"]] += 1
        if kind == "social":
            found.social += 1
            continue
        found.questions += 1
        if kind == "answer":
            found.answered += 1
            answered_intents[row["intent"]] += 1
        elif kind == "escalate":
            found.handed_off += 1
            reasons[handoff_reason(bot, row["intent"], row["region"])] += 1
        else:
            found.unanswered += 1
            if not row["text"].startswith("[picked]"):
                unanswered_texts.append(row["text"])
        if row["helpful"] is True:
            found.helpful_votes += 1
        elif row["helpful"] is False:
            found.unhelpful_votes += 1
            unhelpful.setdefault(row["intent"] or "-", []).append(row["text"])
    found.top_intents = answered_intents.most_common(10)
    found.unhelpful = sorted(((i, len(t), t[:5]) for i, t in unhelpful.items()), key=lambda item: -item[1])
    found.handoffs_by_reason = reasons.most_common()
    found.groups = group_questions(unanswered_texts, bot)
    return found


def handoff_reason(bot: SupportBot, intent_id: str | None, region: str) -> str:
    """Why a turn was handed off: its hand-off intent's reason, or the region's hand-off variant's."""
    intent = bot.catalogue.by_id.get(intent_id or "")
    if intent is None:
        return "human"
    variant = intent.answer_for(region)
    return intent.reason or getattr(variant, "reason", None) or "human"


def group_questions(texts: list[str], bot: SupportBot) -> list[Group]:
    """Greedy grouping by similarity, biggest group first, each with its most likely intent."""
    groups: list[Group] = []
    readings: list[str] = []  # each group's first question, as the matcher reads it
    for text in texts:
        reading = " ".join(bot.matcher.normalise(text).terms) or text.lower()
        for group, first in zip(groups, readings):
            if similarity(reading, first) >= SIMILAR:
                group.texts.append(text)
                break
        else:
            groups.append(Group([text]))
            readings.append(reading)
    for group in groups:
        votes: Counter = Counter()
        scores: dict[str, list[float]] = {}
        for text in group.texts:
            for match in bot.rank(text).matches[:1]:
                intent = bot.catalogue.by_id[match.intent_id]
                if intent.kind != "social":
                    votes[match.intent_id] += 1
                    scores.setdefault(match.intent_id, []).append(match.score)
        if votes:
            intent_id, _ = votes.most_common(1)[0]
            group.intent, group.score = intent_id, sum(scores[intent_id]) / len(scores[intent_id])
    return sorted(groups, key=lambda g: -g.size)


def similarity(a: str, b: str) -> float:
    """How alike two readings are; one containing the other counts when it says at least two things
    ("loyalty program" in "is there a loyalty program for clinics"), not for one word ("help")."""
    alike = fuzz.token_sort_ratio(a, b)
    if min(len(a.split()), len(b.split())) >= 2:
        alike = max(alike, fuzz.token_set_ratio(a, b))
    return alike


def describe(group: Group, bot: SupportBot) -> str:
    """Where a group of unanswered questions probably belongs."""
    intent = bot.catalogue.by_id.get(group.intent or "")
    if intent is None or group.score < LIKELY:
        return "no intent fits: a new one?"
    if intent.kind == "fallback":
        return f"a topic we say we can't answer ({intent.id}): answer it, or leave it out"
    return f"likely {intent.id} ({group.score:.2f}): add examples"


def text_report(found: Insights, bot: SupportBot) -> str:
    """The report for a terminal."""
    questions = bot.catalogue.by_id
    lines = [
        f"Conversations from {found.since:%Y-%m-%d %H:%M} to {found.until:%Y-%m-%d %H:%M} UTC",
        f"  questions: {found.questions} (plus {found.social} small talk), by channel: "
        + (", ".join(f"{c} {n}" for c, n in found.by_channel.most_common()) or "none"),
        f"  answered without a person: {found.answered} ({found.answered_share:.0%}); handed off: {found.handed_off}; "
        f"not answered: {found.unanswered}",
        f"  helpful votes: {found.helpful_votes} yes, {found.unhelpful_votes} no",
        "",
        "Top questions answered:",
        *(f"  {n:>4}  {questions[i].question if i in questions else i}" for i, n in found.top_intents),
        "",
        "Answers marked unhelpful:",
        *(f"  {n:>4}  {i}: " + " | ".join(asked) for i, n, asked in found.unhelpful),
        "",
        "Hand-offs by reason:",
        *(f"  {n:>4}  {bot.catalogue.reasons.get(r, r)}" for r, n in found.handoffs_by_reason),
        "",
        "Questions the bot could not answer, grouped:",
    ]
    for group in found.groups[:20]:
        likely = describe(group, bot)
        lines.append(f"  {group.size:>4}  {group.example!r}  -> {likely}")
    return "\n".join(one_line(line) for line in lines)  # what people typed cannot drive the terminal
