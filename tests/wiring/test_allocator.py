"""The allocator tuning `weir serve` applies (glibc only)."""

from __future__ import annotations

import ctypes
import ctypes.util
import subprocess
import sys

from weir.wiring import allocator


def test_glibc_takes_the_thresholds_and_memory_still_works():
    """Run in a child: mallopt changes the whole process. A large array allocated, freed
    and allocated again still holds what is written to it."""
    code = (
        "import numpy as np; from weir.wiring import allocator; ok = allocator.tune(); "
        "a = np.ones(3_000_000); del a; b = np.full(3_000_000, 2.0); print(ok, float(b.sum()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    glibc = bool(ctypes.util.find_library("c")) and hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "mallopt")
    assert out.stdout.split() == [str(glibc), "6000000.0"]


def test_a_libc_without_mallopt_is_left_alone(monkeypatch):
    class NoMallopt:
        def __init__(self, name):
            pass

    monkeypatch.setattr(allocator.ctypes, "CDLL", NoMallopt)
    assert allocator.tune() is False
