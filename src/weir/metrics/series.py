"""Series identity: a metric name plus its sorted dimensions.

The canonical text form is Prometheus-like, `cpu{host="h1",region="r1"}`, with `\\`, `"`
and newlines escaped, so it is unambiguous and a person can read it. The series id is a
64-bit hash of that text: every backend (SQLite, DynamoDB) derives the same id without a
shared counter.
"""

from __future__ import annotations

from hashlib import blake2b

import msgspec

from weir.errors import InvalidInputError
from weir.metrics import limits


class Series(msgspec.Struct, frozen=True):
    id: int
    name: str
    dimensions: dict[str, str]
    type: str = "gauge"
    unit: str | None = None

    @property
    def key(self) -> str:
        return canonical_key(self.name, self.dimensions)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def canonical_key(name: str, dimensions: dict[str, str]) -> str:
    if not dimensions:
        return name
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(dimensions.items()))
    return f"{name}{{{inner}}}"


def series_id(key: str) -> int:
    """A signed 64-bit id (fits SQLite INTEGER and DynamoDB numbers exactly)."""
    return int.from_bytes(blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def check_name(name: str) -> None:
    if not name:
        raise InvalidInputError("name: must not be empty")
    if len(name) > limits.MAX_NAME_LENGTH or not limits.NAME_RE.match(name):
        raise InvalidInputError(f"name: {name[:80]!r} is not a valid metric name ({limits.NAME_RULE})")


def check_dimensions(dimensions: dict[str, str]) -> None:
    if len(dimensions) > limits.MAX_DIMENSIONS:
        raise InvalidInputError(
            f"dimensions: {len(dimensions)} given, at most {limits.MAX_DIMENSIONS} are allowed"
        )
    for k, v in dimensions.items():
        if len(k) > limits.MAX_DIM_KEY_LENGTH or not limits.DIM_KEY_RE.match(k):
            raise InvalidInputError(f"dimensions: key {k[:80]!r} is not valid ({limits.DIM_KEY_RULE})")
        if len(v) > limits.MAX_DIM_VALUE_LENGTH or not limits.DIM_VALUE_RE.match(v):
            raise InvalidInputError(
                f"dimensions.{k}: value {v[:80]!r} is not valid ({limits.DIM_VALUE_RULE})"
            )


def make_series(name: str, dimensions: dict[str, str], type_: str, unit: str | None) -> Series:
    """Validate and build a series; raises InvalidInputError naming the bad field."""
    check_name(name)
    check_dimensions(dimensions)
    if unit is not None and (not unit or len(unit) > limits.MAX_UNIT_LENGTH):
        raise InvalidInputError(f"unit: must be 1-{limits.MAX_UNIT_LENGTH} characters")
    dims = dict(sorted(dimensions.items()))
    return Series(series_id(canonical_key(name, dims)), name, dims, type_, unit)


def matches(series: Series, filters: dict[str, str]) -> bool:
    dims = series.dimensions
    return all(dims.get(k) == v for k, v in filters.items())
