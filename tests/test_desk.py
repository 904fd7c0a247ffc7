"""The support desk around the core: regions remembered, floods throttled, events handled once,
turns recorded, all in a real database: a SQLite file and a PostgreSQL server (tests/databases.py)."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from bot.records import Message
from support.desk import SupportDesk
from support.state import ConversationState
from support.store import DATABASE_FILE, MIGRATIONS, database_url, migrate, open_engine
from tests.databases import database  # noqa: F401  (a fixture: each test runs on SQLite and PostgreSQL)

FROZEN = datetime(2026, 11, 21, 10, 0, 30, tzinfo=timezone.utc)  # one minute's window throughout


@pytest.fixture
def desk(bot, database) -> SupportDesk:
    return SupportDesk(bot, ConversationState(open_engine(database), clock=lambda: FROZEN), rate_limit=5)


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


def test_an_event_is_handled_once_even_across_processes(database):
    first = ConversationState(open_engine(database))
    second = ConversationState(open_engine(database))  # another process, same database
    assert first.first_time("slack", "Ev123")
    assert not second.first_time("slack", "Ev123")
    assert second.first_time("telegram", "Ev123")


def test_an_event_delivered_to_many_processes_at_once_is_taken_by_one(database):
    states = [ConversationState(open_engine(database)) for _ in range(4)]  # four processes' engines
    with ThreadPoolExecutor(16) as pool:
        taken = list(pool.map(lambda n: states[n % 4].first_time("slack-event", f"Ev{n // 16}"), range(16 * 10)))
    assert [sum(taken[event * 16:(event + 1) * 16]) for event in range(10)] == [1] * 10


def test_a_flood_spread_over_processes_is_counted_exactly(database):
    states = [ConversationState(open_engine(database), clock=lambda: FROZEN) for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(lambda n: states[n % 4].count_message("slack:U1"), range(40)))
    assert sorted(counts) == list(range(1, 41))  # every message counted once, none lost to a race


def test_turns_are_recorded(desk):
    say(desk, "what is recovery")
    desk.choose("recovery-bottle-life", Message("", user_id="u1", channel="telegram"))
    turns = desk.state.recent_turns("telegram:u1")
    assert [t["intent"] for t in turns] == ["recovery-what-is", "recovery-bottle-life"]
    assert turns[0]["reply_kind"] == "answer" and "70%" in turns[0]["reply"]


def test_the_database_file_lives_in_the_data_folder(tmp_path):
    url = database_url(None, str(tmp_path))
    assert url == f"sqlite:///{tmp_path / DATABASE_FILE}"
    open_engine(data_dir=str(tmp_path))
    assert (tmp_path / DATABASE_FILE).exists()


def test_the_schema_migrates_once(database):
    engine = open_engine(database)
    assert migrate(engine) == migrate(engine) == len(MIGRATIONS)


def test_processes_starting_together_migrate_a_new_database_once(database):
    with ThreadPoolExecutor(4) as pool:
        versions = list(pool.map(lambda _: migrate(open_engine(database)), range(4)))
    assert versions == [len(MIGRATIONS)] * 4


def test_an_older_database_is_upgraded_by_the_bot_itself(database):
    from sqlalchemy import create_engine, inspect

    engine = create_engine(database_url(database))
    assert migrate(engine, MIGRATIONS[:1]) == 1
    assert "tickets" not in inspect(engine).get_table_names()
    assert migrate(engine) == len(MIGRATIONS)
    assert {"tickets", "ticket_messages", "deliveries", "turns"} <= set(inspect(engine).get_table_names())


def test_heroku_style_postgres_urls_use_psycopg():
    assert database_url("postgres://u:p@h:5432/db") == "postgresql+psycopg://u:p@h:5432/db"
    assert database_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert database_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_only_one_process_holds_a_lease_until_it_lets_go_or_it_expires(database):
    clock = {"now": datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)}
    first = ConversationState(open_engine(database), clock=lambda: clock["now"])
    second = ConversationState(open_engine(database), clock=lambda: clock["now"])  # another worker
    assert first.hold_lease("telegram-polling", "worker-a", 30)
    assert not second.hold_lease("telegram-polling", "worker-b", 30)
    assert first.hold_lease("telegram-polling", "worker-a", 30)  # renewing
    clock["now"] = clock["now"].replace(minute=1)  # worker-a stopped renewing 60 s ago
    assert second.hold_lease("telegram-polling", "worker-b", 30)
    assert not first.hold_lease("telegram-polling", "worker-a", 30)
    second.release_lease("telegram-polling", "worker-b")
    assert first.hold_lease("telegram-polling", "worker-a", 30)
