"""From what a person typed to the terms the matcher compares.

Unicode is folded (NFKC, case), emoji and punctuation dropped, short forms expanded, misspelt words
corrected against the catalogue's own words, product aliases and synonyms replaced by one canonical
term each, filler words removed and the rest stemmed. Examples in the catalogue go through the same
steps, so "recovey vs booster??" and "What is the difference between Recovery and Booster?" meet.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Mapping

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from bot.catalogue import Vocabulary
from bot.english import NO_ENGLISH, English

PRODUCT_PREFIX = "#"
WORD = re.compile(r"[^\W_]+|%")
APOSTROPHES = re.compile(r"['’‘`´]")
CONTRACTIONS = (
    (re.compile(r"\bcan['’]t\b"), "can not"),
    (re.compile(r"\bwon['’]t\b"), "will not"),
    (re.compile(r"n['’]t\b"), " not"),
    (re.compile(r"['’](ve|re|ll|d|m|s)\b"), r" \1"),
)

# Words that say little about which question was asked. Question words go too: "what is recovery"
# and "recovery?" ask the same. Negations and before/after/during stay: they change the question.
STOPWORDS = frozenset(
    """
    a an the and or but if then so of at by for with about to from in on into onto up out over off as
    is are was were be been being am do does did doing done have has had having get gets got getting
    i me my mine myself we us our ours you your yours yourself he him his she her hers it its itself
    they them their theirs this that these those there here what which who whom whose when where why how
    can could would should will shall may might must just also too very really actually still even
    some any such own than quite pretty kinda sorta
    s t d ll m re ve id
    like lol lmao haha hahaha omg um umm hmm hm eh ah oh oops
    please pls wondering wonder quick tell
    neo genesis
    one ones thing things stuff
    """.split()
)
# Messages made only of such words ("how are you", "what can you do") are still matched: the
# matcher also compares whole short messages with whole examples.

MAX_CORRECTION_CACHE = 8192
EVERYDAY_ZIPF = 6.0  # how common a bare number counts as: "2 weeks" says little about the question


@dataclass(frozen=True)
class Normalised:
    """A text as the matcher sees it."""

    terms: tuple[str, ...]  # stemmed content terms and #product terms, in order, repeats kept
    surface: str  # every word stemmed, filler included: for whole-text comparison
    plain: str  # every word as read (short forms expanded, typos corrected), not stemmed
    products: frozenset[str]  # product ids mentioned
    words: int  # how many words the person wrote
    commonness: Mapping[str, float] = field(default_factory=dict)  # term -> Zipf frequency in English


def fold(text: str) -> str:
    """Unicode-normalised, case-folded text with control characters removed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if text.isprintable():  # the common case, checked in C: no control or format characters to blank
        return text
    return "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)


def words_of(text: str) -> list[str]:
    """The words of an already folded text: "how've" is "how ve", "don't" is "do not"."""
    for pattern, replacement in CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return WORD.findall(APOSTROPHES.sub("", text))


class Normaliser:
    """Turns text into matcher terms using the catalogue's vocabulary and its known words."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        known_words: Iterable[str] = (),
        keep_words: Iterable[str] = (),
        english: English = NO_ENGLISH,
    ) -> None:
        self.english = english
        self._stem = lru_cache(maxsize=None)(snowballstemmer.stemmer("english").stemWord)
        self._emoji = {fold(k): f" {v} " for k, v in vocabulary.emoji.items()}
        self._shorthand = {fold(k): words_of(fold(v)) for k, v in vocabulary.shorthand.items()}
        self._phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        for means, words in vocabulary.synonyms:
            canonical = tuple(words_of(fold(means)))
            for phrase in (means, *words):
                self._phrases[tuple(words_of(fold(phrase)))] = canonical
        for product, aliases in vocabulary.products.items():  # after synonyms: products win
            for alias in (product.replace("-", " "), *aliases):
                self._phrases[tuple(words_of(fold(alias)))] = (PRODUCT_PREFIX + product,)
        self._longest_phrase = max((len(p) for p in self._phrases), default=1)

        vocabulary_words = {w for phrase in self._phrases for w in phrase}
        vocabulary_words |= {w for expansion in self._shorthand.values() for w in expansion}
        self._vocabulary_targets = sorted(w for w in vocabulary_words if w.isalpha() and len(w) >= 4)
        self._targets = sorted(
            {w for w in vocabulary_words | {w for t in known_words for w in words_of(fold(t))} if w.isalpha() and len(w) >= 4}
        )
        self._dictionary = set(self._targets) | set(self._shorthand) | STOPWORDS | vocabulary_words
        self._dictionary |= {w for t in keep_words for w in words_of(fold(t))}
        self._correct = lru_cache(maxsize=MAX_CORRECTION_CACHE)(self._nearest_known)

    def __call__(self, text: str) -> Normalised:
        folded = fold(text)
        for emoji, word in self._emoji.items():
            folded = folded.replace(emoji, word)
        raw = words_of(folded)
        expanded: list[str] = []
        for word in raw:
            if word in self._shorthand:
                expanded.extend(self._shorthand[word])
            elif word in self._dictionary or not word.isalpha() or self.english.knows(word):
                expanded.append(word)
            else:
                expanded.append(self._correct(word))
        terms: list[str] = []
        surface: list[str] = []
        products: set[str] = set()
        commonness: dict[str, float] = {}
        read = self._replace_phrases(expanded)
        for token in read:
            if token.startswith(PRODUCT_PREFIX):
                products.add(token[len(PRODUCT_PREFIX):])
                terms.append(token)
                surface.append(token)
            else:
                stem = self._stem(token)
                surface.append(stem)
                if token not in STOPWORDS:
                    terms.append(stem)
                    everyday = EVERYDAY_ZIPF if token.isdigit() else self.english.zipf(token)  # "2 weeks"
                    commonness[stem] = max(commonness.get(stem, 0.0), everyday)
        return Normalised(tuple(terms), " ".join(surface), " ".join(read), frozenset(products), len(raw), commonness)

    def _replace_phrases(self, words: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(words):
            for size in range(min(self._longest_phrase, len(words) - i), 0, -1):
                replacement = self._phrases.get(tuple(words[i : i + size]))
                if replacement is not None:
                    out.extend(replacement)
                    i += size
                    break
            else:
                out.append(words[i])
                i += 1
        return out

    def _nearest_known(self, word: str) -> str:
        """The catalogue word `word` is most likely a typo of, or `word` itself.

        Only words that are neither the catalogue's nor English are corrected ("spell" is not a typo
        of "smell"), and conservatively: same first letter, one edit below eight letters, two above.
        """
        if len(word) < 5 or len(word) > 30:
            return word
        limit = 1 if len(word) < 8 else 2
        for targets in (self._vocabulary_targets, self._targets):  # product names and synonyms first
            candidates = [t for t in targets if t[0] == word[0] and abs(len(t) - len(word)) <= limit]
            best = process.extractOne(word, candidates, scorer=DamerauLevenshtein.distance, score_cutoff=limit)
            if best:
                return best[0]
        return word
