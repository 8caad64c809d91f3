"""Every command that calls a server sends the API key (--api-key or WEIR_API_KEY), and an
unreachable server is named with what to do, not as `HTTP 0`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests.helpers import WeirProcess, closed_port
from weir.cli import main

# One command of each group that talks to a server (read-only, so they can run in any order).
CALLS = [
    ["alerts", "ls"], ["files", "ls"], ["metrics", "ls"], ["series", "keyed_cpu"], ["subscriptions", "ls"],
    ["query", "keyed_cpu"],
]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    data = tmp_path_factory.mktemp("keyed") / "data"
    proc = WeirProcess(data)
    proc.start()
    assert proc.http.post("/metrics", {"name": "keyed_cpu", "value": 1}).status == 200
    key = CliRunner().invoke(main, ["keys", "add", "cli", "--data-dir", str(data)]).stdout.strip()
    yield proc, key
    proc.stop()


@pytest.mark.parametrize("args", CALLS, ids=lambda a: " ".join(a))
def test_commands_send_the_key_from_the_option_or_the_environment(keyed, args):
    proc, key = keyed
    denied = CliRunner().invoke(main, [*args, "--url", proc.url])
    assert denied.exit_code == 1 and "API key" in denied.stderr, denied.output
    by_option = CliRunner().invoke(main, [*args, "--url", proc.url, "--api-key", key])
    assert by_option.exit_code == 0, by_option.output
    by_env = CliRunner().invoke(main, [*args, "--url", proc.url], env={"WEIR_API_KEY": key})
    assert by_env.exit_code == 0, by_env.output


@pytest.mark.parametrize("args", CALLS + [["alerts", "show", "r-1"]], ids=lambda a: " ".join(a))
def test_an_unreachable_server_is_named_with_what_to_do(args):
    with closed_port() as port:
        r = CliRunner().invoke(main, [*args, "--url", f"http://127.0.0.1:{port}"])
    assert r.exit_code == 1
    assert f"cannot reach http://127.0.0.1:{port} (connection refused)" in r.stderr
    assert "weir serve" in r.stderr and "WEIR_URL" in r.stderr
    assert "HTTP 0" not in r.output
