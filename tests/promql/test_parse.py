"""The parser adapter: positions in errors, exact `@` times, what 2.42 lacks, and a fuzz
that any text is either answered or refused as bad_data, never anything else."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.promql.memsource import MemorySource
from weir.promql import ast
from weir.promql.engine import Engine
from weir.promql.errors import BadDataError, PromQLError
from weir.promql.parse import parse, parse_selector, position_message
from weir.promql.source import Matcher

T = 1_704_067_200_000


def test_selector_matchers_include_the_name():
    node = parse('http_requests_total{job="api", code=~"5.."}')
    assert isinstance(node, ast.VectorSel)
    assert node.matchers == [
        Matcher("job", "=", "api"),
        Matcher("code", "=~", "5.."),
        Matcher("__name__", "=", "http_requests_total"),
    ]


def test_quoted_utf8_names_select_weir_metrics_with_dots():
    node = parse('{"http.server.duration", le="1"}')
    assert isinstance(node, ast.VectorSel)
    assert Matcher("__name__", "=", "http.server.duration") in node.matchers


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("x @ 1704067200", 1_704_067_200_000),
        ("x @ 1704067200.1235", 1_704_067_200_124),
        ("x @ -5", -5_000),
        ("x @ -0.0005", -1),
        ("x @ 0x10", 16_000),
        ("rate(x[5m] @ 1.5)", 1_500),
    ],
)
def test_at_times_are_exact_even_negative(text, ms):
    node = parse(text)
    sel = node.args[0].sel if isinstance(node, ast.Call) else node
    assert sel.at == ast.At("time", ms)


def test_start_and_end_preprocessors():
    node = parse("x @ start() offset 1m")
    assert node.at == ast.At("start") and node.offset_ms == 60_000


def test_subquery_fields():
    node = parse("max_over_time(rate(x[5m])[1h:30s] offset 2m)")
    sub = node.args[0]
    assert isinstance(sub, ast.Subquery)
    assert (sub.range_ms, sub.step_ms, sub.offset_ms) == (3_600_000, 30_000, 120_000)
    assert parse("x[5m:]").step_ms is None


def test_binary_modifiers():
    node = parse("a / on(x, y) group_left(z) b")
    assert (node.card, node.on, node.labels, node.include) == ("many-to-one", True, ["x", "y"], ["z"])
    node = parse("a > bool ignoring(x) b")
    assert (node.card, node.on, node.labels, node.return_bool) == ("one-to-one", False, ["x"], True)
    assert parse("a or b").card == "many-to-many"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("sum(x", "1:6:"),
        ('x{a="b"', "1:8:"),
        ("1 +", "1:4:"),
        ("foo bar", "1:5:"),
        ("x $ y", "1:3:"),
        ('x{a="b}', "1:5:"),
        ("a\n+ )", "2:3:"),
        ("x[5m", "1:5:"),
    ],
)
def test_errors_name_the_position(text, where):
    with pytest.raises(BadDataError) as e:
        parse(text)
    assert str(e.value).startswith(where), str(e.value)
    assert "parse error" in str(e.value)


def test_position_message_counts_lines_and_columns_from_one():
    assert position_message("ab\ncd", 4, "bad") == "2:2: parse error: bad"
    assert position_message("x", 0, "bad") == "1:1: parse error: bad"


@pytest.mark.parametrize(
    "text",
    [
        'sort_by_label(x, "a")',
        "limitk(1, x)",
        'x{a="b" or a="c"}',
        "a + fill(0) b",
        "mad_over_time(x[5m])",
        "rate(x)",
        "x[5m] + 1",
        "1 > 2",
        "x @ Inf",
        "",
        "   ",
        "# only a comment",
    ],
)
def test_what_prometheus_2_42_refuses(text):
    with pytest.raises(BadDataError):
        parse(text)


def test_holt_winters_is_known():
    assert parse("holt_winters(x[5m], 0.5, 0.5)").name == "holt_winters"


def test_parse_selector():
    assert parse_selector('up{job="a"}') == [Matcher("job", "=", "a"), Matcher("__name__", "=", "up")]
    for bad in ("sum(up)", "up[5m]", "up offset 5m", "up @ 10", "1"):
        with pytest.raises(BadDataError):
            parse_selector(bad)


_ATOMS = st.sampled_from(
    [
        "x",
        "y",
        'x{a="1"}',
        '{__name__=~"x|y"}',
        "1",
        "0.5",
        "-2",
        "Inf",
        "NaN",
        '"s"',
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "[5m]",
        "[1m:10s]",
        "[0s]",
        " offset 1m",
        " offset -1h",
        " @ 5",
        " @ -1",
        " @ start()",
        " @ end()",
        "+",
        "-",
        "*",
        "/",
        "%",
        "^",
        "==",
        "!=",
        ">",
        "<",
        ">=",
        "<=",
        " bool ",
        " and ",
        " or ",
        " unless ",
        " on(a)",
        " ignoring(a)",
        " group_left(b)",
        " group_right",
        "sum",
        "avg",
        "topk(2,",
        "quantile(0.5,",
        'count_values("v",',
        " by (a)",
        " without (a)",
        "rate(",
        "irate(",
        "delta(",
        "histogram_quantile(0.9,",
        "label_replace(",
        ', "a", "$1", "a", "(.*)")',
        "abs(",
        "clamp(",
        ", 0, 1)",
        "time()",
        "vector(",
        "scalar(",
        "absent(",
        "sort(",
        "year(",
        "day_of_week()",
        "max_over_time(",
        "quantile_over_time(0.1,",
        "holt_winters(",
        ", 0.5, 0.5)",
        "predict_linear(",
        ", 60)",
        ",",
        " ",
        "#c\n",
        "\\",
        "'",
        "`",
        "@",
        "~",
        "!",
        "=~",
        ":",
        "1e400",
        "0x",
        "5m",
    ]
)


@pytest.fixture(scope="module")
def engine():
    ts = [T - 600_000 + 15_000 * i for i in range(60)]
    return Engine(
        MemorySource(
            [
                ({"__name__": "x", "a": "1"}, ts, [float(i) for i in range(60)]),
                ({"__name__": "y", "a": "1", "b": "2"}, ts, [float(60 - i) for i in range(60)]),
            ]
        ),
        max_samples=100_000,
    )


def _answer_or_bad_data(engine, text):
    for run in (lambda: engine.instant(text, T), lambda: engine.range(text, T - 300_000, T, 60_000)):
        try:
            run()
        except PromQLError as e:
            assert e.error_type in ("bad_data", "execution"), (text, e)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_ATOMS, max_size=12).map("".join))
def test_fuzz_token_soup(engine, text):
    _answer_or_bad_data(engine, text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=40))
def test_fuzz_any_text(engine, text):
    _answer_or_bad_data(engine, text)


def test_matchers_need_no_numpy():
    """The metadata endpoints parse `match[]` only: that must not load numpy."""
    import subprocess
    import sys

    code = "import sys; from weir.promql.parse import parse_selector as p; p('up'); print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False"


def test_the_parser_refuses_what_would_overflow_the_bindings_stack():
    """Whoever calls `parse` (the HTTP API, the engine from Python) gets the bound: without it
    promql-parser dies with a segmentation fault, so the check runs in a child process."""
    import subprocess
    import sys

    script = (
        "from weir.promql.errors import BadDataError\n"
        "from weir.promql.parse import parse, parse_selector\n"
        "for text in (' and '.join(['x'] * 5000), ' or '.join(['x'] * 5000), '-(' * 10000 + '1' + ')' * 10000,\n"
        "             '(' * 20000 + 'x' + ')' * 20000, ' == bool '.join(['x'] * 5000)):\n"
        "    for f in (parse, parse_selector):\n"
        "        try:\n"
        "            f(text)\n"
        "        except BadDataError as e:\n"
        "            assert 'more than 250 operators' in e.message, e.message\n"
        "        else:\n"
        "            raise AssertionError('accepted')\n"
        "print('refused')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "refused", (out.returncode, out.stderr[-2000:])
