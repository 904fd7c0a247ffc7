"""Scoring the bot on labelled messages (the schema of the shared eval sets) and sweeping thresholds.

A case is right when the reply is of the expected kind and carries its facts or hand-off address;
wrong when the bot asserted something it should not (an answer without the facts, an answer or a
hand-off where none belonged, a hand-off to the wrong address); clarify when it asked which question
was meant; a miss otherwise (it said less than it could, but nothing false).
"""

from __future__ import annotations

import copy
import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

from bot.core import SupportBot
from bot.loading import read_yaml
from bot.policy import Thresholds, decide
from bot.records import Message, Reply

EXPECT_KINDS = ("answer", "escalate", "fallback", "social")
VERDICTS = ("right", "wrong", "clarify", "miss")


@dataclass(frozen=True)
class Case:
    text: str
    expect: str
    channel: str = "cli"
    region: str | None = None
    facts: tuple[str, ...] = ()
    to: str | None = None
    source: str = ""


@dataclass(frozen=True)
class Outcome:
    case: Case
    reply: Reply
    verdict: str
    why: str = ""


@dataclass
class Scores:
    """Counts of verdicts per expected kind, and the outcomes that were not right."""

    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.case.expect][outcome.verdict] += 1
        self.outcomes.append(outcome)

    def total(self, verdict: str | None = None, expect: str | None = None) -> int:
        kinds = [expect] if expect else list(self.counts)
        return sum(self.counts[k][verdict] if verdict else sum(self.counts[k].values()) for k in kinds)

    def share(self, verdict: str, expect: str | None = None) -> float:
        cases = self.total(expect=expect)
        return self.total(verdict, expect) / cases if cases else 0.0


def load_cases(path: Path | str) -> list[Case]:
    """The cases of one eval file; raises ValueError naming the case that is malformed."""
    data = read_yaml(Path(path))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of cases")
    cases = []
    for number, raw in enumerate(data, start=1):
        given = raw if isinstance(raw, dict) else {}
        cases.append(_case(raw, f"{path}: case {number}", f"{Path(path).name}:{number}", given.get("channel", "cli"), given.get("region")))
    return cases


def _case(raw: object, where: str, source: str, channel: str, region: str | None) -> Case:
    """One labelled message (a case, or a conversation's turn); ValueError names `where` if malformed."""
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str) or raw.get("expect") not in EXPECT_KINDS:
        raise ValueError(f"{where} needs `text` and `expect` ({', '.join(EXPECT_KINDS)})")
    return Case(
        text=raw["text"],
        expect=raw["expect"],
        channel=channel,
        region=region,
        facts=tuple(str(f) for f in raw.get("facts", ())),
        to=raw.get("to"),
        source=source,
    )


def judge(case: Case, reply: Reply) -> tuple[str, str]:
    """The verdict on one reply, and why when it is not right."""
    if reply.kind == "clarify":
        return "clarify", ""
    if reply.kind == "answer":
        if case.expect != "answer":
            return "wrong", f"answered ({reply.intent_id}) where {case.expect} was expected"
        missing = [f for f in case.facts if f.casefold() not in reply.text.casefold()]
        return ("wrong", f"answer {reply.intent_id} lacks {missing}") if missing else ("right", "")
    if reply.kind == "escalate":
        if case.expect == "escalate":
            if case.to and reply.escalate_to != case.to:
                return "wrong", f"handed off to {reply.escalate_to}, not {case.to}"
            return "right", ""
        if case.expect in ("fallback", "social"):
            return "wrong", f"opened a hand-off ({reply.intent_id}) where {case.expect} was expected"
        return "miss", f"handed off ({reply.intent_id}) instead of answering"
    if reply.kind == case.expect:
        return "right", ""
    return "miss", f"{reply.kind} ({reply.intent_id}) where {case.expect} was expected"


def evaluate(bot: SupportBot, cases: Iterable[Case]) -> Scores:
    scores = Scores()
    for case in cases:
        reply = bot.reply(Message(case.text, channel=case.channel, region=case.region))
        verdict, why = judge(case, reply)
        scores.add(Outcome(case, reply, verdict, why))
    return scores


def report(scores: Scores, title: str) -> str:
    """A table of verdicts per expected kind, then every wrong reply."""
    lines = [f"{title}: {scores.total()} cases", f"{'expect':<10}{'total':>7}" + "".join(f"{v:>9}" for v in VERDICTS)]
    for expect in [*EXPECT_KINDS, None]:
        if expect and not scores.total(expect=expect):
            continue
        cells = "".join(f"{scores.total(v, expect):>9}" for v in VERDICTS)
        lines.append(f"{expect or 'all':<10}{scores.total(expect=expect):>7}{cells}")
    lines.append(
        "right {:.1%}  wrong {:.1%}  clarify {:.1%}  miss {:.1%}".format(*(scores.share(v) for v in VERDICTS))
    )
    return "\n".join(lines + wrong_lines(scores.outcomes))


def wrong_lines(outcomes: Iterable[Outcome]) -> list[str]:
    """Every wrong reply, one line each, under a heading (nothing when there is none)."""
    wrong = [o for o in outcomes if o.verdict == "wrong"]
    if not wrong:
        return []
    return [f"wrong replies ({len(wrong)}):"] + [
        f"  {o.case.source} [{o.case.expect}] {o.case.text[:90]!r}: {o.why} (score {o.reply.score:.2f})" for o in wrong
    ]


def miss_lines(outcomes: Iterable[Outcome]) -> list[str]:
    """Every reply that asked or said less than it could, one line each."""
    return [
        f"  {o.case.source} [{o.case.expect}] {o.case.text[:90]!r}: {o.why or o.verdict} (best {o.reply.intent_id} {o.reply.score:.2f})"
        for o in outcomes
        if o.verdict in ("miss", "clarify")
    ]


def report_misses(scores: Scores) -> str:
    lines = miss_lines(scores.outcomes)
    return "\n".join(["not answered:", *lines]) if lines else ""


def sweep(bot: SupportBot, cases: list[Case], grid: dict[str, Iterable[float]] | None = None) -> list[tuple[Thresholds, Scores]]:
    """Scores for every combination of thresholds in `grid`, best (most right, then least wrong) first.

    Rankings do not depend on thresholds, so each message is matched once.
    """
    grid = grid or {
        "answer": (0.5, 0.6, 0.7, 0.8, 0.9),
        "margin": (0.0, 0.1),
        "clarify": (0.1, 0.2, 0.3),
        "safety": (0.8, 0.9, 0.95),
    }
    rankings = {case.text: bot.rank(case.text) for case in cases}
    results = []
    for values in itertools.product(*grid.values()):
        probe = copy.copy(bot)
        probe.thresholds = replace(bot.thresholds, **dict(zip(grid, values)))
        probe.rank = rankings.__getitem__  # type: ignore[method-assign]
        results.append((probe.thresholds, evaluate(probe, cases)))
    results.sort(key=lambda item: (-item[1].share("right") + 2 * item[1].share("wrong")))
    return results


@dataclass(frozen=True)
class CrossValidation:
    """k-fold figures over the catalogue's own phrasings and negatives, each judged by a model that never saw it."""

    phrasings: Counter
    negatives: Counter

    def report(self) -> str:
        def line(name: str, counts: Counter) -> str:
            total = sum(counts.values()) or 1
            cells = "  ".join(f"{v} {counts[v] / total:.1%}" for v in VERDICTS)
            return f"{name:<10}{sum(counts.values()):>6}  {cells}"

        return "\n".join([
            "cross-validation (5 folds; each phrasing judged by a model trained without it):",
            line("phrasings", self.phrasings),
            line("negatives", self.negatives),
            "right: its own intent answered (or handed off, or small talk); wrong: another intent asserted;",
            "negatives are everyday requests (not-ours.yaml): right is a fallback, wrong an answer or hand-off.",
        ])


def cross_validate(bot: SupportBot) -> CrossValidation:
    """`neogenesis-bot eval --cross-validate`: how the bot does on phrasings it was not trained on."""
    from bot.calibration import cross_validate as held_out_scores
    from bot.validation import held_out_rankings

    phrasings: Counter = Counter()
    negatives: Counter = Counter()
    held = held_out_scores(bot.matcher.training)
    for _, truth, ranking in held_out_rankings(bot, held):
        decision = decide(ranking, bot.catalogue, bot.thresholds)
        intent = bot.catalogue.by_id.get(truth)
        if intent is None:  # a negative
            negatives["wrong" if decision.kind in ("answer", "handoff") else "clarify" if decision.kind == "clarify" else "right"] += 1
        elif decision.kind == "clarify":
            phrasings["clarify"] += 1
        elif decision.intent is not None and decision.intent.id == truth:
            phrasings["right"] += 1
        elif decision.kind in ("answer", "handoff") or (decision.kind == "social" and intent.kind != "social"):
            phrasings["wrong"] += 1
        else:
            phrasings["miss"] += 1
    return CrossValidation(phrasings, negatives)


# -- conversations ----------------------------------------------------------------------------

SAFETY_WORDS = ("pregnan", "breastfeed", "nursing", "expecting", "oncolog", "chemo", "cancer", "radiation", "contraindicat", "contra-indicat")


@dataclass(frozen=True)
class Conversation:
    id: str
    turns: tuple[Case, ...]


@dataclass
class ConversationScores:
    """Verdicts per turn of each conversation, in the order the turns were said."""

    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)

    def turns(self, first: bool | None = None) -> list[Outcome]:
        return [o for outcomes in self.outcomes.values() for n, o in enumerate(outcomes) if first is None or (n == 0) == first]

    def whole_right(self) -> int:
        return sum(all(o.verdict == "right" for o in outcomes) for outcomes in self.outcomes.values())

    def safety_wrong(self) -> list[Outcome]:
        return [o for o in self.turns() if o.verdict == "wrong" and is_safety(o.case)]


def is_safety(case: Case) -> bool:
    """A turn about pregnancy, breastfeeding, oncology or contraindications (its words or its facts)."""
    said = " ".join([case.text, *case.facts]).casefold()
    return any(word in said for word in SAFETY_WORDS)


def is_conversation_file(path: Path | str) -> bool:
    data = read_yaml(Path(path))
    return isinstance(data, list) and bool(data) and all(isinstance(item, dict) and "conversation" in item for item in data)


def load_conversations(path: Path | str) -> list[Conversation]:
    """The conversations of one file (`conversation`, `channel`, `region`, `turns` of cases);
    raises ValueError naming the one that is malformed."""
    data = read_yaml(Path(path))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of conversations")
    conversations, seen = [], set()
    for number, raw in enumerate(data, start=1):
        name = raw.get("conversation") if isinstance(raw, dict) else None
        turns = raw.get("turns") if isinstance(raw, dict) else None
        if not name or not isinstance(turns, list) or not turns or str(name) in seen:
            raise ValueError(f"{path}: conversation {number} needs a unique `conversation` id and a list of `turns`")
        seen.add(str(name))
        cases = tuple(
            _case(turn, f"{path}: conversation {name} turn {index}", f"{Path(path).name}:{name}:{index}", str(raw.get("channel", "cli")), raw.get("region"))
            for index, turn in enumerate(turns, start=1)
        )
        conversations.append(Conversation(str(name), cases))
    return conversations


def evaluate_conversations(bot: SupportBot, conversations: list[Conversation]) -> ConversationScores:
    """Every conversation, interleaved turn by turn (round-robin), so that a context that strayed
    into another conversation would show; each keeps its own context, as the desk keeps it."""
    scores = ConversationScores({c.id: [] for c in conversations})
    contexts: dict[str, object] = {}
    for index in range(max((len(c.turns) for c in conversations), default=0)):
        for conversation in conversations:
            if index >= len(conversation.turns):
                continue
            case = conversation.turns[index]
            message = Message(case.text, user_id=conversation.id, channel=case.channel, region=case.region, conversation=conversation.id)
            turn = bot.converse(message, contexts.get(conversation.id))  # type: ignore[arg-type]
            contexts[conversation.id] = turn.context
            verdict, why = judge(case, turn.reply)
            scores.outcomes[conversation.id].append(Outcome(case, turn.reply, verdict, why))
    return scores


def conversation_report(scores: ConversationScores, title: str) -> str:
    """First turns, follow-up turns and whole conversations right; wrong turns, and wrong on safety."""
    def share(part: int, whole: int) -> str:
        return f"{part}/{whole} ({part / whole:.0%})" if whole else "0/0"

    first, later, every = scores.turns(first=True), scores.turns(first=False), scores.turns()
    wrong = [o for o in every if o.verdict == "wrong"]
    safety = [o for o in every if is_safety(o.case)]
    lines = [
        f"{title}: {len(scores.outcomes)} conversations, {len(every)} turns",
        f"first turns right     {share(sum(o.verdict == 'right' for o in first), len(first))}",
        f"follow-up turns right {share(sum(o.verdict == 'right' for o in later), len(later))}",
        f"conversations right   {share(scores.whole_right(), len(scores.outcomes))}",
        f"turns wrong           {share(len(wrong), len(every))}",
        f"safety turns wrong    {share(len(scores.safety_wrong()), len(safety))}",
    ]
    return "\n".join(lines + wrong_lines(every))


def report_conversation_misses(scores: ConversationScores) -> str:
    lines = miss_lines(scores.turns())
    return "\n".join(["not answered:", *lines]) if lines else ""
