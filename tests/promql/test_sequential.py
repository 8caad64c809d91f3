"""The per-window sequential functions (`weir.promql.sequential`): their checks and deadline;
their values are compared with references in `test_windows.py` and against Prometheus in
the differential suite."""

from __future__ import annotations

import numpy as np
import pytest

from weir.promql import sequential, windows


def test_holt_winters_refuses_bad_factors():
    from weir.promql.errors import ExecutionError

    t = np.arange(3, dtype=np.int64)
    v = np.array([1.0, 2.0, 4.0])
    lo, hi = windows.bounds(t, np.array([2]), 10)
    with pytest.raises(ExecutionError, match="smoothing factor"):
        sequential.holt_winters(t, v, lo, hi, args=[np.array([1.0]), np.array([0.5])])
    got, ok = sequential.holt_winters(t, v, lo, hi, args=[np.array([0.5]), np.array([0.5])])
    # s1=1, b=1; i=1: s1 = 0.5*2 + 0.5*(1+1) = 2; i=2: b = 0.5*(2-1) + 0.5*1 = 1, s1 = 0.5*4 + 0.5*(2+1)
    assert ok[0] and got[0] == 3.5


def test_long_per_window_loops_check_the_deadline():
    from weir.promql.errors import QueryTimeoutError

    t = np.arange(3000, dtype=np.int64)
    v = np.arange(3000, dtype=float)
    ends = np.arange(3000, dtype=np.int64)
    lo, hi = windows.bounds(t, ends, 5)

    def expired():
        raise QueryTimeoutError("query timed out in expression evaluation")

    with pytest.raises(QueryTimeoutError):
        sequential.stddev_over_time(t, v, lo, hi, check=expired)
    assert sequential.stddev_over_time(t, v, lo, hi, check=lambda: None)[1].all()
