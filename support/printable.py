"""Text someone typed, made safe to print: control characters (newlines, carriage returns, terminal
escape sequences, bidirectional overrides) are shown as escapes, so a customer's message can neither
start a forged log line nor retitle, recolour or rewrite an operator's terminal."""

from __future__ import annotations

_ESCAPES = {code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7F, 0xA0)]}
_ESCAPES.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})
_ESCAPES.update({code: f"\\u{code:04x}" for code in [0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]})
ONE_LINE = str.maketrans(_ESCAPES)
LINES = str.maketrans({code: text for code, text in _ESCAPES.items() if code != 0x0A})


def one_line(text: str) -> str:
    """`text` with every control character escaped, newlines too: it prints as one line."""
    return text.translate(ONE_LINE)


def printable(text: str) -> str:
    """`text` with every control character but the newline escaped: for multi-line terminal output."""
    return text.translate(LINES)
