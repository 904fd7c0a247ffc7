"""Recognising how a person can be reached: an email address or a phone number in what they wrote."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")
LONGEST = 200  # what a ticket keeps (PostgreSQL refuses more); no real address or number is longer


def find_contact(text: str) -> str | None:
    """The email address or phone number in `text`, or None if it has neither."""
    if (email := EMAIL.search(text)) and len(email.group(0)) <= LONGEST:
        return email.group(0)
    for candidate in PHONE.finditer(text):
        digits = re.sub(r"\D", "", candidate.group(0))
        if 8 <= len(digits) <= 15 and len(candidate.group(0).strip()) <= LONGEST:
            return candidate.group(0).strip()
    return None


def mask(text: str) -> str:
    """`text` with email addresses and phone numbers hidden, for logs."""
    text = EMAIL.sub(lambda m: m.group(0)[0] + "***@***", text)
    return PHONE.sub(lambda m: "***" + re.sub(r"\D", "", m.group(0))[-2:] if len(re.sub(r"\D", "", m.group(0))) >= 8 else m.group(0), text)
