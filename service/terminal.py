"""The bot in a terminal, as a user meets it: type a question, pick an option by its number."""

from __future__ import annotations

import sys
from typing import Callable, TextIO

from bot.core import SupportBot
from bot.records import Message, Option, Reply

COMMANDS = "/region AU|US to switch region, /help for this, /quit to leave"


class TerminalChat:
    """One person chatting with the bot; remembers the last options so "2" picks the second."""

    def __init__(self, bot: SupportBot, region: str, write: Callable[[str], None]) -> None:
        self.bot = bot
        self.region = region
        self.write = write
        self.options: tuple[Option, ...] = ()

    def greet(self) -> None:
        welcome = self.bot.answer("greeting", self.region) if "greeting" in self.bot.catalogue.by_id else None
        if welcome is not None and welcome.kind == "social":
            self.write(welcome.text)
        self.write(f"(Region: {self.region}. {COMMANDS}.)")

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
            self.show(self.bot.answer(self.options[int(text) - 1].intent_id, self.region))
        elif text.isdigit() and len(text) <= 2:  # a pick, not a question: say which numbers there are
            self.write(_no_such_option(int(text), len(self.options)))
        elif text.startswith("/") and text[1:].split(" ", 1)[0].isalpha():
            self.write(f"Unknown command {_printable(text.split()[0])}. Commands: {COMMANDS}.")
        else:
            self.show(self.bot.reply(Message(text, user_id="terminal", channel="cli", region=self.region)))
        return True

    def show(self, reply: Reply) -> None:
        self.write(reply.text)
        if reply.kind == "escalate":
            self.write(f"(Handed off to {reply.escalate_to}.)")
        self.options = reply.options or reply.related
        if self.options:
            self.write("(Type a number to pick.)")

    def _switch_region(self, wanted: str) -> None:
        region = wanted.upper()
        if region in self.bot.catalogue.regions:
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


def run_chat(bot: SupportBot, region: str, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """Chat until end of input or /quit."""
    def write(text: str) -> None:
        print(text, file=stdout, flush=True)

    chat = TerminalChat(bot, region, write)
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
