"""Learning from real conversations: the report (terminal and HTML, rendered in headless Chromium
when it is installed) and the YAML patch of suggestions for the content team."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
import yaml

from bot.records import Message
from service.insights import gather, parse_since, text_report
from service.report_page import html_report
from service.suggest import suggestions
from support.desk import SupportDesk
from support.state import ConversationState
from support.store import open_engine
from support.tickets import Routing, Tickets

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ADDRESSES = {"AU": "customerservice@neogenesispro.com.au", "US": "info@neogenesis.com"}


@pytest.fixture
def week(bot, tmp_path):
    """A desk that has had a week of conversations: answers, votes, hand-offs, things it could not answer."""
    engine = open_engine(f"sqlite:///{tmp_path / 'report.sqlite3'}")
    desk = SupportDesk(bot, ConversationState(engine), tickets=Tickets(engine, Routing(ADDRESSES, email=True, reasons=bot.catalogue.reasons)))

    def say(text, user="u1", channel="telegram"):
        return desk.handle(Message(text, user_id=user, channel=channel, conversation=f"{channel}:{user}:{text}"))

    for n in range(3):
        answer = say("how long does the 5ml recovery last?", user=f"p{n}")
        desk.feedback(Message("", user_id=f"p{n}", channel="telegram"), answer.turn, helpful=n > 0)
    say("what is recovery", channel="slack")
    say("hi there")
    say("i got a rash after using booster, email me on a@b.com")
    for text in ("do you ship to new zealand", "can you ship to new zealand?", "ship to new zealand?"):
        say(text, user=text)
    for text in ("any youtube channel with tutorials", "youtube channel for tutorials?", "<script>alert(1)</script> youtube channel for tutorials"):
        say(text, user=text)
    return desk


def test_the_report_says_how_the_bot_did(week, bot):
    found = gather(week.state.engine, bot, timedelta(days=7))
    assert found.questions == 11 and found.social == 1
    assert found.answered == 4 and found.handed_off == 1 and found.unanswered == 6
    assert found.top_intents[0] == ("recovery-bottle-life", 3)
    assert found.unhelpful == [("recovery-bottle-life", 1, ["how long does the 5ml recovery last?"])]
    assert found.handoffs_by_reason == [("reaction", 1)]
    sizes = sorted(group.size for group in found.groups)
    assert sizes == [3, 3], [g.texts for g in found.groups]  # shipping; a tutorial channel: each its own group

    text = text_report(found, bot)
    assert "answered without a person: 4 (36%)" in text
    assert "How long does Recovery last per bottle?" in text and "a skin reaction" in text
    assert "shipping-times" in text  # a group that matches a topic we say we cannot answer
    assert "no intent fits: a new one?" in text


def test_the_html_report_escapes_what_people_typed(week, bot):
    page = html_report(gather(week.state.engine, bot, timedelta(days=7)), bot)
    assert "<script>alert(1)</script>" not in page
    shown = ("&lt;script&gt;alert(1)&lt;/script&gt; youtube channel", "any youtube channel with tutorials", "youtube channel for tutorials?")
    assert any(text in page for text in shown)  # the group's example, whichever it is, escaped
    assert page.count("<svg") == 3  # how questions were handled, top questions, hand-offs


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_the_html_report_renders_in_a_real_headless_browser(week, bot, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(html_report(gather(week.state.engine, bot, timedelta(days=7)), bot), encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert "NeoGenesis support bot: conversation report" in dom
    assert "How long does Recovery last per bottle?" in dom and "<rect" in dom
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *flags, "--window-size=1100,1600", f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_suggestions_are_a_reviewable_yaml_patch(week, bot):
    patch = suggestions(gather(week.state.engine, bot, timedelta(days=7)), bot)
    assert patch.startswith("# Suggested by neogenesis-bot suggest")
    data = yaml.safe_load(patch)
    channel = [intent for intent in data["new_intents"] if "youtube" in intent["question"]]
    assert len(channel) == 1 and channel[0]["seen"] == 3 and channel[0]["answer"].startswith("TODO")
    assert not any("ship" in intent["question"] for intent in data["new_intents"])  # a known out-of-scope topic


def test_since_is_read_like_people_write_it():
    assert parse_since("7d") == timedelta(days=7) and parse_since("24h") == timedelta(hours=24) and parse_since("2w") == timedelta(weeks=2)
    with pytest.raises(ValueError, match="7d"):
        parse_since("last week")
