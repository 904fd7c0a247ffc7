"""The bot as customers and resellers meet it: transcripts of questions and what comes back."""

import pytest


def test_answers_a_product_question_in_the_brands_words(ask):
    assert "70%" in ask("what is recovery")
    assert "18 days" in ask("how long does the 5ml recovery last?")


def test_reads_typos_slang_and_short_forms(ask):
    assert "70%" in ask("recovey vs booster whats the diff")
    assert "Salicylic Acid Gel" in ask("any contra-indications i shld know about b4 starting?", region="AU")


def test_two_word_messages(reply):
    assert reply("cruelty free??").intent_id == "animal-testing"
    assert reply("promo codes?").intent_id == "discounts"


def test_finds_the_question_buried_in_a_long_chatty_message(ask):
    message = (
        "hi! 34 here, been using recovery every night for about a month after a friend recommended it. "
        "my skin feels softer already but the acne scars on my cheeks haven't changed yet lol. how long "
        "does it usually take to see results on scars?"
    )
    assert "3-6 months" in ask(message)


def test_sharing_a_word_with_an_faq_is_not_enough(reply):
    shipping = reply("how long does shipping to Perth take")
    assert shipping.kind == "fallback"
    assert shipping.intent_id != "recovery-bottle-life"
    assert reply("how long does Recovery last").intent_id == "recovery-bottle-life"


def test_answers_offer_related_questions(reply):
    answer = reply("what is recovery")
    assert answer.kind == "answer"
    assert answer.related and all(option.label for option in answer.related)
    assert answer.related[0].label in answer.text


class TestRegions:
    def test_pregnancy_answer_follows_the_region(self, ask):
        assert "Salicylic Acid Gel" in ask("can i use neogenesis while pregnant?", region="AU")
        assert "safe for pregnant women" in ask("can i use neogenesis while pregnant?", region="US")

    def test_oncology_answer_follows_the_region(self, ask):
        au = ask("are your products oncology friendly?", region="AU")
        us = ask("are your products oncology friendly?", region="US")
        assert "Mandelic Acid 8%" in au
        assert "all products except the Enzyme Crème Mask" in us

    def test_contraindications_follow_the_region(self, ask):
        assert "Skin Restore Serum" in ask("are there any contraindications?", region="AU")
        assert "have no contraindications" in ask("are there any contraindications?", region="US")

    def test_no_region_means_the_configured_default(self, catalogue):
        from bot.core import SupportBot
        from bot.records import Message

        australian = SupportBot(catalogue, default_region="AU")
        assert "Salicylic Acid Gel" in australian.reply(Message("safe in pregnancy?")).text

    def test_an_unknown_region_falls_back_to_the_default(self, ask):
        assert "safe for pregnant women" in ask("safe in pregnancy?", region="NZ")

    def test_a_region_without_a_safe_answer_hands_off(self, reply):
        breastfeeding = reply("can i use recovery while breastfeeding?", region="US")
        assert breastfeeding.kind == "escalate"
        assert breastfeeding.escalate_to == "info@neogenesis.com"


class TestHandoff:
    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("can i talk to a real person pls", "human"),
            ("my order hasn't arrived and tracking hasn't moved in a week", "order"),
            ("i want a refund on my booster", "order"),
            ("broke out in a rash after using booster last night", "reaction"),
            ("eyes really puffy and stinging since i started the eye serum", "reaction"),
            ("what would you recommend for my melasma?", "consultation"),
            ("which products should my client use during chemotherapy?", "medical"),
            ("I'd like to make a complaint", "complaint"),
        ],
    )
    def test_goes_to_a_person_with_a_reason(self, reply, text, reason):
        handoff = reply(text, region="US")
        assert handoff.kind == "escalate"
        assert handoff.reason == reason

    def test_routes_to_the_regions_support_address(self, reply):
        assert reply("can i speak to someone please", region="AU").escalate_to == "customerservice@neogenesispro.com.au"
        assert reply("can i speak to someone please", region="US").escalate_to == "info@neogenesis.com"

    def test_tells_the_user_what_happens_next_and_where(self, ask):
        text = ask("my parcel arrived damaged and leaking", region="US")
        assert "info@neogenesis.com" in text
        assert "858-751-4714" in text
        assert "get back to you" in text

    def test_keeps_the_brands_own_wording_where_the_page_has_it(self, reply):
        handoff = reply("Which products would you recommend for use during Chemotherapy or Radiation?", region="US")
        assert handoff.kind == "escalate"
        assert "professional consultation" in handoff.text


class TestSmallTalkAndFallback:
    @pytest.mark.parametrize("text", ["hi", "hey 👋", "thanks heaps!", "ok bye", "what can you do?"])
    def test_social(self, reply, text):
        assert reply(text).kind == "social"

    def test_help_lists_what_the_bot_knows(self, ask):
        assert "stem-cell science" in ask("help")

    @pytest.mark.parametrize(
        "text",
        ["is it gonna rain in brisbane tomorrow", "btc or eth?", "can i pay with afterpay?", "how long does botox take to work"],
    )
    def test_out_of_scope_gets_an_honest_fallback(self, reply, text):
        fallback = reply(text)
        assert fallback.kind == "fallback"
        assert "can't help with that here" in fallback.text
        assert "info@neogenesis.com" in fallback.text

    def test_other_brands_get_a_neutral_fallback(self, reply):
        other = reply("is skinmedica tns better than your stuff?")
        assert other.kind == "fallback"
        assert "SkinMedica" not in other.text


def test_a_picked_option_gets_its_answer(bot):
    assert "70%" in bot.answer("recovery-what-is", "AU").text
    assert bot.answer("no-such-intent", "AU").kind == "fallback"
