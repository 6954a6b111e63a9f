"""Give memory back to the operating system, so a long-lived server's footprint stays near its
working set (Community Cloud stops an app at about 690 MB).

glibc keeps freed blocks in per-thread arenas and rarely returns them; every Streamlit session is
a thread, and every training run frees many intermediate buffers. Capping the arenas and trimming
after each run is what keeps the server's RSS flat. Elsewhere (macOS, musl) these are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


LIBC = _libc()


def cap_arenas(count: int = 2) -> None:
    """At most ``count`` malloc arenas however many session threads allocate."""
    if LIBC is not None:
        LIBC.mallopt(M_ARENA_MAX, count)


def release_freed_memory() -> None:
    """Return freed heap pages to the operating system (glibc's malloc_trim)."""
    if LIBC is not None:
        LIBC.malloc_trim(0)
