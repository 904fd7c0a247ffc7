"""`neogenesis-bot validate`: is the catalogue well-formed, and do its examples lead where they should?

Load errors stop everything. Beyond them, two content checks: an example written for two intents
(the matcher cannot serve both), and an example that, left out of its own intent, the bot would send
to a different intent (a sign the two intents' examples overlap and one of them needs rewording).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.core import SupportBot
from bot.loading import CatalogueError, load_catalogue
from bot.policy import decide


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning
    text: str


def validate(directory: Path | str | None = None) -> list[Finding]:
    """Every problem found in the catalogue at `directory`, errors first."""
    try:
        catalogue = load_catalogue(directory)
    except CatalogueError as error:
        return [Finding("error", problem) for problem in error.problems]
    bot = SupportBot(catalogue)
    return [*duplicate_examples(bot), *misrouted_examples(bot)]


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


def misrouted_examples(bot: SupportBot) -> list[Finding]:
    """Examples that, taken out of their intent, the bot would answer with another intent."""
    findings = []
    for intent in bot.catalogue.intents:
        for example in intent.examples:
            decision = decide(bot.matcher.rank(example, skip_text=example), bot.catalogue, bot.thresholds)
            if decision.intent is None or decision.intent.id == intent.id or decision.kind == "clarify":
                continue
            if intent.kind == decision.intent.kind == "social":  # one friendly reply for another
                continue
            findings.append(
                Finding(
                    "warning",
                    f"{intent.file}: intent {intent.id!r}: example {example!r} would get "
                    f"{decision.intent.id!r} ({decision.kind}, score {decision.score:.2f})",
                )
            )
    return findings
