#!/usr/bin/env bash
# Every test, with the database tests on SQLite and on PostgreSQL: starts a throwaway PostgreSQL
# server on 127.0.0.1 (scripts/postgres-for-tests.sh), runs the README's test command with its URL in
# NEOGENESIS_TEST_POSTGRES_URL, and stops the server again unless it was already running.
# Arguments go to pytest:  scripts/test-with-postgres.sh -k "handoff or scale_out"
set -euo pipefail
cd "$(dirname "$0")/.."
if scripts/postgres-for-tests.sh url >/dev/null 2>&1; then
    NEOGENESIS_TEST_POSTGRES_URL="$(scripts/postgres-for-tests.sh url)"
else
    NEOGENESIS_TEST_POSTGRES_URL="$(scripts/postgres-for-tests.sh start)"
    trap 'scripts/postgres-for-tests.sh stop' EXIT
fi
export NEOGENESIS_TEST_POSTGRES_URL
[ -x .venv/bin/python ] || { python3 -m venv .venv && .venv/bin/pip install -e '.[test]'; }
.venv/bin/python -m pytest "$@"
