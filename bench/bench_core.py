"""Core interpreter speed: luapy against real Lua 5.4 (lupa), side by side.

    python -m bench.bench_core

Prints seconds per run (best of N) and the ratio luapy/lupa for:
  * fib      recursive fib(27)
  * loop     fill a 100,000-element table, then sum it
It also measures what the budget accounting costs: the same programs
compiled with ``Options(count_steps=False)``.
"""

from __future__ import annotations


from bench.timing import best_of
from luapy import LuaRuntime, Options
from luapy.options import UNLIMITED

PROGRAMS = {
    "fib": """
        local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
        return function() return fib(27) end
    """,
    "loop": """
        return function()
            local t = {}
            for i = 1, 100000 do t[i] = i end
            local sum = 0
            for i = 1, #t do sum = sum + t[i] end
            return sum
        end
    """,
}


def luapy_runner(source: str, count_steps: bool = True):
    runtime = LuaRuntime(Options(profile="standard", limits=UNLIMITED, count_steps=count_steps))
    return runtime.execute(source)


def lupa_runner(source: str):
    try:
        from lupa import lua54
    except ImportError:
        return None
    return lua54.LuaRuntime().execute(source)


def main(repeat: int = 5) -> dict:
    results = {}
    print(f"{'program':8} {'luapy s':>9} {'lupa s':>9} {'ratio':>7} {'no-acct s':>10} {'acct cost':>9}")
    for name, source in PROGRAMS.items():
        ours = best_of(luapy_runner(source), repeat)
        unchecked = best_of(luapy_runner(source, count_steps=False), repeat)
        reference = lupa_runner(source)
        theirs = best_of(reference, repeat) if reference is not None else None
        ratio = ours / theirs if theirs else None
        overhead = ours / unchecked - 1
        results[name] = {"luapy": ours, "lupa": theirs, "ratio": ratio, "accounting": overhead}
        print(f"{name:8} {ours:9.4f} {theirs if theirs else float('nan'):9.4f} "
              f"{ratio if ratio else float('nan'):7.1f} {unchecked:10.4f} {overhead:9.1%}")
    return results


if __name__ == "__main__":
    main()
