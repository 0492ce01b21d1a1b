"""The plugin playground in a real browser: Debian's headless Chromium.

Builds the page (``python -m playground.build``, as ``make playground``
does) into a temporary folder, serves it on 127.0.0.1 and drives it over
the DevTools protocol: the seed plugin on the sample pods, a plugin error
with its ``chunk:line``, and an endless loop that ends in a budget error
while the page keeps answering.  Screenshots are kept under
``tmp/artifacts/`` (not committed).  Skips when Chromium (or Node.js/npm,
which vendor Pyodide) is missing.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from playground import build, pyodide_env
from playground.browser import Browser, find_chromium

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "tmp" / "artifacts"

ERROR_PLUGIN = """\
function GetWorkloadTypeAndName(metaJsonStr)
  print("looking at", #metaJsonStr, "bytes")
  if metaJsonStr:find("ogtest", 1, true) then
    local owner = nil
    return owner.kind, "x"
  end
  return "", ""
end
"""

LOOP_PLUGIN = """\
function GetWorkloadTypeAndName(metaJsonStr)
  local n = 0
  while true do n = n + 1 end
end
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass    # a browser closing mid-download resets its connections; that is no failure


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if find_chromium() is None:
        pytest.skip("the browser test needs Chromium (apt-get install chromium)")
    try:
        folder = build.build(tmp_path_factory.mktemp("playground") / "site")
    except pyodide_env.PyodideUnavailable as exc:
        pytest.skip(f"the playground needs Node.js/npm to vendor Pyodide: {exc}")
    server = _Server(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def page(site):
    with Browser() as browser:
        browser.set_viewport(1366, 900)
        started = time.monotonic()
        browser.goto(site)
        browser.wait_for("document.getElementById('status').dataset.state === 'ready'", timeout=180)
        browser.load_seconds = time.monotonic() - started
        yield browser


def status(page) -> str:
    return page.evaluate("document.getElementById('status').dataset.state")


def run_plugin(page, source: str | None = None, timeout: float = 60) -> None:
    """Put ``source`` in the editor (None keeps the seed plugin) and run it."""
    if source is not None:
        page.evaluate(f"(() => {{ const s = document.getElementById('plugin-source');"
                      f" s.value = {json.dumps(source)}; s.dispatchEvent(new Event('input')); }})()")
    page.evaluate("document.getElementById('run').click()")
    page.wait_for("document.getElementById('status').dataset.state !== 'ready'"
                  " && document.getElementById('status').dataset.state !== 'done'", timeout=5)
    page.wait_for("document.getElementById('status').dataset.state === 'done'", timeout=timeout)


def table(page) -> list[list[str]]:
    return page.evaluate("[...document.querySelectorAll('#results tbody tr')]"
                         ".map(tr => [...tr.cells].map(td => td.textContent))")


def test_the_seed_plugin_names_the_opengauss_pods(page):
    assert "GetWorkloadTypeAndName" in page.evaluate("document.getElementById('plugin-source').value")
    assert page.evaluate("document.getElementById('pods').value").lstrip().startswith("{")
    run_plugin(page)
    rows = table(page)
    assert len(rows) == 63
    ogtest = [row for row in rows if row[0] == "opengauss"]
    assert ogtest == [["opengauss", f"ogtest-sts-{i}", "StatefulSet", "ogtest", "plugin:opengauss", ""]
                      for i in range(3)]
    assert ["kube-system", "calico-node-v8psj", "DaemonSet", "calico-node", "builtin:owner", ""] in rows
    assert ["kube-system", "one-off-task-54nhn", "", "", "unresolved", "no owner"] in rows
    assert page.evaluate("document.getElementById('problems').textContent") == ""
    page.screenshot(ARTIFACTS / "playground-seed-1366.png")


def test_a_plugin_error_shows_its_chunk_and_line(page):
    run_plugin(page, ERROR_PLUGIN)
    errors = page.evaluate("[...document.querySelectorAll('#plugin-errors li')].map(li => li.textContent)")
    assert len(errors) == 1
    assert "opengauss.lua:5" in errors[0] and "attempt to index a nil value (local 'owner')" in errors[0]
    assert "on 3 pods" in errors[0]
    assert page.evaluate("document.querySelector('#gutter .bad').textContent") == "5"
    # The pods the plugin failed on fall through to the built-in rules.
    ogtest = [row for row in table(page) if row[0] == "opengauss"]
    assert {row[5] for row in ogtest} == {"unknown owner kind OpenGaussCluster"}
    # Every pod but the 3 serverless ones (the virtual-kubelet rule comes first) met the plugin.
    printed = page.evaluate("document.getElementById('console').textContent").splitlines()
    assert len(printed) == 60 and printed[0].startswith("looking at\t")


def test_an_endless_loop_ends_in_a_budget_error_and_the_page_stays_responsive(page):
    page.evaluate(f"(() => {{ const s = document.getElementById('plugin-source');"
                  f" s.value = {json.dumps(LOOP_PLUGIN)}; s.dispatchEvent(new Event('input'));"
                  f" document.getElementById('run').click(); }})()")
    answered = 0
    started = time.monotonic()
    while status(page) == "running":
        # The main thread answers and repaints while the worker spins.
        clicks = page.evaluate("(() => { const f = document.getElementById('filter');"
                               " f.value = 'x'; f.value = ''; return performance.now() > 0; })()")
        assert clicks is True
        answered += 1
        assert time.monotonic() - started < 60, "the loop was never stopped"
        time.sleep(0.2)
    assert status(page) == "done"
    assert answered >= 3        # it ran long enough for the page to answer while it did
    problems = page.evaluate("document.getElementById('problems').textContent")
    assert "taken out of this pass" in problems
    kinds = page.evaluate("[...document.querySelectorAll('#plugin-errors li')].map(li => li.dataset.kind)")
    assert kinds and set(kinds) <= {"limit_time", "limit_steps"}
    assert "budget exhausted" in problems and "opengauss.lua:3" in problems
    assert page.evaluate("document.querySelector('#plugin-errors .badge').textContent") in (
        "time budget", "step budget")
    page.screenshot(ARTIFACTS / "playground-loop-1366.png")


def test_the_page_fits_a_narrow_screen(page):
    run_plugin(page, page.evaluate("fetch('samples/opengauss.lua').then(r => r.text())"))
    page.set_viewport(400, 860)
    try:
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        page.screenshot(ARTIFACTS / "playground-400.png", full_page=True)
    finally:
        page.set_viewport(1366, 900)
