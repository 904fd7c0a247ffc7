"""How the matcher reads text: folding, short forms, synonyms, product names, typos."""

import pytest


@pytest.fixture(scope="module")
def read(bot):
    return bot.matcher.normalise


def test_case_unicode_emoji_and_punctuation_do_not_matter(read):
    assert read("WHAT is S²RM®?? 🤔").terms == read("what is s2rm").terms


def test_contractions_and_short_forms(read):
    assert read("how've u been").plain == "how ve you been"
    assert read("b4 i start").plain == "before i start"


def test_product_aliases_become_one_term(read):
    assert read("the barrier cream").products == {"barrier-renewal-cream"}
    assert read("skin restore serum vs skin serum").products == {"skin-restore-serum", "skin-serum"}
    assert read("neo lash").products == {"neolash"}


def test_synonyms(read):
    assert read("mum-to-be").terms == read("pregnant").terms
    assert read("baby on the way").terms == read("pregnant").terms
    assert read("6 months along").terms == read("6 pregnant").terms
    assert read("nursing").terms == read("breastfeeding").terms
    assert read("are you a stockist").terms == read("are you a reseller").terms
    assert read("chemo").terms == read("cancer treatment").terms
    assert read("moisturiser").terms == read("moisturizer").terms


def test_typos_of_catalogue_words_are_corrected(read):
    assert read("recovey").products == {"recovery"}
    assert set(read("hyaluronc acid").terms) == set(read("hyaluronic acid").terms)


def test_real_english_words_are_not_taken_for_typos(read):
    assert read("spell").plain == "spell"  # not "smell"
    assert read("chase bank").plain == "chase bank"  # not "case"


def test_filler_is_dropped_but_kept_for_whole_text_comparison(read):
    reading = read("how are you")
    assert reading.terms == ()
    assert reading.surface == "how are you"
