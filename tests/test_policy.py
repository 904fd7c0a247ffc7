"""Where the bot draws its lines: answer, ask which one, or admit it can't help. Rankings are made by
hand here so each boundary is tested exactly, whatever the matcher scores today."""

import pytest

from bot.matcher import Ranking
from bot.normalise import Normalised
from bot.policy import Thresholds, decide
from bot.records import Match

THRESHOLDS = Thresholds(answer=0.35, safety=0.4, margin=0.04, clarify=0.3, social=0.25, option_window=0.2, max_options=3)
NOTHING_READ = Normalised((), "", "", frozenset(), 0)


def decision(catalogue, *scored: tuple[str, float], triggered: str | None = None):
    ranking = Ranking(tuple(Match(intent, score) for intent, score in scored), NOTHING_READ, triggered)
    return decide(ranking, catalogue, THRESHOLDS)


def test_a_confident_best_with_a_margin_answers(catalogue):
    made = decision(catalogue, ("recovery-bottle-life", 0.35), ("recovery-what-is", 0.30))
    assert (made.kind, made.intent.id) == ("answer", "recovery-bottle-life")


@pytest.mark.parametrize(
    ("best", "second", "kind"),
    [
        (0.349, 0.1, "clarify"),  # just under the answer threshold: ask
        (0.50, 0.47, "clarify"),  # confident, but the runner-up is too close: ask
        (0.299, 0.1, "fallback"),  # under the clarify threshold: an honest "not here"
    ],
)
def test_the_boundaries(catalogue, best, second, kind):
    assert decision(catalogue, ("recovery-bottle-life", best), ("recovery-what-is", second)).kind == kind


def test_safety_answers_need_more_confidence(catalogue):
    assert decision(catalogue, ("pregnancy", 0.38), ("oncology-safe", 0.1)).kind == "clarify"
    assert decision(catalogue, ("pregnancy", 0.41), ("oncology-safe", 0.1)).kind == "answer"


def test_clarify_offers_only_plausible_questions(catalogue):
    made = decision(
        catalogue,
        ("recovery-vs-booster", 0.52),
        ("recovery-vs-skin-serum", 0.50),
        ("booster-vs-skin-serum", 0.45),
        ("greeting", 0.44),  # small talk is never offered as a question
        ("recovery-what-is", 0.29),  # below the clarify threshold
    )
    assert made.kind == "clarify"
    assert [i.id for i in made.options] == ["recovery-vs-booster", "recovery-vs-skin-serum", "booster-vs-skin-serum"]


def test_a_hand_off_intent_hands_off(catalogue):
    assert decision(catalogue, ("order-problem", 0.6), ("returns", 0.2)).kind == "handoff"


def test_a_trigger_hands_off_whatever_scored_higher(catalogue):
    made = decision(catalogue, ("eye-serum-results", 0.9), triggered="skin-reaction")
    assert (made.kind, made.intent.id) == ("handoff", "skin-reaction")


def test_small_talk_and_known_out_of_scope_topics(catalogue):
    assert decision(catalogue, ("thanks", 0.26)).kind == "social"
    assert decision(catalogue, ("thanks", 0.24)).kind == "fallback"
    made = decision(catalogue, ("prices", 0.5))
    assert (made.kind, made.intent.id) == ("fallback", "prices")  # with its honest note
    assert decision(catalogue, ("prices", 0.2)).intent is None  # too unsure even for the note


def test_nothing_matched(catalogue):
    assert decision(catalogue).kind == "fallback"
