from __future__ import annotations

import pytest

from tests.helpers import WeirProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One `weir serve` per test module, on loopback, in a fresh data folder."""
    proc = WeirProcess(tmp_path_factory.mktemp("weir") / "data")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def api(server):
    return server.http
