"""Replay labelled messages (tests/data/*.yaml) through the support desk as if people had sent them,
so `neogenesis-bot report` and `suggest` have conversations to show on a machine with none yet.

    BOT_DATA_DIR=/tmp/demo .venv/bin/python scripts/replay_conversations.py tests/data/dev.yaml tests/data/heldout.yaml

Every seventh answer gets a "Helpful?" vote. Uses the configured database (DATABASE_URL or BOT_DATA_DIR).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.records import Message  # noqa: E402
from bot.settings import Settings  # noqa: E402
from support.desk import SupportDesk  # noqa: E402


def main(files: list[str]) -> None:
    desk = SupportDesk.from_settings(Settings.from_env())
    sent = 0
    for path in files:
        for number, case in enumerate(yaml.safe_load(Path(path).read_text(encoding="utf-8"))):
            person = f"demo-{number % 40}"
            message = Message(case["text"], user_id=person, channel=case.get("channel", "telegram"), region=case.get("region"), conversation=f"demo:{path}:{number}")
            reply = desk.handle(message)
            sent += 1
            if reply and reply.kind == "answer" and reply.turn and number % 7 == 0:
                desk.feedback(message, reply.turn, helpful=number % 2 == 0)
    print(f"replayed {sent} messages into {desk.state.engine.url.render_as_string(hide_password=True)}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["tests/data/dev.yaml", "tests/data/heldout.yaml"])
