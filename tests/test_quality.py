"""Quality gates on the labelled message sets: the figures the bot is accountable for.

dev.yaml is the team's development set; general-chat.yaml is everyday assistant chatter that must
never get an FAQ answer; heldout.yaml was written from the source documents without looking at the
catalogue's examples, so it shows how the bot does on phrasings it was never shown; blind-a1 to
blind-a12 and blind-b5 to blind-b12 were written by helpers who saw only the source documents (their first
measurement is in tests/data/README.md), and the floors below keep the figures they gave from slipping.
"""

import pytest

from bot import evaluation
from bot.records import Message
from conftest import DATA

SAFETY_WORDS = ("pregnan", "breastfeed", "nursing", "expecting", "oncolog", "chemo", "cancer", "radiation", "contra")


@pytest.fixture(scope="module")
def scored(bot):
    names = ("dev", "general-chat", "heldout", "blind-a1", "blind-a2", "blind-a3", "blind-a4", "blind-a5", "blind-b5", "blind-a6", "blind-b6", "blind-a7", "blind-b7", "blind-a8", "blind-b8", "blind-a9", "blind-b9", "blind-a10", "blind-b10", "blind-a11", "blind-b11", "blind-a12", "blind-b12")
    return {name: evaluation.evaluate(bot, evaluation.load_cases(DATA / f"{name}.yaml")) for name in names}


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


@pytest.mark.parametrize(
    ("name", "right", "wrong"),
    [
        ("blind-a1", 0.85, 0.025),
        ("blind-a2", 0.87, 0.025),
        ("blind-a3", 0.83, 0.025),
        ("blind-a4", 0.87, 0.03),
        ("blind-a5", 0.90, 0.03),
        ("blind-b5", 0.78, 0.03),
        ("blind-a6", 0.84, 0.03),
        ("blind-b6", 0.83, 0.03),
        ("blind-a7", 0.86, 0.03),
        ("blind-b7", 0.84, 0.03),
        ("blind-a8", 0.86, 0.03),
        ("blind-b8", 0.83, 0.03),
        ("blind-a9", 0.89, 0.03),
        ("blind-b9", 0.84, 0.03),
        ("blind-a10", 0.89, 0.03),
        ("blind-b10", 0.86, 0.03),
        ("blind-a11", 0.88, 0.03),
        ("blind-b11", 0.85, 0.03),
        ("blind-a12", 0.90, 0.03),
        ("blind-b12", 0.81, 0.03),
    ],
)
def test_sets_written_blind_from_the_source_documents(scored, name, right, wrong):
    scores = scored[name]
    assert scores.share("right") >= right, evaluation.report(scores, name)
    assert scores.share("wrong") <= wrong, evaluation.report(scores, name)


@pytest.mark.parametrize(
    ("name", "follow_ups_right"),
    [(f"blind-conversations-c{n}", 0.75) for n in range(1, 6)] + [("blind-conversations-c6", 0.75), ("blind-conversations-c7", 0.72), ("blind-conversations-c8", 0.80)],
)
def test_conversations_written_blind_keep_their_follow_ups(bot, name, follow_ups_right):
    scores = evaluation.evaluate_conversations(bot, evaluation.load_conversations(DATA / f"{name}.yaml"))
    report = evaluation.conversation_report(scores, name)
    follow_ups = scores.turns(first=False)
    assert sum(o.verdict == "right" for o in follow_ups) >= follow_ups_right * len(follow_ups), report
    every = scores.turns()
    assert sum(o.verdict == "wrong" for o in every) <= 0.05 * len(every), report


def test_everyday_chatter_after_an_answer_gets_no_answer_from_the_context(bot):
    """general-chat's out-of-scope requests, each sent right after a product question: the
    conversation's context must not turn one of them into an answer."""
    chatter = [c for c in evaluation.load_cases(DATA / "general-chat.yaml") if c.expect == "fallback"][::8]
    firsts = ("how long does the 5ml recovery bottle last?", "what is recovery", "how much SRM is in Booster?", "is skin serum ok while pregnant?")
    answered = []
    for i, case in enumerate(chatter):
        first = bot.converse(Message(firsts[i % len(firsts)], region="AU"))
        then = bot.converse(Message(case.text, region="AU"), first.context).reply
        if then.kind in ("answer", "escalate"):
            answered.append((firsts[i % len(firsts)], case.text, then.intent_id))
    assert len(answered) <= 0.01 * len(chatter), answered
