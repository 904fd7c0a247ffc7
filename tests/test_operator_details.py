"""The smaller things an operator or a first-time user meets: what `validate`, `config`, `tickets`,
`eval` and `report --help` say, what a first run logs, what a ticket's transcript and the report
count, how the HTML report draws, and how the terminal chat takes numbers, commands and arrow keys."""

from __future__ import annotations

import logging
import os
import pty
import re
import select
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bot.records import Message
from service.insights import gather
from service.report_page import bar_chart, html_report, short_label
from support.desk import SupportDesk
from support.state import ConversationState
from support.store import MIGRATIONS, migrate, open_engine
from support.tickets import Line, Routing, Tickets

ROOT = Path(__file__).resolve().parent.parent
ADDRESSES = {"AU": "customerservice@neogenesispro.com.au", "US": "info@neogenesis.com"}
OWN_SETTINGS = ("BOT_", "SLACK_", "TELEGRAM_", "SMTP", "DATABASE", "MAIL_", "SUPPORT_", "PORT", "WORKER_")


def run(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(OWN_SETTINGS)}
    env = {**clean, "PYTHONPATH": str(ROOT), "BOT_DATA_DIR": str(tmp_path / "data"), "BOT_LOG_LEVEL": "WARNING", **settings}
    return subprocess.run([sys.executable, "-m", "service", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def desk_on(bot, tmp_path: Path, **routing) -> SupportDesk:
    engine = open_engine(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    return SupportDesk(bot, ConversationState(engine), tickets=Tickets(engine, Routing(ADDRESSES, reasons=bot.catalogue.reasons, **routing)))


def say(desk: SupportDesk, text: str, user: str = "4242"):
    return desk.handle(Message(text, user_id=user, channel="telegram", region="AU", conversation=f"telegram:{user}"))


# -- config, tickets, eval, report --help (validate: tests/test_cli.py) -------------------------------


def test_config_shows_what_takes_the_place_of_unset_settings(tmp_path):
    result = run(tmp_path, "config")
    assert result.returncode == 0
    assert f"DATABASE_URL               (not set: SQLite file {tmp_path / 'data' / 'neogenesis-bot.sqlite3'})" in result.stdout
    assert "SUPPORT_EMAIL_AU           (not set: customerservice@neogenesispro.com.au, from the catalogue)" in result.stdout
    assert "SUPPORT_EMAIL_US           (not set: info@neogenesis.com, from the catalogue)" in result.stdout
    assert not (tmp_path / "data").exists()  # showing the path does not create anything


def test_config_with_a_bad_setting_still_prints_the_whole_table_and_marks_it(tmp_path):
    result = run(tmp_path, "config", PORT="http", SLACK_BOT_TOKEN="xoxb-secret-value-1234")
    assert result.returncode == 1
    assert "PORT                       http   <- must be a port number (1-65535)" in result.stdout
    assert "BOT_DEFAULT_REGION         US" in result.stdout and "SLACK_BOT_TOKEN            ****" in result.stdout
    assert "secret-value" not in result.stdout + result.stderr
    assert result.stderr.strip() == "neogenesis-bot: PORT must be a port number (1-65535)"


def test_an_unknown_ticket_is_an_error(tmp_path):
    result = run(tmp_path, "tickets", "NG-9999")
    assert result.returncode == 1
    assert result.stderr.strip() == "neogenesis-bot: no ticket NG-9999: `neogenesis-bot tickets` lists the tickets"


def test_eval_skips_a_file_that_is_not_an_eval_set_with_a_word(tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text('- {text: "what is recovery", expect: answer, facts: ["70%"]}\n', encoding="utf-8")
    seed = ROOT / "tests" / "data" / "seed_faq.yaml"
    result = run(tmp_path, "eval", str(seed), str(cases))
    assert result.returncode == 0
    assert f"skipping {seed}: not an eval set" in result.stderr
    assert "right 100.0%" in result.stdout

    only_seed = run(tmp_path, "eval", str(seed))
    assert only_seed.returncode == 1 and "none of the files is an eval set" in only_seed.stderr


def test_since_help_says_m_is_minutes(tmp_path):
    assert "m (minutes)" in " ".join(run(tmp_path, "report", "--help").stdout.split())
    assert "m (minutes)" in " ".join(run(tmp_path, "suggest", "--help").stdout.split())


# -- what a first run logs -----------------------------------------------------------------------------


def test_creating_a_database_logs_its_schema_steps_at_debug_and_upgrading_one_at_info(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="support.store")
    open_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    assert {r.levelno for r in caplog.records if "upgrading the database schema" in r.getMessage()} == {logging.DEBUG}

    engine = open_engine(f"sqlite:///{tmp_path / 'older.sqlite3'}")
    with engine.begin() as connection:  # as a database one release older would be
        connection.exec_driver_sql("UPDATE schema_version SET version = %d" % (len(MIGRATIONS) - 1))
        connection.exec_driver_sql("DROP TABLE leases")
    caplog.clear()
    migrate(engine)
    upgrades = [r for r in caplog.records if "upgrading the database schema" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in upgrades] == [(logging.INFO, f"upgrading the database schema to version {len(MIGRATIONS)}")]


def test_a_read_only_command_on_a_fresh_database_logs_nothing_at_info(tmp_path):
    result = run(tmp_path, "tickets", BOT_LOG_LEVEL="INFO")
    assert result.returncode == 0
    assert "upgrading the database schema" not in result.stderr


# -- tickets and the report ------------------------------------------------------------------------


def test_the_ticket_transcript_records_what_the_customer_was_told(bot, tmp_path):
    desk = desk_on(bot, tmp_path, email=True)
    asked = say(desk, "I broke out in a rash after using booster, what do I do?")
    assert "email address or phone number" in asked.text
    ticket = desk.tickets.get(asked.ticket)
    assert desk.tickets.lines(ticket)[-2:] == [Line("customer", "I broke out in a rash after using booster, what do I do?"), Line("bot", asked.text)]


def test_a_ticket_with_a_contact_records_the_ticket_reply_too(bot, tmp_path):
    desk = desk_on(bot, tmp_path, email=True)
    told = say(desk, "refund please, reach me at jane@example.com")
    assert told.ticket and told.ticket in told.text
    assert desk.tickets.lines(desk.tickets.get(told.ticket))[-1] == Line("bot", told.text)


def test_tickets_shows_a_multi_line_reply_indented_under_its_author(bot, tmp_path):
    engine = open_engine(data_dir=str(tmp_path / "data"))  # where the command finds it
    tickets = Tickets(engine, Routing(ADDRESSES, email=True))
    opened = tickets.open(
        reason="human", region="AU", channel="telegram", conversation="telegram:1", user_id="1",
        transcript=[Line("customer", "help"), Line("bot", "First line.\nSecond line.\n\nFourth line.")],
    )
    shown = run(tmp_path, "tickets", opened.code).stdout.splitlines()
    start = shown.index("    bot: First line.")
    assert shown[start + 1 : start + 4] == ["         Second line.", "         ", "         Fourth line."]
    assert shown[start + 4] == "  deliveries:"


def test_the_report_counts_one_hand_off_per_ticket(bot, tmp_path):
    desk = desk_on(bot, tmp_path, email=True)
    asked = say(desk, "I broke out in a rash after using booster, what do I do?")
    given = say(desk, "jane@example.com")
    assert asked.kind == given.kind == "escalate" and asked.ticket == given.ticket  # two turns, one ticket
    found = gather(desk.state.engine, bot, timedelta(days=1))
    assert found.handed_off == 1 and found.questions == 1
    assert found.handoffs_by_reason == [("reaction", 1)]


# -- the HTML report -----------------------------------------------------------------------------------


def test_the_html_report_draws_not_answered_apart_from_answered(bot, tmp_path):
    desk = desk_on(bot, tmp_path, email=True)
    say(desk, "what is recovery?")
    say(desk, "what is the weather in sydney")
    page = html_report(gather(desk.state.engine, bot, timedelta(days=1)), bot)
    handled = page[page.index("How questions were handled") :].split("</svg>")[0]
    fills = dict(re.findall(r"<title>([^<]+)</title>.*?fill=\"(#[0-9a-f]{6})\"", handled))
    assert len(set(fills.values())) == 3 and fills["Not answered"] != fills["Answered by the bot"]


def test_a_long_label_is_cut_at_a_word_and_shown_in_full_on_hover():
    label = "What is the difference between Recovery and Skin Serum for a client after microneedling?"
    chart = bar_chart([(label, 3)])
    shown = re.search(r"</title>([^<]+)</text>", chart).group(1)
    assert shown == short_label(label) and shown.endswith(" …") and len(shown) <= 60
    assert label.startswith(shown.removesuffix(" …") + " ")  # ends where a word ends
    assert f"<title>{label}</title>" in chart


# -- the terminal chat ----------------------------------------------------------------------------------


def test_the_chat_says_which_numbers_there_are_and_names_an_unknown_command(tmp_path):
    conversation = "7\nrecovery vs booster or skin serum?\n9\n/foo bar\n/quit\n"
    result = subprocess.run(
        [sys.executable, "-m", "service", "chat", "--region", "US"], input=conversation, cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**{k: v for k, v in os.environ.items() if not k.startswith(OWN_SETTINGS)}, "BOT_LOG_LEVEL": "WARNING"},
    )
    out = result.stdout
    assert "There is no option 7 to pick just now: ask a question in your own words." in out
    assert re.search(r"There is no option 9: type 1( to [23])? to pick, or ask a question in your own words\.", out), out
    assert "Unknown command /foo. Commands: /region AU|US" in out
    assert "Sorry" not in out and "can't help" not in out  # no generic fallback for either


def test_the_chat_has_line_editing_in_a_terminal(tmp_path):
    """Up arrow recalls the last line, as readline does; without it the escape codes would be sent."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(OWN_SETTINGS)}, "BOT_LOG_LEVEL": "WARNING", "TERM": "xterm"}
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the chat on a pseudo-terminal, as a person runs it
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "service", "chat", "--region", "US"], env)
    seen = b""

    def read_until(text: bytes, after: int = 0, timeout: float = 30.0) -> int:
        """Read until `text` appears after position `after`; returns where it ends."""
        nonlocal seen
        deadline = time.monotonic() + timeout
        while text not in seen[after:]:
            assert time.monotonic() < deadline, seen.decode(errors="replace")
            if select.select([terminal], [], [], 0.1)[0]:
                try:
                    seen += os.read(terminal, 4096)
                except OSError:
                    break
        return seen.index(text, after) + len(text)

    try:
        read_until(b"you> ")
        os.write(terminal, b"/help\r")
        helped = read_until(b"/quit to leave\r\n")
        read_until(b"you> ", after=helped)
        os.write(terminal, b"\x1b[A\r")  # up arrow: /help again
        again = read_until(b"/quit to leave\r\n", after=helped)
        assert b"Unknown command" not in seen[helped:again] and b"^[[A" not in seen
        os.write(terminal, b"/quit\r")
        status = wait_for_exit(pid)
    finally:
        if wait_for_exit(pid, timeout=0) is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(terminal)
    assert status is not None and os.waitstatus_to_exitcode(status) == 0


def wait_for_exit(pid: int, timeout: float = 30.0) -> int | None:
    """The child's wait status once it has exited, or None if it is still running after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return 0
        if done:
            return status
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)
