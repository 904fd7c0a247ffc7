"""What needs a person, in any words: a faulty or missing product, a charge gone wrong, a call-back,
an account manager, a consultation, a recommendation for someone in particular. And the same words
in requests that are none of ours stay none of ours."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "text",
    [
        "the pump on my booster snapped off the first day",
        "box arrived empty?? nothing in it",
        "the eye serum i got is cloudy and separated, can you send a replacement",
        "you guys cancelled my order and never told me",
        "i've been charged twice for the same order",
        "the seal on the light moisturiser was broken when it came",
        "my booster arrived already past its expiry date",
        "paid but never got a confirmation email or anything",
        "my recovery has turned cloudy and smells sour, nothing like my last bottle",
    ],
)
def test_a_product_or_order_problem_goes_to_a_person(reply, text):
    answered = reply(text, region="AU")
    assert answered.kind == "escalate" and "customerservice@neogenesispro.com.au" in answered.text


@pytest.mark.parametrize(
    "text",
    [
        "could someone call me about our clinic's stock tomorrow",
        "I need to speak with our account manager",
        "I'd like to book a consultation to work out a routine",
        "my 16 yr old daughter has acne, what should she use",
        "which serum is right for me? 52, dry, lots of sun damage",
        "patient on humira for psoriasis wants to start recovery, ok?",
        "that serum stung for ages and my cheeks were still red the next morning",
        "what's best for me? oily skin, mid 30s, some acne scarring",
        "liver transplant two years ago, can i use your stem cell serums",
    ],
)
def test_a_call_back_an_account_or_a_personal_recommendation_goes_to_a_person(reply, text):
    assert reply(text, region="US").kind == "escalate"


@pytest.mark.parametrize(
    "text",
    [
        "call me an uber to the airport",
        "if my debit card is stolen how fast do i get a replacement card",
        "how do i cancel my netflix subscription",
    ],
)
def test_the_same_words_in_everyday_requests_open_no_hand_off(reply, text):
    assert reply(text, region="US").kind != "escalate"


def test_asking_if_a_serum_replaces_retinol_is_a_question_not_a_fault(reply):
    assert reply("is recovery a replacement for my retinol?", region="US").kind != "escalate"


@pytest.mark.parametrize(
    "text",
    [
        "who started neogenesis and who runs it now",
        "does neogenesis sell a tinted sunscreen",
        "whats the difference between glycolic and mandelic acid",
        "what should we charge for a microneedling session in perth",
        "can i sign up for automatic monthly delivery of my serum",
        "what's the trade price and minimum order for a new salon account",
        "how often should you exfoliate your face in general",
    ],
)
def test_near_miss_topics_get_an_honest_not_here(reply, text):
    assert reply(text, region="AU").kind == "fallback"


def test_a_job_seeker_hears_this_is_not_the_place_not_small_talk(reply):
    answered = reply("are you hiring? i'm a qualified esthetician", region="AU")
    assert answered.kind == "fallback" and "jobs or careers" in answered.text


def test_the_science_of_a_whole_class_of_serums_is_not_a_missing_product_detail(reply):
    for text in ("are exosome serums TGA approved in australia", "does exosome serum need to go in the fridge after opening"):
        assert "I don't have that detail" not in reply(text, region="AU").text


def test_a_detail_no_page_gives_is_an_honest_not_here_whatever_product(reply):
    answered = reply("how long is booster good for after opening", region="AU")
    assert answered.kind == "fallback" and "I don't have that detail" in answered.text
