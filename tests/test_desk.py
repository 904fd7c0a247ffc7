"""The support desk around the core: regions remembered, floods throttled, events handled once,
turns recorded, all in a real database file."""

from datetime import datetime, timezone

import pytest

from bot.records import Message
from support.desk import SupportDesk
from support.state import ConversationState
from support.store import DATABASE_FILE, database_url, migrate, open_engine


@pytest.fixture
def desk(bot, tmp_path) -> SupportDesk:
    frozen = datetime(2026, 11, 21, 10, 0, 30, tzinfo=timezone.utc)  # one minute's window throughout
    return SupportDesk(bot, ConversationState(open_engine(data_dir=str(tmp_path)), clock=lambda: frozen), rate_limit=5)


def say(desk, text, user="u1", channel="telegram", region=None):
    return desk.handle(Message(text, user_id=user, channel=channel, region=region))


def test_a_region_choice_is_remembered_per_person(desk):
    assert "safe for pregnant women" in say(desk, "ok while pregnant?").text
    confirmation = desk.set_region(Message("/region", user_id="u1", channel="telegram"), "au")
    assert confirmation.kind == "social" and "Australia" in confirmation.text
    assert "Salicylic Acid Gel" in say(desk, "ok while pregnant?").text
    assert "safe for pregnant women" in say(desk, "ok while pregnant?", user="u2").text


def test_a_persons_choice_beats_the_workspace_region(desk):
    assert say(desk, "hi", channel="slack", region="AU").region == "AU"
    desk.set_region(Message("", user_id="u1", channel="slack"), "US")
    assert say(desk, "hi", channel="slack", region="AU").region == "US"


def test_an_unknown_region_choice_lists_the_regions(desk):
    assert "Australia and the United States" in desk.set_region(Message("", user_id="u1"), "NZ").text


def test_a_flood_is_throttled_politely_once(desk):
    replies = [say(desk, "what is recovery") for _ in range(8)]
    assert all(r is not None and r.kind == "answer" for r in replies[:5])
    assert "faster than I can answer" in replies[5].text
    assert replies[6] is None and replies[7] is None
    assert say(desk, "what is recovery", user="someone-else").kind == "answer"


def test_an_event_is_handled_once_even_across_processes(tmp_path):
    first = ConversationState(open_engine(data_dir=str(tmp_path)))
    second = ConversationState(open_engine(data_dir=str(tmp_path)))  # another process, same file
    assert first.first_time("slack", "Ev123")
    assert not second.first_time("slack", "Ev123")
    assert second.first_time("telegram", "Ev123")


def test_turns_are_recorded(desk):
    say(desk, "what is recovery")
    desk.choose("recovery-bottle-life", Message("", user_id="u1", channel="telegram"))
    turns = desk.state.recent_turns("telegram:u1")
    assert [t["intent"] for t in turns] == ["recovery-what-is", "recovery-bottle-life"]
    assert turns[0]["reply_kind"] == "answer" and "70%" in turns[0]["reply"]


def test_the_database_file_lives_in_the_data_folder_and_migrates_once(tmp_path):
    url = database_url(None, str(tmp_path))
    assert url == f"sqlite:///{tmp_path / DATABASE_FILE}"
    engine = open_engine(data_dir=str(tmp_path))
    assert migrate(engine) == migrate(engine)


def test_an_older_database_is_upgraded_by_the_bot_itself(tmp_path):
    from sqlalchemy import create_engine, inspect

    from support.store import MIGRATIONS

    engine = create_engine(database_url(None, str(tmp_path)))
    assert migrate(engine, MIGRATIONS[:1]) == 1
    assert "tickets" not in inspect(engine).get_table_names()
    assert migrate(engine) == len(MIGRATIONS)
    assert {"tickets", "ticket_messages", "deliveries", "turns"} <= set(inspect(engine).get_table_names())


def test_heroku_style_postgres_urls_use_psycopg():
    assert database_url("postgres://u:p@h:5432/db") == "postgresql+psycopg://u:p@h:5432/db"
    assert database_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert database_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
