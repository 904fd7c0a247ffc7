"""How common an English word is, from pyspellchecker's word-frequency list.

The matcher needs two things the catalogue alone cannot tell it: that "spell" is a real word and not
a typo of "smell", and that "perth" is a rarer, more telling word than "friend".

The list's 160,000 words are kept in arrays, sorted (UTF-8, one array per length) beside their counts,
and found by binary search: as a dict of str they took 13 MB rather than 3, resident while the model trains.
"""

from __future__ import annotations

import gzip
import json
import math
import pkgutil
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

import numpy as np


@dataclass(frozen=True, eq=False)
class English:
    by_length: Mapping[int, tuple[np.ndarray, np.ndarray]]  # UTF-8 length -> (words sorted, their uses)
    total: int

    @classmethod
    def of(cls, counts: Mapping[str, int], total: int | None = None) -> English:
        """The word list `counts` (word -> uses); `total` defaults to the sum of the uses."""
        words = np.array([word.encode("utf-8", "surrogatepass") for word in counts], dtype=bytes)
        uses = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
        order = np.argsort(words, kind="stable")
        words, uses = words[order], uses[order]
        # one array per length: a word takes its own bytes, not the longest word's
        lengths = np.char.str_len(words)
        by_length = {
            int(n): (words[lengths == n].astype(f"S{max(int(n), 1)}"), uses[lengths == n]) for n in np.unique(lengths)
        }
        return cls(by_length, sum(counts.values()) if total is None else total)

    def count(self, word: str) -> int | None:
        """How often `word` is used; None if it is not in the list."""
        key = word.encode("utf-8", "surrogatepass")
        words, uses = self.by_length.get(len(key), _NO_WORDS)
        at = int(np.searchsorted(words, key))
        return int(uses[at]) if at < len(words) and words[at] == key else None

    def knows(self, word: str) -> bool:
        return self.count(word) is not None

    def zipf(self, word: str) -> float:
        """Zipf frequency: log10 of uses per billion words; 7 for "the", about 1 for rare words, 0 unknown."""
        count = self.count(word)
        return math.log10(count * 1e9 / self.total) if count else 0.0


@lru_cache(maxsize=1)
def english() -> English:
    """The English word list (loaded once, about a fifth of a second)."""
    # Read as SpellChecker(language="en") reads it, without keeping its dict of every word.
    text = gzip.decompress(pkgutil.get_data("spellchecker", "resources/en.json.gz")).decode("utf-8")
    words = json.loads(text)
    if text != text.lower():  # as pyspellchecker does: lower-cased, words that differ only in case add up
        lowered: Counter[str] = Counter()
        for word, uses in words.items():
            lowered[word.lower()] += uses
        words = lowered
    return English.of(words)


_NO_WORDS = (np.array([], dtype="S1"), np.array([], dtype=np.int64))
NO_ENGLISH = English.of({}, 1)
