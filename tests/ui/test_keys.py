"""With API keys configured, the UI asks for one, keeps it in the tab's session storage only,
sends it as x-api-key, and every page works after it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests.helpers import WeirProcess
from tests.ui.conftest import T0, seed
from weir.cli import main

UNAUTHORIZED = "Failed to load resource: the server responded with a status of 401 (Unauthorized)"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    data = tmp_path_factory.mktemp("ui-keys") / "data"
    proc = WeirProcess(data, "--retention", "3650d", "--no-exports")
    proc.start()
    seed(proc)
    result = CliRunner().invoke(main, ["keys", "add", "browser", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert proc.http.get("/metrics").status == 401 and proc.http.get("/ui/").status == 200
    yield proc, key
    proc.stop()


def test_the_key_prompt_appears_and_the_pages_work_after_it(keyed, tab):
    proc, key = keyed
    tab.page.goto(proc.url + "/ui/")
    prompt = tab.page.get_by_test_id("key-prompt")
    prompt.wait_for()
    assert "needs an API key" in prompt.inner_text()
    tab.shot("key-prompt")
    prompt.get_by_label("API key").fill(key + "-wrong")
    prompt.get_by_role("button", name="Use this key").click()
    tab.page.get_by_text("That key was refused").wait_for()
    prompt.get_by_label("API key").fill(key)
    prompt.get_by_role("button", name="Use this key").click()
    tab.wait("window.__weir.metrics && window.__weir.metrics.total === 3")
    assert prompt.count() == 0
    assert tab.page.evaluate("sessionStorage.getItem('weir.apiKey')") == key
    assert key not in tab.page.evaluate("JSON.stringify(Object.assign({}, localStorage))")
    # the other pages read with the key, without asking again
    tab.page.get_by_role("link", name="Status").click()
    tab.wait("window.__weir.status && window.__weir.status.series === 7")
    tab.page.goto(proc.url + f"/ui/explore?lang=weir&start={T0}&end={T0 + 3600}&query=avg(cpu)%20by%20(region)")
    tab.wait("window.__weir.explore && window.__weir.explore.status === 'done' && !!window.__weir.chart")
    assert tab.debug(".explore.queries[0].series") == 2
    tab.page.goto(proc.url + "/ui/alerts")
    tab.wait("Array.isArray(window.__weir.alerts)")
    assert tab.page.get_by_test_id("key-prompt").count() == 0
    # the browser logged the two refused reads and nothing else
    assert set(tab.console_errors) <= {UNAUTHORIZED} and tab.console_errors
    assert tab.outside == []


def test_another_tab_asks_again_and_forgetting_the_key_asks_again(keyed, browser):
    proc, key = keyed
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(proc.url + "/ui/status")
        page.get_by_test_id("key-prompt").get_by_label("API key").fill(key)
        page.get_by_role("button", name="Use this key").click()
        page.get_by_test_id("status-cards").wait_for()
        other = ctx.new_page()  # session storage is per tab
        other.goto(proc.url + "/ui/status")
        other.get_by_test_id("key-prompt").wait_for()
        page.get_by_role("button", name="forget key").click()
        page.get_by_test_id("key-prompt").wait_for()
        assert page.evaluate("sessionStorage.getItem('weir.apiKey')") is None
    finally:
        ctx.close()
