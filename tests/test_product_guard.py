"""An answer about one product is never given to a question about another: "how many pumps of
Booster?" does not get Recovery's bottle life as if it were Booster's."""

from __future__ import annotations


def test_another_products_answer_is_offered_not_asserted(reply):
    answered = reply("how many pumps of booster should i use", region="AU")
    assert answered.kind in ("clarify", "fallback")
    assert "18 days" not in answered.text


def test_the_products_own_question_is_still_answered(ask):
    assert "3 months" in ask("how long will the 15ml recovery last me", region="AU")


def test_an_answer_that_covers_the_product_is_still_given(ask):
    # the question names Recovery, the answer names Booster too
    assert "opposite time of the day" in ask("client is on prescription tretinoin, can she use booster as well?", region="US")
