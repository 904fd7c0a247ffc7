"""What the intent model learns from: the catalogue turned into labelled texts.

Three sources, each read the way messages are read (`Normaliser.__call__(...).plain`):
- phrasings: every intent's canonical question and examples, labelled with the intent;
- passages: every sentence of an answer, labelled with its intent, so that a question about a fact
  stated inside a long answer ("is the barrier cream scented?") finds the answer that states it;
- negatives: everyday requests that are none of ours (`Catalogue.negatives`), labelled NOT_OURS.
Cross-validation holds out phrasings and negatives (what people send); passages always train.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from bot.catalogue import Catalogue
from bot.model import NOT_OURS, Example

if TYPE_CHECKING:
    from bot.embeddings import SentenceEncoder

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
PASSAGE_MIN_WORDS = 4  # "Yes." or "Results may vary." says nothing about which question was asked


@dataclass(frozen=True)
class TrainingSet:
    phrasings: tuple[Example, ...]
    passages: tuple[Example, ...]
    negatives: tuple[Example, ...]
    encoder: SentenceEncoder | None = None  # every model trained from this set embeds its texts with it

    @property
    def all(self) -> tuple[Example, ...]:
        return self.phrasings + self.passages + self.negatives


def training_set(catalogue: Catalogue, read: Callable[[str], str], encoder: SentenceEncoder | None = None) -> TrainingSet:
    """The catalogue's labelled texts, each already read by `read`."""
    phrasings = tuple(
        Example(read(text), intent.id, text) for intent in catalogue.intents for text in (intent.question, *intent.examples)
    )
    passages = tuple(
        Example(read(sentence), intent.id)
        for intent in catalogue.intents
        if intent.kind == "answer"
        for answer in dict.fromkeys(a for a in intent.answers.values() if isinstance(a, str))
        for sentence in SENTENCE_END.split(catalogue.fill(answer, next(iter(catalogue.regions))))
        if len(sentence.split()) >= PASSAGE_MIN_WORDS
    )
    negatives = tuple(Example(read(text), NOT_OURS, text) for text in catalogue.negatives)
    return TrainingSet(phrasings, passages, negatives, encoder)
