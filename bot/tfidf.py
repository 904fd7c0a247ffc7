"""TF-IDF weights of a text over a fitted vocabulary, read without scikit-learn.

Training fits scikit-learn's `TfidfVectorizer` (`bot.model`); answering needs only what it learned,
its vocabulary and idf weights. Importing scikit-learn (and scipy.stats with it) took about a second
of every start, half the start-up budget, so a built model reads texts here instead: the same
analyzers (word n-grams of whitespace-separated tokens; character n-grams within words, each padded
with a space), sublinear term frequency, idf and unit length, as scikit-learn computes them.
`tests/test_tfidf.py` checks the two agree.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Mapping

import numpy as np

WORDS = "word"
CHARACTERS_WITHIN_WORDS = "char_wb"

TOKEN_PATTERN = r"[^\s]+"  # a word is every run of non-space characters (the normalised reading's words)
_TOKEN = re.compile(TOKEN_PATTERN)


@dataclass(frozen=True)
class TfidfTerms:
    """A fitted vocabulary (term -> feature number) and each feature's idf."""

    analyzer: str  # WORDS or CHARACTERS_WITHIN_WORDS
    ngram_range: tuple[int, int]
    vocabulary: Mapping[str, int]
    idf: np.ndarray

    def __post_init__(self) -> None:
        if self.analyzer not in (WORDS, CHARACTERS_WITHIN_WORDS):
            raise ValueError(f"unknown analyzer {self.analyzer!r}")

    def __len__(self) -> int:
        return len(self.idf)

    def grams(self, text: str) -> list[str]:
        """The text's n-grams, in scikit-learn's order and with its repeats."""
        low, high = self.ngram_range
        if self.analyzer == WORDS:
            tokens = _TOKEN.findall(text)
            return [" ".join(tokens[i : i + n]) for n in range(low, high + 1) for i in range(len(tokens) - n + 1)]
        grams: list[str] = []
        # scikit-learn first turns runs of whitespace into one space; split() already ignores them
        for word in text.split():
            padded = f" {word} "
            for n in range(low, high + 1):
                grams.extend(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
                if len(padded) <= n:  # a short word counts once, whole, not once per longer n
                    break
        return grams

    def weights(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The text's features: (feature numbers, unit-length weights); empty when no term is known."""
        counts = Counter(feature for feature in map(self.vocabulary.get, self.grams(text)) if feature is not None)
        features = np.fromiter(counts, dtype=np.int64, count=len(counts))
        values = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts))
        values *= self.idf[features]
        norm = math.sqrt(float(values @ values))
        if norm > 0:
            values /= norm
        return features, values
