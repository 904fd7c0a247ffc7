"""Quality gates on the labelled message sets: the figures the bot is accountable for.

dev.yaml is the team's development set; general-chat.yaml is everyday assistant chatter that must
never get an FAQ answer; heldout.yaml was written from the source documents without looking at the
catalogue's examples, so it shows how the bot does on phrasings it was never shown.
"""

import pytest

from bot import evaluation
from conftest import DATA

SAFETY_WORDS = ("pregnan", "breastfeed", "nursing", "expecting", "oncolog", "chemo", "cancer", "radiation", "contra")


@pytest.fixture(scope="module")
def scored(bot):
    return {name: evaluation.evaluate(bot, evaluation.load_cases(DATA / f"{name}.yaml")) for name in ("dev", "general-chat", "heldout")}


def test_dev_set(scored):
    dev = scored["dev"]
    assert dev.share("right") >= 0.95, evaluation.report(dev, "dev")
    assert dev.share("wrong") <= 0.02, evaluation.report(dev, "dev")


@pytest.mark.parametrize("name", ["dev", "heldout"])
def test_no_wrong_reply_on_safety_questions(scored, name):
    wrong = [o for o in scored[name].outcomes if o.verdict == "wrong" and any(w in o.case.text.lower() for w in SAFETY_WORDS)]
    assert not wrong, [(o.case.text, o.why) for o in wrong]


def test_everyday_chatter_never_gets_an_faq_answer(scored):
    chat = scored["general-chat"]
    out_of_scope = [o for o in chat.outcomes if o.case.expect == "fallback"]
    answered = [o for o in out_of_scope if o.reply.kind == "answer"]
    assert len(answered) <= 0.01 * len(out_of_scope), [(o.case.text, o.reply.intent_id) for o in answered]


def test_small_talk_gets_a_social_reply(scored):
    assert scored["general-chat"].share("right", expect="social") >= 0.90


def test_phrasings_the_catalogue_never_saw(scored):
    heldout = scored["heldout"]
    assert heldout.share("right") >= 0.88, evaluation.report(heldout, "heldout")
    assert heldout.share("wrong") <= 0.03, evaluation.report(heldout, "heldout")
