#!/usr/bin/env bash
# A throwaway PostgreSQL server for the bot's tests: on 127.0.0.1 only, from the system's packages.
#
#   scripts/postgres-for-tests.sh start   start it (install PostgreSQL first if it is missing); print its URL
#   scripts/postgres-for-tests.sh url     print the URL of the running server
#   scripts/postgres-for-tests.sh stop    stop it (the data stays, so the next start is quick)
#   scripts/postgres-for-tests.sh wipe    stop it and delete its data
#
# The URL (postgresql://neogenesis:neogenesis@127.0.0.1:PORT/neogenesis_test) is what the tests read
# from NEOGENESIS_TEST_POSTGRES_URL; the role may create databases, and each test makes its own.
# Only the URL goes to stdout; progress goes to stderr. `start` is idempotent.
#
# Settings (all optional):
#   NEOGENESIS_TEST_POSTGRES_DIR    data folder (default: ${TMPDIR:-/tmp}/neogenesis-test-postgres-<uid>)
#   NEOGENESIS_TEST_POSTGRES_PORT   port for a new server (default: a free one, remembered in the data folder)
#
# As root (CI) the server runs as the `postgres` user, since initdb and postgres refuse to run as root;
# as anyone else it runs as you. Missing PostgreSQL is installed with apt-get only as root.
set -euo pipefail

ROLE=neogenesis
PASSWORD=neogenesis  # a loopback-only test server: the password keeps TCP logins honest, not secret
DATABASE=neogenesis_test
DATA="${NEOGENESIS_TEST_POSTGRES_DIR:-${TMPDIR:-/tmp}/neogenesis-test-postgres-$(id -u)}"

say() { echo "postgres-for-tests: $*" >&2; }
die() { say "$*"; exit 1; }

# The folder with initdb, postgres, pg_ctl and psql: Debian keeps them off PATH, in /usr/lib/postgresql/N/bin.
find_bindir() {
    local dir
    for dir in $(command -v initdb >/dev/null 2>&1 && dirname "$(readlink -f "$(command -v initdb)")") \
               $(ls -d /usr/lib/postgresql/*/bin /usr/pgsql-*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/psql" ]; then
            echo "$dir"
            return
        fi
    done
    return 1
}

install_postgres() {
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
        || die "PostgreSQL is not installed; install it (Debian/Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql) and run this again"
    say "installing PostgreSQL from the Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q postgresql >&2 || { apt-get update -q >&2 && apt-get install -y -q postgresql >&2; }
}

# Run a command as the server's owner: `postgres` when we are root, else ourselves.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

port_of() { sed -n 's/^port = \([0-9]*\).*/\1/p' "$DATA/postgresql.conf" | tail -n 1; }

url() { echo "postgresql://$ROLE:$PASSWORD@127.0.0.1:$(port_of)/$DATABASE"; }

running() { [ -f "$DATA/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

create_cluster() {
    local port="${NEOGENESIS_TEST_POSTGRES_PORT:-$(free_port)}"
    say "creating a test cluster in $DATA (port $port)"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "the postgres user does not exist (it comes with the postgresql package)"
        rm -rf "$DATA"
        install -d -m 700 -o postgres -g postgres "$DATA"
    else
        rm -rf "$DATA"
        install -d -m 700 "$DATA"
    fi
    # Local (socket) logins are trusted: the socket lives in the data folder, which only its owner can
    # enter. TCP logins need the password.
    as_owner "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    cat <<EOF | as_owner tee -a "$DATA/postgresql.conf" >/dev/null

# neogenesis tests: loopback only, durability traded for speed (the data is thrown away)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DATA'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
port = $port
EOF
}

setup_role_and_database() {
    local psql=("$BIN/psql" -h "$DATA" -p "$(port_of)" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
    if [ "$(as_owner "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
        as_owner "${psql[@]}" -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'" >/dev/null
    fi
    if [ "$(as_owner "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != 1 ]; then
        as_owner "${psql[@]}" -c "CREATE DATABASE $DATABASE OWNER $ROLE" >/dev/null
    fi
}

start() {
    BIN="$(find_bindir)" || { install_postgres; BIN="$(find_bindir)" || die "PostgreSQL was installed but initdb is nowhere to be found"; }
    if ! running; then
        [ -f "$DATA/PG_VERSION" ] && [ "$(cat "$DATA/PG_VERSION")" = "$("$BIN/postgres" --version | sed 's/.* \([0-9]*\)\..*/\1/')" ] || create_cluster
        say "starting PostgreSQL ($("$BIN/postgres" --version)) on 127.0.0.1:$(port_of)"
        as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start >/dev/null \
            || { tail -n 20 "$DATA/server.log" >&2 || true; die "the server did not start (log: $DATA/server.log)"; }
    fi
    setup_role_and_database
    url
}

stop() {
    BIN="$(find_bindir)" || exit 0
    if running; then
        as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
        say "stopped the test server in $DATA"
    fi
}

case "${1:-}" in
    start) start ;;
    url)
        BIN="$(find_bindir)" || die "PostgreSQL is not installed"
        running || die "no test server is running (scripts/postgres-for-tests.sh start)"
        url
        ;;
    stop) stop ;;
    wipe) stop; rm -rf "$DATA" ;;
    *) die "usage: $0 start|url|stop|wipe" ;;
esac
