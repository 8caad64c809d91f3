"""Prometheus remote read: `ReadRequest` bodies in, `ReadResponse` (SAMPLES) bodies out; no I/O.

Messages (field numbers from Prometheus' published remote-read protocol):
`ReadRequest` {queries = 1, accepted_response_types = 2 (packed enum: 0 SAMPLES,
1 STREAMED_XOR_CHUNKS)}; `Query` {start_timestamp_ms = 1, end_timestamp_ms = 2,
matchers = 3 {type = 1 (0 `=`, 1 `!=`, 2 `=~`, 3 `!~`), name = 2, value = 3}, hints = 4};
`ReadResponse` {results = 1 `QueryResult` {timeseries = 1, the 1.0 write `TimeSeries`}}.

Only the SAMPLES answer is produced. Prometheus 2.42's remote-read client sends no
accepted types at all (which means SAMPLES); newer clients list STREAMED_XOR_CHUNKS first
and SAMPLES after it and read whichever the answer's Content-Type says. A request that
accepts streamed chunks only is refused with a 400 naming SAMPLES. Hints are ignored, as
the protocol allows (they are an optimisation a server may use).

Matchers are PromQL's (`weir.promql.source.Matcher`): a label a series lacks has the value ""
(so `{env=""}` selects series without `env`), and regular expressions are RE2's syntax, fully
anchored (`=~"a|b"` is `^(?:a|b)$`), with the patterns that could backtrack exponentially
refused (`weir.promql.regex`).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence

from weir.errors import InvalidInputError
from weir.promql.source import OPS, Matcher
from weir.wire import pb

SAMPLES, STREAMED_XOR_CHUNKS = 0, 1
MAX_REGEX_LENGTH = 4096
_REC = struct.Struct("<3sd1s6s")


class Query:
    __slots__ = ("start_ms", "end_ms", "matchers")

    def __init__(self, start_ms: int, end_ms: int, matchers: list[Matcher]) -> None:
        self.start_ms, self.end_ms, self.matchers = start_ms, end_ms, matchers


def decode_request(data: bytes) -> tuple[list[Query], list[int]]:
    """The queries of a `ReadRequest` and the response types it accepts."""
    queries: list[Query] = []
    accepted: list[int] = []
    for num, wt, value in pb.fields(data):
        if num == 1:
            pb.expect(num, wt, pb.LEN, "ReadRequest.queries")
            queries.append(_query(value))  # type: ignore[arg-type]
        elif num == 2:
            if wt == pb.LEN:
                accepted += pb.packed_varints(value)  # type: ignore[arg-type]
            else:
                pb.expect(num, wt, pb.VARINT, "ReadRequest.accepted_response_types")
                accepted.append(value)  # type: ignore[arg-type]
    return queries, accepted


def response_type(accepted: Sequence[int]) -> int:
    if not accepted or SAMPLES in accepted:
        return SAMPLES
    raise InvalidInputError(
        f"none of the accepted response types {sorted(set(accepted))} is served here; Weir answers "
        f"SAMPLES (0) only"
    )


def _query(body: bytes) -> Query:
    start = end = 0
    matchers = []
    for num, wt, value in pb.fields(body):
        if num == 1:
            pb.expect(num, wt, pb.VARINT, "Query.start_timestamp_ms")
            start = pb.int64(value)  # type: ignore[arg-type]
        elif num == 2:
            pb.expect(num, wt, pb.VARINT, "Query.end_timestamp_ms")
            end = pb.int64(value)  # type: ignore[arg-type]
        elif num == 3:
            pb.expect(num, wt, pb.LEN, "Query.matchers")
            matchers.append(_matcher(value))  # type: ignore[arg-type]
        elif num == 4:
            pb.expect(num, wt, pb.LEN, "Query.hints")
    if end < start:
        raise InvalidInputError(f"a query ends ({end} ms) before it starts ({start} ms)")
    return Query(start, end, matchers)


def _matcher(body: bytes) -> Matcher:
    op, name, value = 0, "", ""
    for num, wt, v in pb.fields(body):
        if num == 1:
            pb.expect(num, wt, pb.VARINT, "LabelMatcher.type")
            op = v  # type: ignore[assignment]
        elif num == 2:
            pb.expect(num, wt, pb.LEN, "LabelMatcher.name")
            name = pb.text(v, "a matcher's label name")  # type: ignore[arg-type]
        elif num == 3:
            pb.expect(num, wt, pb.LEN, "LabelMatcher.value")
            value = pb.text(v, "a matcher's value")  # type: ignore[arg-type]
    if not 0 <= op < len(OPS):
        raise InvalidInputError(f"matcher type {op} is not one of 0 (=), 1 (!=), 2 (=~), 3 (!~)")
    if not name:
        raise InvalidInputError("a matcher has no label name")
    if len(value) > MAX_REGEX_LENGTH and op >= 2:
        raise InvalidInputError(f"the regular expression for {name!r} is longer than {MAX_REGEX_LENGTH} characters")
    return Matcher(name, OPS[op], value)


# -- the answer --------------------------------------------------------------------------


def encode_response(results: Iterable[Iterable[tuple[dict[str, str], Sequence[int], Sequence[float]]]]) -> bytes:
    """A `ReadResponse`: per query, its series as (labels with `__name__`, times in ms, values)."""
    out = bytearray()
    for series in results:
        result = bytearray()
        for labels, times, values in series:
            pb.put_len(result, 1, _timeseries(labels, times, values))
        pb.put_len(out, 1, result)
    return bytes(out)


def _timeseries(labels: dict[str, str], times: Sequence[int], values: Sequence[float]) -> bytearray:
    out = bytearray()
    for name in sorted(labels):
        label = bytearray()
        pb.put_len(label, 1, name.encode())
        if labels[name]:
            pb.put_len(label, 2, labels[name].encode())
        pb.put_len(out, 1, label)
    varints: dict[int, bytes] = {}
    parts = []
    pack = _REC.pack
    for t, v in zip(times, values):
        b = varints.get(t)
        if b is None:
            enc = bytearray()
            pb.put_varint(enc, t)
            b = varints[t] = bytes(enc)
        if len(b) == 6 and v != 0.0:  # the usual 18-byte sample: one struct call
            parts.append(pack(b"\x12\x10\x09", v, b"\x10", b))
        else:
            sample = bytearray()
            if v != 0.0 or math.copysign(1.0, v) < 0:  # -0.0 keeps its sign bit
                pb.put_double(sample, 1, v)
            if t:
                pb.put_int(sample, 2, t)
            rec = bytearray()
            pb.put_len(rec, 2, sample)
            parts.append(bytes(rec))
    out += b"".join(parts)
    return out
