"""From a ranking to a decision: answer, ask which one was meant, hand off, or admit we can't help.

The matcher says how likely each intent is; this module decides how sure is sure enough, with the
thresholds that cross-validation chose (`bot.calibration`). An answer needs a confident best intent
that is more likely than "none of ours"; safety answers need more; an answer about another product
than the message names is never given as one. Near misses become a "did you mean" choice that
asserts nothing; anything weaker is an honest fallback.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.calibration import Thresholds
from bot.catalogue import Catalogue, Intent
from bot.matcher import Ranking

SAFETY_CATEGORIES = frozenset({"safety"})


@dataclass(frozen=True)
class Decision:
    """What to do with a message: `kind` and the intent(s) it concerns."""

    kind: str  # answer | handoff | social | fallback | clarify
    intent: Intent | None = None
    score: float = 0.0
    options: tuple[Intent, ...] = ()
    products: frozenset[str] = frozenset()  # the products the message names


def decide(ranking: Ranking, catalogue: Catalogue, thresholds: Thresholds = Thresholds()) -> Decision:
    """The decision for one ranked message."""
    if ranking.triggered:  # "rash", "refund", "talk to a person": a person, whatever else matched
        triggered = catalogue.by_id[ranking.triggered]
        if triggered.kind == "fallback":  # "shelf life once opened": a detail no page gives
            return Decision("fallback", triggered, 1.0)
        return Decision("handoff", triggered, 1.0)
    matches = ranking.matches
    if not matches:
        return Decision("fallback")
    best = catalogue.by_id[matches[0].intent_id]
    score = matches[0].score
    if ranking.not_ours >= score:  # more likely none of our questions than any one of them
        return Decision("fallback", score=score)
    lead = score - (matches[1].score if len(matches) > 1 else 0.0)

    if best.kind == "social":
        return Decision("social", best, score) if score >= thresholds.social else Decision("fallback", score=score)
    if best.kind == "fallback":  # a topic we know we cannot answer: say so, with its note if sure
        return Decision("fallback", best if score >= thresholds.clarify else None, score)

    if best.category in SAFETY_CATEGORIES:
        needed = thresholds.safety
    elif best.kind == "handoff":
        needed = thresholds.handoff
    else:
        needed = thresholds.answer
    if score >= needed and lead >= thresholds.margin and best.id not in ranking.about_products_not_named:
        return Decision("handoff" if best.kind == "handoff" else "answer", best, score, products=ranking.reading.products)
    if score < thresholds.clarify:
        return Decision("fallback", score=score)
    options = tuple(
        catalogue.by_id[m.intent_id]
        for m in matches
        if m.score >= score * thresholds.option_window and catalogue.by_id[m.intent_id].kind in ("answer", "handoff")
    )[: thresholds.max_options]
    return Decision("clarify", best, score, options)
