"""Conversations at the support desk: context kept per conversation in the database, the region asked
when it matters, contexts that expire, and follow-ups around hand-offs. A real database: a SQLite
file and a PostgreSQL server (tests/databases.py)."""

from __future__ import annotations

import pytest

from bot.records import Message
from support.desk import SupportDesk
from support.state import ConversationState
from support.store import open_engine
from support.tickets import Routing, Tickets
from tests.databases import database  # noqa: F401  (a fixture: each test runs on SQLite and PostgreSQL)
from tests.test_handoff import Clock, clock  # noqa: F401  (time that moves when a test says so, and its fixture)

ADDRESSES = {"AU": "customerservice@neogenesispro.com.au", "US": "info@neogenesis.com"}


def make_desk(bot, url: str, clock: Clock, ask_region: bool = False, tickets: bool = False) -> SupportDesk:
    engine = open_engine(url)
    routing = Tickets(engine, Routing(addresses=ADDRESSES, reasons=bot.catalogue.reasons, email=True), clock=clock) if tickets else None
    return SupportDesk(bot, ConversationState(engine, clock=clock), tickets=routing, ask_region=ask_region, context_minutes=30)


@pytest.fixture
def desk(bot, database, clock) -> SupportDesk:
    return make_desk(bot, database, clock)


def say(desk, text, user="u1", conversation=None, region="AU", channel="telegram"):
    return desk.handle(Message(text, user_id=user, channel=channel, region=region, conversation=conversation or f"{channel}:{user}"))


def test_two_interleaved_conversations_keep_their_own_context(desk):
    assert "18 days" in say(desk, "how long does the 5ml recovery bottle last?", user="ann").text
    assert "Booster 40%" in say(desk, "how much SRM is in Booster?", user="bob").text
    ann = say(desk, "and the 30ml?", user="ann")
    bob = say(desk, "and Recovery?", user="bob")
    assert ann.intent_id == "recovery-bottle-life" and "6 months" in ann.text
    assert bob.intent_id == "srm-percentages" and "Recovery 70%" in bob.text


def test_context_never_crosses_people_in_one_group_thread(desk):
    say(desk, "how long does the 5ml recovery bottle last?", user="ann", conversation="slack:C1:1.0", channel="slack")
    stranger = say(desk, "and the 30ml?", user="bob", conversation="slack:C1:1.0", channel="slack")
    assert stranger.kind != "answer"


def test_a_context_expires_after_a_quiet_half_hour(desk, clock):
    say(desk, "how long does the 5ml recovery bottle last?")
    clock.advance(minutes=29)
    assert say(desk, "and the 30ml?").intent_id == "recovery-bottle-life"
    clock.advance(minutes=31)
    assert say(desk, "and the 15ml?").kind != "answer"


def test_a_follow_up_in_another_region_does_not_lean_on_the_context(desk):
    say(desk, "how long does the 5ml recovery bottle last?", region="AU")
    assert say(desk, "and the 30ml?", region="US").kind != "answer"


class TestRegionAskedWhenItMatters:
    @pytest.fixture
    def desk(self, bot, database, clock) -> SupportDesk:
        return make_desk(bot, database, clock, ask_region=True)

    def test_an_unknown_region_is_asked_then_the_pending_question_answered(self, desk):
        asked = say(desk, "is Skin Restore ok while pregnant?", region=None)
        assert asked.kind == "clarify"
        assert asked.text.startswith("Australia or the United States?")
        assert [o.intent_id for o in asked.options] == ["region:AU", "region:US"]
        answer = say(desk, "Australia", region=None)
        assert answer.kind == "answer" and answer.intent_id == "pregnancy"
        assert "Skin Restore Serum" in answer.text and "Salicylic Acid Gel" in answer.text
        remembered = say(desk, "are your products oncology friendly?", region=None)
        assert remembered.region == "AU" and "Mandelic Acid 8%" in remembered.text

    def test_a_follow_up_after_choosing_leans_on_an_answer_given_before(self, desk):
        assert "18 days" in say(desk, "how long does the 5ml recovery bottle last?", region=None).text
        desk.set_region(Message("/region AU", user_id="u1", channel="telegram"), "AU")
        assert "6 months" in say(desk, "and the 30ml?", region=None).text

    def test_old_contexts_are_pruned(self, desk, clock):
        say(desk, "how long does the 5ml recovery bottle last?", region=None)
        clock.advance(days=8)
        assert desk.state.prune(90)["contexts"] == 1
        assert desk.state.context_of("telegram:u1") is None

    def test_a_button_press_chooses_the_region(self, desk):
        say(desk, "are there any contraindications?", region=None)
        answer = desk.choose("region:US", Message("", user_id="u1", channel="telegram", conversation="telegram:u1"))
        assert answer.kind == "answer" and "have no contraindications" in answer.text

    def test_a_region_independent_question_is_answered_at_once(self, desk):
        answer = say(desk, "how long does the 5ml recovery bottle last?", region=None)
        assert answer.kind == "answer" and "18 days" in answer.text

    def test_the_bots_own_words_name_both_regions_contacts(self, desk):
        fallback = say(desk, "is it gonna rain in brisbane tomorrow", region=None)
        assert fallback.kind == "fallback"
        assert "customerservice@neogenesispro.com.au" in fallback.text and "info@neogenesis.com" in fallback.text

    def test_a_hand_off_asks_the_region_first_since_the_address_differs(self, desk):
        assert say(desk, "can i talk to a real person pls", region=None).text.startswith("Australia or the United States?")
        handoff = say(desk, "us", region=None)
        assert handoff.kind == "escalate" and handoff.escalate_to == "info@neogenesis.com"

    def test_a_picked_question_that_depends_on_the_region_asks_it_too(self, desk):
        message = Message("", user_id="u1", channel="telegram", conversation="telegram:u1")
        assert desk.choose("oncology-safe", message).text.startswith("Australia or the United States?")
        assert "Mandelic Acid 8%" in desk.choose("region:AU", message).text

    def test_a_region_the_platform_gives_is_never_asked(self, desk):
        assert "Salicylic Acid Gel" in say(desk, "is Skin Restore ok while pregnant?", region="AU").text

    def test_a_brand_that_sets_its_region_is_never_asked(self, bot, database, clock):
        desk = make_desk(bot, database, clock, ask_region=False)
        assert "safe for pregnant women" in say(desk, "is Recovery ok while pregnant?", region=None).text


class TestFollowUpsAroundHandOffs:
    @pytest.fixture
    def desk(self, bot, database, clock) -> SupportDesk:
        return make_desk(bot, database, clock, tickets=True)

    def test_a_follow_up_while_a_ticket_waits_for_an_address_is_answered(self, desk):
        say(desk, "how long does the 5ml recovery bottle last?")
        assert "best email address or phone number" in say(desk, "can i talk to a real person pls").text
        follow_up = say(desk, "and the 30ml?")
        assert follow_up.kind == "answer" and "6 months" in follow_up.text
        assert desk.tickets.active_for("telegram:u1") is None  # the unfinished hand-off was dropped

    def test_a_follow_up_after_cancel(self, desk):
        say(desk, "how much SRM is in Booster?")
        say(desk, "i want to talk to a human")
        assert say(desk, "cancel").kind == "social"
        follow_up = say(desk, "and Recovery?")
        assert follow_up.kind == "answer" and "Recovery 70%" in follow_up.text

    def test_a_question_about_the_reaction_itself_stays_with_the_same_hand_off(self, desk):
        say(desk, "i broke out in a rash after using booster", region="US")
        waiting = desk.tickets.active_for("telegram:u1")
        again = say(desk, "should i keep using it or stop?", region="US")
        assert again.kind == "escalate" and "best email address or phone number" in again.text
        assert desk.tickets.active_for("telegram:u1").code == waiting.code  # still the one ticket, still waiting
        assert say(desk, "jane@example.com", region="US").ticket == waiting.code

    def test_an_address_still_completes_the_ticket(self, desk):
        say(desk, "what is recovery")
        say(desk, "i want to talk to a human")
        done = say(desk, "jane@example.com")
        assert done.kind == "escalate" and done.ticket

    def test_the_ticket_carries_the_earlier_turns_as_the_person_saw_them(self, desk):
        first = say(desk, "how long does the 5ml recovery bottle last?")
        second = say(desk, "and the 30ml?")
        say(desk, "i want to talk to a human")
        ticket = desk.tickets.active_for("telegram:u1")
        lines = [(line.author, line.text) for line in desk.tickets.lines(ticket)]
        assert ("customer", "and the 30ml?") in lines
        assert ("bot", first.text) in lines and ("bot", second.text) in lines

    def test_a_hand_off_with_a_ticket_names_the_address_once(self, desk):
        asked = say(desk, "what would you recommend for my melasma?", region="US")
        assert "professional consultation" in asked.text and "info@neogenesis.com" not in asked.text
        opened = say(desk, "jane@example.com", region="US")
        assert opened.ticket and opened.text.count("info@neogenesis.com") == 1

    def test_a_hand_off_names_the_address_once(self, bot, database, clock):
        desk = make_desk(bot, database, clock)
        handoff = say(desk, "what would you recommend for my melasma?", region="US")
        assert handoff.kind == "escalate"
        assert handoff.text.count("info@neogenesis.com") == 1
        assert "professional consultation" in handoff.text
