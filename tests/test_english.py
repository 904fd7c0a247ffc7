"""The English word list: pyspellchecker's, kept compactly, answering as pyspellchecker would."""

import math

from spellchecker import SpellChecker

from bot.english import NO_ENGLISH, English, english


def test_every_word_of_pyspellchecker_is_known_with_its_count():
    theirs = SpellChecker(language="en", distance=1).word_frequency
    ours = english()
    assert sum(len(words) for words, _ in ours.by_length.values()) == len(theirs.dictionary)
    assert ours.total == theirs.total_words
    assert all(ours.count(word) == uses for word, uses in theirs.dictionary.items())


def test_common_rare_and_unknown_words():
    words = english()
    assert words.zipf("the") > 6.5 > words.zipf("friend") > words.zipf("perth") > 0
    assert words.knows("spell") and words.knows("chase")
    assert not words.knows("recovey") and words.zipf("recovey") == 0.0
    assert not words.knows("") and not words.knows("x" * 500)


def test_a_longer_or_shorter_word_is_not_taken_for_a_listed_one():
    words = English.of({"skin": 3, "skincare": 5})
    assert words.count("skincare") == 5 and words.count("skin") == 3
    assert words.count("skincares") is None and words.count("ski") is None
    assert words.zipf("skincare") == math.log10(5 * 1e9 / 8)


def test_no_english_knows_nothing():
    assert not NO_ENGLISH.knows("the") and NO_ENGLISH.zipf("the") == 0.0
