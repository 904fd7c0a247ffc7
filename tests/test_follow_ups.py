"""Follow-ups read in the light of the conversation: each pattern from issue 11 as a short transcript.

The core keeps no state: `converse` takes the last context and hands back the next one, as the
support desk does for every conversation.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.context import leans_on_context, products_in
from bot.records import Message

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def chat(bot):
    """chat("first", "then", ..., region="AU") -> the replies of one conversation, in order."""

    def _chat(*texts: str, region: str = "AU"):
        context, replies = None, []
        for text in texts:
            turn = bot.converse(Message(text, user_id="tester", channel="telegram", region=region), context, NOW)
            replies.append(turn.reply)
            context = turn.context
        return replies

    return _chat


def test_and_the_other_size(chat):
    first, follow_up = chat("how long does the 5ml recovery bottle last?", "and the 30ml?")
    assert "18 days" in first.text
    assert follow_up.kind == "answer" and "6 months" in follow_up.text


def test_and_another_product(chat):
    first, follow_up = chat("how much SRM is in Booster?", "and Recovery?")
    assert "Booster 40%" in first.text
    assert follow_up.kind == "answer" and "Recovery 70%" in follow_up.text


def test_what_about_breastfeeding_after_pregnancy(chat):
    au_first, au_follow_up = chat("is Skin Serum ok while pregnant?", "what about breastfeeding?", region="AU")
    assert au_first.intent_id == "pregnancy"
    assert au_follow_up.intent_id == "breastfeeding" and "breastfeeding" in au_follow_up.text
    us_first, us_follow_up = chat("is Skin Serum ok while pregnant?", "what about breastfeeding?", region="US")
    assert "safe for pregnant women" in us_first.text
    assert us_follow_up.kind == "escalate"  # the US page has no breastfeeding answer: a person does


def test_how_soon_after_a_treatment(chat):
    first, follow_up = chat("can I use Recovery after microneedling?", "how soon after?")
    assert first.intent_id == follow_up.intent_id == "recovery-microneedling"


def test_the_same_product_with_another_attribute(chat):
    first, follow_up = chat("can I use recovery with LED?", "and with microneedling?")
    assert first.intent_id == "recovery-led"
    assert follow_up.intent_id == "recovery-microneedling"


def test_another_product_never_gets_the_last_products_answer(chat):
    _, follow_up = chat("how long does the 15ml recovery last?", "what about booster?")
    assert follow_up.kind != "answer"  # the bottle-life answer is about Recovery only
    if follow_up.kind == "clarify":
        assert follow_up.options


def test_a_pronoun_means_the_last_product(chat):
    _, _, follow_up = chat("what is recovery", "thanks!", "can i use it on open wounds?")
    assert follow_up.intent_id == "recovery-open-wounds"


def test_a_comparison_with_a_third_product_keeps_the_first(chat):
    _, follow_up = chat("what's the difference between recovery and booster", "and skin serum?")
    assert follow_up.intent_id == "recovery-vs-skin-serum"
    _, versus = chat("ok whats the difference between recovery and skin serum", "and vs booster?")
    assert versus.intent_id == "recovery-vs-booster"


def test_a_product_with_no_answer_to_the_same_question_is_told_so(chat):
    _, _, eye = chat("how long does a bottle of recovery last", "and the hair thickening serum?", "and eye serum?")
    assert eye.kind == "fallback"  # no page says how long Eye Serum lasts; its other answers are no answer


def test_a_question_leaving_out_the_product_means_the_conversations_product(chat):
    _, _, bottle = chat("what are the benefits of the eye serum", "how much stem cell stuff is in it?", "how long does a bottle last?")
    assert bottle.intent_id != "recovery-bottle-life"  # that is Recovery's bottle, not Eye Serum's


def test_how_often_means_how_often_for_the_product_talked_about(chat):
    _, often = chat("can recovery be used on eczema", "how often?")
    assert often.intent_id == "recovery-what-is" and "once or twice daily" in often.text


def test_context_does_not_answer_what_the_catalogue_cannot(chat):
    _, _, vegan = chat("difference between recovery and booster?", "does booster hydrate", "is it vegan")
    assert vegan.kind == "fallback"


def test_a_complete_new_question_starts_a_new_topic(chat):
    _, new = chat("how long does the 5ml recovery bottle last?", "are your products oncology friendly?")
    assert new.intent_id == "oncology-safe"


def test_a_new_topic_after_a_safety_answer(chat):
    _, follow_up = chat("are your products oncology friendly?", "what about during pregnancy?", region="US")
    assert follow_up.intent_id == "pregnancy" and "safe for pregnant women" in follow_up.text


def test_and_in_the_other_region(chat):
    us, au = chat("are your products oncology safe?", "and in Australia?", region="US")
    assert "Enzyme Crème Mask" in us.text and us.region == "US"
    assert au.intent_id == "oncology-safe" and au.region == "AU" and "Mandelic Acid 8%" in au.text
    _, about_us = chat("what is recovery", "what about for us?", region="AU")
    assert about_us.region == "AU"  # "us" is a word; only "US" names the region


def test_context_never_turns_a_fallback_into_an_answer(chat):
    _, weather, price = chat("what is recovery", "what's the weather tomorrow?", "how much does it cost?")
    assert weather.kind == "fallback"
    assert price.kind == "fallback" and price.intent_id == "prices"


def test_a_vague_follow_up_gets_did_you_mean_from_the_context(chat):
    _, follow_up = chat("what is recovery", "how often?")
    assert follow_up.kind in ("clarify", "answer")
    if follow_up.kind == "clarify":
        assert follow_up.options and all(option.intent_id.startswith("recovery") for option in follow_up.options)


def test_without_context_a_follow_up_is_just_a_message(bot):
    alone = bot.converse(Message("and the 30ml?", region="AU"), None, NOW)
    assert alone.reply.kind != "answer"


def test_context_from_another_region_is_not_used(bot):
    first = bot.converse(Message("how long does the 5ml recovery bottle last?", region="AU"), None, NOW)
    other_region = bot.converse(Message("and the 30ml?", region="US"), first.context, NOW)
    assert other_region.reply.kind != "answer"


def test_small_talk_keeps_the_topic(bot):
    first = bot.converse(Message("what is recovery", region="AU"), None, NOW)
    thanks = bot.converse(Message("thanks!", region="AU"), first.context, NOW)
    assert thanks.reply.kind == "social"
    assert thanks.context == first.context


def test_products_come_from_the_catalogues_vocabulary(catalogue):
    assert products_in("is skin restore ok with the skin serum?", catalogue) == ("skin-restore-serum", "skin-serum")
    assert products_in("and the brc?", catalogue) == ("barrier-renewal-cream",)
    assert products_in("and the 30ml?", catalogue) == ()
    assert products_in("and recovey?", catalogue) == ("recovery",)  # a slip in a product's name
    assert products_in("how long does skin take to recover?", catalogue) == ()  # a real word is a word


@pytest.mark.parametrize(
    ("text", "leans"),
    [
        ("and the 30ml?", True),
        ("what about breastfeeding?", True),
        ("how often?", True),
        ("is that ok for oily skin too?", True),
        ("and Recovery?", True),
        ("how long does the 5ml recovery bottle last?", False),
        ("are there any contraindications for using neogenesis products?", False),
    ],
)
def test_which_messages_lean_on_the_context(catalogue, text, leans):
    assert leans_on_context(text, catalogue) is leans


def test_the_conversation_set_run_interleaved(bot):
    """tests/data/conversations.yaml (written from the catalogue's answers): a regression guard for
    the conversation machinery, not a measure of unseen phrasings."""
    from bot import evaluation
    from conftest import DATA

    scores = evaluation.evaluate_conversations(bot, evaluation.load_conversations(DATA / "conversations.yaml"))
    report = evaluation.conversation_report(scores, "conversations")
    follow_ups = scores.turns(first=False)
    assert sum(o.verdict == "right" for o in follow_ups) >= 0.8 * len(follow_ups), report
    assert not [o for o in scores.turns() if o.verdict == "wrong"], report


def test_after_a_reaction_a_question_about_it_goes_to_the_same_person(chat):
    reaction, keep_using = chat("i broke out in a rash after using booster", "should i keep using it or stop?", region="US")[:2]
    assert reaction.kind == keep_using.kind == "escalate" and keep_using.intent_id == "skin-reaction"


def test_after_talk_to_a_person_a_new_question_is_answered(chat):
    _, _, thirty = chat("how long does the 5ml recovery bottle last?", "can i talk to a real person pls", "and the 30ml?")
    assert thirty.kind == "answer" and "6 months" in thirty.text


def test_a_short_question_that_is_no_question_stays_unanswered(chat):
    _, dunno = chat("how long does the recovery 15ml last", "umm i dunno")
    assert dunno.kind != "answer"



def test_a_long_question_naming_another_product_asks_its_own(chat):
    _, euros = chat("is it safe to use your products while pregnant", "ok and how much is booster in euros, im living in berlin")
    assert euros.kind != "answer"
    _, expiry = chat("got a rash after 2 days of booster, should i stop", "also how long does recovery last once opened, when does it expire")
    assert expiry.kind != "escalate"


def test_a_long_message_that_asks_nothing_is_not_offered_the_last_answer(chat):
    _, weather = chat("can I use Recovery after microneedling?", "any idea what the weather will be like this weekend in perth")
    assert weather.kind == "fallback"


def test_thanks_after_a_hand_off_is_not_another_hand_off(chat):
    reaction, thanks = chat("my cheeks are burning and blistering since i used the booster", "ok thanks, i will email them")
    assert reaction.kind == "escalate"
    assert thanks.kind != "escalate"
