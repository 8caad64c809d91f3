"""What an OTLP resource/scope context means, kept across requests.

Exporters send the same resource, scope and attribute sets every interval. A context (the
resource and scope attributes that become dimensions, in order) is looked up once per scope
and request; what the points under it have carried is cached in it: their merged dimension
JSON, and, for the fast loops of `fast_pb` and `fast_json`, what a data point's bytes mean.
The cache is per process and bounded (all of it is forgotten past `_CACHE_LIMIT` entries);
every entry is a pure function of its key and the context, so forgetting only costs time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from weir.metrics import limits
from weir.wire.shared import raw_dims

if TYPE_CHECKING:
    from weir.wire.otlp.reference import Decoded


class Context:
    """One resource/scope context and the dimensions its points have carried.

    Exporters send the same resource, scope and attribute sets every interval, so merging a
    point's attributes with the context and encoding the result as JSON is done once per
    process and series, not once per request: `dims` maps a point's own dimensions (as a
    tuple of items) to that JSON and the number of context attributes that did not fit.
    `rests` belongs to the protobuf decoder (`fast_pb`): a gauge or sum data point's bytes
    after its time and value, to what they mean; `attrs` to the JSON one (`fast_json`): a
    gauge or sum data point's attributes as raw JSON, to what they mean.
    """

    __slots__ = ("ctx", "dims", "rests", "attrs")
    entries = 0  # in all contexts; past _CACHE_LIMIT, every context is forgotten

    def __init__(self, ctx: list[tuple[str, str]]) -> None:
        self.ctx = ctx
        self.dims: dict[tuple, tuple[msgspec.Raw, int]] = {}
        self.rests: dict[bytes, tuple] = {}
        self.attrs: dict[bytes, tuple] = {}

    def merged(self, dims: dict[str, str]) -> tuple[tuple, msgspec.Raw, int]:
        """(key, raw JSON, context attributes dropped) of a point with these dimensions."""
        key = tuple(dims.items())
        hit = self.dims.get(key)
        if hit is None:
            hit = self.dims[key] = _merge(dims, self.ctx)
            Context.remember()
        return key, hit[0], hit[1]

    def raw(self, out: Decoded, dims: dict[str, str]) -> msgspec.Raw:
        """The raw JSON, reporting (once per series and scope) context attributes that did not fit."""
        key, raw, dropped = self.merged(dims)
        if dropped:
            out.overflow(key, dropped)
        return raw

    @staticmethod
    def remember() -> None:
        Context.entries += 1
        if Context.entries > _CACHE_LIMIT:
            _contexts.clear()
            Context.entries = 0


_CACHE_LIMIT = 100_000
_contexts: dict[tuple, Context] = {}
# What a data point's cached bytes mean to the fast loops of `fast_pb` and `fast_json`:
# (kind, ...). The common kind is 0, so a hot loop tests `if kind:` once.
POINT, OVERFLOW, SKIP, REJECT, GENERAL = range(5)


class Reference(Exception):
    """Raised by a fast loop: decode this request the reference way (official schema, general path)."""


def context_of(ctx: list[tuple[str, str]]) -> Context:
    key = tuple(ctx)
    c = _contexts.get(key)
    if c is None:
        c = _contexts[key] = Context(ctx)
        Context.remember()
    return c


def _merge(attrs: dict[str, str], ctx: list[tuple[str, str]]) -> tuple[msgspec.Raw, int]:
    """The point's dimensions, then context ones while room remains; and how many did not fit."""
    if not ctx:
        return raw_dims(attrs), 0
    dims = dict(attrs)
    room = limits.MAX_DIMENSIONS - len(dims)
    skipped = 0
    for k, v in ctx:
        if k in dims:
            continue
        if room <= 0:
            skipped += 1
            continue
        dims[k] = v
        room -= 1
    return raw_dims(dims), skipped
