"""Weir's PromQL against a real Prometheus 2.42, on the same samples.

One Prometheus (backfilled with promtool) and one SQLite store serve the module. Every query
of the corpus is asked of both at several instants and over two ranges (one with a step
that does not divide the data's interval); the answers must agree series by series,
timestamp by timestamp, values to 1e-9 relative, and errors by type.
"""

from __future__ import annotations

import pytest

from tests.promql import differential as d
from weir.promql.engine import Engine
from weir.promql.source import StoreSource

pytestmark = pytest.mark.skipif(
    not (d.PROMETHEUS and d.PROMTOOL),
    reason="prometheus and promtool are not installed (apt-get install prometheus; CI installs them)",
)

T0, MIN = d.T0, d.MIN
INSTANTS = [
    T0 + 95 * MIN + 30_500,  # the middle
    T0 + 70 * MIN,  # inside h2's 20-minute gap, past the lookback
    T0 + 64 * MIN + 59_000,  # h2's last sample still within the lookback
    T0 + 90_000,  # near the start: windows reach before the first sample
    T0 + 184 * MIN,  # after the end, within the lookback
    T0 + 65 * MIN,  # exactly 5 minutes after aligned_total's sample at 60 min
]
RANGES = [
    (T0 - 10 * MIN, T0 + 182 * MIN, 60_000),
    (T0 + 55 * MIN + 7_000, T0 + 125 * MIN, 37_000),
    (T0 + 59 * MIN, T0 + 67 * MIN, 15_000),  # on aligned_total's samples, across its gap
]
H = "http_request_duration_seconds_bucket"

SELECTORS = [
    "cpu_usage",
    'cpu_usage{host="h2"}',
    'cpu_usage{region!="r0"}',
    'label_test{path=~"foo"}',
    'label_test{path=~"foo.*"}',
    'label_test{path=~"(?i)foo"}',
    'label_test{path!~".*o.*"}',
    'label_test{path=~"a\\\\.b"}',
    'label_test{path=~"a\\\\|b"}',
    'label_test{path=~"a|b"}',
    'label_test{path=~""}',
    'label_test{path!=""}',
    'label_test{path=~".+"}',
    'label_test{path=~"f[o]{2}"}',
    'label_test{path=~"\\\\d+"}',
    'label_test{path=~"[[:alpha:]]+"}',
    'label_test{path=~"[^a-z]+"}',
    'label_test{path=~"f.*|A.*"}',
    'label_test{path=~"with\\\\sspace"}',
    'label_test{path="quo\\"te"}',
    'label_test{path="back\\\\slash"}',
    'label_test{path=~"f\\\\x{f6}.*"}',
    'label_test{path=~"(foo|bar)+"}',
    'label_test{path=~"\\\\w+"}',
    'label_test{path=~"(?:f|F)o+"}',
    'label_test{path=~"[[:upper:]][[:lower:]]"}',
    'label_test{path=~"x-y|a.b"}',
    'label_test{path=~"(?i)F(?-i)oo"}',
    'label_test{path=~"a{,3}|fo{1,2}"}',
    'label_test{path=~"(GET|foo)+"}',
    '{__name__=~"cpu_.*|mem_.*"}',
    '{__name__=~"http_.*", job="api"}',
    '{__name__!~".*_total|.*_bucket|label_test|ts_values|up", host="h1"}',
    '{__name__="up", job=~"a.i"}',
]
MODIFIERS = [
    "cpu_usage offset 10m",
    "cpu_usage offset -5m",
    "cpu_usage @ 1704070800",
    "cpu_usage @ 1704067200.5",
    "cpu_usage @ start()",
    "cpu_usage @ end()",
    "cpu_usage @ 1704078000 offset 1h",
    "rate(http_requests_total[5m] @ end())",
    "rate(http_requests_total[5m] offset 30m)",
    "sum_over_time(cpu_usage[10m] @ start() offset 5m)",
    "max_over_time(cpu_usage[1h:5m] @ end())",
    "max_over_time(cpu_usage[1h:5m] @ start() offset -30m)",
    "avg_over_time(rate(http_requests_total[5m])[20m:1m] offset 10m)",
    "sum_over_time(cpu_usage[5m:1m] @ 1704070800.123)",
    "rate(http_requests_total[5m] offset -10m)",
    "sum(cpu_usage @ start()) - sum(cpu_usage)",
    "http_requests_total offset 1h",
]
RANGE_FUNCTIONS = [
    "rate(http_requests_total[5m])",
    "rate(http_requests_total[1m])",
    "rate(cpu_usage[5m])",
    "increase(http_requests_total[10m])",
    "irate(http_requests_total[2m])",
    "delta(cpu_usage[10m])",
    "idelta(cpu_usage[3m])",
    "deriv(cpu_usage[15m])",
    "predict_linear(cpu_usage[15m], 600)",
    "resets(http_requests_total[1h])",
    "changes(up[30m])",
    "avg_over_time(cpu_usage[10m])",
    "min_over_time(temp_celsius[7m])",
    "max_over_time(temp_celsius[7m])",
    "sum_over_time(up[15m])",
    "count_over_time(cpu_usage[5m])",
    "quantile_over_time(0.9, cpu_usage[10m])",
    "quantile_over_time(0, temp_celsius[10m])",
    "quantile_over_time(1.5, temp_celsius[10m])",
    "stddev_over_time(cpu_usage[10m])",
    "stdvar_over_time(temp_celsius[10m])",
    "last_over_time(cpu_usage[10m])",
    "present_over_time(cpu_usage[2m])",
    'absent_over_time(cpu_usage{host="h2"}[5m])',
    'absent_over_time(nonexistent{job="x"}[5m])',
    "holt_winters(cpu_usage[10m], 0.3, 0.6)",
    "holt_winters(cpu_usage[10m], 1.5, 0.6)",
]
ALIGNED = [
    "aligned_total",
    "rate(aligned_total[1m])",
    "increase(aligned_total[30s])",
    "irate(aligned_total[15s])",
    "count_over_time(aligned_total[1m])",
    "aligned_total offset 5m",
    "changes(aligned_total[2m])",
    "delta(aligned_total[45s])",
    "last_over_time(aligned_total[5m] offset 15s)",
]
SUBQUERIES = [
    "max_over_time(rate(http_requests_total[5m])[30m:1m])",
    "avg_over_time(cpu_usage[20m:])",
    "sum_over_time(sum by (region) (cpu_usage)[15m:2m] offset 5m)",
    "rate(http_requests_total[5m:30s])",
    "min_over_time((cpu_usage > 60)[10m:1m])",
    "deriv(avg_over_time(cpu_usage[5m])[20m:3m])",
]
AGGREGATIONS = [
    "sum(cpu_usage)",
    "sum by (region) (cpu_usage)",
    "sum(cpu_usage) by (region)",
    "sum without (host) (cpu_usage)",
    "avg by (region) (cpu_usage)",
    "min by (region) (temp_celsius)",
    "max without () (cpu_usage)",
    "count by (job) (http_requests_total)",
    "group by (job) (http_requests_total)",
    "stddev by (region) (cpu_usage)",
    "stdvar(temp_celsius)",
    "topk(2, cpu_usage)",
    "topk by (region) (1, cpu_usage)",
    "bottomk(2, temp_celsius)",
    "topk(scalar(sum(up) or vector(3)) - 1, cpu_usage)",
    "bottomk by (region) (scalar(sum(up) or vector(3)) - 2, cpu_usage)",
    "topk(0, cpu_usage)",
    "quantile(0.5, cpu_usage)",
    "quantile by (region) (0.9, cpu_usage)",
    "quantile(-1, cpu_usage)",
    'count_values("val", up)',
    'count_values by (job) ("val", up)',
    'count_values("bad-name", up)',
    'sum by (__name__) ({__name__=~"collide_.*"})',
    "avg(label_test)",
    "sum by (nonexistent) (cpu_usage)",
    "sum(rate(http_requests_total[5m])) by (job, code)",
    'count_values without (instance) ("v", round(rate(http_requests_total[5m])))',
    "stddev without (host) (cpu_usage)",
    "group without (code) (http_requests_total)",
    "avg(temp_celsius * 1e300 * 1e10)",
]
BINARY = [
    "cpu_usage * 2",
    "2 ^ temp_celsius / 1e3",
    "cpu_usage % 7",
    "-cpu_usage",
    "temp_celsius atan2 on() group_left ratio",
    "1 / (temp_celsius - temp_celsius)",
    "0 / (up - up)",
    "cpu_usage > 60",
    "cpu_usage > bool 60",
    "60 < cpu_usage",
    "60 < bool cpu_usage",
    "up == 1",
    "up != bool 0",
    "temp_celsius >= 0",
    "temp_celsius <= 0",
    "1 + 2 * 3",
    "2 ^ 3 ^ 2",
    "-2 ^ 2",
    "5 % 3",
    "1 > bool 2",
    "time() - 1704067200",
    "(1 + 2) / 0",
    "0 / 0",
    "-1 / 0",
    "cpu_usage / on(host) group_left mem_bytes",
    "mem_bytes * on(host) group_right(host) cpu_usage",
    'label_replace(mem_bytes, "zone", "z$1", "host", "h(.)") + on(host) group_right(zone) cpu_usage',
    "cpu_usage unless on() mem_bytes",
    "temp_celsius == bool on(sensor) temp_celsius",
    "mem_bytes / on(host) group_right cpu_usage",
    "cpu_usage + ignoring(region) mem_bytes",
    'rate(http_requests_total{code="500"}[5m]) / ignoring(code) rate(http_requests_total{code="200"}[5m])',
    "http_requests_total / on(job) http_requests_total",
    "cpu_usage + on(region) cpu_usage",
    'up * on(job, instance) group_left(code) http_requests_total{code="200"}',
    "up + on(job) group_left(instance) sum by (job) (up)",
    "collide_a + collide_b",
    '{__name__=~"collide_.*"} + 1',
    '{__name__=~"old_series|new_series"} * 1',
    'rate({__name__=~"old_series|new_series"}[5m])',
    'abs({__name__=~"collide_.*"})',
    "cpu_usage and on(host) mem_bytes",
    "cpu_usage unless on(host) mem_bytes",
    "mem_bytes or cpu_usage",
    "cpu_usage > 60 and cpu_usage < 70",
    "up unless up == 0",
    "http_requests_total and ignoring(code) up",
    "cpu_usage or on() vector(1)",
    "cpu_usage > bool on(host) group_left mem_bytes / 4e7",
    "sum by (job) (rate(http_requests_total[5m])) / on(job) group_left count by (job) (up)",
    "count(cpu_usage) by (region) > 2",
]
FUNCTIONS = [
    "abs(temp_celsius)",
    "ceil(temp_celsius)",
    "floor(temp_celsius)",
    "exp(cpu_usage / 10)",
    "exp(mem_bytes)",
    "sqrt(temp_celsius)",
    "ln(temp_celsius)",
    "log2(cpu_usage)",
    "log10(mem_bytes)",
    "sin(temp_celsius)",
    "cos(temp_celsius)",
    "tan(ratio)",
    "asin(ratio)",
    "acos(ratio)",
    "atan(temp_celsius)",
    "sinh(ratio)",
    "cosh(ratio)",
    "tanh(temp_celsius)",
    "asinh(temp_celsius)",
    "acosh(cpu_usage)",
    "atanh(ratio)",
    "deg(ratio)",
    "rad(temp_celsius)",
    "sgn(temp_celsius)",
    "pi()",
    "clamp(temp_celsius, -5, 10)",
    "clamp(temp_celsius, 10, -5)",
    "clamp_min(temp_celsius, 0)",
    "clamp_max(temp_celsius, 0)",
    "round(temp_celsius)",
    "round(cpu_usage, 5)",
    "round(temp_celsius, 0.3)",
    "time()",
    "timestamp(cpu_usage)",
    "timestamp(cpu_usage offset 5m)",
    "timestamp(rate(http_requests_total[5m]))",
    "timestamp(cpu_usage @ 1704070800)",
    "vector(time())",
    'scalar(cpu_usage{host="h0"})',
    "scalar(cpu_usage)",
    'absent(cpu_usage{host="h2"})',
    'absent(nonexistent{job="a", env=~"p.*"})',
    "absent(sum(nonexistent))",
    "minute()",
    "hour()",
    "day_of_week()",
    "day_of_month()",
    "day_of_year()",
    "days_in_month()",
    "month()",
    "year()",
    "year(ts_values)",
    "month(ts_values)",
    "day_of_month(ts_values)",
    "day_of_year(ts_values)",
    "day_of_week(ts_values)",
    "days_in_month(ts_values)",
    "hour(ts_values)",
    "minute(ts_values)",
    f"histogram_quantile(0.9, rate({H}[5m]))",
    f"histogram_quantile(0.5, {H})",
    f"histogram_quantile(0.99, sum by (le) (rate({H}[10m])))",
    f"histogram_quantile(0, {H})",
    f"histogram_quantile(1, {H})",
    f"histogram_quantile(-0.5, {H})",
    f"histogram_quantile(1.5, {H})",
    f'histogram_quantile(0.25, {H}{{job="broken"}})',
    'label_replace(cpu_usage, "dc", "$1", "region", "r(.*)")',
    'label_replace(cpu_usage, "host", "", "host", ".*")',
    'label_replace(up, "new", "${1}-x-$2", "instance", "(i)(\\\\d)")',
    'label_replace(up, "new", "$1x", "instance", "(i)")',
    'label_replace(up, "bad-name", "x", "job", ".*")',
    'label_replace(up, "x", "y", "job", "(")',
    'label_join(up, "combo", "-", "job", "instance")',
    'label_join(up, "job", "", "nonexistent")',
    "histogram_count(cpu_usage)",
    "histogram_sum(cpu_usage)",
    f"histogram_fraction(0, 0.5, {H})",
]
MORE = [
    "quantile_over_time(NaN, cpu_usage[5m])",
    "round(temp_celsius, -3)",
    "clamp_min(temp_celsius, NaN)",
    f"histogram_quantile(NaN, {H})",
    "scalar(vector(1))",
    "-(-cpu_usage)",
    "sum(-cpu_usage)",
    "count(count by (region) (cpu_usage))",
    "abs(vector(-1))",
    "sgn(0 * temp_celsius)",
    "cpu_usage ^ 0.5",
    "temp_celsius % -3",
    "temp_celsius % 0",
    "time() % 3600",
    "topk(3, label_test)",
    "stdvar_over_time(aligned_total[1m])",
    "timestamp(timestamp(cpu_usage))",
    "1 - cpu_usage / 100 > bool 0.5",
    "sum by (job) (up) * on(job) group_right sum by (job, instance) (up)",
    "max_over_time(deriv(rate(http_requests_total[2m])[10m:1m])[30m:5m])",
    "sum_over_time(cpu_usage[5m] @ start())",
    "changes(ts_values[10m])",
    "avg_over_time(ratio[1h]) * 1e17",
    "min_over_time(cpu_usage[1s])",
]
SORTS = ["sort(cpu_usage)", "sort_desc(temp_celsius)", "sort(ratio * 0 / 0 or temp_celsius)"]
LITERALS_AND_ERRORS = [
    "1e3",
    "0x1f",
    "Inf",
    "-Inf",
    "NaN",
    "010",
    '"hello"',
    "cpu_usage[5m]",
    "http_requests_total[1m] offset 10m",
    "cpu_usage[10m:2m]",
    "rate(cpu_usage)",
    "sum(",
    "cpu_usage{",
    "1 +",
    "cpu_usage[5m] + 1",
    '"a" + 1',
    "cpu_usage @ 1 @ 2",
    "foo bar",
    'sort_by_label(up, "job")',
    '{a=~".*"}',
    '{__name__=~"("}',
    "holt_winters(cpu_usage[5m], 0.1)",
]
CORPUS = (
    SELECTORS
    + MODIFIERS
    + RANGE_FUNCTIONS
    + ALIGNED
    + SUBQUERIES
    + AGGREGATIONS
    + BINARY
    + FUNCTIONS
    + MORE
    + SORTS
    + LITERALS_AND_ERRORS
)


@pytest.fixture(scope="module")
def peers(tmp_path_factory):
    specs = d.dataset()
    folder = tmp_path_factory.mktemp("promql-diff")
    prometheus = d.PrometheusPeer(folder, specs)
    prometheus.start()
    store = d.weir_store(folder / "weir" / "metrics.db", specs, (T0 + d.SPAN) / 1000)
    try:
        yield prometheus, Engine(StoreSource(store))
    finally:
        prometheus.stop()
        store.close()


@pytest.mark.parametrize("query", CORPUS)
def test_same_answers(peers, query):
    prometheus, engine = peers
    problems = []
    ordered = query in SORTS
    for t in INSTANTS:
        prom = prometheus.query("/api/v1/query", {"query": query, "time": d.seconds(t)})
        weir = d.weir_answer(engine.instant, query, t)
        problems += [f"instant @{d.seconds(t)}: {p}" for p in d.compare(prom, weir, ordered=ordered)]
    for start, end, step in RANGES:
        params = {"query": query, "start": d.seconds(start), "end": d.seconds(end), "step": f"{step / 1000:g}"}
        prom = prometheus.query("/api/v1/query_range", params)
        weir = d.weir_answer(engine.range, query, start, end, step)
        problems += [f"range {params['start']}..{params['end']}/{params['step']}: {p}" for p in d.compare(prom, weir)]
    assert not problems, "\n".join(problems[:12])


def test_the_data_is_really_there(peers):
    """Guard against a vacuous suite: both sides hold every series of the dataset."""
    prometheus, engine = peers
    count = 'count({__name__=~".+"})'
    prom = prometheus.query("/api/v1/query", {"query": count, "time": d.seconds(INSTANTS[0])})
    assert int(prom["data"]["result"][0]["value"][1]) == len(d.dataset()) - 1  # all but old_series
    weir = engine.instant(count, INSTANTS[0])
    assert weir.result[0]["value"][1] == prom["data"]["result"][0]["value"][1]


RANDOM = d.RandomExpressions(20240101)
RANDOM_CASES = []
for _ in range(150):
    _start = T0 + RANDOM.rng.randint(-20, 180) * MIN + RANDOM.rng.randint(0, 59_999)
    _step = RANDOM.rng.choice([15_000, 60_000, 37_000])
    RANDOM_CASES.append((RANDOM.vector(), _start, _start + RANDOM.rng.randint(0, 40) * _step, _step))


@pytest.mark.parametrize(("query", "start", "end", "step"), RANDOM_CASES, ids=[c[0] for c in RANDOM_CASES])
def test_same_answers_random(peers, query, start, end, step):
    prometheus, engine = peers
    params = {"query": query, "start": d.seconds(start), "end": d.seconds(end), "step": f"{step / 1000:g}"}
    problems = d.compare(
        prometheus.query("/api/v1/query_range", params), d.weir_answer(engine.range, query, start, end, step)
    )
    prom = prometheus.query("/api/v1/query", {"query": query, "time": d.seconds(end)})
    problems += d.compare(prom, d.weir_answer(engine.instant, query, end))
    assert not problems, "\n".join(problems[:12])
