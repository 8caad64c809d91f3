"""Harness for asking Weir and a real Prometheus the same PromQL over the same samples.

- `dataset()`: deterministic series placed at fixed past instants (2024-01-01 UTC): gauges
  with gaps longer than the lookback, counters with resets and jittered scrape times,
  classic histograms (one with buckets that break monotonicity, one without +Inf, one with
  two spellings of the same bound), label values that exercise regex corner cases, and
  series whose label sets collide once the metric name is dropped.
- `openmetrics()` writes them for `promtool tsdb create-blocks-from openmetrics`;
  `PrometheusPeer` backfills a folder and runs `prometheus` on it, on its own port.
- `load_weir()` writes the same samples into a real `SqliteMetricStore`.
- `compare()` checks two API answers: series by series, timestamp by timestamp, values to
  1e-9 relative (NaN equal to NaN), errors by type.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import _listens, free_port
from weir.metrics.ports import PointBatch
from weir.metrics.series import make_series

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z, in ms
MIN = 60_000
HOUR = 60 * MIN
SPAN = 3 * HOUR
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")


@dataclass
class Spec:
    name: str
    labels: dict[str, str]
    t: list[int]  # ms
    v: list[float]
    type: str = "gauge"


def _times(rng: random.Random, start: int, end: int, every: int, jitter: int = 0) -> list[int]:
    out, t = [], start
    while t < end:
        out.append(t + (rng.randrange(jitter) if jitter else 0))
        t += every
    return out


def dataset() -> list[Spec]:
    rng = random.Random(20240101)
    out: list[Spec] = []
    # Gauges: one host with a 20-minute gap, one starting late, one ending early.
    for i in range(6):
        start = T0 + (30 * MIN if i == 5 else 0)
        end = T0 + (150 * MIN if i == 4 else SPAN)
        ts = _times(rng, start, end, 15_000, jitter=900)
        if i == 2:
            ts = [t for t in ts if not (T0 + 60 * MIN < t < T0 + 80 * MIN)]
        phase = rng.random() * 6
        vs = [round(50 + 30 * math.sin(phase + (t - T0) / 600_000) + rng.uniform(-5, 5), 3) for t in ts]
        out.append(Spec("cpu_usage", {"host": f"h{i}", "region": f"r{i // 3}"}, ts, vs))
    for i in range(3):
        ts = _times(rng, T0, T0 + SPAN, 30_000)
        vs = [float(int(2e9 + 1e8 * i + rng.uniform(-1e7, 1e7))) for _ in ts]
        out.append(Spec("mem_bytes", {"host": f"h{i}"}, ts, vs))
    # Counters with resets, jittered scrapes, and one with a 15-minute gap.
    k = 0
    for job, instances in (("api", ("i0", "i1")), ("web", ("i0",))):
        for inst in instances:
            for code in ("200", "500"):
                ts = _times(rng, T0, T0 + SPAN, 15_000, jitter=2_000)
                if k == 1:
                    ts = [t for t in ts if not (T0 + 100 * MIN < t < T0 + 115 * MIN)]
                value, vs = rng.uniform(0, 50), []
                resets = {rng.randrange(len(ts)) for _ in range(2)}
                mean = 5 if code == "200" else 0.5
                for j in range(len(ts)):
                    value = rng.uniform(0, 3) if j in resets else value + rng.expovariate(1 / mean)
                    vs.append(round(value, 2))
                out.append(Spec("http_requests_total", {"job": job, "instance": inst, "code": code}, ts, vs, "counter"))
                k += 1
    out.extend(_histograms(rng))
    # Label values for regex corner cases (and one series without the label).
    paths = ["foo", "foobar", "FOO", "föö", "a.b", "a|b", "x-y", "with space", 'quo"te', "back\\slash", "123", "Ab"]
    for j, p in enumerate(paths):
        ts = _times(rng, T0, T0 + SPAN, 60_000)
        out.append(Spec("label_test", {"path": p}, ts, [float(j + 1)] * len(ts)))
    ts = _times(rng, T0, T0 + SPAN, 60_000)
    out.append(Spec("label_test", {"other": "x"}, ts, [100.0] * len(ts)))
    # Label sets that collide once the name is dropped: overlapping in time, and not.
    for name in ("collide_a", "collide_b"):
        ts = _times(rng, T0, T0 + SPAN, 30_000)
        out.append(Spec(name, {"k": "1"}, ts, [rng.uniform(1, 9) for _ in ts]))
    ts = _times(rng, T0, T0 + 60 * MIN, 30_000)
    out.append(Spec("old_series", {"k": "2"}, ts, [rng.uniform(1, 9) for _ in ts]))
    ts = _times(rng, T0 + 90 * MIN, T0 + SPAN, 30_000)
    out.append(Spec("new_series", {"k": "2"}, ts, [rng.uniform(1, 9) for _ in ts]))
    for job in ("api", "web"):
        for inst in ("i0", "i1"):
            ts = _times(rng, T0, T0 + SPAN, 30_000)
            out.append(Spec("up", {"job": job, "instance": inst}, ts, [float(rng.random() < 0.8) for _ in ts]))
    for s in range(3):
        ts = _times(rng, T0, T0 + SPAN, 20_000)
        out.append(Spec("temp_celsius", {"sensor": f"s{s}"}, ts, [round(rng.uniform(-20, 35), 2) for _ in ts]))
    ts = _times(rng, T0, T0 + SPAN, 20_000)
    out.append(Spec("ratio", {"kind": "unit"}, ts, [round(rng.uniform(-0.99, 0.99), 4) for _ in ts]))
    # Exactly aligned samples (every 15 s on the minute), stopping at 60 min and resuming at
    # 65 min: windows and the lookback land exactly on samples.
    ts = [t for t in range(T0, T0 + SPAN, 15_000) if not (T0 + 60 * MIN < t < T0 + 65 * MIN + 15_000)]
    out.append(Spec("aligned_total", {"k": "a"}, ts, [float(3 * j + (j // 50) % 3) for j in range(len(ts))], "counter"))
    dates = [951_782_400, 978_220_800, 1_709_164_800, 1_704_067_199, 1_735_689_599, 4_107_542_400, 0, 1_234_567_890]
    for j, d in enumerate(dates):
        ts = _times(rng, T0, T0 + SPAN, 60_000)
        out.append(Spec("ts_values", {"date": str(j)}, ts, [float(d)] * len(ts)))
    return out


def _histograms(rng: random.Random) -> list[Spec]:
    out = []
    groups = {
        "api": ["0.05", "0.1", "0.5", "1", "5", "+Inf"],
        "web": ["0.1", "0.25", "1", "2.5", "+Inf"],
        "broken": ["0.1", "0.5", "1", "+Inf"],
        "noinf": ["0.1", "1", "10"],
        "dup_le": ["0.5", "1", "1.0", "+Inf"],
    }
    for job, les in groups.items():
        ts = _times(rng, T0, T0 + SPAN, 15_000, jitter=500)
        counts = [0.0] * len(les)
        series = [[] for _ in les]
        total = 0.0
        for _ in ts:
            for _ in range(rng.randrange(0, 12)):
                x = rng.expovariate(2.0)
                total += x
                for j, le in enumerate(les):
                    if x <= float(le):
                        counts[j] += 1
            for j in range(len(les)):
                extra = 3.0 if job == "broken" and les[j] == "0.5" else 0.0
                series[j].append(counts[j] + extra)
        for j, le in enumerate(les):
            out.append(Spec("http_request_duration_seconds_bucket", {"job": job, "le": le}, ts, series[j], "counter"))
    return out


# -- writing ---------------------------------------------------------------------------------


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def openmetrics(specs: list[Spec]) -> str:
    """One family per metric name, samples in time order per series, `# EOF` last."""
    lines = []
    for name in sorted({s.name for s in specs}):
        for s in (s for s in specs if s.name == name):
            inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(s.labels.items()))
            for t, v in zip(s.t, s.v):
                lines.append(f"{name}{{{inner}}} {v!r} {t // 1000}.{t % 1000:03d}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def weir_store(path, specs: list[Spec], clock_s: float, **options):
    """A real `SqliteMetricStore` at `path`, ready, holding the specs' samples."""
    import time

    from weir.backends.sqlite.metrics import SqliteMetricStore

    store = SqliteMetricStore(path, retention_seconds=400 * 86_400, clock=lambda: clock_s, **options)
    deadline = time.monotonic() + 60
    while not store.ready() and time.monotonic() < deadline:
        time.sleep(0.01)
    load_weir(store, specs)
    return store


def load_weir(store, specs: list[Spec]) -> None:
    batch = PointBatch()
    for s in specs:
        series = make_series(s.name, s.labels, s.type, None)
        batch.new_series.append(series)
        for t, v in zip(s.t, s.v):
            batch.series_ids.append(series.id)
            batch.timestamps.append(t * 1_000_000)
            batch.values.append(v)
    store.append(batch)


# -- the peer ----------------------------------------------------------------------------------


class PrometheusPeer:
    """`prometheus` 2.42 over a folder backfilled with `promtool`, on a loopback port."""

    def __init__(self, folder: Path, specs: list[Spec]) -> None:
        self.folder = folder
        self.data = folder / "tsdb"
        source = folder / "data.om"
        source.write_text(openmetrics(specs))
        subprocess.run(
            [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(source), str(self.data)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        self.config = folder / "prometheus.yml"
        self.config.write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self, timeout: float = 120.0) -> None:
        for _ in range(5):
            if self._launch(timeout):
                return
        raise RuntimeError("prometheus lost its port 5 times in a row")

    def _launch(self, timeout: float) -> bool:
        self.port = free_port()
        self.log = open(self.folder / f"prometheus-{self.port}.log", "wb")
        self.proc = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.data}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=100y",
                "--query.lookback-delta=5m",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.close()
                text = (self.folder / f"prometheus-{self.port}.log").read_text(errors="replace")
                if "address already in use" in text:
                    return False
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}:\n{text[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=10) as r:
                    if r.status == 200 and _listens(self.proc.pid, self.port):
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"prometheus was not ready within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self.log.close()

    def query(self, path: str, params: dict[str, str]) -> dict:
        url = f"http://127.0.0.1:{self.port}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read())


# -- comparing -----------------------------------------------------------------------------------


def seconds(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def _num(s: str) -> float:
    return float(s)  # Python reads "NaN", "+Inf", "-Inf" as Prometheus writes them


def close(a: str, b: str) -> bool:
    x, y = _num(a), _num(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if x == y:
        return True
    if math.isinf(x) or math.isinf(y):
        return False
    return abs(x - y) <= 1e-9 * max(abs(x), abs(y)) or abs(x - y) <= 1e-12


def _key(metric: dict) -> tuple:
    return tuple(sorted(metric.items()))


def compare(prom: dict, weir: dict, *, ordered: bool = False) -> list[str]:
    """Differences between two API answers (empty when they agree)."""
    if prom["status"] != "success" or weir["status"] != "success":
        if prom["status"] == weir["status"] == "error":
            return (
                []
                if prom["errorType"] == weir["errorType"]
                else [
                    f"error types differ: prometheus {prom['errorType']} ({prom['error']}), weir {weir['errorType']} "
                    f"({weir['error']})"
                ]
            )
        return [f"prometheus: {prom.get('error') or 'success'}; weir: {weir.get('error') or 'success'}"]
    p, w = prom["data"], weir["data"]
    if p["resultType"] != w["resultType"]:
        return [f"result types differ: {p['resultType']} vs {w['resultType']}"]
    kind = p["resultType"]
    if kind in ("scalar", "string"):
        pt, pv = p["result"]
        wt, wv = w["result"]
        ok = abs(float(pt) - float(wt)) < 1e-6 and (pv == wv if kind == "string" else close(pv, wv))
        return [] if ok else [f"{kind}: prometheus {p['result']}, weir {w['result']}"]
    field = "value" if kind == "vector" else "values"
    pr = {_key(s["metric"]): s[field] for s in p["result"]}
    wr = {_key(s["metric"]): s[field] for s in w["result"]}
    diffs = []
    if len(pr) != len(p["result"]) or len(wr) != len(w["result"]):
        diffs.append("a result holds the same label set twice")
    for k in sorted(set(pr) | set(wr)):
        if k not in wr:
            diffs.append(f"only prometheus has {dict(k)}")
        elif k not in pr:
            diffs.append(f"only weir has {dict(k)}")
        else:
            pp = [pr[k]] if kind == "vector" else pr[k]
            ww = [wr[k]] if kind == "vector" else wr[k]
            pts = {round(float(t) * 1000): v for t, v in pp}
            wts = {round(float(t) * 1000): v for t, v in ww}
            if set(pts) != set(wts):
                only_p = sorted(set(pts) - set(wts))[:3]
                only_w = sorted(set(wts) - set(pts))[:3]
                diffs.append(f"{dict(k)}: timestamps differ (only prometheus {only_p}, only weir {only_w})")
                continue
            bad = [(t, pts[t], wts[t]) for t in sorted(pts) if not close(pts[t], wts[t])]
            if bad:
                diffs.append(f"{dict(k)}: {len(bad)} values differ, first {bad[:3]}")
    if ordered and not diffs:
        po = [_key(s["metric"]) for s in p["result"]]
        wo = [_key(s["metric"]) for s in w["result"]]
        if po != wo:
            diffs.append(f"order differs: prometheus {po[:5]}, weir {wo[:5]}")
    return diffs


def weir_answer(fn, *args) -> dict:
    """The engine's answer in the API's envelope, as the HTTP layer would write it."""
    from weir.promql.errors import PromQLError

    try:
        r = fn(*args)
    except PromQLError as e:
        return {"status": "error", "errorType": e.error_type, "error": str(e)}
    return json.loads(json.dumps({"status": "success", "data": {"resultType": r.result_type, "result": r.result}}))


# -- random expressions ----------------------------------------------------------------------


class RandomExpressions:
    """PromQL expressions drawn from a small grammar over the dataset's metrics, for a
    seeded comparison beyond the hand-written corpus. No topk/bottomk: Prometheus breaks
    their ties in an order that varies between runs when their input is computed."""

    SELS = [
        "cpu_usage",
        "temp_celsius",
        "up",
        "http_requests_total",
        "mem_bytes",
        'cpu_usage{region="r1"}',
        'http_requests_total{code="500"}',
        "ratio",
        "label_test",
        "aligned_total",
        "collide_a",
        "new_series",
    ]
    COUNTERS = ["http_requests_total", "aligned_total", 'http_request_duration_seconds_bucket{job="api"}']
    LABELS = ["host", "region", "job", "instance", "code", "sensor", "path", "k"]

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def duration(self) -> str:
        return self.rng.choice(["1m", "5m", "30s", "10m", "2m"])

    def scalar(self, depth: int) -> str:
        c = self.rng.random()
        if c < 0.5 or depth > 2:
            return self.rng.choice(["1", "2.5", "-3", "0", "10", "0.5"])
        if c < 0.7:
            return f"scalar({self.vector(depth + 1)})"
        if c < 0.8:
            return "time()"
        return f"({self.scalar(depth + 1)} {self.rng.choice('+-*/')} {self.scalar(depth + 1)})"

    def grouping(self) -> str:
        if self.rng.random() < 0.3:
            return ""
        labels = ", ".join(self.rng.sample(self.LABELS, self.rng.randint(0, 2)))
        return f" {self.rng.choice(['by', 'without'])} ({labels})"

    def vector(self, depth: int = 0) -> str:
        rng = self.rng
        c = rng.random()
        if depth > 3 or c < 0.25:
            s = rng.choice(self.SELS)
            return s + (f" offset {self.duration()}" if rng.random() < 0.15 else "")
        if c < 0.42:
            op = rng.choice(["sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "quantile"])
            param = f"{rng.choice(['0.5', '0.9'])}, " if op == "quantile" else ""
            return f"{op}{self.grouping()} ({param}{self.vector(depth + 1)})"
        if c < 0.6:
            f = rng.choice(
                [
                    "rate",
                    "increase",
                    "irate",
                    "delta",
                    "idelta",
                    "resets",
                    "changes",
                    "deriv",
                    "avg_over_time",
                    "max_over_time",
                    "min_over_time",
                    "sum_over_time",
                    "count_over_time",
                    "stddev_over_time",
                    "last_over_time",
                    "present_over_time",
                ]
            )
            if rng.random() < 0.2:
                step = rng.choice(["15s", "1m", "20s"])
                return f"{f}(({self.vector(depth + 2)})[{self.duration()}:{step}])"
            base = rng.choice(self.COUNTERS if f in ("rate", "increase", "irate", "resets") else self.SELS)
            return f"{f}({base}[{self.duration()}])"
        if c < 0.72:
            f = rng.choice(
                [
                    "abs",
                    "ceil",
                    "floor",
                    "sqrt",
                    "ln",
                    "exp",
                    "sgn",
                    "round",
                    "clamp_min",
                    "clamp_max",
                    "timestamp",
                    "-",
                    "histogram_quantile",
                ]
            )
            if f == "-":
                return f"-{self.vector(depth + 1)}"
            if f in ("clamp_min", "clamp_max"):
                return f"{f}({self.vector(depth + 1)}, {self.scalar(depth + 1)})"
            if f == "histogram_quantile":
                by = rng.choice(["", ", job"])
                q = rng.choice(["0.5", "0.9"])
                return f"histogram_quantile({q}, sum by (le{by}) (rate(http_request_duration_seconds_bucket[5m])))"
            return f"{f}({self.vector(depth + 1)})"
        if c < 0.8:
            op = rng.choice(["+", "-", "*", "/", ">", "<", "==", "!=", ">=", "%", "^"])
            b = " bool" if op in (">", "<", "==", "!=", ">=") and rng.random() < 0.5 else ""
            if rng.random() < 0.5:
                return f"({self.vector(depth + 1)} {op}{b} {self.scalar(depth + 1)})"
            return f"({self.scalar(depth + 1)} {op}{b} {self.vector(depth + 1)})"
        op = rng.choice(["+", "-", "*", "/", ">", "and", "or", "unless", "<"])
        m = ""
        r = rng.random()
        if r < 0.5:
            labels = ", ".join(rng.sample(self.LABELS, rng.randint(0, 2)))
            m = f" {'on' if r < 0.3 else 'ignoring'}({labels})"
            if op not in ("and", "or", "unless") and rng.random() < 0.4:
                m += f" {rng.choice(['group_left', 'group_right'])}"
        return f"({self.vector(depth + 1)} {op}{m} {self.vector(depth + 1)})"
