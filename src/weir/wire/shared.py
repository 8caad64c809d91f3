"""Decoders for the wire formats metric clients already speak (no I/O).

Each decoder turns a request body into the same thing `POST /metrics` decodes to: a list of
`WirePoint` (None where the decoder rejected an entry) plus `Rejected` entries, and the
caller hands both to `IngestService.ingest_points`. Series validation, limits, retention
and partial success are therefore the same for every format; a decoder only knows its
syntax and its mapping to Weir names and dimensions.

The helpers here are what the decoders share: dimension encoding, the point-count limit,
timestamps the ingest service must not reinterpret, and naming the origin of a rejection.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast

import msgspec

from weir.errors import PayloadTooLargeError
from weir.metrics import limits
from weir.metrics.model import IngestResult, Rejected

_encode = msgspec.json.encode
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS_FLOOR = 10**17  # the ingest service reads smaller epoch numbers as s, ms or µs


def raw_dims(dims: dict[str, str]) -> msgspec.Raw:
    """Dimensions as the raw JSON `WirePoint` carries (the ingest cache keys on these bytes)."""
    return msgspec.Raw(_encode(dims))


def ns_timestamp(ns: int) -> int | datetime:
    """A timestamp known to be nanoseconds, in a form the ingest service will not rescale.

    `IngestService` tells epoch units apart by magnitude; every instant it can accept is far
    above 1e17 ns, so an int that large is read as ns. A smaller one (before 1973) is passed as
    a datetime, so the point is rejected as too old, with the right instant in the message,
    instead of being misread as seconds.
    """
    if ns >= _NS_FLOOR:
        return ns
    try:
        return _EPOCH + timedelta(microseconds=ns // 1000)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


class PointCounter:
    """Raises 413 as soon as a request expands past the per-request point limit."""

    __slots__ = ("n", "what")

    def __init__(self, what: str) -> None:
        self.n = 0
        self.what = what

    def add(self, k: int = 1) -> None:
        self.n += k
        if self.n > limits.MAX_POINTS_PER_REQUEST:
            raise PayloadTooLargeError(
                f"the request holds more than {limits.MAX_POINTS_PER_REQUEST} points "
                f"({self.what}); split it into smaller requests"
            )


def locate(rejected: list[Rejected], where: Callable[[int], str]) -> list[Rejected]:
    """Prefix each rejection with where its entry came from (`line 3`, a metric name...).

    Decoders already prefix their own rejections; the ingest service's (bad name, old
    timestamp...) only carry the entry index, so they are prefixed here.
    """
    out = []
    for r in rejected:
        origin = where(r.index)
        if origin and not r.error.startswith(origin + ":"):
            out.append(Rejected(r.index, f"{origin}: {r.error}"))
        else:
            out.append(r)
    return out


def ingest_located(ingest, points: list, rejected: list[Rejected], where: Callable[[int], str]) -> IngestResult:
    """`ingest.ingest_points`, with every rejection saying where in the body it came from."""
    from weir.metrics.ingest import NoValidPointsError

    try:
        result = ingest.ingest_points(points, rejected)
    except NoValidPointsError as exc:
        raise NoValidPointsError(locate(cast(list[Rejected], exc.details), where)) from None
    return IngestResult(result.accepted, locate(result.rejected, where))
