"""The bot in a terminal, as a user meets it: type a question, pick an option by its number.

The chat goes through a support desk on the configured database, like Telegram and Slack do: its
turns are recorded (for `neogenesis-bot report`), follow-ups lean on the conversation's context,
and with no region known the bot asks it when an answer depends on it.
"""

from __future__ import annotations

import sys
import uuid
from typing import Callable, TextIO

from bot.records import Message, Option, Reply
from support.desk import SupportDesk

COMMANDS = "/region AU|US to switch region, /help for this, /quit to leave"
USER = "terminal"
CHANNEL = "cli"
NO_THROTTLE = 10**9  # one person at a keyboard (or a pasted script of questions) is no flood


class TerminalChat:
    """One person chatting with the bot; remembers the last options so "2" picks the second."""

    def __init__(self, desk: SupportDesk, region: str | None, write: Callable[[str], None]) -> None:
        self.desk = desk
        self.bot = desk.bot
        self.region = region or desk.state.region_of(CHANNEL, USER)  # chosen in an earlier chat: remembered
        self.write = write
        self.options: tuple[Option, ...] = ()
        self.conversation = f"{CHANNEL}:{USER}:{uuid.uuid4().hex[:12]}"  # each chat is a conversation of its own
        if region:
            desk.set_region(self._message(""), region)

    def greet(self) -> None:
        region = self.region or self.bot.default_region
        welcome = self.bot.answer("greeting", region) if "greeting" in self.bot.catalogue.by_id else None
        if welcome is not None and welcome.kind == "social":
            self.write(welcome.text)
        self.write(f"(Region: {self.region or 'not chosen yet'}. {COMMANDS}.)")

    def handle(self, line: str) -> bool:
        """Answer one line; False when the person wants to leave."""
        text = line.strip()
        if text in ("/quit", "/exit"):
            return False
        if text.startswith("/region"):
            self._switch_region(text.removeprefix("/region").strip())
        elif text == "/help":
            self.write(COMMANDS)
        elif text.isdigit() and 1 <= int(text) <= len(self.options):
            self.show(self.desk.choose(self.options[int(text) - 1].intent_id, self._message(text)))
        elif text.isdigit() and len(text) <= 2:  # a pick, not a question: say which numbers there are
            self.write(_no_such_option(int(text), len(self.options)))
        elif text.startswith("/") and text[1:].split(" ", 1)[0].isalpha():
            self.write(f"Unknown command {_printable(text.split()[0])}. Commands: {COMMANDS}.")
        else:
            self.show(self.desk.handle(self._message(text)))
        return True

    def show(self, reply: Reply | None) -> None:
        if reply is None:  # passed to the support person on an open ticket
            return
        self.write(reply.text)
        if reply.kind == "escalate":
            self.write(f"(Handed off to {reply.escalate_to}.)")
        self.options = reply.options or reply.related
        if self.options:
            self.write("(Type a number to pick.)")
        self.region = self.desk.state.region_of(CHANNEL, USER) or self.region  # "Australia" answered a question

    def _message(self, text: str) -> Message:
        return Message(text, user_id=USER, channel=CHANNEL, region=self.region, conversation=self.conversation)

    def _switch_region(self, wanted: str) -> None:
        region = wanted.upper()
        if region in self.bot.catalogue.regions:
            self.desk.set_region(self._message(""), region)
            self.region = region
            self.write(f"Region set to {region} ({self.bot.catalogue.regions[region].name}).")
        else:
            self.write(f"Regions: {', '.join(self.bot.catalogue.regions)}. Example: /region AU")


def _no_such_option(number: int, count: int) -> str:
    if not count:
        return f"There is no option {number} to pick just now: ask a question in your own words."
    choices = "1" if count == 1 else f"1 to {count}"
    return f"There is no option {number}: type {choices} to pick, or ask a question in your own words."


def _printable(text: str) -> str:
    """What a person typed, safe to echo to a terminal: control characters shown as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def run_chat(desk: SupportDesk, region: str | None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """Chat until end of input or /quit."""
    def write(text: str) -> None:
        print(text, file=stdout, flush=True)

    desk.rate_limit = NO_THROTTLE
    chat = TerminalChat(desk, region, write)
    chat.greet()
    interactive = stdin.isatty()
    if interactive:
        import readline  # noqa: F401  (input() gets line editing and history: arrow keys work)
    while True:
        if interactive:
            try:
                line = input("you> ") + "\n"
            except EOFError:
                return 0
        else:
            line = stdin.readline()
        if not line:
            return 0
        write("")
        if not chat.handle(line):
            return 0
        write("")
