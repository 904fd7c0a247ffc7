"""`neogenesis-bot validate`: is the catalogue well-formed, and do its examples lead where they should?

Load errors stop everything. Beyond them, two content checks, the second only once the first finds
nothing: an example written for two intents (the matcher cannot serve both), and an example that,
held out of training (10-fold cross-validation), the bot would confidently answer with a different
intent (a sign that the two intents' examples overlap and one of them needs rewording). The second
kind are warnings: hints for the content team, not errors; `report` groups them by the pair of
intents they confuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bot.calibration import HeldOut, cross_validate
from bot.core import SupportBot
from bot.loading import CatalogueError, load_catalogue
from bot.matcher import Ranking, ranking_of
from bot.model import probabilities
from bot.normalise import Normalised
from bot.policy import decide

NOTHING_READ = Normalised((), "", "", frozenset(), 0)
# Leave-one-out judges each example by a model trained on all the others; 10 folds come close (each
# model learns from 90%) at a tenth of the cost per example. With 5 folds, a fifth of each intent's
# examples were missing from its model, and the count moved by about five with the fold split alone.
FOLDS = 10


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning
    text: str
    pair: tuple[str, str] | None = None  # a warning's intent and the intent its held-out example would get


WARNINGS_MEAN = (
    "Warnings are hints, not failures. Each example is held out of training in turn (10-fold "
    "cross-validation, a cheaper leave-one-out: each model learns from the other 90%) and matched "
    "by a model that never saw it; a warning is one that would then get another intent's reply, a "
    "hand-off or small talk, so a customer who words it that way gets the wrong reply. Move it to "
    "the other intent if that reply is what it asks; reword it so it names what it asks (or delete "
    "it) if either reply would do; merge the two intents if their answers say the same thing; give "
    "its intent more distinctive examples if it has too few."
)


def validate(directory: Path | str | None = None) -> list[Finding]:
    """Every problem found in the catalogue at `directory`, errors first."""
    try:
        catalogue = load_catalogue(directory)
    except CatalogueError as error:
        return [Finding("error", problem) for problem in error.problems]
    bot = SupportBot(catalogue)
    # An example written for two intents would be judged held out against its own twin: the
    # held-out check (minutes of training) waits until the errors are fixed.
    return duplicate_examples(bot) or misrouted_examples(bot)


def duplicate_examples(bot: SupportBot) -> list[Finding]:
    """Examples that read the same (case, punctuation and spelling aside) in two intents."""
    owner: dict[str, tuple[str, str]] = {}
    findings = []
    for intent in bot.catalogue.intents:
        for example in (intent.question, *intent.examples):
            reading = bot.matcher.normalise(example).surface
            first = owner.setdefault(reading, (intent.id, example))
            if first[0] != intent.id:
                findings.append(
                    Finding(
                        "error",
                        f"{intent.file}: intent {intent.id!r}: example {example!r} reads the same as "
                        f"{first[1]!r} in intent {first[0]!r}; keep it in one intent only",
                    )
                )
    return findings


def misrouted_examples(bot: SupportBot, held: HeldOut | None = None) -> list[Finding]:
    """Examples that a model trained without them (10-fold cross-validation) answers with another intent.

    A warning is a hint, not an error: the example reads more like the other intent's examples than
    like its own, so one of the two intents needs clearer examples (or the example belongs there).
    """
    held = held or cross_validate(bot.matcher.training, folds=FOLDS)
    findings = []
    for text, truth, ranking in held_out_rankings(bot, held):
        intent = bot.catalogue.by_id.get(truth)
        if intent is None:
            continue
        decision = decide(ranking, bot.catalogue, bot.thresholds)
        if decision.intent is None or decision.intent.id == intent.id or decision.kind in ("clarify", "fallback"):
            continue  # asked which one, or said honestly it can't help: nothing asserted
        if intent.kind == decision.intent.kind and intent.kind in ("social", "handoff"):  # same reply: friendly, or a person
            continue
        findings.append(
            Finding(
                "warning",
                f"{intent.file}: intent {intent.id!r}: example {text!r}, held out, would get "
                f"{decision.intent.id!r} ({decision.kind}, confidence {decision.score:.2f})",
                (intent.id, decision.intent.id),
            )
        )
    return findings


def report(findings: list[Finding]) -> str:
    """The findings for people: errors first, then warnings grouped by the pair of intents they
    confuse (the most crowded pair first), then the counts and what a warning means."""
    errors = [f for f in findings if f.severity == "error"]
    warnings = [f for f in findings if f.severity != "error"]
    lines = [f"error: {f.text}" for f in errors]
    groups: dict[tuple[str, str] | None, list[Finding]] = {}
    for finding in warnings:
        groups.setdefault(finding.pair, []).append(finding)
    for pair, members in sorted(groups.items(), key=lambda item: -len(item[1])):
        if pair is not None:
            lines.append(f"{pair[0]!r} -> {pair[1]!r}: {len(members)} held-out example(s) would get {pair[1]!r}")
        lines.extend(f"  warning: {f.text}" for f in members)
    lines.append(f"{len(errors)} error(s), {len(warnings)} warning(s)")
    if warnings:
        lines.append(WARNINGS_MEAN)
    return "\n".join(lines)


def held_out_rankings(bot: SupportBot, held: HeldOut) -> Iterator[tuple[str, str, Ranking]]:
    """Each held-out text, its true label, and its ranking by the model that did not see it."""
    p = probabilities(held.scores, bot.calibration.temperature)
    for row, (text, truth) in enumerate(zip(held.texts, held.truth)):
        triggered = bot.matcher.triggered(bot.matcher.read(text))  # the content team's rules apply as in a conversation
        yield text, truth, ranking_of(held.labels, p[row], NOTHING_READ, triggered)
