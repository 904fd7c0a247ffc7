"""How common an English word is, from pyspellchecker's word-frequency list.

The matcher needs two things the catalogue alone cannot tell it: that "spell" is a real word and not
a typo of "smell", and that "perth" is a rarer, more telling word than "friend".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping


@dataclass(frozen=True)
class English:
    counts: Mapping[str, int]
    total: int

    def knows(self, word: str) -> bool:
        return word in self.counts

    def zipf(self, word: str) -> float:
        """Zipf frequency: log10 of uses per billion words; 7 for "the", about 1 for rare words, 0 unknown."""
        count = self.counts.get(word)
        return math.log10(count * 1e9 / self.total) if count else 0.0


@lru_cache(maxsize=1)
def english() -> English:
    """The English word list (loaded once, about a quarter of a second)."""
    from spellchecker import SpellChecker

    frequency = SpellChecker(language="en", distance=1).word_frequency
    return English(frequency.dictionary, frequency.total_words)


NO_ENGLISH = English({}, 1)
