"""Per-call cost of the seed plugin, next to a bare ``json.loads``.

    python -m bench.bench_plugin [--calls 20000] [--rounds 3]

Loads ``examples/plugins/opengauss.lua`` (DeepFlow's documented example) in
a sandboxed ``LuaRuntime`` and calls ``GetWorkloadTypeAndName`` once per pod
of ``tests/data/pods-sample.json``, the 60 pods repeated to ``--calls``.
Each pod's metadata is cut to the fields DeepFlow hands plugins and
serialised the way Go's ``encoding/json`` does (see ``go_json``).

Reported side by side, best of ``--rounds`` interleaved rounds, in
microseconds per pod:

* ``json.loads``: CPython's C decoder on the same strings (the yardstick);
* ``dkjson.decode``: our bundled dkjson called from Python, no Lua code;
* ``plugin call``: the whole plugin function through ``call_raw`` (what the
  resolver does), i.e. decode plus the interpreted Lua around it;
* ``lupa``: real Lua 5.4 running the real dkjson.lua, when lupa is
  installed and a dkjson.lua is found (``DKJSON_LUA`` or the Debian path).

Target: plugin call <= 3x json.loads.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from luapy import LuaRuntime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PODS = os.path.join(ROOT, "tests", "data", "pods-sample.json")
PLUGIN = os.path.join(ROOT, "examples", "plugins", "opengauss.lua")
#: The metadata fields a DeepFlow Lua plugin receives.
METADATA_FIELDS = ("uid", "name", "namespace", "ownerReferences", "creationTimestamp",
                   "labels", "annotations")

# Go's encoding/json escapes these even though JSON does not require it
# (HTML safety and JavaScript line terminators).
_GO_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
               "<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
               "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _go_string(text: str) -> str:
    out = []
    for char in text:
        escaped = _GO_ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif char < " ":
            out.append("\\u%04x" % ord(char))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def go_json(value) -> str:
    """``json.Marshal``: compact, map keys sorted, HTML-safe escapes, UTF-8."""
    if isinstance(value, dict):
        return "{" + ",".join(_go_string(k) + ":" + go_json(value[k]) for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, str):
        return _go_string(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return json.dumps(value)


def pod_documents(path: str = PODS) -> list[bytes]:
    with open(path, encoding="utf-8") as handle:
        pods = json.load(handle)["items"]
    documents = []
    for pod in pods:
        metadata = pod["metadata"]
        cut = {k: metadata[k] for k in METADATA_FIELDS if k in metadata}
        documents.append(go_json(cut).encode("utf-8"))
    return documents


def interleaved_best(rounds: int, runs: dict) -> dict:
    """Best time of each run over ``rounds``, running them in turn each round.

    Interleaving keeps the ratios honest on a shared machine: a slow spell
    hits every variant of that round instead of one variant's whole series.
    """
    best = {name: float("inf") for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


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

    lua = LuaRuntime()
    with open(PLUGIN, encoding="utf-8") as handle:
        lua.execute(handle.read(), name="@opengauss.lua")
    plugin = lua.globals()["GetWorkloadTypeAndName"]._function
    decode = lua.eval("require('dkjson').decode")._function
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

    runs = {
        "json.loads": each(json.loads, texts),
        "dkjson.decode": each(lambda s: call_raw(decode, [s, 1, None]), lua_strings),
        "plugin call": each(lambda s: call_raw(plugin, [s]), lua_strings),
    }

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
            runs["lupa + dkjson.lua"] = each(real.globals()[b"GetWorkloadTypeAndName"], workload)

    results = interleaved_best(options.rounds, runs)
    base = results["json.loads"]
    mean = sum(map(len, workload)) / calls
    print(f"{calls} calls over {len(documents)} pods (mean document {mean:.0f} bytes), best of {options.rounds}")
    print(f"{'':22} {'us/pod':>9} {'x json.loads':>13}")
    for name, seconds in results.items():
        print(f"{name:22} {seconds / calls * 1e6:9.2f} {seconds / base:13.2f}")


if __name__ == "__main__":
    main()
