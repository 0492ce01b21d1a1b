"""String library speed: luapy against real Lua 5.4 (lupa), side by side.

    python -m bench.bench_string

One Lua program runs 20,000 rounds of ``string.format`` (the same spec each
time, as log/label building does), a ``gsub`` and a ``find`` with a
capture, plus each operation on its own.  Prints seconds (best of the
interleaved rounds: luapy and lupa take turns, so a slow spell of a shared
machine hits both; luapy's also best of three fresh runtimes) and the ratio
luapy/lupa.  Target (issue #14): the
``all`` row within 4x of lupa.
"""

from __future__ import annotations


from bench.timing import best_of_copies
from luapy import LuaRuntime, Options
from luapy.options import UNLIMITED

ROUNDS = 20_000
#: Fresh luapy runtimes per case (see ``bench.timing.best_of_copies``).
RUNTIMES = 3

BODIES = {
    "all": """
        local s = string.format("item-%05d:%s:%.2f", i, name, x)
        local r = string.gsub(s, "%-", "_")
        local a, b, n = string.find(r, ":(%a+):")
    """,
    "format": 'local s = string.format("item-%05d:%s:%.2f", i, name, x)',
    "gsub": 'local r = string.gsub("item-00042:pod:1.50", "%-", "_")',
    "find": 'local a, b, n = string.find("item_00042:pod:1.50", ":(%a+):")',
}


def program(body: str) -> str:
    return f"""
        return function()
            local name, x = "pod", 1.5
            for i = 1, {ROUNDS} do
                {body}
            end
        end
    """


def main(rounds: int = 9) -> dict:
    try:
        from lupa import lua54
    except ImportError:
        lua54 = None
    results = {}
    print(f"{'case':8} {'luapy s':>9} {'lupa s':>9} {'ratio':>7}")
    for case, body in BODIES.items():
        source = program(body)
        runs = {("luapy", copy): LuaRuntime(Options(profile="standard", limits=UNLIMITED)).execute(source)
                for copy in range(RUNTIMES)}
        if lua54 is not None:
            runs["lupa", 0] = lua54.LuaRuntime().execute(source)
        best = best_of_copies(rounds, runs)
        luapy_s, lupa_s = best["luapy"], best.get("lupa")
        ratio = luapy_s / lupa_s if lupa_s else None
        if ratio is not None:
            print(f"{case:8} {luapy_s:9.4f} {lupa_s:9.4f} {ratio:6.1f}x", flush=True)
        else:
            print(f"{case:8} {luapy_s:9.4f} {'-':>9} {'-':>7}", flush=True)
        results[case] = (luapy_s, lupa_s, ratio)
    return results

if __name__ == "__main__":
    main()
