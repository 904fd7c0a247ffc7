"""Support hours per region: "Mon-Fri 09:00-17:00 Australia/Sydney", and when a person next answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPAN = re.compile(r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+(?P<open>\d{1,2}:\d{2})-(?P<close>\d{1,2}:\d{2})$")


@dataclass(frozen=True)
class SupportHours:
    """Opening spans per weekday (0 = Monday) in one time zone."""

    spans: tuple[tuple[int, time, time], ...]
    zone: ZoneInfo
    text: str

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return any(day == local.weekday() and start <= local.time() < end for day, start, end in self.spans)

    def next_opening(self, moment: datetime) -> datetime:
        """The next time support opens at or after `moment` (in the support team's time zone)."""
        local = moment.astimezone(self.zone)
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            for weekday, start, _ in sorted(self.spans, key=lambda span: span[1]):
                opening = datetime.combine(day, start, self.zone)
                if weekday == day.weekday() and opening >= local:
                    return opening
        raise ValueError("support hours have no opening")


def parse_hours(text: str) -> SupportHours:
    """Parse "Mon-Fri 09:00-17:00, Sat 10:00-14:00 Australia/Sydney"; ValueError says what is wrong."""
    body, _, zone_name = text.strip().rpartition(" ")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"must end with a time zone like Australia/Sydney, not {zone_name!r}") from None
    spans = []
    for part in filter(None, (p.strip().lower() for p in body.split(","))):
        match = SPAN.match(part)
        if not match or match["first"] not in DAYS or (match["last"] or match["first"]) not in DAYS:
            raise ValueError(f"{part!r} should look like 'Mon-Fri 09:00-17:00'")
        try:
            start, end = time.fromisoformat(match["open"].zfill(5)), time.fromisoformat(match["close"].zfill(5))
        except ValueError:
            raise ValueError(f"{part!r} has a time that is not HH:MM") from None
        if end <= start:
            raise ValueError(f"{part!r} closes before it opens")
        first, last = DAYS.index(match["first"]), DAYS.index(match["last"] or match["first"])
        days = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
        spans.extend((day, start, end) for day in days)
    if not spans:
        raise ValueError("needs at least one span like 'Mon-Fri 09:00-17:00'")
    return SupportHours(tuple(spans), zone, text.strip())
