"""Handing memory the process has freed back to the operating system.

glibc's malloc keeps freed blocks in its heap for reuse rather than returning them, so the
megabytes of transient objects made while the catalogue is read and its features counted stay
resident after they are freed. Training then allocates liblinear's weights (held twice at once, its
own and numpy's copy) in fresh pages, and the process's peak is the sum of both. `malloc_trim(0)`
returns the heap's free pages first. Elsewhere (macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import lru_cache


@lru_cache(maxsize=1)
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        library = ctypes.CDLL(name)
        return library.malloc_trim  # glibc only
    except (OSError, AttributeError, TypeError):
        return None


def release_free_memory() -> None:
    """Collect garbage, then give the heap's free pages back to the operating system (glibc)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
