import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import FakeClock
from weir.ratelimit import RateLimitedError, RateLimiter


def test_burst_then_refill():
    clock = FakeClock(1000.0)
    limiter = RateLimiter(rate=2, burst=3, clock=clock)
    for _ in range(3):
        limiter.take("k")
    with pytest.raises(RateLimitedError) as err:
        limiter.take("k")
    assert err.value.status == 429 and err.value.retry_after == pytest.approx(0.5)
    limiter.take("other")  # buckets are per client
    clock.t += 0.5
    limiter.take("k")


def test_idle_buckets_are_dropped():
    clock = FakeClock(1000.0)
    limiter = RateLimiter(rate=1, clock=clock)
    limiter.take("a")
    clock.t += 120
    limiter.take("b")
    assert set(limiter._buckets) == {"b"}  # noqa: SLF001


@given(st.lists(st.floats(min_value=0, max_value=2), min_size=1, max_size=200), st.floats(0.5, 50))
def test_never_more_than_burst_plus_rate_times_elapsed(gaps, rate):
    clock = FakeClock(1000.0)
    limiter = RateLimiter(rate=rate, clock=clock)
    allowed = 0
    for gap in gaps:
        clock.t += gap
        try:
            limiter.take("k")
            allowed += 1
        except RateLimitedError:
            pass
    assert allowed <= limiter.burst + rate * sum(gaps) + 1e-9


def test_bad_rate():
    with pytest.raises(ValueError):
        RateLimiter(rate=0)
