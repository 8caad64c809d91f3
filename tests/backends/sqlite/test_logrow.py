"""Write-ahead log rows carry a CRC32; rows written before it are still read."""

from __future__ import annotations

from array import array

import pytest

from weir.backends.sqlite import logrow
from weir.metrics.ports import PointBatch


def old_row(sids, tss, vals) -> bytes:
    """A row as Weir wrote it before the checksum: n | ids | timestamps | values."""
    return (len(vals).to_bytes(4, "little") + array("q", sids).tobytes() + array("q", tss).tobytes()
            + array("d", vals).tobytes())


def test_round_trip_and_old_rows():
    batch = PointBatch([1, -2, 3], [10, 20, 30], [0.5, -1.0, float("inf")])
    assert logrow.unpack(logrow.pack(batch)) == ([1, -2, 3], [10, 20, 30], [0.5, -1.0, float("inf")])
    assert logrow.unpack(old_row([7], [8], [9.0])) == ([7], [8], [9.0])
    assert logrow.unpack(logrow.pack(PointBatch())) == ([], [], [])


@pytest.mark.parametrize("at", [4, 8, 9, 12, 40, -1])
def test_any_flipped_byte_is_found(at):
    row = bytearray(logrow.pack(PointBatch([1, 2], [3, 4], [5.0, 6.0])))
    row[at] ^= 0x01
    with pytest.raises(logrow.LogRowError):
        logrow.unpack(bytes(row))


def test_old_rows_with_a_wrong_count_or_cut_short_are_found():
    row = old_row([1, 2], [3, 4], [5.0, 6.0])
    with pytest.raises(logrow.LogRowError, match="count says 3"):
        logrow.unpack((3).to_bytes(4, "little") + row[4:])
    with pytest.raises(logrow.LogRowError):
        logrow.unpack(row[:-1])
    with pytest.raises(logrow.LogRowError):
        logrow.unpack(b"\x01")
    assert logrow.estimated_points(row) == 2
