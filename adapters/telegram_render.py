"""How the Telegram adapter shows things: text and inline keyboards, with no network in sight.

Every piece of text goes out in HTML parse mode, escaped first, so nothing a person typed (and no
stray `<` or `&` in the catalogue) can break a message or turn into markup. Long texts are split
under Telegram's limit at paragraph, line or word ends. Buttons carry short callback data that the
adapter reads back: `q:<intent>` answers a question, `c:<category>` lists a topic's questions,
`r:<region>` picks a region and `m:` shows the topics again.
"""

from __future__ import annotations

from html import escape
from typing import Iterable, Mapping

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit

from bot.catalogue import Catalogue
from bot.records import Option, Reply

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4,096, counted after entity parsing
MAX_CALLBACK_DATA = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA  # 64 bytes

QUESTION, CATEGORY, REGION, TOPICS, FEEDBACK = "q", "c", "r", "m", "f"


def html(text: str) -> str:
    """`text` as Telegram's HTML parse mode shows it literally."""
    return escape(text, quote=False)


def callback_data(kind: str, value: str = "") -> str:
    return f"{kind}:{value}"


def read_callback(data: str | None) -> tuple[str, str]:
    """(kind, value) from a button's callback data; ("", "") for data this bot never made."""
    kind, colon, value = (data or "").partition(":")
    return (kind, value) if colon and kind in (QUESTION, CATEGORY, REGION, TOPICS, FEEDBACK) else ("", "")


def reply_text(reply: Reply) -> str:
    """`reply.text` without the numbered list of its options, which Telegram shows as buttons.

    The core writes the list last, after its heading ("Did you mean:", "You might also ask:"); a
    text that does not end that way, or an option that cannot be a button, keeps the text whole.
    """
    options = reply.options or reply.related
    listed = [f"{number}. {option.label}" for number, option in enumerate(options, start=1)]
    lines = reply.text.split("\n")
    if not listed or lines[-len(listed):] != listed or not all(_fits(o) for o in options):
        return reply.text
    return "\n".join(lines[: -len(listed)]).rstrip() or reply.text


def reply_keyboard(reply: Reply, messages: Mapping[str, str] | None = None) -> InlineKeyboardMarkup | None:
    """A button per "did you mean" option or related question, and under an answer the person can
    rate (it has a stored turn) a row of "Helpful? Yes / No"; None when there are no buttons."""
    rows = [[button] for button in _question_buttons(reply.options or reply.related)]
    if messages and reply.kind == "answer" and reply.turn is not None:
        rows.append(
            [
                InlineKeyboardButton(messages["feedback_yes"], callback_data=callback_data(FEEDBACK, f"y:{reply.turn}")),
                InlineKeyboardButton(messages["feedback_no"], callback_data=callback_data(FEEDBACK, f"n:{reply.turn}")),
            ]
        )
    return InlineKeyboardMarkup(rows) if rows else None


def without_feedback(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup:
    """The same keyboard with the "Helpful?" row gone (once the person has said)."""
    rows = [row for row in (markup.inline_keyboard if markup else ()) if not any(read_callback(b.callback_data)[0] == FEEDBACK for b in row)]
    return InlineKeyboardMarkup(rows)


def topics_keyboard(catalogue: Catalogue) -> InlineKeyboardMarkup:
    """A button per category shown to people."""
    return _keyboard(
        InlineKeyboardButton(category.title, callback_data=callback_data(CATEGORY, category.id))
        for category in catalogue.categories
        if category.shown
    ) or InlineKeyboardMarkup([])


def questions_keyboard(catalogue: Catalogue, category_id: str, back_label: str) -> InlineKeyboardMarkup:
    """A button per question the category answers, and one back to the topics."""
    questions = [Option(i.id, i.question) for i in catalogue.intents if i.category == category_id and i.kind == "answer"]
    back = InlineKeyboardButton(back_label, callback_data=callback_data(TOPICS))
    return _keyboard([*_question_buttons(questions), back]) or InlineKeyboardMarkup([])


def regions_keyboard(catalogue: Catalogue) -> InlineKeyboardMarkup:
    """A button per region, named as people say it ("Australia", "The United States")."""
    return _keyboard(
        InlineKeyboardButton(region.name[:1].upper() + region.name[1:], callback_data=callback_data(REGION, code))
        for code, region in catalogue.regions.items()
    ) or InlineKeyboardMarkup([])


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """`text` in parts of at most `limit` characters, cut at a paragraph, line or word end if one
    is in the second half of the part (else mid-word). Lengths count UTF-16 code units, as
    Telegram does, so emoji never push a part over."""
    parts: list[str] = []
    rest = text.strip()
    while _length(rest) > limit:
        head = _prefix(rest, limit)
        cut = next((at for separator in ("\n\n", "\n", " ") if (at := head.rfind(separator)) >= len(head) // 2), len(head))
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _question_buttons(options: Iterable[Option]) -> list[InlineKeyboardButton]:
    # ids are short; one too long for Telegram's callback data is left out rather than refused
    return [InlineKeyboardButton(o.label, callback_data=callback_data(QUESTION, o.intent_id)) for o in options if _fits(o)]


def _fits(option: Option) -> bool:
    return len(callback_data(QUESTION, option.intent_id).encode()) <= MAX_CALLBACK_DATA


def _keyboard(buttons: Iterable[InlineKeyboardButton]) -> InlineKeyboardMarkup | None:
    rows = [[button] for button in buttons]  # one per row: labels are whole questions
    return InlineKeyboardMarkup(rows) if rows else None


def _length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _prefix(text: str, limit: int) -> str:
    """The longest start of `text` within `limit` UTF-16 code units."""
    used = 0
    for index, character in enumerate(text):
        used += 2 if ord(character) > 0xFFFF else 1
        if used > limit:
            return text[:index]
    return text
