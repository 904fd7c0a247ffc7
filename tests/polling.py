"""Waiting in tests on a condition with a deadline, never on a pause."""

from __future__ import annotations

import time
from typing import Callable

import httpx


def eventually(
    check: Callable,
    timeout: float = 20.0,
    what: str = "condition",
    details: Callable[[], str] = lambda: "",
    running: Callable[[], bool] = lambda: True,
):
    """Poll `check` until it returns something truthy; fail with `details()` (a process's output)
    when the deadline passes or when `running()` says the process it waits on has exited."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if result := check():
                return result
        except httpx.HTTPError:  # a server still starting refuses connections
            pass
        assert running(), f"the process exited before {what}:\n{details()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{details()}"
        time.sleep(0.02)
