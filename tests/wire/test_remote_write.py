"""The remote-write decoders against the protobuf classes built from the published field numbers
(tests/wire/schema.py), both ways, and fuzzed: bad input is always a 4xx, never a 5xx."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.wire import schema
from weir.errors import WeirError
from weir.wire import pb
from weir.wire import remote_encode as enc
from weir.wire import remote_write as rw

T0 = 1_790_000_000_000  # ms, a fixed instant (2026)
STALE = struct.unpack("<d", struct.pack("<Q", rw.STALE_NAN))[0]

label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,20}", fullmatch=True).filter(lambda s: s != "__name__")
label_values = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)
metric_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_:]{0,30}", fullmatch=True)
finite = st.floats(allow_nan=False, allow_infinity=False)
samples = st.lists(st.tuples(st.integers(T0 - 10**9, T0 + 10**9), finite), min_size=1, max_size=20)
series = st.tuples(metric_names, st.dictionaries(label_names, label_values, max_size=6), samples)


def decoded(d: rw.Decoded) -> dict:
    return {e.text: (e.name, e.dims, d.samples_of(k)) for k, e in enumerate(d.series)}


def expected(items) -> dict:
    from weir.metrics.series import canonical_key

    out = {}
    for name, labels, smp in items:
        out[canonical_key(name, labels)] = (name, labels, [(t, v) for t, v in smp])
    return out


def unique(items):
    from weir.metrics.series import canonical_key

    seen, out = set(), []
    for name, labels, smp in items:
        key = canonical_key(name, labels)
        if key not in seen:
            seen.add(key)
            out.append((name, labels, smp))
    return out


# -- 1.0 -------------------------------------------------------------------------------


@settings(max_examples=150)
@given(st.lists(series, max_size=8).map(unique))
def test_v1_from_the_reference_encoder(items):
    req = schema.WriteRequest()
    for name, labels, smp in items:
        ts = req.timeseries.add()
        for k, v in sorted({**labels, "__name__": name}.items()):
            lab = ts.labels.add()
            lab.name, lab.value = k, v
        for t, v in smp:
            s = ts.samples.add()
            s.timestamp, s.value = t, v
    decoder = rw.Decoder()
    got = decoder.decode_v1(req.SerializeToString())
    assert got.dropped == []
    assert decoded(got) == expected(items)
    assert got.samples == sum(len(s) for _, _, s in items)
    again = decoder.decode_v1(req.SerializeToString())  # known label sets: the fast path
    assert decoded(again) == expected(items)


@settings(max_examples=100)
@given(st.lists(series, max_size=8).map(unique))
def test_our_v1_encoder_is_read_by_the_reference(items):
    body = enc.write_request_v1([({**labels, "__name__": name}, smp) for name, labels, smp in items])
    req = schema.WriteRequest.FromString(body)
    got = {}
    for ts in req.timeseries:
        labels = {lab.name: lab.value for lab in ts.labels}
        assert [lab.name for lab in ts.labels] == sorted(labels)
        name = labels.pop("__name__")
        got[(name, tuple(sorted(labels.items())))] = [(s.timestamp, s.value) for s in ts.samples]
    assert got == {(n, tuple(sorted(labels.items()))): list(s) for n, labels, s in items}
    assert decoded(rw.Decoder().decode_v1(body)) == expected(items)


def test_the_fast_sample_path_agrees_with_the_field_path():
    """Runs of 18-byte samples are unpacked at once; zero values, odd timestamps, and samples
    after exemplars break the runs; the answer is the same."""
    smp = [(T0, 1.5), (T0 + 1, 0.0), (T0 + 2, -2.0), (5, 3.0), (-7, 4.0), (T0 + 3, 2.0**70), (T0 + 4, -0.0)]
    req = schema.WriteRequest()
    ts = req.timeseries.add()
    lab = ts.labels.add()
    lab.name, lab.value = "__name__", "m"
    for t, v in smp:
        s = ts.samples.add()
        s.timestamp, s.value = t, v
    got = rw.Decoder().decode_v1(req.SerializeToString())
    assert got.samples_of(0) == smp
    assert math.copysign(1.0, got.values[-1]) == -1.0


def test_labels_out_of_order_are_sorted_and_repeated_ones_drop_the_series():
    body = enc.write_request_v1([({"__name__": "a", "zone": "z1", "app": "x"}, [(T0, 1.0)])])
    # reverse the label records of the first series (still a valid message)
    req = schema.WriteRequest.FromString(body)
    labels = list(req.timeseries[0].labels)
    del req.timeseries[0].labels[:]
    for lab in reversed(labels):
        req.timeseries[0].labels.add(name=lab.name, value=lab.value)
    dup = req.timeseries.add()
    for k, v in (("__name__", "b"), ("x", "1"), ("x", "2")):
        dup.labels.add(name=k, value=v)
    dup.samples.add(value=1.0, timestamp=T0)
    got = rw.Decoder().decode_v1(req.SerializeToString())
    assert [e.text for e in got.series] == ['a{app="x",zone="z1"}']
    assert got.dropped == [(1, "b{x=\"2\"}: label 'x' appears twice")]


def test_what_is_refused_or_skipped_per_series():
    req = schema.WriteRequest()

    def add(labels, values=(), histograms=0, exemplars=0):
        ts = req.timeseries.add()
        for k, v in labels.items():
            ts.labels.add(name=k, value=v)
        for i, v in enumerate(values):
            ts.samples.add(value=v, timestamp=T0 + i)
        for _ in range(histograms):
            ts.histograms.add(count_int=3, sum=1.5, timestamp=T0)
        for _ in range(exemplars):
            ts.exemplars.add(value=1.0, timestamp=T0)

    add({"__name__": "ok", "path": "/a b/ü", "empty": ""}, [1.0, 2.0], exemplars=2)
    add({"job": "no-name"}, [1.0])
    add({"__name__": "hist"}, histograms=2)
    add({"__name__": "bad name!"}, [1.0])
    add({"__name__": "exemplar_only"}, exemplars=1)  # how 1.0 senders send exemplars: not an error
    add({"__name__": "nan"}, [STALE, float("nan")])  # kept here: weir.wire.remote looks at values
    got = rw.Decoder().decode_v1(req.SerializeToString())
    assert sorted(decoded(got)) == ["nan", 'ok{path="/a b/ü"}']
    assert decoded(got)['ok{path="/a b/ü"}'] == ("ok", {"path": "/a b/ü"}, [(T0, 1.0), (T0 + 1, 2.0)])
    k = [e.name for e in got.series].index("nan")
    first = sum(got.counts[:k])
    assert struct.pack("<d", got.values[first]) == struct.pack("<Q", rw.STALE_NAN), "the marker's bits survive"
    assert (got.exemplars, got.histograms, got.samples) == (3, 2, 6)
    reasons = dict(got.dropped)
    assert sorted(reasons) == [1, 2, 3]
    assert "no __name__" in reasons[1] and "native histograms" in reasons[2]
    assert "not a valid metric name" in reasons[3]


@pytest.mark.parametrize(
    "name, metadata, want",
    [
        ("http_requests_total", [], "counter"),  # reserved suffixes without metadata
        ("rpc_seconds_count", [], "counter"),
        ("temperature", [], "gauge"),
        ("jobs", [("jobs", "counter", "", "")], "counter"),  # metadata wins over the name
        ("x_total", [("x_total", "gauge", "", "")], "gauge"),
        ("lat_seconds_bucket", [("lat_seconds", "histogram", "", "seconds")], "counter"),
        ("rpc", [("rpc", "summary", "", "")], "gauge"),  # a summary's quantile series
        ("req_total", [("req", "counter", "", "")], "counter"),  # OpenMetrics family names
    ],
)
def test_series_types_from_metadata_or_names(name, metadata, want):
    d = rw.Decoder()
    d.decode_v1(enc.write_request_v1([], metadata))  # Prometheus sends metadata in its own requests
    got = d.decode_v1(enc.write_request_v1([({"__name__": name}, [(T0, 1.0)])]))
    assert got.series[0].type == want
    if name == "lat_seconds_bucket":
        assert got.series[0].unit == "seconds"


# -- 2.0 -------------------------------------------------------------------------------


TYPES = st.sampled_from(["unknown", "counter", "gauge", "summary", "histogram"])


@settings(max_examples=150)
@given(st.lists(st.tuples(series, TYPES, st.text(max_size=10), st.integers(0, T0)), max_size=6)
       .map(lambda xs: [x for x, k in zip(xs, unique([s for s, *_ in xs])) if x[0] is k]))
def test_v2_our_encoder_and_the_reference_agree_both_ways(items):
    ours = enc.write_request_v2([
        enc.SeriesV2({**labels, "__name__": name}, smp, type=t, unit=unit, start_ms=start, help="h")
        for (name, labels, smp), t, unit, start in items
    ])
    ref = schema.RequestV2.FromString(ours)  # the reference reads ours...
    assert ref.symbols[0] == ""
    for ts, ((name, labels, smp), t, unit, start) in zip(ref.timeseries, items):
        refs = list(ts.labels_refs)
        got_labels = {ref.symbols[refs[i]]: ref.symbols[refs[i + 1]] for i in range(0, len(refs), 2)}
        assert got_labels == {**labels, "__name__": name}
        assert [(s.timestamp, s.value) for s in ts.samples] == list(smp)
        assert all(s.start_timestamp == start for s in ts.samples)
        assert ts.metadata.type == enc.TYPE_NUMBERS[t]
        assert ref.symbols[ts.metadata.unit_ref] == unit
    # ... and ours reads what the reference writes (serialized again, its own way)
    decoder = rw.Decoder()
    got = decoder.decode_v2(ref.SerializeToString())
    assert got.dropped == []
    assert decoded(got) == expected([s for s, *_ in items])
    assert decoded(decoder.decode_v2(ref.SerializeToString())) == decoded(got)  # known label sets
    for entry, ((name, _, _), t, unit, _) in zip(got.series, items):
        assert entry.type == rw.series_type(name, t)
        assert entry.unit == (unit or None)


def test_v2_created_timestamps_of_both_drafts():
    req = schema.RequestV2(symbols=["", "__name__", "c_total"])
    ts = req.timeseries.add(labels_refs=[1, 2], created_timestamp=T0 - 5000)  # 2.0-rc.3
    ts.samples.add(value=2.0, timestamp=T0)
    got = rw.Decoder().decode_v2(req.SerializeToString())
    assert got.starts == {0: T0 - 5000}
    body = enc.write_request_v2([enc.SeriesV2({"__name__": "c_total"}, [(T0, 2.0)], start_ms=T0 - 7000)])  # rc.4
    assert rw.Decoder().decode_v2(body).starts == {0: T0 - 7000}


def test_v2_bad_references_and_empty_series_drop_that_series_only():
    req = schema.RequestV2(symbols=["", "__name__", "ok", "x"])
    good = req.timeseries.add(labels_refs=[1, 2])
    good.samples.add(value=1.0, timestamp=T0)
    req.timeseries.add(labels_refs=[1, 9]).samples.add(value=1.0, timestamp=T0)
    req.timeseries.add(labels_refs=[1, 2, 3]).samples.add(value=1.0, timestamp=T0)
    req.timeseries.add(labels_refs=[1, 3])
    bad_unit = req.timeseries.add(labels_refs=[1, 3])
    bad_unit.samples.add(value=1.0, timestamp=T0)
    bad_unit.metadata.unit_ref = 40
    got = rw.Decoder().decode_v2(req.SerializeToString())
    assert [e.text for e in got.series] == ["ok"]
    reasons = dict(got.dropped)
    assert sorted(reasons) == [1, 2, 3, 4]
    assert "outside the symbols table" in reasons[1] and "odd number" in reasons[2]
    assert "no samples" in reasons[3] and "outside the symbols table" in reasons[4]


# -- malformed input ---------------------------------------------------------------------


def _valid_bodies():
    v1 = enc.write_request_v1([({"__name__": "m", "a": "b"}, [(T0, 1.0), (T0 + 1, 0.0)])],
                              [("m", "gauge", "help", "")])
    v2 = enc.write_request_v2([enc.SeriesV2({"__name__": "m", "a": "b"}, [(T0, 1.0)], type="counter",
                                            exemplars=[({"trace": "t"}, 1.0, T0)])])
    return v1, v2


def _outcome(fn, data):
    try:
        fn(data)
    except WeirError as exc:
        assert 400 <= exc.status < 500, exc
        return exc.status
    return 200


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_bodies_are_4xx_never_5xx(data):
    v1, v2 = _valid_bodies()
    body = bytearray(data.draw(st.sampled_from([v1, v2])))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        i = data.draw(st.integers(0, max(len(body) - 1, 0)))
        if op == "flip" and body:
            body[i] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del body[i:]
        elif op == "insert":
            body[i:i] = data.draw(st.binary(min_size=1, max_size=12))
        elif op == "dup":
            body += body[i:]
    decoder = rw.Decoder()
    _outcome(decoder.decode_v1, bytes(body))
    _outcome(decoder.decode_v2, bytes(body))


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_bytes_are_4xx_never_5xx(body):
    _outcome(rw.Decoder().decode_v1, body)
    _outcome(rw.Decoder().decode_v2, body)
    _outcome(lambda b: pb.unsnappy(b, 1 << 20), body)


@pytest.mark.parametrize("wire_type", [0, 1, 5])
def test_a_known_field_with_the_wrong_wire_type_is_a_400(wire_type):
    body = bytearray()
    pb.put_varint(body, 1 << 3 | wire_type)
    body += b"\x01" * (8 if wire_type == 1 else 4 if wire_type == 5 else 1)
    with pytest.raises(pb.MalformedError, match="wire type"):
        rw.Decoder().decode_v1(bytes(body))


def test_deep_nesting_in_unknown_fields_is_skipped_without_recursion():
    inner = b""
    for _ in range(5000):
        wrapped = bytearray()
        pb.put_len(wrapped, 9, inner)
        inner = bytes(wrapped)
    body = enc.write_request_v1([({"__name__": "m"}, [(T0, 1.0)])]) + inner
    got = rw.Decoder().decode_v1(body)
    assert [e.text for e in got.series] == ["m"]
    with pytest.raises(pb.MalformedError):
        rw.Decoder().decode_v1(body[:-1])


def test_snappy_bombs_and_truncation():
    from weir.errors import InvalidInputError, PayloadTooLargeError

    payload = enc.write_request_v1([({"__name__": "m"}, [(T0, 1.0)])])
    good = pb.snappy(payload)
    assert pb.unsnappy(good, 1 << 20) == payload
    bomb = bytearray()
    pb.put_varint(bomb, 1 << 40)  # claims a terabyte
    with pytest.raises(PayloadTooLargeError):
        pb.unsnappy(bytes(bomb) + b"\x00" * 20, 32 << 20)
    big = pb.snappy(b"\x00" * (2 << 20))  # a real 2 MB body, 100 bytes compressed
    with pytest.raises(PayloadTooLargeError):
        pb.unsnappy(big, 1 << 20)
    for cut in (1, len(good) // 2, len(good) - 1):
        with pytest.raises(InvalidInputError):
            pb.unsnappy(good[:cut], 1 << 20)
    with pytest.raises(InvalidInputError):
        pb.unsnappy(b"\xff" * 11, 1 << 20)


def test_the_sample_limit_is_a_413():
    from weir.errors import PayloadTooLargeError
    from weir.metrics import limits

    n = limits.MAX_POINTS_PER_REQUEST
    ok = enc.write_request_v1([({"__name__": "m", "i": str(i)}, [(T0, 1.0)]) for i in range(n)])
    assert rw.Decoder().decode_v1(ok).samples == n
    over = enc.write_request_v1([({"__name__": "m", "i": str(i)}, [(T0, 1.0)]) for i in range(n + 1)])
    with pytest.raises(PayloadTooLargeError):
        rw.Decoder().decode_v1(over)


def test_a_label_that_ends_like_a_sample_is_still_a_label():
    """The run of samples is looked for from the end of a series: a last label value of 16
    bytes starting with a tab reads, from there, like one more sample. The walk over the
    labels decides, every time."""
    value = "\t" + "x" * 15
    body = enc.write_request_v1([({"__name__": "m", "zz": value}, [(T0, 1.0)]), ({"__name__": "ok"}, [(T0, 2.0)])])
    decoder = rw.Decoder()
    for _ in range(2):  # first seen, then known
        got = decoder.decode_v1(body)
        assert [e.text for e in got.series] == ["ok"]
        [(index, reason)] = got.dropped
        assert index == 0 and "dimensions.zz" in reason
        assert got.samples == 2
