"""The sequencer ordering rule, as S3 documents it, and time formatting."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from weir.errors import InvalidInputError
from weir.files.record import SEQUENCER_WIDTH, is_newer, iso_from_ns, iso_ms, order_key, parse_time


def test_shorter_sequencers_are_left_padded_before_comparing():
    # As strings "FF" > "100"; as sequencers 0xFF < 0x100.
    assert is_newer("100", "FF") and not is_newer("FF", "100")
    assert is_newer("0055AED6DCD90281E6", "55AED6DCD90281E5")
    assert not is_newer("55aed6dcd90281e5", "0055AED6DCD90281E5")  # equal: a duplicate
    assert is_newer("01", None)
    assert len(order_key("1")) == SEQUENCER_WIDTH


@pytest.mark.parametrize("bad", ["", "xyz", "12 34", "1" * (SEQUENCER_WIDTH + 1), None, 12])
def test_invalid_sequencers(bad):
    with pytest.raises(InvalidInputError):
        order_key(bad)


def test_times_are_utc_with_milliseconds():
    assert parse_time("2024-05-01T12:00:00Z", "t") == "2024-05-01T12:00:00.000Z"
    assert parse_time("2024-05-01T14:00:00.5+02:00", "t") == "2024-05-01T12:00:00.500Z"
    assert (
        iso_ms(datetime(2024, 5, 1, 12, 0, 0, 123999, tzinfo=timezone(timedelta(hours=-1))))
        == "2024-05-01T13:00:00.123Z"
    )
    assert iso_from_ns(1_714_564_800_123_456_789) == "2024-05-01T12:00:00.123Z"
    with pytest.raises(InvalidInputError, match="no time zone"):
        parse_time("2024-05-01T12:00:00", "eventTime")
