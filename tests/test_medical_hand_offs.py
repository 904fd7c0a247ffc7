"""A medication or condition no page speaks to, asked about one of our products, goes to a person;
the same condition asked of stem cell serums in general keeps the article's answer."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "text",
    [
        "my client takes methotrexate, is the booster ok for her?",
        "is recovery alright if i'm on roaccutane",
        "had a liver transplant in march, can i start using your products",
        "patient with lupus flare wants to use skin serum, advise?",
        "heart transplant two years ago, on immunosuppressants - are your stem cell products ok for me?",
    ],
)
def test_a_medication_or_condition_with_our_product_goes_to_a_person(reply, text):
    answered = reply(text, region="AU")
    assert answered.kind == "escalate" and "customerservice@neogenesispro.com.au" in answered.text


def test_the_same_condition_asked_in_general_keeps_the_articles_answer(reply):
    general = reply("are exosome serums safe for people on immunosuppressants?", region="US")
    assert general.kind == "answer" and "immunosuppression" in general.text


def test_a_medicine_alone_is_no_hand_off(reply):
    assert reply("what are the side effects of accutane", region="US").kind != "escalate"
