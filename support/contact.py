"""Recognising personal data in what people write: email addresses, phone numbers, card numbers.

Three uses: `find_contact` (how a person can be reached), `mask` (logs: contacts and cards hidden)
and `redact` (what is stored or emailed: card numbers removed, contacts hidden except where
support needs them). Beside them, `is_attempted_contact` tells an answer meant as a contact that
none of the rules below accepts ("jo@example") from a question of its own.

The rules, one for all three uses:

- An **email address** is `local@domain.tld`.
- A **card number** is 13 to 19 digits starting with 2 to 6 (the card networks' prefixes), alone or
  in groups split by single spaces or dashes, that pass the Luhn check. It is never a contact, and never kept.
- A **phone number** is 8 to 15 digits *written like a phone number*: starting with `+` or `0`,
  with parentheses, or in three or more groups split by spaces, dashes or dots (`555-123-4567`,
  `0412 345 678`, `+61 412 345 678`, `(02) 9876 5432`). A date (`2024-03-15`, `15.03.2024`) or an IP
  address is not one, and neither is a bare run of digits (`12345678` is an order number, a count or an id), except
  when it is the whole of a person's answer and has 10 to 15 digits (they were asked for a number).
- Every dash Unicode has (U+2010 to U+2015, U+2212) counts as a hyphen.

The patterns run in linear time: every repetition is bounded and a match can only start at the
beginning of a word, so a long run of letters or digits is scanned once; `mask` and `redact` look
at no more than `MAX_SCANNED` characters at a time.
"""

from __future__ import annotations

import re

LONGEST = 200  # what a ticket keeps (PostgreSQL refuses more); no real address or number is longer
MAX_SCANNED = 64_000  # longer text is scanned in pieces of this size (cut where no contact straddles)
DASHES = str.maketrans({chr(code): "-" for code in [*range(0x2010, 0x2016), 0x2212]})

EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+'-])[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
NUMBER = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]{5,32}\d(?![\w])")  # a candidate, classified below
SEPARATORS = re.compile(r"[\s().-]+")
DATE = re.compile(r"(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})(?!\d)")  # at the start: a date (and time)
CARD_LAYOUT = re.compile(r"[2-6]\d*(?:[ -]\d+)*")  # card numbers start with 2-6 (the card networks' prefixes)
IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def find_contact(text: str) -> str | None:
    """The email address or phone number in `text` (as written), or None if it has neither."""
    if (email := EMAIL.search(text)) and len(email.group(0)) <= LONGEST:
        return email.group(0)
    plain = text.translate(DASHES)
    for candidate in NUMBER.finditer(plain):
        if is_phone(candidate.group(0)):
            return text[candidate.start() : candidate.end()].strip()
    answer = plain.strip()
    if answer.isascii() and answer.isdigit() and 10 <= len(answer) <= 15:  # the whole answer is a number
        return answer
    return None


ATTEMPTED_NUMBER = re.compile(r"[+\d\s().-]+")


def is_attempted_contact(text: str) -> bool:
    """Whether a whole answer was meant as an address or a number, valid or not: one word with an
    @ in it, or only digits (at least six) and a phone number's punctuation. Such an answer to "how
    can we reach you?" gets "that doesn't look like one", never an FAQ answer."""
    answer = text.strip().translate(DASHES)
    if len(answer.split()) == 1 and "@" in answer:
        return True
    return ATTEMPTED_NUMBER.fullmatch(answer) is not None and sum(c.isdigit() for c in answer) >= 6


def is_card(number: str) -> bool:
    digits = re.sub(r"\D", "", number)
    return 13 <= len(digits) <= 19 and CARD_LAYOUT.fullmatch(number) is not None and luhn_valid(digits)


def is_phone(number: str) -> bool:
    """Whether `number` (a NUMBER candidate, dashes normalised) is a phone number by the rules above."""
    digits = re.sub(r"\D", "", number)
    if not 8 <= len(digits) <= 15 or is_card(number) or DATE.match(number) or IPV4.fullmatch(number):
        return False
    groups = [group for group in SEPARATORS.split(number.lstrip("+")) if group]
    return number.startswith(("+", "0", "(")) or "(" in number or len(groups) >= 3


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def mask(text: str) -> str:
    """`text` with email addresses, phone numbers and card numbers hidden, for logs."""
    return _in_pieces(text, _mask)


def redact(text: str) -> str:
    """`text` as it may be stored or emailed: card numbers removed and contacts hidden (a ticket keeps
    the contact support needs in its own field)."""
    return _in_pieces(text, _mask)


def redact_cards(text: str) -> str:
    """`text` with card numbers removed and everything else as written (what a person on a ticket
    reads from the customer)."""
    return _in_pieces(text, lambda piece: _numbers_replaced(piece, lambda number: "[card number]" if is_card(number) else None))


def _mask(piece: str) -> str:
    piece = EMAIL.sub(lambda m: m.group(0)[0] + "***@***", piece)
    return _numbers_replaced(piece, _hidden_number)


def _hidden_number(number: str) -> str | None:
    if is_card(number):
        return "[card number]"
    if is_phone(number):
        return "***" + re.sub(r"\D", "", number)[-2:]
    return None


def _numbers_replaced(text: str, replacement) -> str:
    """`text` with each NUMBER candidate for which `replacement` gives a string replaced by it; the
    candidates are found with dashes normalised, the rest of the text stays as written."""
    parts, last = [], 0
    for match in NUMBER.finditer(text.translate(DASHES)):
        if (instead := replacement(match.group(0))) is not None:
            parts += [text[last : match.start()], instead]
            last = match.end()
    parts.append(text[last:])
    return "".join(parts)


def _in_pieces(text: str, change) -> str:
    """`change` applied to `text` at most MAX_SCANNED characters at a time, cut at whitespace; NUL
    characters, which no database column takes (PostgreSQL refuses the whole row), replaced."""
    text = text.replace("\x00", "\ufffd")
    if len(text) <= MAX_SCANNED:
        return change(text)
    pieces, start = [], 0
    while start < len(text):
        end = min(len(text), start + MAX_SCANNED)
        if end < len(text):
            space = max(text.rfind(" ", start, end), text.rfind("\n", start, end))
            end = space + 1 if space > start else end
        pieces.append(change(text[start:end]))
        start = end
    return "".join(pieces)
