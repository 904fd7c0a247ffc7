"""Block Kit for the Slack adapter: a core `Reply` in, the `text` and `blocks` of a Slack message out.

Every piece of text is escaped for Slack's mrkdwn (`&`, `<`, `>`), so nothing a person typed, and no
stray `<` in the catalogue, can ping a channel, mention someone or turn into a link. Suggested
questions ("did you mean", "related") become buttons whose value is the intent id; clicking one sends
a `block_actions` payload with an `ask_intent_<n>` action that the adapter answers.
"""

from __future__ import annotations

from typing import Mapping

from bot.records import Option, Reply

ASK_ACTION_PREFIX = "ask_intent"
HELPFUL, NOT_HELPFUL = "feedback_yes", "feedback_no"
SECTION_LIMIT = 3000  # characters in one section's text
BUTTON_LIMIT = 75  # characters in a button's label


def escape(text: str) -> str:
    """`text` as Slack shows it literally: `<!channel>` stays words, `&` stays an ampersand."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: str) -> str:
    """`text` as an escaped mrkdwn block quote, for echoing what a person asked."""
    return "\n".join(f">{escape(line)}" for line in text.strip().splitlines() or [""])


def reply_message(reply: Reply, messages: Mapping[str, str], asked: str | None = None) -> tuple[str, list[dict]]:
    """The notification text and the blocks of `reply`; `asked` (the question, echoed) goes first."""
    blocks: list[dict] = []
    if asked is not None and asked.strip():
        blocks.append(_section(quote(asked)))
    blocks.extend(_section(chunk) for chunk in _chunks(escape(body_text(reply, messages))))
    if reply.options:
        blocks.append(_buttons("options", reply.options))
    if reply.related:
        blocks.append(_context(escape(messages["related"])))
        blocks.append(_buttons("related", reply.related))
    if reply.kind == "escalate" and reply.escalate_to:
        blocks.append(_context(f":email: {escape(reply.escalate_to)}"))
    if reply.kind == "answer" and reply.turn is not None:
        blocks.append(_feedback(reply.turn, messages))
    return escape(reply.text), blocks


def notice_message(text: str) -> tuple[str, list[dict]]:
    """A short message of the bot's own (an apology): text and one section."""
    return escape(text), [_section(escape(text))]


def body_text(reply: Reply, messages: Mapping[str, str]) -> str:
    """`reply.text` without the numbered list of its options, which Slack shows as buttons instead.

    The core writes the list after the text ("", optional heading, "1. label", ...); when the text
    does not end that way it is kept whole, so nothing is ever lost.
    """
    options = reply.options or reply.related
    listed = [f"{number}. {option.label}" for number, option in enumerate(options, start=1)]
    lines = reply.text.split("\n")
    if not listed or lines[-len(listed):] != listed:
        return reply.text
    lines = lines[: -len(listed)]
    if reply.related and lines and lines[-1] == messages.get("related"):
        lines.pop()
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def _section(mrkdwn: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _context(mrkdwn: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn}]}


def _buttons(block_id: str, options: tuple[Option, ...]) -> dict:
    # action ids must differ within a block; the adapter listens to every ask_intent_<n>
    return {
        "type": "actions",
        "block_id": block_id,
        "elements": [
            {
                "type": "button",
                "action_id": f"{ASK_ACTION_PREFIX}_{number}",
                "text": {"type": "plain_text", "text": _label(option.label), "emoji": True},
                "value": option.intent_id,
            }
            for number, option in enumerate(options, start=1)
        ],
    }


def _feedback(turn: int, messages: Mapping[str, str]) -> dict:
    """ "Helpful? Yes / No" under an answer; the value is the stored turn the vote is about."""
    return {
        "type": "actions",
        "block_id": "feedback",
        "elements": [
            {"type": "button", "action_id": action, "text": {"type": "plain_text", "text": messages[key], "emoji": True}, "value": str(turn)}
            for action, key in ((HELPFUL, "feedback_yes"), (NOT_HELPFUL, "feedback_no"))
        ],
    }


def _label(text: str) -> str:
    """A button label within Slack's limit, cut at a word with an ellipsis when too long."""
    text = " ".join(text.split())
    if len(text) <= BUTTON_LIMIT:
        return text
    cut = text[: BUTTON_LIMIT - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _chunks(text: str) -> list[str]:
    """`text` in pieces that fit one section each, split between paragraphs, else between words."""
    pieces: list[str] = []
    for paragraph in text.split("\n\n"):
        while len(paragraph) > SECTION_LIMIT:
            cut = paragraph.rfind(" ", 0, SECTION_LIMIT)
            cut = cut if cut > 0 else SECTION_LIMIT
            cut = _outside_entity(paragraph, cut)
            pieces.append(paragraph[:cut])
            paragraph = paragraph[cut:].lstrip(" ")
        pieces.append(paragraph)
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 2 + len(piece) <= SECTION_LIMIT:
            chunks[-1] += "\n\n" + piece
        else:
            chunks.append(piece)
    return [chunk for chunk in chunks if chunk.strip()] or [" "]


def _outside_entity(text: str, cut: int) -> int:
    """Move a cut back so it never splits an `&amp;`-style entity in two."""
    start = text.rfind("&", max(0, cut - 5), cut)
    return start if start > 0 and ";" not in text[start:cut] else cut
