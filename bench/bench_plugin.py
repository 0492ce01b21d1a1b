"""Per-call cost of the seed plugin, next to a bare ``json.loads``.

    python -m bench.bench_plugin [--calls 20000] [--rounds 3]

Loads ``examples/plugins/opengauss.lua`` (DeepFlow's documented example) in
a sandboxed ``LuaRuntime`` and calls ``GetWorkloadTypeAndName`` once per pod
of ``tests/data/pods-sample.json``, the 60 pods repeated to ``--calls``.
Each pod's metadata is cut and serialised exactly as the resolver does it
(``resolver.pods.cut_metadata`` and ``go_json``).

Reported side by side, best of ``--rounds`` interleaved rounds (and of
three fresh runtimes per luapy variant), in microseconds per pod:

* ``json.loads``: CPython's C decoder on the same strings (the yardstick);
* ``dkjson.decode``: our bundled dkjson called from Python, no Lua code;
* ``plugin call``: the whole plugin function through ``call_raw``, i.e.
  decode plus the interpreted Lua around it;
* ``resolver LuaPlugin.call``: what the resolver pays per pod: the call
  above, plus reading the results and putting the plugin's state back
  (``LuaRuntime.restore``) so the next pod meets a fresh plugin;
* ``lupa``: real Lua 5.4 running the real dkjson.lua, when lupa is
  installed and a dkjson.lua is found (``DKJSON_LUA`` or the Debian path).

Target (issue #14): plugin call <= 2.5x json.loads.
"""

from __future__ import annotations

import argparse
import json
import os

from bench.timing import best_of_copies
from luapy import LuaRuntime, Options
from resolver.plugins import LuaPlugin
from resolver.pods import cut_metadata, go_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PODS = os.path.join(ROOT, "tests", "data", "pods-sample.json")
PLUGIN = os.path.join(ROOT, "examples", "plugins", "opengauss.lua")


def pod_documents(path: str = PODS) -> list[bytes]:
    """Each pod's metadata as the resolver hands it to plugins."""
    with open(path, encoding="utf-8") as handle:
        pods = json.load(handle)["items"]
    return [go_json(cut_metadata(pod["metadata"])).encode("utf-8") for pod in pods]


#: Fresh runtimes per luapy variant (see ``bench.timing.best_of_copies``).
RUNTIMES = 3


def _reference_dkjson():
    for path in (os.environ.get("DKJSON_LUA"), "/usr/share/lua/5.4/dkjson.lua"):
        if path and os.path.isfile(path):
            return path
    return None


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args(argv)

    documents = pod_documents()
    repeats = max(1, options.calls // len(documents))
    workload = documents * repeats
    calls = len(workload)
    texts = [d.decode("utf-8") for d in workload]
    lua_strings = [d.decode("latin-1") for d in workload]  # Lua strings: one char per byte

    with open(PLUGIN, encoding="utf-8") as handle:
        source = handle.read()

    def plugin_in(lua: LuaRuntime):
        lua.execute(source, name="@opengauss.lua")
        return lua.globals()["GetWorkloadTypeAndName"]._function

    lua = LuaRuntime()
    plugin = plugin_in(lua)
    call_raw = lua.call_raw
    # The plugin must give the right answers before its speed means anything.
    answers = [call_raw(plugin, [s]) for s in lua_strings[:len(documents)]]
    expected = []
    for text in texts[:len(documents)]:
        owners = json.loads(text).get("ownerReferences") or [{}]
        if owners[0].get("kind") == "OpenGaussCluster":
            expected.append(("StatefulSet", owners[0]["name"]))
        else:
            expected.append(("", ""))
    assert [tuple(a) for a in answers] == expected, "plugin results differ from the expected ones"

    def each(function, inputs):
        # Results are dropped at once, as the resolver does: keeping 20,000
        # decoded documents alive would time the garbage collector instead.
        def run():
            for item in inputs:
                function(item)
        return run

    def calling(options: Options | None = None):
        runtime = LuaRuntime(options)
        function, call = plugin_in(runtime), runtime.call_raw
        return each(lambda s: call(function, [s]), lua_strings)

    def decoding():
        runtime = LuaRuntime()
        decode, call = runtime.eval("require('dkjson').decode")._function, runtime.call_raw
        return each(lambda s: call(decode, [s, 1, None]), lua_strings)

    def hosting():
        return each(LuaPlugin("opengauss", source.encode()).call, lua_strings)

    # Every luapy variant in RUNTIMES fresh runtimes, best kept
    # (``best_of_copies``).  "no accounting" is the same plugin compiled
    # without step and depth accounting: what the budget checks cost.
    runs = {("json.loads", 0): each(json.loads, texts)}
    for copy in range(RUNTIMES):
        runs["dkjson.decode", copy] = decoding()
        runs["plugin call", copy] = calling()
        runs["plugin, no accounting", copy] = calling(Options(count_steps=False))
        runs["resolver LuaPlugin.call", copy] = hosting()
    reference = _reference_dkjson()
    if reference is not None:
        try:
            import lupa
        except ImportError:
            lupa = None
        if lupa is not None:
            real = lupa.lua54.LuaRuntime(encoding=None)
            real.execute(b"local path = ...; package.preload.dkjson = function() return dofile(path) end",
                         reference.encode())
            with open(PLUGIN, "rb") as handle:
                real.execute(handle.read())
            runs["lupa + dkjson.lua", 0] = each(real.globals()[b"GetWorkloadTypeAndName"], workload)

    results = best_of_copies(options.rounds, runs)
    base = results["json.loads"]
    mean = sum(map(len, workload)) / calls
    print(f"{calls} calls over {len(documents)} pods (mean document {mean:.0f} bytes), "
          f"best of {options.rounds} rounds and {RUNTIMES} runtimes")
    print(f"{'':24} {'us/pod':>9} {'x json.loads':>13}")
    for name, seconds in results.items():
        print(f"{name:24} {seconds / calls * 1e6:9.2f} {seconds / base:13.2f}")
    accounting = results["plugin call"] / results["plugin, no accounting"] - 1
    print(f"budget accounting costs {accounting:.1%} of a plugin call")


if __name__ == "__main__":
    main()
