"""Decode + validate cost per format, in one process (no HTTP, no store): the standard
workload's batches through `decode_points` (JSON), the line-protocol decoder and the OTLP
protobuf decoder, each followed by `IngestService` validation against an in-memory series map.

    python bench/decode.py [--batches 60]

In-process and side by side, so the ratios hold better than absolute figures on a shared
machine. Prints ms per 1,000-point batch for each format and, last, the ratios to JSON.
"""

from __future__ import annotations

import argparse
import time

from workload import json_bodies, line_bodies, otlp_bodies

from weir.metrics.decode import decode_points
from weir.metrics.formats import otlp
from weir.metrics.formats.influx import LineProtocolDecoder
from weir.metrics.ingest import IngestService


class _Series:
    """Only what validation needs of a store: series lookup and recording new ones."""

    backend, series_epoch = "memory", 0

    def __init__(self) -> None:
        self.known: dict = {}

    def get_series(self, sid):
        return self.known.get(sid)

    def append(self, batch) -> None:
        for s in batch.new_series:
            self.known[s.id] = s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=60)
    n = ap.parse_args().batches
    influx = LineProtocolDecoder()
    formats = {
        "json": (json_bodies(n), decode_points),
        "influx": (line_bodies(n), lambda b: (lambda d: (d.points, d.rejected))(influx.decode(b, "s"))),
        "otlp": (otlp_bodies(n), lambda b: (lambda d: (d.points, d.rejected))(otlp.decode(b, otlp.PROTOBUF))),
    }
    per_batch = {}
    for name, (bodies, decode) in formats.items():
        ingest = IngestService(_Series())
        ingest.ingest_points(*decode(bodies[0]))  # warm the series caches
        t0 = time.perf_counter()
        for body in bodies:
            ingest.ingest_points(*decode(body))
        per_batch[name] = (time.perf_counter() - t0) / n * 1e3
        print(f"{name}: {per_batch[name]:.2f} ms per 1,000-point batch ({1e6 / per_batch[name]:,.0f} points/s)")
    base = per_batch["json"]
    print("decode+validate time relative to json: " + ", ".join(f"{k} {v / base:.2f}x" for k, v in per_batch.items()))


if __name__ == "__main__":
    main()
