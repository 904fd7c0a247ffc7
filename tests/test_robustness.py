"""Whatever arrives, the bot replies sensibly and never raises."""

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.records import REPLY_KINDS, Message


def test_empty_and_whitespace(reply):
    for text in ("", "   ", "\n\t  \n"):
        answer = reply(text)
        assert answer.kind == "fallback"
        assert "empty" in answer.text


def test_a_hundred_thousand_characters(reply):
    answer = reply("recovery " * 11_112)
    assert answer.kind == "fallback"
    assert "too long" in answer.text


def test_binary_looking_input(reply):
    answer = reply("\x00\x01\x02\xff\ufffd\x7f" * 20)
    assert answer.kind == "fallback"
    assert "only read text" in answer.text


def test_emoji_only(reply):
    assert reply("🤰🤰🤰").kind == "fallback"
    assert reply("👋").kind == "social"


def test_not_a_string_at_all(bot):
    assert bot.reply(Message(None)).kind == "fallback"  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=400), region=st.sampled_from([None, "AU", "US", "xx", ""]))
def test_any_unicode_gets_a_reply(bot, text, region):
    answer = bot.reply(Message(text, region=region))
    assert answer.kind in REPLY_KINDS
    assert answer.text.strip()
    assert answer.region in ("AU", "US")
    if answer.kind == "escalate":
        assert answer.escalate_to in answer.text
