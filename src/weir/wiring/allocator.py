"""glibc's allocator, tuned for a long-running query server (`weir serve`).

A query over a day of a thousand series builds arrays of tens of megabytes. By default
glibc hands allocations past its mmap threshold (128 KiB, rising only as far as the last
freed block) straight from the kernel and returns them on free, so every query pays the
page faults of first touching each array again. Here blocks up to 32 MiB (glibc's largest
mmap threshold) come from the heap, and up to 256 MiB freed at its top stay mapped for the
next query. On the 2-core VM the benchmarks run on, `bench/promql.py`'s `rate` query over
`weir serve` took medians of 122-177 ms before and 115-144 ms after (five alternations of
the two builds). Peak memory is unchanged (a query needs the same arrays); memory goes back
to the kernel less eagerly.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20


def tune() -> bool:
    """Set the thresholds where the C library is glibc; False (and nothing changed) elsewhere."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = getattr(libc, "mallopt", None)
    except OSError:
        mallopt = None
    if mallopt is None:  # musl, macOS: their allocators, left as they are
        return False
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    if not ok:
        log.debug("mallopt refused the thresholds; the allocator's defaults stay")
    return ok
