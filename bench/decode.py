"""Decode + validate cost per format, in one process (no HTTP, no store): the standard
workload's batches through `decode_points` (JSON), the line-protocol decoder and the OTLP
decoders (protobuf and JSON), each followed by `IngestService` validation against an
in-memory series map.

    python bench/decode.py [--batches 60] [--rounds 5] [--baseline REV]

In-process and side by side, so the ratios hold better than absolute figures on a shared
machine. Each round times every format once; the best round counts. `--baseline REV` also
times the decoders and ingest service of git revision REV (see bench/baseline.py), round for
round beside the working tree's, and prints how many times faster the working tree is.
Prints ms per 1,000-point batch for each format and, last, the ratios to JSON.
"""

from __future__ import annotations

import argparse
import importlib
import time

from workload import json_bodies, line_bodies, otlp_bodies, otlp_json_bodies


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


def decoders(pkg: str) -> dict:
    """format → decode(body) -> (points, rejected), plus the IngestService class, of package `pkg`."""
    def mod(*names: str):
        # The first name is today's module; the others what a --baseline revision before
        # the re-layout (issue 12) called it.
        for i, name in enumerate(names):
            try:
                return importlib.import_module(f"{pkg}.{name}")
            except ModuleNotFoundError:
                if i == len(names) - 1:
                    raise

    def pair(d) -> tuple:
        return d.points, d.rejected

    otlp = mod("wire.otlp.decode", "metrics.formats.otlp")
    influx = mod("wire.influx", "metrics.formats.influx").LineProtocolDecoder()
    return {
        "json": mod("wire.json", "metrics.decode").decode_points,
        "influx": lambda b: pair(influx.decode(b, "s")),
        "otlp": lambda b: pair(otlp.decode(b, otlp.PROTOBUF)),
        "otlp-json": lambda b: pair(otlp.decode(b, otlp.JSON)),
    }, mod("metrics.ingest").IngestService


def timed(bodies: list[bytes], decode, ingest) -> float:
    t0 = time.perf_counter()
    for body in bodies:
        ingest.ingest_points(*decode(body))
    return (time.perf_counter() - t0) / len(bodies) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--baseline", metavar="REV", help="also time git revision REV, round for round")
    args = ap.parse_args()
    n = args.batches
    bodies = {"json": json_bodies(n), "influx": line_bodies(n), "otlp": otlp_bodies(n),
              "otlp-json": otlp_json_bodies(n)}
    variants = {"": decoders("weir")}
    if args.baseline:
        import baseline

        commit = baseline.load(args.baseline)
        variants[commit] = decoders("weir_base")
    runs = {}  # (variant, format) → (decode, ingest service)
    for name in bodies:  # each format's variants back to back, so they see the same load
        for variant, (decode, service) in variants.items():
            ingest = service(_Series())
            ingest.ingest_points(*decode[name](bodies[name][0]))  # warm the series caches
            runs[variant, name] = (decode[name], ingest)
    best: dict = {}
    for _ in range(args.rounds):
        for (variant, name), (decode, ingest) in runs.items():
            ms = timed(bodies[name], decode, ingest)
            best[variant, name] = min(best.get((variant, name), ms), ms)
    for name in bodies:
        ms = best["", name]
        line = f"{name}: {ms:.2f} ms per 1,000-point batch ({1e6 / ms:,.0f} points/s)"
        for variant in variants:
            if variant:
                old = best[variant, name]
                line += f"; at {variant}: {old:.2f} ms, so {old / ms:.2f}x faster now"
        print(line)
    base = best["", "json"]
    print("decode+validate time relative to json: " + ", ".join(f"{k} {best['', k] / base:.2f}x" for k in bodies))


if __name__ == "__main__":
    main()
