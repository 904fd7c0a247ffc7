"""The support team in Slack, end to end through the fake Slack and Telegram APIs: a ticket posted in
the support channel, the team's reply reaching the customer, the customer's next message reaching the
thread, internal notes kept internal, Claim and Resolve, and the bot answering again afterwards."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from adapters.slack import EVENTS_PATH, SlackAdapter
from adapters.slack_support import CLAIM, RESOLVE
from adapters.telegram import build_application, start, stop
from bot.records import Message
from bot.settings import Settings
from support.delivery import senders_for
from support.desk import SupportDesk
from support.outbox import DeliveryWorker, Outbox
from support.state import ConversationState
from support.store import open_engine
from support.tickets import Routing, Tickets
from tests.fakes.slack_api import BOT_USER_ID, FakeSlackAPI, SlackSender, button_click, buttons_in, message_event, new_ts
from tests.fakes.telegram_api import ALICE, FakeTelegramAPI
from tests.test_slack import SECRET, TOKEN as SLACK_TOKEN, ServerThread, Workspace
from tests.test_telegram import TOKEN as TELEGRAM_TOKEN, BackgroundLoop

SUPPORT = "C0SUPPORT"
AGENT = "U0AGENTSAM"
ADDRESSES = {"AU": "customerservice@neogenesispro.com.au", "US": "info@neogenesis.com"}


def eventually(check, timeout: float = 10.0):
    """Wait for `check()` to return something truthy (a condition, not a fixed pause)."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)
    return result


class SupportTeam:
    """Both platforms running against their fakes, one desk with tickets, and the delivery worker."""

    def __init__(self, bot, tmp_path) -> None:
        self.slack_api = FakeSlackAPI().start()
        self.telegram = FakeTelegramAPI(TELEGRAM_TOKEN).start()
        self.settings = Settings.from_env(
            {
                "SLACK_BOT_TOKEN": SLACK_TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": self.slack_api.base_url,
                "SLACK_SUPPORT_CHANNEL": SUPPORT,
                "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
                "TELEGRAM_API_URL": self.telegram.base_url,
            }
        )
        engine = open_engine(f"sqlite:///{tmp_path / 'support.sqlite3'}")
        routing = Routing(addresses=ADDRESSES, support_channel=SUPPORT, email=False, reasons=bot.catalogue.reasons)
        self.desk = SupportDesk(bot, ConversationState(engine), tickets=Tickets(engine, routing))
        self.adapter = SlackAdapter.from_settings(self.settings, desk=self.desk)
        self.server = ServerThread(self.adapter.asgi_app()).__enter__()
        self.sender = SlackSender(self.server.url + EVENTS_PATH, SECRET)
        self.slack = Workspace(self.adapter, self.slack_api, self.sender)
        self.loop = BackgroundLoop()
        self.application = build_application(self.settings, self.desk)
        self.loop.run(start(self.application))
        self.worker = DeliveryWorker(Outbox(engine), senders_for(self.settings, self.desk), name="test-worker")

    def close(self) -> None:
        self.loop.run(stop(self.application))
        self.loop.close()
        self.sender.close()
        self.server.__exit__()
        self.telegram.close()
        self.slack_api.stop()

    def deliver(self) -> int:
        """Run the delivery worker once over everything due."""
        return self.loop.run(self.worker.run_once())

    def queued(self, kind: str) -> list[dict]:
        return [d for t in self.desk.tickets.listing() for d in self.desk.tickets.deliveries_of(t) if d["kind"] == kind and d["status"] == "pending"]

    def support_posts(self):
        return [post for post in self.slack_api.posts() if post["channel"] == SUPPORT]

    def agent_replies(self, ticket_post, text: str, user: str = AGENT) -> None:
        """A support person writes in the ticket's thread."""
        event = message_event(text, user=user, channel=SUPPORT, thread_ts=ticket_post.response["ts"], ts=new_ts())
        assert self.sender.event(event).status_code == 200

    def agent_clicks(self, ticket_post, action_id: str, user: str = AGENT) -> None:
        button = next(b for b in buttons_in(ticket_post["blocks"]) if b["action_id"] == action_id)
        posted = {"type": "message", "user": BOT_USER_ID, "ts": ticket_post.response["ts"], "text": ticket_post["text"], "blocks": ticket_post["blocks"]}
        payload = button_click(button, posted, SUPPORT, self.slack_api.response_url("click"), user=user)
        assert self.sender.interaction(payload).status_code == 200


@pytest.fixture
def team(bot, tmp_path):
    running = SupportTeam(bot, tmp_path)
    yield running
    running.close()


def test_a_telegram_customer_and_the_support_team_talk_through_the_bot(team):
    telegram = team.telegram
    telegram.user_says("I broke out in a rash after using booster last night")
    handoff = telegram.next_sent()
    code = re.search(r"NG-\d+", handoff.text).group()
    assert "A member of the team will reply to you here." in handoff.text

    # the ticket appears in the support channel with its transcript and buttons
    assert team.deliver() == 1
    [ticket_post] = team.support_posts()
    assert code in ticket_post["text"] and ticket_post["thread_ts"] is None
    shown = " ".join(block["text"]["text"] for block in ticket_post["blocks"] if block["type"] == "section")
    assert "a skin reaction" in shown and "Alice" in shown and "broke out in a rash" in shown
    assert [b["action_id"] for b in buttons_in(ticket_post["blocks"])] == [CLAIM, RESOLVE]

    # the customer's next message goes to the thread, not to the bot
    telegram.user_says("it's getting itchier <honestly> & redder")
    eventually(lambda: team.queued("support_thread"))
    assert team.deliver() == 1
    into_thread = team.support_posts()[-1]
    assert into_thread["thread_ts"] == ticket_post.response["ts"]
    assert "it's getting itchier &lt;honestly&gt; &amp; redder" in into_thread["text"]
    assert telegram.unread() == []

    # the team answers in the thread: relayed to the customer, marked as from the team
    team.agent_replies(ticket_post, "Hi Alice, please stop using Booster for now. <@U0OTHER> will call you.")
    eventually(lambda: team.queued("telegram_relay"))
    team.deliver()
    relayed = telegram.next_sent()
    assert relayed.chat_id == ALICE.id
    assert relayed.text.startswith("Message from the NeoGenesis support team:")
    assert "please stop using Booster for now." in relayed.text

    # an internal note stays internal
    team.agent_replies(ticket_post, "!note she sounds fine, follow up tomorrow")
    eventually(lambda: any(line.author == "note" for line in team.desk.tickets.lines(team.desk.tickets.get(code))))
    assert team.deliver() == 0 and telegram.unread() == []

    # Claim shows who has it; Resolve tells the customer and the bot answers again
    team.agent_clicks(ticket_post, CLAIM)
    eventually(lambda: team.desk.tickets.get(code).status == "claimed")
    updated = eventually(lambda: team.slack_api.calls("chat.update"))
    assert f"<@{AGENT}>" in str(updated[-1]["blocks"])
    team.agent_clicks(ticket_post, RESOLVE)
    eventually(lambda: team.desk.tickets.get(code).status == "resolved")
    team.deliver()
    assert telegram.next_sent().text == f"Our support team has marked ticket {code} as resolved. If anything else comes up, just ask me here."
    telegram.user_says("what is recovery?")
    assert "70%" in telegram.next_sent().text


def test_a_resellers_hand_off_is_answered_in_their_own_slack_thread(team):
    asked = team.slack.mention("can i talk to a person about a wholesale account please")
    handoff = team.slack_api.wait_for_post()
    assert handoff["channel"] == "C0RESELLERS" and handoff["thread_ts"] == asked["ts"]
    code = re.search(r"NG-\d+", handoff["text"]).group()

    team.deliver()
    ticket_post = team.support_posts()[-1]
    assert code in ticket_post["text"]
    team.agent_replies(ticket_post, "Hi! I'll set that up for you today.")
    eventually(lambda: team.queued("slack_relay"))
    team.deliver()
    relayed = team.slack_api.posts()[-1]
    assert relayed["channel"] == "C0RESELLERS" and relayed["thread_ts"] == asked["ts"]
    assert "Message from the NeoGenesis support team" in relayed["text"] and "set that up for you today" in relayed["text"]


def test_a_post_that_went_out_before_a_crash_is_not_posted_again(team, bot):
    reply = team.desk.handle(Message("talk to a person please", user_id="77", channel="telegram", conversation="telegram:77"))
    outbox = team.worker.outbox
    [claimed] = outbox.claim_due("worker-that-crashes")
    asyncio.run(team.adapter.support.post_ticket(claimed))  # posted... and the worker dies before marking it
    with team.desk.state.engine.begin() as connection:  # its claim runs out
        from sqlalchemy import update

        from support.store import deliveries

        connection.execute(update(deliveries).values(claimed_until=outbox.clock()))
    team.deliver()
    assert len([p for p in team.support_posts() if reply.ticket in p["text"]]) == 1
    [delivery] = team.desk.tickets.deliveries_of(team.desk.tickets.get(reply.ticket))
    assert delivery["status"] == "sent"
