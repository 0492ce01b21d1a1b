"""luapy in WebAssembly: Pyodide under Node.js against CPython, side by side.

    python -m bench.bench_wasm [rounds]

The same measuring code (``MEASURE``) runs in this CPython and in Pyodide
(the npm package under Node.js, with the bundle the playground uses), and
the table gives seconds (best of ``rounds``) and the ratio Pyodide/CPython:

  * fib     recursive fib(24), ``standard`` profile, no budgets
  * loop    fill a 100,000-element table, then sum it
  * plugin  the seed plugin (examples/plugins/opengauss.lua) per pod of
            examples/pods.json, through the resolver's ``LuaPlugin.call``,
            in microseconds per pod

plus Pyodide's start-up time under Node.js.  Skipped (with the reason) when
Node.js/npm or the npm package are not available.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from playground import pyodide_env

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "examples" / "plugins" / "opengauss.lua"
PODS = REPO / "examples" / "pods.json"

MEASURE = r'''
import json, time
from luapy import Limits, LuaRuntime, Options
from resolver.plugins import LuaPlugin, to_lua_string
from resolver.pods import collect, parse_documents

def best(rounds, function):
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)

# No budgets, like luapy.options.UNLIMITED, but a depth that needs no
# deep-stack thread: WebAssembly cannot start one.
NO_BUDGETS = Limits(steps=None, time=None, memory=None, depth=1000, source_size=None)

def program(source):
    return LuaRuntime(Options(profile="standard", limits=NO_BUDGETS)).execute(source)

fib = program("local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end "
              "return function() return fib(24) end")
loop = program("return function() local t = {} for i = 1, 100000 do t[i] = i end "
               "local sum = 0 for i = 1, #t do sum = sum + t[i] end return sum end")
plugin = LuaPlugin("opengauss", open(SEED, encoding="utf-8").read(), on_output=lambda *_: None)
metas = [to_lua_string(pod.meta_json) for pod in collect(parse_documents(open(PODS, encoding="utf-8").read())).pods]

def every_pod():
    for meta in metas:
        plugin.call(meta)

fib(); loop(); every_pod()   # warm up: compile, first-call caches
print(json.dumps({"fib": best(ROUNDS, fib), "loop": best(ROUNDS, loop),
                  "plugin": best(ROUNDS, every_pod) / len(metas), "pods": len(metas)}))
'''


def _script(seed: str, pods: str, rounds: int) -> str:
    return f"SEED = {seed!r}\nPODS = {pods!r}\nROUNDS = {rounds}\n" + MEASURE


def measure_cpython(rounds: int) -> dict:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_script(str(SEED), str(PODS), rounds), "<bench_wasm>", "exec"), {})
    return json.loads(out.getvalue().strip().splitlines()[-1])


def measure_pyodide(rounds: int) -> dict:
    home = "/home/pyodide/luapy"
    extra = {"examples/plugins/opengauss.lua": SEED, "examples/pods.json": PODS}
    with tempfile.TemporaryDirectory(prefix="bench-wasm-") as workdir:
        return pyodide_env.run_in_node(
            _script(f"{home}/examples/plugins/opengauss.lua", f"{home}/examples/pods.json", rounds),
            Path(workdir), extra=extra)


def main(rounds: int = 5) -> dict | None:
    try:
        pyodide_env.ensure_pyodide()
        wasm = measure_pyodide(rounds)
    except pyodide_env.PyodideUnavailable as exc:
        print(f"skipped: {exc}")
        return None
    native = measure_cpython(rounds)
    print(f"Pyodide {pyodide_env.PYODIDE_VERSION} under Node.js vs CPython "
          f"{sys.version.split()[0]}, best of {rounds}")
    print(f"{'':10} {'CPython':>12} {'Pyodide':>12} {'ratio':>7}")
    for name, label, scale, unit in (("fib", "fib(24)", 1, "s"), ("loop", "loop 1e5", 1, "s"),
                                     ("plugin", "plugin/pod", 1e6, "us")):
        print(f"{label:10} {native[name] * scale:>10.3f}{unit:>2} {wasm[name] * scale:>10.3f}{unit:>2} "
              f"{wasm[name] / native[name]:>6.2f}x")
    print(f"Pyodide start-up under Node.js: {wasm['load_seconds']:.1f} s "
          f"(seed plugin over {wasm['pods']} pods)")
    return {"cpython": native, "pyodide": wasm}


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
