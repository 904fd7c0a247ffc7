"""Database outages, logged as two lines: one when the database stops answering, one when it answers
again, with how long it was away and how many operations failed meanwhile; not a traceback for each
failed operation (a worker retries every second, a web process fails every request).

`watch(engine)` hooks the engine's own events (a failed connection or statement, a statement that
works again), so every caller is covered without changing; the logging filter `QuietOutages` drops
the tracebacks callers log for those failures while the outage lasts.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)


class Outage:
    """Whether the database is away, since when, and how many operations failed meanwhile."""

    def __init__(self, what: str = "the database") -> None:
        self.what = what
        self.failures = 0
        self.since: float | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self.failures += 1
            if self.since is not None:
                return
            self.since = time.monotonic()
        log.error("%s is unavailable (%s); retrying, and logging once when it is back", self.what, summary(error))

    def recovered(self) -> None:
        with self._lock:
            if self.since is None:
                return
            seconds, failures = time.monotonic() - self.since, self.failures
            self.since, self.failures = None, 0
        log.warning("%s is available again after %.1f s; %d operation(s) failed meanwhile", self.what, seconds, failures)


DATABASE = Outage()


MARK = "_database_unavailable"  # set on the exceptions `watch` counts as an outage
UNAVAILABLE = re.compile(r"database is locked|unable to open database|disk I/O error|server closed the connection|connection refused", re.I)


def is_outage(error: BaseException | None) -> bool:
    """Whether `error` (or what caused it) is the database being unreachable or refusing work, as
    `watch` judged it: not a bug such as a missing table, which SQLite also calls operational."""
    seen = 0
    while error is not None and seen < 10:
        if getattr(error, MARK, False):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _is_unavailable(context) -> bool:
    """A connection lost or refused, or SQLite's file locked or unreadable."""
    from sqlalchemy.exc import OperationalError  # as in `watch`, whose hook alone calls this

    if context.is_disconnect or context.connection is None:  # no connection: connecting failed
        return True
    error = context.sqlalchemy_exception
    return isinstance(error, OperationalError) and UNAVAILABLE.search(str(context.original_exception)) is not None


def summary(error: BaseException) -> str:
    """The error's type and first line: never the SQL or its parameters, which follow on later lines."""
    original = getattr(error, "orig", None) or error
    first = (str(original).strip().splitlines() or [""])[0]
    return f"{type(original).__name__}: {first[:200]}"


def watch(engine: Engine, outage: Outage = DATABASE) -> None:
    """Report `engine`'s outages to `outage`: a failed connect or an operational error starts one, the
    next statement that runs ends it (not the next connection: on SQLite a locked file connects fine)."""
    from sqlalchemy import event  # here: every process logs through this module, not all use a database

    @event.listens_for(engine, "handle_error")
    def _failed(context) -> None:
        if _is_unavailable(context):
            error = context.sqlalchemy_exception or context.original_exception
            with contextlib.suppress(AttributeError):  # a few C-level exceptions take no attributes
                setattr(error, MARK, True)
            outage.failed(error)

    @event.listens_for(engine, "after_cursor_execute")
    def _worked(*_args) -> None:
        if outage.active:
            outage.recovered()


class QuietOutages(logging.Filter):
    """Drops log records about a database failure while the outage they belong to is being reported."""

    def __init__(self, outage: Outage = DATABASE) -> None:
        super().__init__()
        self.outage = outage

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == __name__ or not self.outage.active:
            return True
        error = record.exc_info[1] if record.exc_info else None
        return not is_outage(error)
