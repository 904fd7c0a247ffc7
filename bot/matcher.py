"""Which intents a message could be, and how sure: a ranking, not yet a reply.

Every term carries a weight, how rare it is across intents (it tells intents apart; a product name
always weighs a lot), and an evidence value, that weight times how specific the word is to skin care
rather than everyday English ("phone" and "day" prove nothing). Two measures, the better of which
counts for each intent:
- lexical: a phrasing of the intent (its question or an example) scores by how much of its weight
  the message covers (recall), damped by how much of the message's weight the intent explains at
  all (coverage) and by how much evidence matched. So "how long does shipping to Perth take" does
  not get "how long does Recovery last" for sharing "how long", while a long chatty message that
  contains the whole question still gets it;
- whole-text: for a short message, rapidfuzz's similarity with small talk and with the phrasings
  that have exactly its terms, filler words included: small talk is made of filler ("how are you",
  "what can you do").
A hand-off trigger ("rash", "refund") found in the message puts its hand-off at the top.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.catalogue import Catalogue
from bot.english import English, english
from bot.normalise import PRODUCT_PREFIX, Normalised, Normaliser
from bot.records import Match

NEEDS_EVIDENCE = frozenset({"answer", "handoff"})  # small talk is made of everyday words


@dataclass(frozen=True)
class Tuning:
    """The matcher's knobs, calibrated with `neogenesis-bot eval --sweep`."""

    unknown_word_weight: float = 0.9  # a word no intent uses, relative to the heaviest known word
    everyday_zipf: float = 5.5  # English words this common (Zipf) are not specific at all ...
    specific_zipf: float = 3.5  # ... and this rare, fully specific
    everyday_floor: float = 0.3  # what an everyday word still weighs, relative to a specific one
    evidence_needed: float = 0.5  # specific matched weight, relative to the heaviest, for full confidence
    product_weight: float = 0.7  # a product name weighs at least this, relative to the heaviest term
    product_evidence: float = 0.3  # ... but naming a product alone says little about the question
    recall_power: float = 1.5  # how much a phrasing's unmatched words count against it
    coverage_power_short: float = 1.0  # how much unexplained words count in a short message
    coverage_power_long: float = 0.35  # ... and in a long one, where chat surrounds the question
    small_talk_coverage_power: float = 1.5
    short_message_terms: int = 5
    whole_text_max_words: int = 8
    whole_text_floor: float = 60.0  # rapidfuzz ratio below which whole-text similarity counts 0
    trigger_score: float = 0.96


@dataclass(frozen=True)
class Ranking:
    """The best intents for one message, best first, and how the message was read."""

    matches: tuple[Match, ...]
    reading: Normalised
    triggered: str | None = None


class Matcher:
    """Ranks a catalogue's intents against messages. Built once; `rank` is pure and thread-safe."""

    def __init__(self, catalogue: Catalogue, tuning: Tuning = Tuning(), language: English | None = None) -> None:
        self.tuning = tuning
        self.intents = catalogue.intents
        known = [t for intent in catalogue.intents for t in (intent.question, *intent.examples)]
        answers = [a for intent in catalogue.intents for a in intent.answers.values() if isinstance(a, str)]
        self.normalise = Normaliser(
            catalogue.vocabulary, known_words=known, keep_words=answers, english=language or english()
        )

        self._phrasing_intent: list[int] = []
        self._phrasing_terms: list[frozenset[str]] = []
        self._phrasing_surface: list[str] = []
        self._phrasing_text: list[str] = []
        intent_terms: list[set[str]] = [set() for _ in self.intents]
        for index, intent in enumerate(self.intents):
            for text in (intent.question, *intent.examples):
                reading = self.normalise(text)
                self._phrasing_intent.append(index)
                self._phrasing_terms.append(frozenset(reading.terms))
                self._phrasing_surface.append(reading.surface)
                self._phrasing_text.append(text)
                intent_terms[index].update(reading.terms)

        document_frequency: dict[str, int] = defaultdict(int)
        for terms in intent_terms:
            for term in terms:
                document_frequency[term] += 1
        count = len(self.intents)
        rarity = {t: math.log(1 + (count - df + 0.5) / (df + 0.5)) for t, df in document_frequency.items()}
        self._heaviest = max(rarity.values(), default=1.0)
        # Recall and coverage weigh a term by how well it tells intents apart; a product named in a
        # question always matters, however many intents name it, and a bare number ("3") hardly.
        self._weight = {t: self._term_weight(t, w) for t, w in rarity.items()}
        self._enough_evidence = tuning.evidence_needed * max(self._weight.values(), default=1.0)

        self._phrasing_total = [sum(self._weight[t] for t in terms) or 1.0 for terms in self._phrasing_terms]
        self._phrasings_with: dict[str, list[int]] = defaultdict(list)
        self._same_terms: dict[frozenset[str], list[int]] = defaultdict(list)
        for phrasing, terms in enumerate(self._phrasing_terms):
            self._same_terms[terms].append(phrasing)
            for term in terms:
                self._phrasings_with[term].append(phrasing)
        self._intents_with: dict[str, list[int]] = defaultdict(list)
        for index, terms in enumerate(intent_terms):
            for term in terms:
                self._intents_with[term].append(index)
        self._needs_evidence = [intent.kind in NEEDS_EVIDENCE for intent in self.intents]
        self._is_small_talk = [intent.kind == "social" for intent in self.intents]
        self._small_talk = [p for p, index in enumerate(self._phrasing_intent) if self._is_small_talk[index]]
        self._small_talk_terms = frozenset(t for p in self._small_talk for t in self._phrasing_terms[p])
        self._small_talk_surfaces = [self._phrasing_surface[p] for p in self._small_talk]
        self._triggers = [
            (index, trigger, self._trigger_parts(trigger))
            for index, intent in enumerate(self.intents)
            for trigger in intent.triggers
        ]

    def rank(self, text: str, limit: int = 5, skip_text: str | None = None) -> Ranking:
        """The `limit` best intents for `text`; `skip_text` leaves one phrasing out (validation)."""
        reading = self.normalise(text)
        tuning = self.tuning
        query = set(reading.terms)
        weights = {t: self._weight.get(t) or self._unknown(t, reading.commonness.get(t, 0.0)) for t in query}
        # Evidence: the weight of the words as the person wrote them, times how specific to skin
        # care they are: "phone" or "day" prove nothing, "ageing" does where "age" does not.
        evidence = {
            t: w * (tuning.product_evidence if t.startswith(PRODUCT_PREFIX) else self._specificity(t, reading.commonness.get(t, 0.0)))
            for t, w in weights.items()
        }
        total = sum(weights.values())
        scores: dict[int, float] = {}
        because: dict[int, str] = {}

        if total > 0:
            matched: dict[int, float] = defaultdict(float)
            proof: dict[int, float] = defaultdict(float)
            covered: dict[int, float] = defaultdict(float)
            for term in query:
                for phrasing in self._phrasings_with.get(term, ()):
                    matched[phrasing] += weights[term]
                    proof[phrasing] += evidence[term]
                for index in self._intents_with.get(term, ()):
                    covered[index] += weights[term]
            power = self._coverage_power(len(query))
            # Small talk is everyday words, so it must be nearly all the message says, though one
            # message may mix several kinds of it ("perfect, thanks").
            chat = sum(weights[t] for t in query & self._small_talk_terms) / total
            chat_share = chat**tuning.small_talk_coverage_power
            for phrasing, weight in matched.items():
                if skip_text is not None and self._phrasing_text[phrasing] == skip_text:
                    continue
                index = self._phrasing_intent[phrasing]
                recall = (weight / self._phrasing_total[phrasing]) ** tuning.recall_power
                if self._is_small_talk[index]:
                    score = recall * chat_share
                else:
                    score = recall * (covered[index] / total) ** power
                    if self._needs_evidence[index]:
                        score *= min(1.0, proof[phrasing] / self._enough_evidence)
                if score > scores.get(index, 0.0):
                    scores[index] = score
                    because[index] = self._phrasing_text[phrasing]

        if reading.words <= tuning.whole_text_max_words and reading.surface:
            same = self._same_terms.get(frozenset(query), ())
            alike = [*same, *self._small_talk]
            for _, ratio, position in process.extract(
                reading.surface,
                [*(self._phrasing_surface[p] for p in same), *self._small_talk_surfaces],
                scorer=fuzz.token_sort_ratio,
                limit=10,
                score_cutoff=tuning.whole_text_floor,
            ):
                phrasing = alike[position]
                if skip_text is not None and self._phrasing_text[phrasing] == skip_text:
                    continue
                index = self._phrasing_intent[phrasing]
                score = (ratio - tuning.whole_text_floor) / (100.0 - tuning.whole_text_floor)
                if score > scores.get(index, 0.0):
                    scores[index] = score
                    because[index] = self._phrasing_text[phrasing]

        triggered = None
        padded = f" {reading.plain} "
        for index, trigger, parts in self._triggers:
            if all(any(phrase in padded for phrase in alternatives) for alternatives in parts):
                triggered = self.intents[index].id
                scores[index] = max(scores.get(index, 0.0), tuning.trigger_score)
                because[index] = trigger
                break

        best = sorted(scores.items(), key=lambda item: -item[1])[:limit]
        matches = tuple(Match(self.intents[index].id, round(score, 4), because.get(index, "")) for index, score in best)
        return Ranking(matches, reading, triggered)

    def _term_weight(self, term: str, rarity: float) -> float:
        if term.startswith(PRODUCT_PREFIX):
            return max(rarity, self.tuning.product_weight * self._heaviest)
        if term.isdigit():
            return rarity * self.tuning.everyday_floor
        return rarity

    def _trigger_parts(self, trigger: str) -> list[list[str]]:
        """ "itchy|stinging + since i started|after using": every part must appear, any of its phrases."""
        return [
            [f" {self.normalise(phrase).plain} " for phrase in part.split("|") if phrase.strip()]
            for part in trigger.split("+")
        ]

    def _specificity(self, term: str, zipf: float) -> float:
        """1 for a product or a word rare in everyday English, down to `everyday_floor` for common ones."""
        tuning = self.tuning
        if term.startswith(PRODUCT_PREFIX) or zipf <= tuning.specific_zipf:
            return 1.0
        share = min(1.0, (zipf - tuning.specific_zipf) / (tuning.everyday_zipf - tuning.specific_zipf))
        return 1.0 - (1.0 - tuning.everyday_floor) * share

    def _unknown(self, term: str, zipf: float) -> float:
        """The weight of a word no intent uses: high for a rare or made-up word, lower for everyday ones."""
        return self.tuning.unknown_word_weight * self._heaviest * self._specificity(term, zipf)

    def _coverage_power(self, terms: int) -> float:
        tuning = self.tuning
        if terms <= tuning.short_message_terms:
            return tuning.coverage_power_short
        return max(tuning.coverage_power_long, tuning.coverage_power_short * tuning.short_message_terms / terms)
