"""Which intents a message could be, and how sure: a ranking, not yet a reply.

The message is read by the `Normaliser` (rapidfuzz corrects typos against the catalogue's words;
product aliases and synonyms become one term each), then scored by the intent model learned from
the catalogue (`bot.model`, trained here on every load and live reload, or taken from the model
cache when the catalogue has not changed), and the scores become
probabilities with the temperature that cross-validation chose (`bot.calibration`).
A hand-off trigger ("rash", "refund") found in the message puts its hand-off at the top, and an
out-of-scope trigger ("once opened") its "not here": triggers are the content team's rules, and they
win over any model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Sequence

from bot.calibration import Calibration
from bot.catalogue import Catalogue, Intent
from bot.embeddings import sentence_encoder
from bot.english import English, english
from bot.model import NOT_OURS, IntentModel, probabilities
from bot.model_cache import cached_model
from bot.normalise import PRODUCT_PREFIX, Normalised, Normaliser
from bot.records import Match
from bot.training import TrainingSet, training_set


@dataclass(frozen=True)
class Ranking:
    """The best intents for one message, best first, and how the message was read.

    `not_ours` is the probability that the message is none of the catalogue's questions.
    """

    matches: tuple[Match, ...]
    reading: Normalised
    triggered: str | None = None
    not_ours: float = 0.0
    # matched intents whose question names products, none of which the message names nor their
    # answers cover ("how many pumps of Booster?" and Recovery's bottle life): never a confident answer
    about_products_not_named: frozenset[str] = frozenset()


ANY_PRODUCT = " " + PRODUCT_PREFIX  # how every product name starts in a reading: "recovery" -> "#recovery"


class Matcher:
    """Ranks a catalogue's intents against messages. Built once; `rank` is pure and thread-safe."""

    def __init__(self, catalogue: Catalogue, calibration: Calibration = Calibration(), language: English | None = None) -> None:
        self.calibration = calibration
        known = [t for intent in catalogue.intents for t in (intent.question, *intent.examples)]
        answers = [a for intent in catalogue.intents for a in intent.answers.values() if isinstance(a, str)]
        self.normalise = Normaliser(
            catalogue.vocabulary, known_words=known, keep_words=answers, english=language or english()
        )
        self._catalogue = catalogue
        self.encoder = sentence_encoder()  # None unless BOT_EMBEDDINGS=on and the model is installed
        self.model = cached_model(catalogue, lambda: IntentModel(self.training.all, self.encoder), self.encoder)
        self._answer_products: dict[str, dict[str | None, frozenset[str]]] = {}
        self._asks_about = {  # intents about named products: those the question names, and the answers' too
            intent.id: asks.union(*self.answer_products(intent).values())
            for intent in catalogue.intents
            if (asks := self.normalise(intent.question).products)
        }
        self._triggers = [  # a hand-off's trigger first: "expired stock arrived" is for a person, not "no expiry dates here"
            (intent.id, trigger, self._trigger_parts(trigger))
            for intent in sorted(catalogue.intents, key=lambda intent: intent.kind != "handoff")
            for trigger in intent.triggers
        ]

    def answer_products(self, intent: Intent) -> dict[str | None, frozenset[str]]:
        """The products each of an intent's answers names, by region (None: the answer for every region)."""
        if intent.id not in self._answer_products:  # read once: the product guard and the pages' disagreement both ask
            self._answer_products[intent.id] = {
                region: self.normalise(text).products for region, text in intent.answers.items() if isinstance(text, str)
            }
        return self._answer_products[intent.id]

    @cached_property
    def training(self) -> TrainingSet:
        """The catalogue as labelled texts (built only when the model is trained or validated)."""
        return training_set(self._catalogue, self.read, self.encoder)

    def read(self, text: str) -> str:
        """A text as the model reads it: folded, corrected, with products and synonyms made one term."""
        return self.normalise(text).plain

    def rank(self, text: str, limit: int = 5) -> Ranking:
        """The `limit` most likely intents for `text`."""
        reading = self.normalise(text)
        triggered = self.triggered(reading.plain)
        if not reading.plain.strip():
            return Ranking((), reading, triggered, 1.0)
        p = probabilities(self.model.scores(reading.plain), self.calibration.temperature)
        ranking = ranking_of(self.model.labels, p, reading, triggered, limit)
        if not reading.products:
            return ranking
        elsewhere = frozenset(
            m.intent_id for m in ranking.matches if (asks := self._asks_about.get(m.intent_id)) and not asks & reading.products
        )
        return replace(ranking, about_products_not_named=elsewhere)

    def triggered(self, plain: str) -> str | None:
        """The hand-off (or out-of-scope intent) whose trigger a reading (`Normalised.plain`) contains, if any."""
        padded = f" {plain} "
        return next(
            (intent_id for intent_id, _, parts in self._triggers if all(any(p in padded for p in alternatives) for alternatives in parts)),
            None,
        )

    def _trigger_parts(self, trigger: str) -> list[list[str]]:
        """ "itchy|stinging + since i started|after using": every part must appear, any of its phrases;
        `{product}` is any of the catalogue's products, by any of its names."""
        return [
            [ANY_PRODUCT if phrase.strip() == "{product}" else f" {self.normalise(phrase).plain} " for phrase in part.split("|") if phrase.strip()]
            for part in trigger.split("+")
        ]


def ranking_of(labels: Sequence[str], p: Sequence[float], reading: Normalised, triggered: str | None = None, limit: int = 5) -> Ranking:
    """The ranking that probabilities `p` (one per label, NOT_OURS among them) give, a triggered
    hand-off first."""
    best = sorted((i for i, label in enumerate(labels) if label != NOT_OURS), key=lambda i: -p[i])[:limit]
    matches = tuple(Match(labels[i], round(float(p[i]), 4)) for i in best)
    if triggered is not None:
        matches = (Match(triggered, 1.0, "trigger"), *(m for m in matches if m.intent_id != triggered))[:limit]
    not_ours = float(p[labels.index(NOT_OURS)]) if NOT_OURS in labels else 0.0
    return Ranking(matches, reading, triggered, round(not_ours, 4))
