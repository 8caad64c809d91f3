"""The samples of remote write requests, in columns: what `weir.wire.remote_write` reads
series by series, collected for the ingest service (no I/O).

A series encoded the usual way (label records, then samples each with a non-zero value and
a millisecond timestamp of six varint bytes: 18 bytes a sample) keeps its samples as one
slice of the request; `Run.check` verifies all of them at once, column by column of their
18-byte records (tags, lengths, the varint's continuation bits) with `bytes` slicing and
`translate`, and `unpack` reads them 256 to a `struct` call. Anything else is read field
by field (`FieldSamples`), the reference path.
"""

from __future__ import annotations

import re
import struct
from typing import TYPE_CHECKING

from weir.errors import PayloadTooLargeError
from weir.metrics import limits
from weir.wire import pb

if TYPE_CHECKING:
    from weir.wire.remote_write import Labels

MS = 1_000_000  # ns per ms
# One usual sample: tag 2 (LEN) and length 16, tag 1 (I64) and the value, tag 2 (VARINT)
# and a timestamp of six varint bytes.
RUN = re.compile(rb"(?:\x12\x10\x09.{8}\x10[\x80-\xff]{5}[\x00-\x7f])+", re.S)


class Decoded:
    """The series of one request that carry samples, in columns, with what was refused or skipped.

    Series k is `series[k]`, at position `index[k]` among the request's timeseries, with
    `counts[k]` samples: the next ones of `times` (ns) and `values` (NaN payloads intact).
    `starts` maps k to its start (created) timestamp in ms, where one was sent. `tmin` and
    `tmax` bound every timestamp (ns). `dropped` lists (position, reason) for series refused
    whole.
    """

    __slots__ = ("series", "index", "counts", "times", "values", "starts", "tmin", "tmax", "dropped",
                 "samples", "exemplars", "histograms", "metadata")

    def __init__(self) -> None:
        self.series: list[Labels] = []
        self.index: list[int] = []
        self.counts: list[int] = []
        self.times: list[int] = []
        self.values: list[float] = []
        self.starts: dict[int, int] = {}
        self.tmin = self.tmax = 0
        self.dropped: list[tuple[int, str]] = []
        self.samples = self.exemplars = self.histograms = self.metadata = 0

    def samples_of(self, k: int) -> list[tuple[int, float]]:
        """Series k's samples as (ms, value)."""
        a = sum(self.counts[:k])
        b = a + self.counts[k]
        return [(t // MS, v) for t, v in zip(self.times[a:b], self.values[a:b])]


class Run:
    """Collects one request's series into columns; counts samples against the per-request limit.

    Series of the usual shape keep their run of 18-byte samples, unpacked all at once at the
    end; the others (read field by field) keep their values. The columns list the first
    ones first, then the others.
    """

    def __init__(self, out: Decoded) -> None:
        self.out = out
        self.series: list[Labels] = []
        self.index: list[int] = []
        self.counts: list[int] = []
        self.runs: list[bytes] = []
        self.spans: list[tuple[int, int]] = []  # 1.0: where each run's series is in the request
        self.bad: list[int] = []
        self.slow = Decoded()
        self.other: list[int] = []  # ns of the samples read field by field
        self.n = 0  # samples read field by field
        self.fast_n = 0  # samples in runs

    def count(self, n: int) -> None:
        """Raise 413 if a request holding `n` samples is over the limit."""
        if n > limits.MAX_POINTS_PER_REQUEST:
            raise PayloadTooLargeError(
                f"the request holds more than {limits.MAX_POINTS_PER_REQUEST} samples; send at most that many "
                f"per request (Prometheus: queue_config.max_samples_per_send)"
            )

    def _count(self, k: int) -> None:
        self.n += k
        self.count(self.n + self.fast_n)

    def add(self, entry: Labels, i: int, run: bytes, span: tuple[int, int]) -> None:
        """A series of the usual shape: `run` is its samples, 18 bytes each."""
        self.series.append(entry)
        self.index.append(i)
        self.counts.append(len(run) // 18)
        self.runs.append(run)
        self.spans.append(span)
        self.fast_n += len(run) // 18
        self.count(self.n + self.fast_n)

    def check(self) -> list[int]:
        """Positions of the runs that are not all usual samples (none, but for odd senders).

        Every run was taken on its length and first byte; here all of them are checked at
        once, column by column of their 18-byte records: the tags and lengths, and a
        timestamp of exactly six varint bytes."""
        joined = b"".join(self.runs)
        if usual(joined):
            return []
        self.bad = [k for k, r in enumerate(self.runs) if RUN.fullmatch(r) is None]
        return self.bad

    def drop_unchecked(self) -> None:
        """Forget the runs `check` found wrong (they were read again field by field)."""
        if self.bad:
            bad = set(self.bad)
            keep = [k for k in range(len(self.runs)) if k not in bad]
            self.fast_n -= sum(self.counts[k] for k in bad)
            for name in ("series", "index", "counts", "runs", "spans"):
                column = getattr(self, name)
                if column:  # 1.0 keeps no spans
                    setattr(self, name, [column[k] for k in keep])
            self.bad = []

    def refuse(self, i: int, reason: str, got: FieldSamples) -> None:
        self._count(len(got.values) + got.histograms)
        self.out.samples += len(got.values)
        self.out.dropped.append((i, reason))

    def accept(self, entry: Labels, i: int, got: FieldSamples, v2: bool) -> None:
        """A series read field by field: kept, or refused whole with the reason."""
        out, slow = self.out, self.slow
        values, times = got.values, got.times
        self._count(len(values) + got.histograms)
        out.histograms += got.histograms
        out.exemplars += got.exemplars
        if got.histograms:
            out.samples += len(values)
            out.dropped.append((i, f"{entry.text}: native histograms are not stored (Weir stores float samples); "
                                   f"{got.histograms} dropped"))
        elif not values:
            if v2:
                out.dropped.append((i, f"{entry.text}: the series has no samples"))
        elif entry.error is not None:
            out.samples += len(values)
            out.dropped.append((i, f"{entry.text}: {entry.error}"))
        else:
            if got.start:
                slow.starts[len(slow.series)] = got.start
            slow.series.append(entry)
            slow.index.append(i)
            slow.counts.append(len(values))
            ns = [t * MS for t in times]
            slow.times += ns
            slow.values += values
            self.other += ns

    def done(self) -> Decoded:
        self.count(self.fast_n + self.n)
        out, slow = self.out, self.slow
        joined = b"".join(self.runs)
        values, stamps = unpack(joined)
        tcache = {b: varint6(b) * MS for b in set(stamps)}  # a request's samples share few instants
        out.series, out.index = self.series + slow.series, self.index + slow.index
        out.counts = self.counts + slow.counts
        out.times = list(map(tcache.__getitem__, stamps)) + slow.times
        out.values = values + slow.values
        first = len(self.series)
        out.starts = {first + k: v for k, v in slow.starts.items()}
        out.samples += len(out.values)
        ends = [*tcache.values(), *self.other]
        if ends:
            out.tmin, out.tmax = min(ends), max(ends)
        return out


_CHUNK = 256
_CHUNK_STRUCT = struct.Struct("<" + "3xd1x6s" * _CHUNK)
_ONE = struct.Struct("<3xd1x6s")


_TAGS = (0, 0x12), (1, 0x10), (2, 0x09), (11, 0x10)
_HIGH = bytes(1 if b >= 0x80 else 0 for b in range(256))


def usual(runs: bytes) -> bool:
    """Whether `runs` is a sequence of 18-byte samples of the usual shape (see `RUN`)."""
    k, rest = divmod(len(runs), 18)
    if rest:
        return False
    for offset, byte in _TAGS:
        if runs[offset::18] != bytes((byte,)) * k:
            return False
    ones, zeros = b"\x01" * k, b"\x00" * k
    return (all(runs[j::18].translate(_HIGH) == ones for j in range(12, 17))
            and runs[17::18].translate(_HIGH) == zeros)


def unpack(joined: bytes) -> tuple[list[float], list[bytes]]:
    """Values and timestamp bytes of consecutive 18-byte samples, 256 to a `struct` call."""
    values: list[float] = []
    stamps: list[bytes] = []
    full = len(joined) // (18 * _CHUNK) * 18 * _CHUNK
    for off in range(0, full, 18 * _CHUNK):
        flat = _CHUNK_STRUCT.unpack_from(joined, off)
        values += flat[0::2]
        stamps += flat[1::2]
    for v, b in _ONE.iter_unpack(joined[full:]):
        values.append(v)
        stamps.append(b)
    return values, stamps


def label_records(key: bytes) -> list[bytes]:
    """The label records (their bodies) of a run of them, as `label_end` walked it."""
    out = []
    q, e = 0, len(key)
    while q < e:
        n = key[q + 1]
        if n < 0x80:
            out.append(key[q + 2:q + 2 + n])
            q += 2 + n
        else:
            n, r = pb.varint(key, q + 1)
            out.append(key[r:r + n])
            q = r + n
    return out


def label_end(data: bytes, p: int, e: int) -> int:
    """Where the leading label records of the series data[p:e] end."""
    q = p
    while q < e and data[q] == 0x0A:
        k = data[q + 1] if q + 1 < e else 0x80
        if k < 0x80:
            q += 2 + k
        else:
            k, q = pb.varint(data, q + 1)
            q += k
    if q > e:
        raise pb.MalformedError("malformed protobuf: a label runs past the end of its series")
    return q


def top_level(data: bytes, tag: int):
    """`pb.spans` over a request, the records of its usual field (one-byte `tag`, length
    under 16 KiB) read inline: a request has one per series."""
    end = len(data)
    pos = 0
    try:
        while pos < end:
            if data[pos] == tag:
                b1 = data[pos + 1]
                if b1 < 0x80:
                    p = pos + 2
                    n = b1
                else:
                    b2 = data[pos + 2]
                    if b2 >= 0x80:
                        raise IndexError  # a longer length: the general reader below
                    p = pos + 3
                    n = (b1 & 0x7F) | b2 << 7
                e = p + n
                if e > end:
                    raise pb.MalformedError("malformed protobuf: a length-delimited field runs past the end of "
                                            "its message")
                yield tag >> 3, pb.LEN, p, e
                pos = e
                continue
            raise IndexError
    except IndexError:
        yield from pb.spans(data, pos, end)


class FieldSamples:
    """The samples of one timeseries read field by field from `pos` to `end` (the reference
    path), and what else it carried."""

    __slots__ = ("values", "times", "start", "histograms", "exemplars", "late", "metadata")

    def __init__(self, data: bytes, pos: int, end: int, v2: bool) -> None:
        values: list[float] = []
        times: list[int] = []  # ms
        self.values, self.times = values, times
        self.start = self.histograms = self.exemplars = 0
        self.late: list = []  # 1.0: label records after the samples; 2.0: label refs there
        self.metadata = b""
        f_exemplar, f_histogram = (4, 3) if v2 else (3, 4)
        for num, wt, a, b in pb.spans(data, pos, end):
            if num == 2:
                pb.expect(num, wt, pb.LEN, "TimeSeries.samples")
                v, t, st = read_sample(data[a:b])
                values.append(v)
                times.append(t)
                if st:
                    self.start = st
            elif num == 1:
                if not v2:
                    pb.expect(num, wt, pb.LEN, "TimeSeries.labels")
                    self.late.append(data[a:b])
                elif wt == pb.LEN:
                    self.late += pb.packed_varints(data[a:b])
                else:
                    pb.expect(num, wt, pb.VARINT, "TimeSeries.labels_refs")
                    self.late.append(a)
            elif num == f_exemplar:
                pb.expect(num, wt, pb.LEN, "TimeSeries.exemplars")
                self.exemplars += 1
            elif num == f_histogram:
                pb.expect(num, wt, pb.LEN, "TimeSeries.histograms")
                self.histograms += 1
            elif v2 and num == 5:
                pb.expect(num, wt, pb.LEN, "TimeSeries.metadata")
                self.metadata = data[a:b]
            elif v2 and num == 6:
                pb.expect(num, wt, pb.VARINT, "TimeSeries.created_timestamp")
                self.start = pb.int64(a)


def read_sample(body: bytes) -> tuple[float, int, int]:
    value, ts, start = 0.0, 0, 0
    for num, wt, v in pb.fields(body):
        if num == 1:
            pb.expect(num, wt, pb.I64, "Sample.value")
            value = pb.double(v)  # type: ignore[arg-type]
        elif num == 2:
            pb.expect(num, wt, pb.VARINT, "Sample.timestamp")
            ts = pb.int64(v)  # type: ignore[arg-type]
        elif num == 3:
            pb.expect(num, wt, pb.VARINT, "Sample.start_timestamp")
            start = pb.int64(v)  # type: ignore[arg-type]
    return value, ts, start


def varint6(b: bytes) -> int:
    x = int.from_bytes(b, "little")
    return ((x & 0x7F) | (x >> 1 & 0x3F80) | (x >> 2 & 0x1FC000) | (x >> 3 & 0xFE00000)
            | (x >> 4 & 0x7F0000000) | (x >> 5 & 0x3F800000000))
