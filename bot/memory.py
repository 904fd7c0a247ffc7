"""Handing memory the process has freed back to the operating system (glibc; elsewhere a no-op).

glibc's malloc keeps freed blocks in its heap for reuse rather than returning them, and each time a
big block is freed it raises the size from which it maps blocks on their own (up to 32 MB). So what
reading the catalogue and counting its features made and dropped stays resident, and a big block
allocated later (liblinear's 26 MB copy of the features) fills a hole in the heap and stays
resident after it is freed, through training's peak, when liblinear holds the float64 weights
twice (its own and numpy's copy). `release_free_memory` returns the heap's free pages and fixes that
size at 1 MB, so every bigger block is mapped on its own and unmapped as soon as it is freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
BIG_BLOCK = 1 << 20  # bytes


@lru_cache(maxsize=1)
def _glibc():
    try:
        library = ctypes.CDLL(ctypes.util.find_library("c"))
        library.malloc_trim, library.mallopt  # glibc only
    except (OSError, AttributeError, TypeError):
        return None
    return library


def release_free_memory() -> None:
    """Give the heap's free pages back to the system, and from now on map every block of a
    megabyte or more on its own."""
    library = _glibc()
    if library is not None:
        library.malloc_trim(0)
        library.mallopt(M_MMAP_THRESHOLD, BIG_BLOCK)
