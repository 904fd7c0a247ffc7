"""The Telegram adapter end to end: python-telegram-bot's real client talks to a fake Bot API on
127.0.0.1 (tests/fakes/telegram_api.py) through TELEGRAM_API_URL, with a real SQLite database and
the shipped catalogue. Each test reads as a chat: what a person sent, what the bot sent back (chat,
text, buttons, reply-to). The bot runs in a background event loop, started and stopped with the
adapter's own `start` / `stop`, as `neogenesis-bot telegram` runs it (also run as a command below)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
import pytest
import uvicorn
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update

from adapters.telegram import (
    DEFAULT_WEBHOOK_PATH,
    build_application,
    chat_of,
    delivery_senders,
    main,
    send_to_chat,
    start,
    stop,
    to_message,
    web_app,
    webhook_url_of,
)
from adapters.telegram_render import read_callback, reply_text, split_text
from bot.core import SupportBot
from bot.records import Message, Option, Reply
from bot.settings import Settings, SettingsError
from support.desk import SupportDesk
from support.outbox import DeliveryWorker, Outbox
from tests.fakes.telegram_api import ALICE, BOB, BOT, GROUP, Chat, FakeTelegramAPI, Sent

TOKEN = "123456789:AAFakeTokenForTheTestsOnly_abcdefghij"
SECRET = "webhook-secret_123"
WHAT_IS_RECOVERY = "70% of our stem cell released molecules"  # in the answer to "what is recovery"
RECOVERY_5ML = "approximately 18 days"  # in the answer to "how long does the 5ml recovery last?"
US_PREGNANCY = "safe for pregnant women"
AU_PREGNANCY = "Salicylic Acid Gel"
NO_TEXT = "I can only read text. What would you like to know about NeoGenesis?"


# -- the running bot ------------------------------------------------------------------------------


class BackgroundLoop:
    """An asyncio loop in a thread: the bot runs there while the test, like a person, waits for it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="telegram-bot", daemon=True)
        self.thread.start()

    def submit(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine, timeout: float = 15.0):
        return self.submit(coroutine).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Running:
    settings: Settings
    desk: SupportDesk
    application: object
    loop: BackgroundLoop
    stopped: bool = False

    def stop(self) -> None:
        """Stop the bot; every update it had received is handled by the time this returns."""
        if not self.stopped:
            self.stopped = True
            self.loop.run(stop(self.application))
            self.loop.close()


@pytest.fixture(scope="module")
def bots(bot) -> dict[str, SupportBot]:
    return {"US": bot}


@pytest.fixture(autouse=True)
def catalogue_loaded_once(monkeypatch, bots, catalogue):
    """Desks built from settings reuse the session's bot instead of reading the catalogue again."""

    def load(intents_dir=None, default_region="US"):
        if default_region not in bots:
            bots[default_region] = SupportBot(catalogue, default_region)
        return bots[default_region]

    monkeypatch.setattr(SupportBot, "load", staticmethod(load))


@pytest.fixture
def telegram():
    with FakeTelegramAPI(TOKEN) as fake:
        yield fake


def settings_for(telegram: FakeTelegramAPI, tmp_path, **extra: str) -> Settings:
    # BOT_DEFAULT_REGION set, as a one-region brand sets it: the bot never asks (BOT_DEFAULT_REGION="" to be asked)
    environment = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": telegram.base_url, "BOT_DATA_DIR": str(tmp_path), "BOT_DEFAULT_REGION": "US"}
    return Settings.from_env({**environment, **extra})


@pytest.fixture
def run_bot(telegram, tmp_path):
    """run_bot(SETTING=value, ...) -> Running: the adapter long-polling the fake."""
    running: list[Running] = []

    def run(**extra: str) -> Running:
        settings = settings_for(telegram, tmp_path, **extra)
        desk = SupportDesk.from_settings(settings)
        application = build_application(settings, desk)
        bot = Running(settings, desk, application, BackgroundLoop())
        running.append(bot)
        bot.loop.run(start(application))
        return bot

    yield run
    for bot in running:
        bot.stop()


@pytest.fixture
def chat(run_bot, telegram) -> FakeTelegramAPI:
    """The bot running with the default settings; talk to it through the fake."""
    run_bot()
    return telegram


@pytest.fixture
def webhook(telegram, tmp_path):
    """The adapter in webhook mode: uvicorn on a free loopback port, the webhook set with the fake,
    which then POSTs each update to it with the secret header, as Telegram does."""
    settings = settings_for(telegram, tmp_path, TELEGRAM_WEBHOOK_SECRET=SECRET)
    application = build_application(settings, SupportDesk.from_settings(settings))
    listening = socket.create_server(("127.0.0.1", 0))  # a POST sent at once waits in the backlog
    url = f"http://127.0.0.1:{listening.getsockname()[1]}{DEFAULT_WEBHOOK_PATH}"
    loop = BackgroundLoop()
    loop.run(start(application, url, SECRET))
    server = uvicorn.Server(uvicorn.Config(web_app(application, url, SECRET), lifespan="off", log_config=None))
    serving = loop.submit(server.serve(sockets=[listening]))
    yield telegram
    server.should_exit = True
    serving.result(10)
    loop.run(stop(application))
    loop.close()


def intent_answer(catalogue, intent_id: str, region: str = "US") -> str:
    return catalogue.fill(catalogue.by_id[intent_id].answer_for(region), region)


# -- /start, /help, /region --------------------------------------------------------------------------


def test_start_greets_and_shows_the_topics_as_buttons(chat, catalogue):
    chat.user_says("/start")
    greeting = chat.next_sent()
    assert greeting.chat_id == ALICE.id and greeting.reply_to is None
    assert greeting.text == "Hi, I'm the NeoGenesis support bot. Pick a topic below, or ask me a question in your own words."
    assert greeting.labels == [category.title for category in catalogue.categories if category.shown]
    assert "Talk to a person" not in greeting.labels and "Small talk" not in greeting.labels


def test_a_topic_lists_its_questions_and_a_question_answers(chat, catalogue):
    chat.user_says("/start")
    menu = chat.next_sent()
    pressed = chat.press(menu, "Hair and lash serums")
    assert chat.wait_for("answerCallbackQuery", lambda call: call.params["callback_query_id"] == pressed).status == 200
    chat.wait_for("editMessageText")
    hair = [intent for intent in catalogue.intents if intent.category == "hair" and intent.kind == "answer"]
    topic = chat.message(menu)
    assert topic.text == "Hair and lash serums\nPick a question:"
    assert topic.labels == [*(intent.question for intent in hair), "« All topics"]
    assert all(len(data.encode()) <= 64 for _, data in topic.buttons)

    chat.press(topic, hair[0].question)
    answer = chat.next_sent()
    assert answer.chat_id == ALICE.id and answer.text.startswith(intent_answer(catalogue, hair[0].id)[:200])

    chat.press(topic, "« All topics")
    chat.wait_for("editMessageText", lambda call: "Hi, I'm" in call.params["text"])
    assert chat.message(menu).labels[0] == "Our products"


def test_help_says_what_the_bot_does_and_its_commands(chat):
    chat.user_says("/help")
    help_text = chat.next_sent().text
    assert help_text.startswith("Ask me a question in your own words about our products")
    assert "/start" in help_text and "/region" in help_text and "/human" in help_text


def test_region_buttons_remember_the_choice_for_that_person(chat):
    chat.user_says("is it safe during pregnancy?")
    assert US_PREGNANCY in chat.next_sent().text
    chat.user_says("/region")
    question = chat.next_sent()
    assert question.text.startswith("Which region are you in?")
    assert question.buttons == [("Australia", "r:AU"), ("The United States", "r:US")]

    chat.press(question, "Australia")
    chat.wait_for("editMessageText")
    assert chat.message(question).text == "Done: I'll answer for Australia from now on."
    assert chat.message(question).buttons == []
    chat.user_says("is it safe during pregnancy?")
    assert AU_PREGNANCY in chat.next_sent().text
    chat.user_says("is it safe during pregnancy?", user=BOB)
    assert US_PREGNANCY in chat.next_sent().text


def test_a_region_can_be_typed_after_the_command(chat):
    chat.user_says("/region au")
    assert chat.next_sent().text == "Done: I'll answer for Australia from now on."
    chat.user_says("/region NZ")
    again = chat.next_sent()
    assert again.text.startswith("Which region are you in?") and again.labels == ["Australia", "The United States"]


def test_without_a_choice_the_region_is_bot_default_region(run_bot, telegram):
    run_bot(BOT_DEFAULT_REGION="AU")
    telegram.user_says("is it safe during pregnancy?")
    assert AU_PREGNANCY in telegram.next_sent().text


def test_with_no_region_set_anywhere_the_bot_asks_with_buttons_then_answers(run_bot, telegram):
    run_bot(BOT_DEFAULT_REGION="")  # not set: the brand serves both regions
    telegram.user_says("is it safe during pregnancy?")
    question = telegram.next_sent()
    assert question.text == "Australia or the United States? The answer to that differs between the two."
    assert question.buttons == [("Australia", "q:region:AU"), ("The United States", "q:region:US")]
    telegram.press(question, "Australia")
    assert AU_PREGNANCY in telegram.next_sent().text  # the question that was waiting
    telegram.user_says("how long does the 5ml recovery last?")
    assert RECOVERY_5ML in telegram.next_sent().text  # the same everywhere: never asked
    telegram.user_says("is it safe during pregnancy?")
    assert AU_PREGNANCY in telegram.next_sent().text  # remembered
    telegram.user_says("is it safe during pregnancy?", user=BOB)
    assert telegram.next_sent().text.startswith("Australia or the United States?")  # for that person only


def test_a_forum_topic_is_a_conversation_of_its_own():
    def update(**message) -> Update:
        sender = {"id": 42, "is_bot": False, "first_name": "Jo"}
        chat = {"id": -100123, "type": "supergroup", "is_forum": True}
        return Update.de_json({"update_id": 1, "message": {"message_id": 5, "date": 0, "chat": chat, "from": sender, "text": "hi", **message}}, None)

    in_topic = to_message(update(message_thread_id=7, is_topic_message=True), "hi").conversation
    elsewhere = to_message(update(message_thread_id=9, is_topic_message=True), "hi").conversation
    general = to_message(update(), "hi").conversation
    assert len({in_topic, elsewhere, general}) == 3
    assert chat_of(in_topic) == chat_of(general) == -100123  # replies from support still find the chat


def test_a_follow_up_in_a_telegram_chat_leans_on_the_last_answer(chat):
    chat.user_says("how long does the 5ml recovery last?")
    assert RECOVERY_5ML in chat.next_sent().text
    chat.user_says("and the 30ml?")
    assert "6 months" in chat.next_sent().text


# -- questions, buttons, hand-offs -------------------------------------------------------------------


def test_free_text_gets_the_answer_and_related_questions_as_buttons(chat, catalogue):
    chat.user_says("how long does the 5ml recovery last?")
    answer = chat.next_sent()
    assert answer.chat_id == ALICE.id and RECOVERY_5ML in answer.text
    assert answer.text.endswith("You might also ask:")  # the numbered list became the buttons
    related = catalogue.by_id["recovery-bottle-life"].related
    *questions, helpful, not_helpful = answer.buttons
    assert questions == [(catalogue.by_id[i].question, f"q:{i}") for i in related]
    assert helpful[0] == "👍 Helpful" and helpful[1].startswith("f:y:") and not_helpful[1].startswith("f:n:")

    pressed = chat.press(answer, "What is NeoGenesis Recovery?")
    assert WHAT_IS_RECOVERY in chat.next_sent().text
    chat.wait_for("answerCallbackQuery", lambda call: call.params["callback_query_id"] == pressed)


def test_helpful_yes_or_no_is_recorded_thanked_and_the_buttons_go_away(run_bot, telegram):
    bot = run_bot()
    telegram.user_says("how long does the 5ml recovery last?")
    answer = telegram.next_sent()
    pressed = telegram.press(answer, "👎 Not helpful")
    thanked = telegram.wait_for("answerCallbackQuery", lambda call: call.params["callback_query_id"] == pressed)
    assert thanked.params["text"].startswith("Thanks for telling us")
    telegram.wait_for("editMessageReplyMarkup")
    assert all(not data.startswith("f:") for _, data in telegram.message(answer).buttons)
    [turn] = [t for t in bot.desk.state.recent_turns(f"telegram:{ALICE.id}") if t["intent"] == "recovery-bottle-life"]
    assert turn["helpful"] is False


def test_did_you_mean_options_are_buttons_that_answer_when_pressed(chat, catalogue, bot):
    expected = bot.reply(Message("booster or skin serum or recovery?", channel="telegram"))
    assert expected.kind == "clarify" and len(expected.options) > 1  # what the core makes of it
    chat.user_says("booster or skin serum or recovery?")
    clarify = chat.next_sent()
    assert clarify.text == "I want to be sure I answer the right question. Did you mean:"
    assert clarify.buttons == [(option.label, f"q:{option.intent_id}") for option in expected.options]

    pressed = chat.press(clarify, catalogue.by_id["recovery-vs-booster"].question)
    chat.wait_for("answerCallbackQuery", lambda call: call.params["callback_query_id"] == pressed)
    assert chat.next_sent().text.startswith(intent_answer(catalogue, "recovery-vs-booster")[:150])


def test_a_button_for_a_question_that_is_gone_gets_a_friendly_word(chat):
    old_menu = Sent(1, ALICE.id, "", "old menu", {"inline_keyboard": [[{"text": "Old question", "callback_data": "q:retired-question"}]]})
    chat.new_message(ALICE)  # Alice has talked to the bot before
    chat.press(old_menu, "Old question")
    assert chat.next_sent().text == "That option has gone, sorry. Could you ask your question again?"


def test_a_press_too_old_to_acknowledge_is_still_answered(chat):
    chat.user_says("/start")
    menu = chat.next_sent()
    chat.fail_next("answerCallbackQuery", 400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
    chat.press(menu, "Our values")
    chat.wait_for("editMessageText")
    assert chat.message(menu).text == "Our values\nPick a question:"


def test_human_hands_off_and_says_who_follows_up_and_how(chat):
    chat.user_says("/human")
    handoff = chat.next_sent()
    assert handoff.text == (
        "This one needs a person from our support team (a request to talk to a person). Please email info@neogenesis.com "
        "or call Customer Service at 858-751-4714 with your question and how to reach you; our customer service team will get back to you."
    )
    chat.user_says("can I speak to a human please")
    assert "a request to talk to a person" in chat.next_sent().text


def test_with_a_support_channel_a_ticket_opens_and_the_teams_reply_is_relayed_here(run_bot, telegram):
    bot = run_bot(SLACK_SUPPORT_CHANNEL="C0SUPPORT")
    telegram.user_says("/human")
    handoff = telegram.next_sent()
    assert "A member of the team will reply to you here." in handoff.text
    code = re.search(r"NG-\d+", handoff.text).group()
    telegram.user_says("thanks, it's about my order")  # goes to the support person, not answered by the bot
    telegram.user_says("/help")
    assert telegram.next_sent().text.startswith("Ask me a question")

    ticket = bot.desk.tickets.get(code)
    assert ticket.conversation == f"telegram:{ALICE.id}" and ticket.user_name == "Alice (@alice)"
    bot.desk.tickets.support_said(ticket, "Hi Alice, Sam here <support> & happy to help", "Sam")
    worker = DeliveryWorker(Outbox(bot.desk.state.engine), delivery_senders(bot.settings, bot.desk))
    assert asyncio.run(worker.run_once()) >= 1
    relayed = telegram.next_sent()
    assert relayed.chat_id == ALICE.id
    assert relayed.text == "Message from the NeoGenesis support team:\n\nHi Alice, Sam here <support> & happy to help"


# -- groups --------------------------------------------------------------------------------------


def test_in_a_group_the_bot_answers_only_when_addressed_and_replies_to_that_message(chat):
    chat.user_says("how long does the 5ml recovery last?", chat=GROUP)  # people talking among themselves
    chat.user_sends(BOB, GROUP, new_chat_members=[BOT.as_dict()])  # a service message: silence
    chat.user_sends(BOB, GROUP, sticker=_sticker())
    mentioned = chat.user_says("@neogenesis_test_bot how long does the 5ml recovery last?", chat=GROUP)
    answer = chat.next_sent()
    assert answer.chat_id == GROUP.id and answer.reply_to == mentioned["message_id"]
    assert RECOVERY_5ML in answer.text

    follow_up = chat.user_says("and what is recovery?", user=BOB, chat=GROUP, reply_to=answer)
    reply = chat.next_sent()
    assert reply.reply_to == follow_up["message_id"] and WHAT_IS_RECOVERY in reply.text

    chat.user_says("/help@some_other_bot", chat=GROUP)  # another bot's command
    command = chat.user_says("/help@neogenesis_test_bot", chat=GROUP)
    help_reply = chat.next_sent()
    assert help_reply.reply_to == command["message_id"] and help_reply.text.startswith("Ask me a question")
    assert chat.unread() == []


def test_in_a_private_chat_the_bot_answers_everything(chat):
    chat.user_says("how long does the 5ml recovery last?")
    answer = chat.next_sent()
    assert answer.chat_id == ALICE.id and answer.reply_to is None and RECOVERY_5ML in answer.text


# -- rendering -----------------------------------------------------------------------------------


def test_html_looking_input_is_answered_and_never_breaks_a_message(chat):
    chat.user_says("how long does the 5ml <recovery> last? & *_* </i> &amp;")
    assert RECOVERY_5ML in chat.next_sent().text
    chat.user_says("<b>qwerty</b> <script>alert(1)</script> & _*")
    assert chat.next_sent().text.startswith("Sorry, I can't help with that here.")
    assert [call.status for call in chat.calls_to("sendMessage")] == [200, 200]  # the fake refuses bad HTML


def test_any_text_reaches_the_chat_exactly_as_written(telegram):
    written = ["<b>bold?</b> & <script>alert(1)</script>", "a < b > c && d;", "&amp; stays &amp;", "*_[x](y)_* `code`", "👩‍🔬 & <3"]
    telegram.new_message(ALICE)

    async def send_all() -> None:
        async with Bot(TOKEN, base_url=telegram.base_url) as bot:
            for text in written:
                await send_to_chat(bot, ALICE.id, text)

    asyncio.run(send_all())
    assert [telegram.next_sent().text for _ in written] == written


def test_a_long_text_is_split_under_telegrams_limit_with_the_buttons_last(telegram):
    text = "\n\n".join(f"Paragraph {n}. " + " ".join(["Recovery calms the skin."] * 60) for n in range(12))
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("What is NeoGenesis Recovery?", callback_data="q:recovery-what-is")]])
    telegram.new_message(ALICE)

    async def send() -> int:
        async with Bot(TOKEN, base_url=telegram.base_url) as bot:
            return len(await send_to_chat(bot, ALICE.id, text, keyboard=keyboard))

    count = asyncio.run(send())
    parts = [telegram.next_sent() for _ in range(count)]
    assert count == 6 and all(len(part.text) <= 4096 for part in parts)  # two ~1,500-character paragraphs a part
    assert all(part.text.startswith("Paragraph") for part in parts)  # cut between paragraphs
    assert "\n\n".join(part.text for part in parts) == text
    assert [part.labels for part in parts] == [[]] * 5 + [["What is NeoGenesis Recovery?"]]


def test_splitting_counts_like_telegram_and_cuts_a_word_only_when_it_must():
    emoji = "😀" * 3000  # 6,000 UTF-16 code units
    assert [len(part) for part in split_text(emoji)] == [2048, 952]
    assert split_text("x" * 5000) == ["x" * 4096, "x" * 904]
    assert split_text("short") == ["short"] and split_text("   ") == []


def test_the_numbered_list_goes_only_when_every_option_is_a_button():
    options = (Option("recovery-what-is", "What is NeoGenesis Recovery?"),)
    reply = Reply("clarify", "Did you mean:\n1. What is NeoGenesis Recovery?", "US", options=options)
    assert reply_text(reply) == "Did you mean:"
    too_long = (Option("x" * 70, "A question with a very long id"),)
    kept = Reply("clarify", "Did you mean:\n1. A question with a very long id", "US", options=too_long)
    assert reply_text(kept) == kept.text
    assert read_callback("q:recovery-what-is") == ("q", "recovery-what-is") and read_callback("zz:1") == ("", "")


# -- robustness ----------------------------------------------------------------------------------


def _sticker() -> dict:
    return {"file_id": "st1", "file_unique_id": "st1u", "type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False}


def test_edits_stickers_photos_voice_notes_channel_posts_and_unknown_updates_never_crash(run_bot, telegram, caplog):
    bot = run_bot()
    asked = telegram.user_says("what is recovery")
    assert WHAT_IS_RECOVERY in telegram.next_sent().text
    telegram.user_edits(asked, "what is booster")  # the original was answered: left alone
    telegram.user_sends(sticker=_sticker())
    assert telegram.next_sent().text == NO_TEXT
    telegram.user_sends(voice={"file_id": "v1", "file_unique_id": "v1u", "duration": 3})
    assert telegram.next_sent().text == NO_TEXT
    telegram.user_sends(photo=[{"file_id": "p1", "file_unique_id": "p1u", "width": 90, "height": 90}], caption="how long does the 5ml recovery last?")
    assert RECOVERY_5ML in telegram.next_sent().text
    channel = Chat(-1009876543, "channel", "NeoGenesis news")
    telegram.push(telegram.new_update(channel_post={"message_id": 5, "date": 1, "chat": channel.as_dict(), "text": "New serum out!"}))
    telegram.push(telegram.new_update(some_future_update={"id": 1}))  # a kind not invented yet
    telegram.user_says("/help")
    assert telegram.next_sent().text.startswith("Ask me a question")

    bot.stop()  # every update received is handled by now
    assert telegram.unread() == []
    assert not [record for record in caplog.records if record.levelname in ("ERROR", "CRITICAL")]


def test_a_429_is_waited_out_and_the_message_arrives_once(chat):
    chat.fail_next("sendMessage", 429, retry_after=1)
    chat.user_says("what is recovery")
    assert WHAT_IS_RECOVERY in chat.next_sent().text
    refused, sent = chat.calls_to("sendMessage")
    assert (refused.status, sent.status) == (429, 200) and sent.params["text"] == refused.params["text"]
    assert sent.at - refused.at >= 1.0  # Telegram said: retry after 1 second
    assert chat.unread() == []


def test_a_failed_send_is_logged_with_the_chat_and_tried_again(chat, caplog):
    chat.fail_next("sendMessage", 500)
    chat.user_says("what is recovery")
    assert WHAT_IS_RECOVERY in chat.next_sent().text
    assert [call.status for call in chat.calls_to("sendMessage")] == [500, 200]
    assert f"sending to telegram chat {ALICE.id} failed (Internal Server Error); trying again" in caplog.text


def test_an_error_is_logged_the_person_gets_an_apology_and_the_bot_carries_on(run_bot, telegram, caplog):
    bot = run_bot()
    with bot.desk.state.engine.begin() as connection:  # the database loses a table under the bot
        connection.exec_driver_sql("ALTER TABLE turns RENAME TO turns_away")
    telegram.user_says("what is recovery")
    apology = telegram.next_sent()
    assert apology.text == "Sorry, something went wrong on my side. Please try again in a moment."
    failure = next(r for r in caplog.records if r.getMessage().startswith("handling telegram update"))
    assert f"in chat {ALICE.id} failed" in failure.getMessage() and failure.exc_info is not None

    with bot.desk.state.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE turns_away RENAME TO turns")
    telegram.user_says("what is recovery")
    assert WHAT_IS_RECOVERY in telegram.next_sent().text


def test_someone_sending_dozens_of_messages_is_throttled_politely(run_bot, telegram):
    bot = run_bot(BOT_RATE_LIMIT="3")
    one_minute = datetime(2026, 11, 21, 10, 0, 30, tzinfo=timezone.utc)
    bot.desk.state.clock = lambda: one_minute
    for _ in range(6):
        telegram.user_says("what is recovery")
    replies = [telegram.next_sent().text for _ in range(4)]
    assert all(WHAT_IS_RECOVERY in reply for reply in replies[:3])
    assert replies[3] == "You're sending messages faster than I can answer. Please wait a minute, then ask again."
    telegram.user_says("/help")  # the 5th and 6th got nothing: the next thing sent is the help
    assert telegram.next_sent().text.startswith("Ask me a question")
    telegram.user_says("what is recovery", user=BOB)
    assert WHAT_IS_RECOVERY in telegram.next_sent().text


def test_one_slow_chat_does_not_hold_up_another(chat):
    slow = chat.hold_sends(ALICE.id)
    chat.user_says("what is recovery")
    chat.user_says("how long does the 5ml recovery last?", user=BOB)
    assert chat.next_sent().chat_id == BOB.id
    slow.set()
    assert chat.next_sent().chat_id == ALICE.id


def test_a_persons_quick_messages_are_answered_in_order(chat):
    for text in ("what is recovery", "how long does the 5ml recovery last?", "/help", "is it safe during pregnancy?"):
        chat.user_says(text)
    texts = [chat.next_sent().text for _ in range(4)]
    assert WHAT_IS_RECOVERY in texts[0] and RECOVERY_5ML in texts[1]
    assert texts[2].startswith("Ask me a question") and US_PREGNANCY in texts[3]


# -- webhook mode --------------------------------------------------------------------------------


def test_webhook_mode_registers_the_webhook_and_answers_updates_with_the_right_secret(webhook):
    assert webhook.webhook["secret_token"] == SECRET
    assert webhook.webhook["url"].endswith(DEFAULT_WEBHOOK_PATH)
    assert webhook.webhook["allowed_updates"] == ["message", "callback_query"]
    webhook.user_says("how long does the 5ml recovery last?")
    answer = webhook.next_sent()
    assert RECOVERY_5ML in answer.text and webhook.deliveries[-1][1] == 200
    webhook.press(answer, "What is NeoGenesis Recovery?")
    assert WHAT_IS_RECOVERY in webhook.next_sent().text


def test_webhook_mode_refuses_a_wrong_or_missing_secret_and_processes_nothing(webhook):
    wrong = webhook.new_update(message=webhook.new_message(text="what is recovery"))
    assert webhook.deliver(wrong, secret="not-the-secret") == 403
    missing = webhook.new_update(message=webhook.new_message(text="how long does the 5ml recovery last?"))
    assert webhook.deliver(missing, secret=None) == 403
    webhook.user_says("/help")
    assert webhook.next_sent().text.startswith("Ask me a question")
    assert webhook.unread() == []  # the refused updates were never queued behind it


def test_webhook_mode_answers_a_redelivered_update_once(webhook):
    update = webhook.new_update(message=webhook.new_message(text="what is recovery"))
    assert webhook.deliver(update) == 200
    assert webhook.deliver(update) == 200  # Telegram sends again when it is not sure we got it
    webhook.user_says("/help")
    assert WHAT_IS_RECOVERY in webhook.next_sent().text
    assert webhook.next_sent().text.startswith("Ask me a question")


def test_webhook_mode_refuses_a_body_that_is_not_an_update(webhook):
    response = httpx.post(webhook.webhook["url"], content=b"not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status_code == 400


def test_the_webhook_path_comes_from_the_url(tmp_path):
    def url(value: str) -> str | None:
        return webhook_url_of(Settings.from_env({"TELEGRAM_WEBHOOK_URL": value} if value else {}))

    assert url("https://bot.example.com/hooks/tg") == "https://bot.example.com/hooks/tg"
    assert url("https://bot.example.com") == "https://bot.example.com/telegram/webhook"
    assert url("") is None


# -- running it ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "problem"),
    [
        ({}, "TELEGRAM_BOT_TOKEN is not set (Telegram bot token from @BotFather)"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_URL": "https://bot.example.com"}, "TELEGRAM_WEBHOOK_SECRET is not set"),
        (
            {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_URL": "https://bot.example.com", "TELEGRAM_WEBHOOK_SECRET": "no spaces!"},
            "TELEGRAM_WEBHOOK_SECRET must be 1-256 letters, digits, _ or -",
        ),
    ],
)
def test_missing_or_malformed_settings_stop_start_up_with_one_clear_line(environment, problem):
    with pytest.raises(SettingsError) as error:
        main(Settings.from_env(environment))
    assert str(error.value).startswith(problem) and "\n" not in str(error.value)


def clean_environment(tmp_path, **settings: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "SLACK_", "SMTP", "DATABASE", "PORT"))}
    return {**inherited, "BOT_DATA_DIR": str(tmp_path), **settings}


def cli(tmp_path, environment: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "service", "telegram"],
        env=environment,
        cwd=tmp_path,  # no .env of the developer's
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen, stop_signal: int | None = signal.SIGTERM) -> tuple[int, str]:
    try:
        if stop_signal is not None:
            process.send_signal(stop_signal)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, stderr


def test_a_token_telegram_refuses_stops_start_up_with_one_clear_line(telegram, tmp_path):
    other_token = "987654321:AAAnotherTokenThatIsNotTheBots_xyz"
    returncode, stderr = finish(cli(tmp_path, clean_environment(tmp_path, TELEGRAM_BOT_TOKEN=other_token, TELEGRAM_API_URL=telegram.base_url)), None)
    assert returncode == 1
    assert stderr.strip().splitlines()[-1] == (
        f"neogenesis-bot: TELEGRAM_BOT_TOKEN was refused by the Bot API at {telegram.base_url}: copy the token from @BotFather again"
    )
    assert "Traceback" not in stderr and other_token.split(":")[1] not in stderr


def test_the_command_long_polls_answers_and_stops_cleanly_without_logging_the_token(telegram, tmp_path):
    environment = clean_environment(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=telegram.base_url, BOT_LOG_LEVEL="DEBUG")
    process = cli(tmp_path, environment)
    try:
        telegram.user_says("/start")
        greeting = telegram.next_sent(timeout=30)
    finally:
        returncode, stderr = finish(process)
    assert greeting.labels[0] == "Our products"
    assert [call.method for call in telegram.calls[:2]] == ["getMe", "deleteWebhook"]  # polling removes a webhook first
    assert returncode == 0
    assert "getUpdates" in stderr  # the debug log talks about every request...
    assert TOKEN.split(":")[1] not in stderr  # ...without the token


def test_the_command_serves_the_webhook_on_port_when_a_webhook_url_is_set(telegram, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hooks/telegram"
    environment = clean_environment(
        tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=telegram.base_url, TELEGRAM_WEBHOOK_URL=url, TELEGRAM_WEBHOOK_SECRET=SECRET, PORT=str(port)
    )
    process = cli(tmp_path, environment)
    try:
        telegram.wait_for("setWebhook", timeout=30)
        telegram.user_says("what is recovery")
        answer = telegram.next_sent(timeout=10)
        refused = telegram.deliver(telegram.new_update(message=telegram.new_message(text="hi")), secret="guess")
    finally:
        returncode, stderr = finish(process)
    assert telegram.webhook == {"url": url, "secret_token": SECRET, "allowed_updates": ["message", "callback_query"]}
    assert WHAT_IS_RECOVERY in answer.text and refused == 403
    assert returncode == 0, stderr
    assert SECRET not in stderr and TOKEN.split(":")[1] not in stderr
