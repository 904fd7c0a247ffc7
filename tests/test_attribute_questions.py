"""One fact inside a long answer is an answer of its own: people ask about it directly."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("text", "fact"),
    [
        ("can i put skin serum under my eyes", "eye area"),
        ("does recovery come as a spray for bigger areas", "spray version"),
        ("what does TEWL stand for", "transepidermal water loss"),
        ("is recovery greasy or does it sink in", "absorbs completely"),
        ("does the body cream have s2rm in it", "5%"),
        ("how does retinoate compare to prescription tret", "nearly as effective as prescription tretinoin"),
        ("my hair has filled in nicely, how do i keep it up with the thickening serum", "3 days a week"),
        ("how much more stem cell stuff does booster have compared to skin serum", "double"),
        ("will a stem cell serum let me ditch my retinoid", "complement retinoids"),
    ],
)
def test_an_attribute_question_gets_the_fact(ask, text, fact):
    assert fact in ask(text, region="AU")
