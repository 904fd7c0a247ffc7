"""A fresh, empty database for each test, on each backend the bot runs on: SQLite and PostgreSQL.

`database` is a fixture parametrized over both: a SQLite file in the test's own folder, and a new
database on the PostgreSQL server that NEOGENESIS_TEST_POSTGRES_URL names (dropped after the test).
A test module uses it by importing it:

    from tests.databases import database  # noqa: F401  (a fixture)

    def test_something(database): ...      # runs as test_something[sqlite] and [postgresql]

Without NEOGENESIS_TEST_POSTGRES_URL the PostgreSQL variants are skipped, saying how to run them;
`scripts/test-with-postgres.sh` starts a throwaway server and sets it, and CI (`.ci/run`) always does.
The URL's role must be allowed to create databases.
"""

from __future__ import annotations

import os
import uuid
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

POSTGRES_ENV = "NEOGENESIS_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]
# A server whose time zone is not UTC, as many managed ones are: what the bot stores and shows in UTC
# must not depend on the server's zone.
SERVER_TIME_ZONE = "Australia/Sydney"


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The URL of an empty database of its own for this test, as DATABASE_URL would name it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    else:
        yield from fresh_postgres_database()


def fresh_postgres_database() -> Iterator[str]:
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_ENV} is not set: run scripts/test-with-postgres.sh to include PostgreSQL")
    import psycopg

    name = f"neogenesis_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(server, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        pytest.fail(f"{POSTGRES_ENV} is set but its server cannot be reached: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute(f"ALTER DATABASE \"{name}\" SET timezone TO '{SERVER_TIME_ZONE}'")
        try:
            yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # the test's pools may still hold connections
