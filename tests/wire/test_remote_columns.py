"""The columns of remote write samples: runs of usual samples taken on trust are checked,
and the column check agrees with the pattern it stands for."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.wire.test_remote_write import T0, decoded
from weir.wire import remote_columns as cols
from weir.wire import remote_encode as enc
from weir.wire import remote_write as rw


def test_runs_taken_on_trust_are_checked():
    """A series whose samples have the length and first byte of usual ones but are not (two
    zero-valued samples, 9 bytes each, after a usual one) is read field by field after all."""
    for version in ("v1", "v2"):
        smp = [(T0, 1.5), (T0 + 1, 0.0), (T0 + 2, 0.0)]
        if version == "v1":
            body = enc.write_request_v1([({"__name__": "m"}, smp), ({"__name__": "n"}, [(T0, 2.0)])])
            decode = rw.Decoder().decode_v1
        else:
            body = enc.write_request_v2([enc.SeriesV2({"__name__": "m"}, smp),
                                         enc.SeriesV2({"__name__": "n"}, [(T0, 2.0)])])
            decode = rw.Decoder().decode_v2
        got = decode(body)
        assert decoded(got) == {"m": ("m", {}, smp), "n": ("n", {}, [(T0, 2.0)])}, version


@settings(max_examples=300)
@given(st.lists(st.tuples(st.integers(0, 2), st.binary(min_size=18, max_size=18)), max_size=6), st.data())
def test_the_column_check_agrees_with_the_pattern(records, data):
    """`_usual` (slices of the joined runs) against `_RUN` (a regular expression), on usual
    records, records with one byte changed, and random bytes."""
    out = bytearray()
    for kind, raw in records:
        usual = b"\x12\x10\x09" + raw[:8] + b"\x10" + bytes(b | 0x80 for b in raw[8:13]) + bytes([raw[13] & 0x7F])
        if kind == 1:
            i = data.draw(st.integers(0, 17))
            usual = usual[:i] + bytes([data.draw(st.integers(0, 255))]) + usual[i + 1:]
        out += usual if kind < 2 else raw
    assert cols.usual(bytes(out)) == (cols.RUN.fullmatch(bytes(out)) is not None or not out)
