"""The Slack adapter end to end: the real Bolt app behind uvicorn on 127.0.0.1 gets signed Events API,
slash-command and button payloads exactly as Slack sends them, and its Web API client talks to a fake
Slack Web API (tests/fakes/slack_api.py) through SLACK_API_URL. Each test reads as a conversation:
what a reseller sent, what the bot posted back (channel, thread, text, blocks)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import uvicorn
import yaml
from slack_bolt.listener.async_listener_completion_handler import AsyncListenerCompletionHandler

from adapters import slack as slack_adapter
from adapters.slack import COMMAND, EVENTS_PATH, SlackAdapter, plain_text
from adapters.slack_render import BUTTON_LIMIT, body_text, escape, reply_message
from bot.records import Option, Reply
from bot.settings import Settings, SettingsError
from support.desk import SupportDesk
from support.state import ConversationState
from support.store import open_engine
from tests.fakes.slack_api import (
    BOT_ID,
    BOT_USER_ID,
    FakeSlackAPI,
    SlackSender,
    button_click,
    buttons_in,
    event_callback,
    mention_event,
    message_event,

    slash_command,
)

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "xoxb-0000000000-0000000000000-testtokentesttokentest"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
US_PREGNANCY = "safe for pregnant women"
AU_PREGNANCY = "Salicylic Acid Gel"


# -- the running app --------------------------------------------------------------------------------


class ServerThread:
    """uvicorn serving an ASGI app on 127.0.0.1 in a thread. The socket listens before the server
    starts, so a request sent at once simply waits for it: no polling, no sleeps."""

    def __init__(self, app) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


class ListenerWatch:
    """Counts Bolt listeners that have finished, so a test can wait until the bot has done everything
    it was going to do with the events sent, and then check what it did not post."""

    def __init__(self, adapter: SlackAdapter) -> None:
        self.finished = 0
        self.changed = threading.Condition()
        runner = adapter.app.listener_runner
        original, watch = runner.listener_completion_handler, self

        class Counting(AsyncListenerCompletionHandler):
            async def handle(self, request, response) -> None:
                await original.handle(request=request, response=response)
                with watch.changed:
                    watch.finished += 1
                    watch.changed.notify_all()

        runner.listener_completion_handler = Counting()

    def wait(self, count: int, timeout: float = 10) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.finished >= count, timeout), f"{self.finished} of {count} listeners finished"


class Workspace:
    """A Slack workspace with the bot installed: what people send, and the fake Web API's record."""

    def __init__(self, adapter: SlackAdapter, api: FakeSlackAPI, sender: SlackSender) -> None:
        self.adapter = adapter
        self.api = api
        self.sender = sender
        self.watch = ListenerWatch(adapter)

    def mention(self, text: str, channel: str = "C0RESELLERS", **fields) -> dict:
        """`@NeoGenesis text` in a channel, delivered as Slack does: an app_mention and a message event."""
        event = mention_event(f"<@{BOT_USER_ID}> {text}", channel=channel, **fields)
        assert self.sender.event(event).status_code == 200
        as_message = {**event, "type": "message", "channel_type": "channel"}
        assert self.sender.event(as_message).status_code == 200
        return event

    def say(self, text: str, **fields) -> dict:
        """A message event (a direct message with channel="D…", channel_type="im")."""
        event = message_event(text, **fields)
        assert self.sender.event(event).status_code == 200
        return event

    def dm(self, text: str, user: str = "U0ESTHETICIAN") -> dict:
        return self.say(text, channel="D0DIRECT", channel_type="im", user=user)

    def slash(self, text: str, user: str = "U0ESTHETICIAN"):
        response = self.sender.command(slash_command(text, self.api.response_url(), user=user))
        assert response.status_code == 200
        return response

    def click(self, post, button: dict, user: str = "U0CLINIC"):
        """Click `button` in the message the bot posted (`post`, a recorded chat.postMessage)."""
        posted = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": post.response["ts"],
                  "text": post["text"], "blocks": post["blocks"]}
        if post["thread_ts"]:
            posted["thread_ts"] = post["thread_ts"]
        payload = button_click(button, posted, post["channel"], self.api.response_url("click"), user=user)
        assert self.sender.interaction(payload).status_code == 200


@pytest.fixture
def api():
    with FakeSlackAPI() as fake:
        yield fake


@pytest.fixture
def desk(bot, tmp_path) -> SupportDesk:
    return SupportDesk(bot, ConversationState(open_engine(f"sqlite:///{tmp_path / 'bot.sqlite3'}")))


def settings_for(api: FakeSlackAPI, **env: str) -> Settings:
    return Settings.from_env({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api.base_url, **env})


@pytest.fixture
def start_workspace(api, desk):
    """start_workspace(SLACK_REGION="AU") -> a Workspace whose bot runs with those settings."""
    running = []

    def start(**env: str) -> Workspace:
        adapter = SlackAdapter.from_settings(settings_for(api, **env), desk=desk)
        server = ServerThread(adapter.asgi_app()).__enter__()
        sender = SlackSender(server.url + EVENTS_PATH, SECRET)
        running.append((server, sender))
        return Workspace(adapter, api, sender)

    yield start
    for server, sender in running:
        sender.close()
        server.__exit__()


@pytest.fixture
def slack(start_workspace) -> Workspace:
    return start_workspace()


def test_url_verification_echoes_the_challenge(slack):
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"})
    response = slack.sender.post(body)
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


# -- where it answers --------------------------------------------------------------------------------


def test_a_mention_in_a_channel_is_answered_in_its_thread(slack):
    asked = slack.mention("how long does a bottle of recovery last?")

    post = slack.api.wait_for_post()
    assert post["channel"] == "C0RESELLERS" and post["thread_ts"] == asked["ts"]
    assert "18 days" in post["text"]
    assert post.token == TOKEN
    answer, *rest = post["blocks"]
    assert answer["type"] == "section" and "18 days" in answer["text"]["text"]
    assert "1. " not in answer["text"]["text"], "the related questions are buttons, not a numbered list"
    assert rest[0]["elements"][0]["text"] == "You might also ask:"
    *questions, helpful, not_helpful = buttons_in(post["blocks"])
    assert [b["value"] for b in questions] == ["recovery-results-time", "recovery-what-is"]
    assert [b["action_id"] for b in questions] == ["ask_intent_1", "ask_intent_2"]
    assert (helpful["action_id"], not_helpful["action_id"]) == ("feedback_yes", "feedback_no")
    assert helpful["value"] == not_helpful["value"] and helpful["value"].isdigit()  # the turn being rated


def test_helpful_yes_or_no_is_recorded_and_thanked_privately(slack, desk):
    slack.mention("how long does a bottle of recovery last?")
    post = slack.api.wait_for_post()
    helpful = next(b for b in buttons_in(post["blocks"]) if b["action_id"] == "feedback_yes")
    slack.click(post, helpful, user="U0ESTHETICIAN")
    thanks = slack.api.wait_for_private_reply()
    assert thanks["text"].startswith("Thanks for telling us")
    [turn] = desk.state.recent_turns(f"slack:C0RESELLERS:{post['thread_ts']}")
    assert turn["helpful"] is True


def test_a_direct_message_is_answered_in_the_conversation(slack):
    slack.dm("is it ok to use while pregnant?")

    post = slack.api.wait_for_post()
    assert post["channel"] == "D0DIRECT" and post["thread_ts"] is None
    assert US_PREGNANCY in post["text"]


def test_the_slash_command_answers_privately_and_echoes_the_question(slack):
    slack.slash("how long does a bottle of recovery last?")

    reply = slack.api.wait_for_private_reply()
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    question, answer = reply["blocks"][:2]
    assert question["text"]["text"] == ">how long does a bottle of recovery last?"
    assert "18 days" in answer["text"]["text"]
    assert slack.api.posts() == [], "nothing is posted in the channel for everyone"


def test_a_click_on_a_related_question_answers_in_the_same_thread(slack):
    asked = slack.mention("how long does a bottle of recovery last?")
    first = slack.api.wait_for_post()
    what_is = next(b for b in buttons_in(first["blocks"]) if b["value"] == "recovery-what-is")

    slack.click(first, what_is)

    second = slack.api.wait_for_post(2)
    assert second["channel"] == "C0RESELLERS" and second["thread_ts"] == asked["ts"]
    assert second["blocks"][0]["text"]["text"] == ">" + escape(what_is["text"]["text"])
    assert "70%" in second["text"]  # Recovery's own answer


def test_a_click_in_a_private_answer_is_answered_privately(slack):
    slack.slash("how long does a bottle of recovery last?")
    private = slack.api.wait_for_private_reply()
    button = next(buttons_in(private["blocks"]))

    payload = button_click(button, None, "C0RESELLERS", slack.api.response_url("click"), ephemeral=True)
    assert slack.sender.interaction(payload).status_code == 200

    answer = slack.api.wait_for_private_reply(2)
    assert answer.path == "/response/click" and answer["response_type"] == "ephemeral"
    assert button["text"]["text"] in answer["blocks"][0]["text"]["text"]
    assert slack.api.posts() == []


def test_a_reply_in_a_thread_the_bot_answered_in_is_answered_there(slack):
    asked = slack.mention("how long does a bottle of recovery last?")
    slack.api.wait_for_post()

    slack.say("and is it ok while pregnant?", thread_ts=asked["ts"], user="U0CLINIC")

    follow_up = slack.api.wait_for_post(2)
    assert follow_up["channel"] == "C0RESELLERS" and follow_up["thread_ts"] == asked["ts"]
    assert US_PREGNANCY in follow_up["text"]


def test_chatter_that_is_not_for_the_bot_gets_no_answer(slack):
    slack.say("morning all, anyone tried the new serum?")  # top level, no mention
    elsewhere = slack.say("the training went well")
    slack.say("is it ok while pregnant?", thread_ts=elsewhere["ts"])  # a thread the bot is not in
    slack.watch.wait(3)
    assert slack.api.posts() == []


def test_the_bot_never_answers_itself_or_other_bots(slack):
    slack.say(f"<@{BOT_USER_ID}> is it ok while pregnant?", user="U0OTHERBOT", bot_id="B0OTHER", subtype="bot_message")
    slack.say("is it ok while pregnant?", channel="D0DIRECT", channel_type="im", user=BOT_USER_ID, bot_id=BOT_ID)
    slack.say("what is recovery?", channel="D0DIRECT", channel_type="im", bot_id="B0OTHER", user="U0OTHERBOT")
    slack.say("edited: what is recovery?", channel="D0DIRECT", channel_type="im", subtype="message_changed")

    slack.dm("how long does a bottle of recovery last?")  # a person: this one is answered
    slack.api.wait_for_post()
    slack.watch.wait(4)  # the bot's own message is dropped by Bolt before any listener runs
    assert len(slack.api.posts()) == 1 and "18 days" in slack.api.posts()[0]["text"]


# -- one question, one answer ------------------------------------------------------------------------


def test_a_mention_that_also_arrives_as_a_message_is_answered_once(slack):
    slack.mention("how long does a bottle of recovery last?")  # app_mention + message, same ts

    slack.watch.wait(2)
    assert len(slack.api.posts()) == 1


def test_slacks_retries_of_an_event_being_handled_are_acknowledged_and_dropped(slack, desk, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="adapters.slack")
    release, handle = threading.Event(), desk.handle
    monkeypatch.setattr(desk, "handle", lambda message: release.wait(10) and handle(message))
    event = message_event("how long does a bottle of recovery last?", channel="D0DIRECT", channel_type="im")

    assert slack.sender.event(event, event_id="Ev0RETRIED").status_code == 200  # the desk is still at work
    for retry in (1, 2):  # Slack heard nothing in time, so it delivers the event again
        assert slack.sender.event(event, event_id="Ev0RETRIED", retry=retry).status_code == 200
    release.set()

    assert "18 days" in slack.api.wait_for_post()["text"]
    dropped = [r.getMessage() for r in caplog.records if "Ev0RETRIED" in r.getMessage()]
    assert dropped == [f"dropped a repeated delivery of Slack event Ev0RETRIED (retry {n})" for n in (1, 2)]
    slack.dm("is it ok while pregnant?")  # the next question is the next answer: nothing else was on its way
    assert US_PREGNANCY in slack.api.wait_for_post(2)["text"]
    slack.watch.wait(2)
    assert slack.watch.finished == 2, "the retries never reached a listener"
    assert len(slack.api.posts()) == 2


# -- robustness ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    [
        {"signed": False},
        {"headers": {"X-Slack-Signature": "v0=" + "0" * 64}},
        {"timestamp": int(time.time()) - 6 * 60},  # signed correctly, six minutes ago
    ],
    ids=["missing", "wrong", "stale"],
)
def test_a_request_without_a_good_signature_gets_401_and_does_nothing(slack, how):
    event = message_event("how long does a bottle of recovery last?", channel="D0DIRECT", channel_type="im")
    assert slack.sender.event(event, **how).status_code == 401
    assert slack.sender.command(slash_command("what is recovery?", slack.api.response_url()), **how).status_code == 401

    slack.dm("is it ok while pregnant?")  # a good request still works, and is the only one answered
    slack.api.wait_for_post()
    slack.watch.wait(1)
    assert [US_PREGNANCY in p["text"] for p in slack.api.posts()] == [True]
    assert slack.api.private_replies() == []


def test_text_from_a_user_is_escaped_so_nothing_pings(slack):
    slack.slash("&lt;!channel&gt; <!here> <@U0BOSS> what's in recovery &amp; booster?")

    reply = slack.api.wait_for_private_reply()
    echoed = reply["blocks"][0]["text"]["text"]
    assert echoed == ">&lt;!channel&gt; @here what's in recovery &amp; booster?"
    sent = json.dumps(reply.params)
    assert "<!" not in sent and "<@" not in sent


def test_a_mention_with_a_channel_ping_does_not_echo_the_ping(slack):
    asked = slack.mention("<!channel> how long does a bottle of recovery last?")
    post = slack.api.wait_for_post()
    assert post["thread_ts"] == asked["ts"] and "18 days" in post["text"]
    assert "<!" not in json.dumps(post.params)


def test_a_rate_limited_post_is_retried_after_the_pause_slack_asks_for(slack):
    slack.api.script("chat.postMessage", status=429, headers={"Retry-After": "1"})

    slack.dm("how long does a bottle of recovery last?")

    post = slack.api.wait_for_post()
    attempts = slack.api.calls("chat.postMessage")
    assert [a.status for a in attempts] == [429, 200]
    assert "18 days" in post["text"] and len(slack.api.posts()) == 1


def test_an_error_in_the_core_gets_an_apology_in_the_thread_and_a_log_line(slack, desk, monkeypatch, caplog):
    def broken(message):
        raise RuntimeError("the matcher fell over")

    monkeypatch.setattr(desk, "handle", broken)
    caplog.set_level(logging.ERROR, logger="adapters.slack")
    event = mention_event(f"<@{BOT_USER_ID}> how long does a bottle of recovery last?")

    assert slack.sender.event(event, event_id="Ev0BROKEN").status_code == 200

    apology = slack.api.wait_for_post()
    assert apology["thread_ts"] == event["ts"] and apology["channel"] == event["channel"]
    assert apology["text"] == "Sorry, something went wrong on my side. Please try again in a moment."
    assert "RuntimeError" not in json.dumps(apology.params) and "Traceback" not in json.dumps(apology.params)
    logged = [r for r in caplog.records if "Ev0BROKEN" in r.getMessage()]
    assert logged and logged[0].levelno == logging.ERROR and logged[0].exc_info[0] is RuntimeError


def test_an_error_in_the_core_on_a_slash_command_gets_a_private_apology(slack, desk, monkeypatch, caplog):
    monkeypatch.setattr(desk, "handle", lambda message: 1 / 0)
    slack.slash("what is recovery?")
    reply = slack.api.wait_for_private_reply()
    assert reply["response_type"] == "ephemeral" and reply["text"].startswith("Sorry, something went wrong")
    assert any("/neogenesis" in r.getMessage() and r.exc_info for r in caplog.records)


def test_slack_gets_its_acknowledgement_before_the_answer_is_worked_out(slack, desk, monkeypatch):
    release = threading.Event()
    handle = desk.handle

    def slow(message):
        assert release.wait(10), "the test never released the desk"
        return handle(message)

    monkeypatch.setattr(desk, "handle", slow)

    response = slack.slash("how long does a bottle of recovery last?")  # returns while the desk waits
    assert response.status_code == 200 and slack.api.private_replies() == []
    slack.dm("is it ok while pregnant?")
    assert slack.api.posts() == []

    release.set()
    assert "18 days" in slack.api.wait_for_private_reply()["text"]
    assert US_PREGNANCY in slack.api.wait_for_post()["text"]


def test_no_secret_reaches_the_log(slack, caplog):
    caplog.set_level(logging.DEBUG)
    slack.dm("how long does a bottle of recovery last?")
    slack.api.wait_for_post()
    slack.watch.wait(1)
    assert caplog.records, "debug logging was on"
    assert TOKEN not in caplog.text and SECRET not in caplog.text


# -- regions -------------------------------------------------------------------------------------------


def test_the_workspace_region_comes_from_slack_region(start_workspace):
    slack = start_workspace(SLACK_REGION="AU")
    slack.dm("is it ok while pregnant?")
    assert AU_PREGNANCY in slack.api.wait_for_post()["text"]


def test_the_workspace_region_falls_back_to_the_default_region(start_workspace):
    slack = start_workspace(BOT_DEFAULT_REGION="AU")
    slack.dm("is it ok while pregnant?")
    assert AU_PREGNANCY in slack.api.wait_for_post()["text"]


def test_with_no_region_known_a_reseller_is_asked_with_buttons_in_the_thread(api, bot, tmp_path):
    asking = SupportDesk(bot, ConversationState(open_engine(f"sqlite:///{tmp_path / 'asking.sqlite3'}")), ask_region=True)
    adapter = SlackAdapter.from_settings(settings_for(api), desk=asking)  # no SLACK_REGION, no BOT_DEFAULT_REGION
    with ServerThread(adapter.asgi_app()) as server:
        sender = SlackSender(server.url + EVENTS_PATH, SECRET)
        slack = Workspace(adapter, api, sender)
        try:
            asked = slack.mention("is it ok while pregnant?")
            question = api.wait_for_post()
            assert question["thread_ts"] == asked["ts"] and question["text"].startswith("Australia or the United States?")
            buttons = {b["text"]["text"]: b for b in buttons_in(question["blocks"])}
            assert [b["value"] for b in buttons.values()] == ["region:AU", "region:US"]
            slack.click(question, buttons["Australia"], user="U0ESTHETICIAN")
            answer = api.wait_for_post(2)
            assert answer["thread_ts"] == asked["ts"] and AU_PREGNANCY in answer["text"]
        finally:
            sender.close()


def test_a_person_chooses_their_region_with_the_slash_command(slack):
    slack.slash("region AU")
    confirmation = slack.api.wait_for_private_reply()
    assert confirmation["text"] == "Done: I'll answer for Australia from now on."

    slack.dm("is it ok while pregnant?")
    assert AU_PREGNANCY in slack.api.wait_for_post()["text"]
    slack.dm("is it ok while pregnant?", user="U0SOMEONEELSE")
    assert US_PREGNANCY in slack.api.wait_for_post(2)["text"]

    slack.slash("region NZ")
    assert "Australia and the United States" in slack.api.wait_for_private_reply(2)["text"]


# -- Socket Mode ---------------------------------------------------------------------------------------


def test_socket_mode_answers_over_the_websocket(api, desk):
    adapter = SlackAdapter.from_settings(settings_for(api), desk=desk)
    loop = asyncio.new_event_loop()
    running = loop.create_task(adapter.run_socket_mode("xapp-1-A0NEOGEN-0000-socketsocketsocket"))
    thread = threading.Thread(target=loop.run_until_complete, args=(asyncio.wait([running]),), daemon=True)
    thread.start()
    try:
        event = message_event("how long does a bottle of recovery last?", channel="D0DIRECT", channel_type="im")
        envelope_id = api.send_over_socket(event_callback(event))

        post = api.wait_for_post()
        assert post["channel"] == "D0DIRECT" and "18 days" in post["text"]
        assert any(a["envelope_id"] == envelope_id for a in api.wait_for("socket_ack"))
        assert api.calls("apps.connections.open")[0].token == "xapp-1-A0NEOGEN-0000-socketsocketsocket"
    finally:
        loop.call_soon_threadsafe(running.cancel)
        thread.join(timeout=10)
        loop.close()


# -- start-up ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env, named, not_named",
    [
        ({}, ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"], ["SLACK_APP_TOKEN"]),
        ({"SLACK_BOT_TOKEN": TOKEN}, ["SLACK_SIGNING_SECRET"], ["SLACK_BOT_TOKEN"]),
        ({"SLACK_APP_TOKEN": "xapp-1-A0-1-abc"}, ["SLACK_BOT_TOKEN"], ["SLACK_SIGNING_SECRET"]),
    ],
)
def test_missing_settings_stop_start_up_with_one_line(env, named, not_named, tmp_path, monkeypatch, capsys):
    from service import cli

    monkeypatch.chdir(tmp_path)  # no .env here
    for name in [n for n in os.environ if n.startswith(("SLACK_", "BOT_", "DATABASE_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert cli.main(["slack"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("neogenesis-bot: ")
    assert all(n in error for n in named) and not any(f"{n} is not set" in error for n in not_named)


def test_a_token_slack_refuses_stops_start_up_with_one_line(api, tmp_path):
    api.script("auth.test", body={"ok": False, "error": "invalid_auth"})
    with pytest.raises(SettingsError, match=r"^SLACK_BOT_TOKEN was refused by Slack \(invalid_auth\)$"):
        slack_adapter.main(settings_for(api, BOT_DATA_DIR=str(tmp_path)))


def test_one_command_serves_the_events_api_on_port(api, tmp_path):
    """`neogenesis-bot slack`, as the README runs it: uvicorn on $PORT, answering signed events."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BOT_", "DATABASE_"))}
    env.update(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=api.base_url, PORT=str(port),
               BOT_DATA_DIR=str(tmp_path), BOT_LOG_LEVEL="INFO")
    bot = subprocess.Popen([sys.executable, "-m", "service", "slack"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        log = []
        for line in bot.stderr:  # wait for the bot to say it is listening (the pipe ends if it dies)
            log.append(line)
            if "serving the Events API" in line:
                break
        assert "serving the Events API" in "".join(log), "".join(log)

        sender = SlackSender(f"http://127.0.0.1:{port}{EVENTS_PATH}", SECRET)
        assert sender.event(message_event("how long does a bottle of recovery last?", channel="D0DIRECT", channel_type="im")).status_code == 200
        assert sender.event(message_event("hello", channel="D0DIRECT", channel_type="im"), signed=False).status_code == 401
        sender.close()
        assert "18 days" in api.wait_for_post()["text"]
    finally:
        bot.send_signal(signal.SIGINT)
        bot.wait(timeout=20)
        bot.stderr.close()


# -- the manifest ----------------------------------------------------------------------------------------


def test_the_manifest_creates_the_app_this_adapter_expects():
    manifest = yaml.safe_load((ROOT / "slack-manifest.yaml").read_text())
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["request_url"].endswith(EVENTS_PATH)
    assert settings["interactivity"]["is_enabled"] and settings["interactivity"]["request_url"].endswith(EVENTS_PATH)
    events = set(settings["event_subscriptions"]["bot_events"])
    assert {"app_mention", "message.channels", "message.groups", "message.im", "message.mpim"} <= events
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "channels:history", "groups:history", "im:history", "mpim:history", "chat:write", "commands"} <= scopes
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND and command["url"].endswith(EVENTS_PATH)
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_read_only_enabled"] is False
    assert not settings["socket_mode_enabled"]


def test_the_socket_mode_manifest_is_the_same_app_without_urls():
    http = yaml.safe_load((ROOT / "slack-manifest.yaml").read_text())
    socket_mode = yaml.safe_load((ROOT / "slack-manifest-socket-mode.yaml").read_text())
    del http["settings"]["event_subscriptions"]["request_url"], http["settings"]["interactivity"]["request_url"]
    del http["features"]["slash_commands"][0]["url"]
    http["settings"]["socket_mode_enabled"] = True
    assert socket_mode == http


# -- converting and rendering, piece by piece -------------------------------------------------------------


@pytest.mark.parametrize(
    "markup, plain",
    [
        (f"<@{BOT_USER_ID}> what is recovery?", "what is recovery?"),
        (f"<@{BOT_USER_ID}|neogenesis> hi", "hi"),
        ("<!channel> is it vegan &amp; cruelty free?", "@channel is it vegan & cruelty free?"),
        ("&lt;!here&gt; 1 &lt; 2", "<!here> 1 < 2"),
        ("ask <@U0BOSS|maria> about <https://neogenesis.com|our site>", "ask @maria about our site"),
        ("see <#C0TRAINING|training> or <mailto:a@b.com|a@b.com>", "see #training or a@b.com"),
    ],
)
def test_slack_markup_becomes_the_words_a_person_typed(markup, plain):
    assert plain_text(markup, BOT_USER_ID) == plain


def test_a_clarify_reply_offers_its_questions_as_buttons(bot):
    intents = tuple(bot.catalogue.by_id[i] for i in ("recovery-vs-booster", "recovery-vs-skin-serum"))
    reply = bot.writer.clarify(intents, "US", 0.5, "recovery-vs-booster")

    text, blocks = reply_message(reply, bot.catalogue.messages)

    assert blocks[0]["text"]["text"] == bot.catalogue.messages["clarify"]
    assert [(b["value"], b["text"]["text"]) for b in buttons_in(blocks)] == [(i.id, i.question) for i in intents]
    assert "1. " in text  # the notification text keeps the list, for clients that show no blocks


def test_a_hand_off_says_who_follows_up(bot):
    reply = bot.reply(bot_message("I want a refund for my order"))
    assert reply.kind == "escalate"
    text, blocks = reply_message(reply, bot.catalogue.messages)
    assert "info@neogenesis.com" in blocks[0]["text"]["text"]
    assert blocks[-1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": ":email: info@neogenesis.com"}]}


def test_long_questions_fit_on_their_buttons_and_stray_brackets_are_escaped():
    long = "Can the NeoLash + NeoBrow products be used before and after receiving professional lash and brow treatments?"
    reply = Reply("answer", "Use <b>2 pumps</b> & wait.\n\nYou might also ask:\n1. " + long, "US", "x", related=(Option("lash", long),))
    text, blocks = reply_message(reply, {"related": "You might also ask:"})
    label = next(buttons_in(blocks))["text"]["text"]
    assert len(label) <= BUTTON_LIMIT and label.endswith("…") and long.startswith(label[:-1])
    assert blocks[0]["text"]["text"] == "Use &lt;b&gt;2 pumps&lt;/b&gt; &amp; wait."
    assert body_text(reply, {"related": "You might also ask:"}) == "Use <b>2 pumps</b> & wait."


def test_a_very_long_answer_is_split_into_sections_slack_accepts():
    paragraph = "word " * 700
    reply = Reply("answer", "\n\n".join([paragraph.strip()] * 3), "US")
    _, blocks = reply_message(reply, {})
    assert len(blocks) >= 3 and all(len(b["text"]["text"]) <= 3000 for b in blocks)


def bot_message(text: str):
    from bot.records import Message

    return Message(text, user_id="tester", channel="slack")
