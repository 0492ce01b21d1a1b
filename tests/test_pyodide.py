"""luapy and the resolver's core under Pyodide (CPython compiled to WebAssembly).

One Node.js process loads the npm ``pyodide`` package (installed once into a
cache outside the repository), unpacks the bundle that the playground also
uses (luapy, lark, the resolver's core, the bridge) and runs ``IN_PYODIDE``,
which reports as JSON; the tests below check that report against CPython.
Skips when node/npm are missing or the npm install fails (offline).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from playground import bridge, pyodide_env
from tests import luascripts

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "examples" / "plugins" / "opengauss.lua"
PODS = REPO / "examples" / "pods.json"


def _uses_coroutines(path: Path) -> bool:
    return "coroutine" in path.read_text(encoding="latin-1")


#: Every Lua test script that needs no coroutine: the language topics and
#: each library but coroutine (one coroutine script is run on its own).
SLICE = [luascripts.chunk_name(p) for p in luascripts.scripts() if not _uses_coroutines(p)]
#: One coroutine script, which must run (coroutines need no thread).
COROUTINE_SCRIPT = "lib/coroutine/resume_and_yield.lua"

IN_PYODIDE = r'''
import json, sys, time
report = {"python": sys.version.split()[0], "platform": sys.platform}

import luapy
import resolver.chain, resolver.plugins, resolver.pods, resolver.rules, resolver.workers
report["resolver_modules"] = sorted(m for m in sys.modules if m.split(".")[0] == "resolver")
report["workers_available"] = resolver.workers.available()

from tests import luascripts
from luapy import Limits, LuaError, LuaRuntime

def run_script(path):
    # luascripts.run_luapy, with room for WebAssembly's speed in the time budget.
    runtime = LuaRuntime(profile="standard", encoding="latin-1", limits=Limits(time=30))
    output = []
    runtime.set_output(output.append)
    try:
        runtime.execute(path.read_bytes(), name="@" + luascripts.chunk_name(path))
        error = None
    except LuaError as failure:
        error = str(failure)
    return luascripts.Run(luascripts._split("".join(output)), error)

report["scripts"], report["script_seconds"] = {}, {}
for name in SLICE:
    path = luascripts.SCRIPT_DIR / name
    started = time.perf_counter()
    report["scripts"][name] = luascripts.mismatches(luascripts.read_script(path), run_script(path))
    report["script_seconds"][name] = round(time.perf_counter() - started, 3)

def outcome(source, limits=None):
    from luapy import Limits, LuaError, LuaLimitError, LuaRuntime
    runtime = LuaRuntime(limits=limits or Limits())
    started = time.perf_counter()
    try:
        result = ["value", runtime.execute(source, name="=(hostile)")]
    except LuaLimitError as exc:
        result = ["limit", exc.limit, str(exc)]
    except LuaError as exc:
        result = ["error", str(exc)]
    return result + [round(time.perf_counter() - started, 3)]

from luapy import Limits
report["hostile"] = {name: outcome(source, limits) for name, source, limits in [
    ("steps", "while true do end", Limits(steps=2_000_000, time=None)),
    ("time", "local x = 0 while true do x = x + 1 end", Limits(steps=None, time=0.5)),
    ("memory-string", "local s = 'x' while true do s = s .. s end", Limits(steps=None, time=20)),
    ("memory-tables", "local t = {} while true do t = {t} end", Limits(steps=None, time=20)),
    ("depth", "local function f() return 1 + f() end return f()", None),
    ("depth-caught", "local function f() return 1 + f() end local ok, e = pcall(f) return ok, e", None),
    ("depth-1000", "local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end "
                   "return f(990), pcall(f, 2000)", Limits(depth=1000)),
    ("coroutine-wrap", "local gen = coroutine.wrap(function() coroutine.yield(1) end) return gen()", None),
    ("coroutine-resume", "local co = coroutine.create(function() coroutine.yield(1) end) "
                         "return coroutine.resume(co)", None),
]}
path = luascripts.SCRIPT_DIR / COROUTINE_SCRIPT
started = time.perf_counter()
run = run_script(path)
report["coroutine_script"] = [run.output, run.error, time.perf_counter() - started]

import playground_bridge
seed = open("/home/pyodide/luapy/examples/plugins/opengauss.lua").read()
pods = open("/home/pyodide/luapy/examples/pods.json").read()
started = time.perf_counter()
report["seed"] = playground_bridge.resolve(seed, "opengauss", pods)
report["seed_seconds"] = time.perf_counter() - started
loop = "function GetWorkloadTypeAndName(meta)\n  while true do end\nend\n"
started = time.perf_counter()
report["loop"] = playground_bridge.resolve(loop, "loop", pods)
report["loop_seconds"] = time.perf_counter() - started
print(json.dumps(report))
'''


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    try:
        pyodide_env.ensure_pyodide()
    except pyodide_env.PyodideUnavailable as exc:
        pytest.skip(f"Pyodide tests need Node.js and the npm pyodide package: {exc}")
    if shutil.which("node") is None:
        pytest.skip("Pyodide tests need Node.js (node is not installed)")
    extra = {"tests/__init__.py": REPO / "tests" / "__init__.py",
             "tests/luascripts.py": REPO / "tests" / "luascripts.py",
             "examples/plugins/opengauss.lua": SEED, "examples/pods.json": PODS}
    for name in SLICE + [COROUTINE_SCRIPT]:
        extra[f"tests/lua/{name}"] = luascripts.SCRIPT_DIR / name
    script = (f"SLICE = {SLICE!r}\nCOROUTINE_SCRIPT = {COROUTINE_SCRIPT!r}\n" + IN_PYODIDE)
    return pyodide_env.run_in_node(script, tmp_path_factory.mktemp("pyodide"), extra=extra)


def test_it_really_is_webassembly(report):
    assert report["platform"] == "emscripten"


def test_the_resolver_core_imports_without_store_or_service(report):
    assert report["resolver_modules"] == ["resolver", "resolver.chain", "resolver.plugins",
                                          "resolver.podreader", "resolver.pods", "resolver.rules",
                                          "resolver.workers"]


def test_worker_process_isolation_reports_itself_unavailable(report):
    assert report["workers_available"] is False


def test_the_lua_script_slice_passes(report):
    assert len(report["scripts"]) == len(SLICE) >= 60
    failed = {name: problems for name, problems in report["scripts"].items() if problems}
    assert failed == {}


def test_the_seed_plugin_gives_cpython_answers(report):
    here = bridge.resolve(SEED.read_text(), "opengauss", PODS.read_text())
    there = report["seed"]
    assert there["load_error"] is None and there["errors"] == []
    assert len(there["rows"]) == 63
    assert there["rows"] == here["rows"]
    ogtest = [(r["pod"], r["type"], r["name"], r["source"]) for r in there["rows"]
              if r["namespace"] == "opengauss"]
    assert ogtest == [(f"ogtest-sts-{i}", "StatefulSet", "ogtest", "plugin:opengauss") for i in range(3)]


@pytest.mark.parametrize("case, limit", [("steps", "steps"), ("time", "time"),
                                         ("memory-string", "memory"), ("memory-tables", "memory")])
def test_budgets_stop_hostile_code(report, case, limit):
    kind, name, message, seconds = report["hostile"][case]
    assert (kind, name) == ("limit", limit), message
    assert "budget exhausted" in message
    assert seconds < 60


def test_runaway_recursion_is_a_stack_overflow_not_a_crash(report):
    assert report["hostile"]["depth"][:2] == ["error", "(hostile):1: stack overflow"]
    assert report["hostile"]["depth-caught"][:2] == ["value", [False, "(hostile):1: stack overflow"]]
    assert report["hostile"]["depth-1000"][:2] == ["value", [990, False, "(hostile):1: stack overflow"]]


def test_coroutines_run_in_webassembly_too(report):
    # They need no thread (generator chains), so WebAssembly runs them.
    kind, value, seconds = report["hostile"]["coroutine-wrap"]
    assert (kind, value) == ("value", 1)
    kind, values, seconds = report["hostile"]["coroutine-resume"]
    assert kind == "value" and list(values) == [True, 1]
    output, error, seconds = report["coroutine_script"]
    assert error is None and "cannot start a thread" not in output
    assert seconds < 30


def test_an_endless_plugin_is_stopped_by_its_budget_and_dropped(report):
    loop = report["loop"]
    assert loop["disabled"] == ["loop"]
    assert loop["errors"] and {e["kind"] for e in loop["errors"]} <= {"limit_steps", "limit_time"}
    assert all(e["message"].startswith("loop.lua:2: ") for e in loop["errors"])
    assert report["loop_seconds"] < 60
