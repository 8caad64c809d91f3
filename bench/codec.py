"""The chunk codecs on realistic data: bytes per point, encode and bulk-decode speed.

    python bench/codec.py [--series 2000] [--points 360]

Series of an hour at 10 s (360 points) of: a gauge with one decimal (the read dataset's
`cpu`), a gauge with two decimals, a monotonic counter, a constant, full-precision random
floats, and timestamps with millisecond jitter. Each is encoded with Weir's columns
(`weir.metrics.encoding.columns`) and, for comparison, as raw float64 + zlib, and with
Gorilla's XOR scheme (its size computed bit by bit, as Prometheus and Facebook's Gorilla
store it). Decoding is `bulk.decode_many` over all series of a kind at once.
"""

from __future__ import annotations

import argparse
import math
import random
import struct
import sys
import time
import zlib
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def gorilla_bytes(vals: list[float]) -> float:
    """Size of Gorilla's XOR value encoding (control bits + meaningful bits), in bytes."""
    bits, prev, window = 64, struct.unpack("<Q", struct.pack("<d", vals[0]))[0], None
    for v in vals[1:]:
        u = struct.unpack("<Q", struct.pack("<d", v))[0]
        x, prev = u ^ prev, u
        if x == 0:
            bits += 1
            continue
        lead, trail = 64 - x.bit_length(), (x & -x).bit_length() - 1
        if window and lead >= window[0] and trail >= window[1]:
            bits += 2 + 64 - window[0] - window[1]
        else:
            bits += 2 + 5 + 6 + 64 - lead - trail
            window = (lead, trail)
    return bits / 8


def datasets(n_series: int, n: int) -> dict[str, list[list[float]]]:
    rnd = random.Random(1)

    def gauge(decimals: int) -> list[float]:
        phase, level = rnd.random() * 6, rnd.uniform(20, 70)
        return [round(min(100, max(0, level + 15 * math.sin(phase + i / 500) + rnd.gauss(0, 2))), decimals)
                for i in range(n)]

    def counter() -> list[float]:
        c, out = float(rnd.randrange(10**9)), []
        for _ in range(n):
            c += rnd.randint(900, 1100)
            out.append(c)
        return out

    return {
        "gauge, 1 decimal": [gauge(1) for _ in range(n_series)],
        "gauge, 2 decimals": [gauge(2) for _ in range(n_series)],
        "counter": [counter() for _ in range(n_series)],
        "constant": [[1.0] * n for _ in range(n_series)],
        "random floats": [[rnd.random() for _ in range(n)] for _ in range(n_series)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=2000)
    ap.add_argument("--points", type=int, default=360)
    args = ap.parse_args()
    from weir.metrics.encoding.bulk import decode_many
    from weir.metrics.encoding.columns import encode_ts, encode_vals

    n = args.points
    t0 = 1_790_000_000 * 10**9
    regular = [t0 + i * 10 * 10**9 for i in range(n)]
    rnd = random.Random(2)
    jittered = [t0 + i * 10 * 10**9 + rnd.randrange(1000) * 10**6 for i in range(n)]
    print(f"{args.series} series x {n} points; bytes per point (timestamps regular, at 10 s)")
    head = ("values", "weir", "zlib f64", "gorilla", "encode us/series", "decode M points/s")
    print(f"{head[0]:20} {head[1]:>6} {head[2]:>9} {head[3]:>8} {head[4]:>17} {head[5]:>18}")
    for name, series in datasets(args.series, n).items():
        start = time.perf_counter()
        vals = [encode_vals(v) for v in series]
        encode_us = (time.perf_counter() - start) / len(series) * 1e6
        ts = [encode_ts(regular)] * len(series)
        size = sum(len(a) + len(b) for a, b in zip(ts, vals)) / (len(series) * n)
        raw = sum(len(zlib.compress(array("d", v).tobytes(), 6)) for v in series) / (len(series) * n)
        gorilla = sum(gorilla_bytes(v) for v in series[:200]) / (min(200, len(series)) * n)
        start = time.perf_counter()
        lens, _, out = decode_many(ts, vals)
        rate = len(out) / (time.perf_counter() - start) / 1e6
        assert out[:n].tolist() == series[0]
        print(f"{name:20} {size:6.2f} {raw:9.2f} {gorilla:8.2f} {encode_us:17.0f} {rate:18.1f}")
    jit = len(encode_ts(jittered)) / n
    print(f"timestamps with millisecond jitter: {jit:.2f} bytes per point (regular: "
          f"{len(encode_ts(regular)) / n:.3f})")


if __name__ == "__main__":
    main()
