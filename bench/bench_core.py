"""Core interpreter speed: luapy against real Lua 5.4 (lupa), side by side.

    python -m bench.bench_core [rounds]

Prints seconds per run (best of interleaved rounds, and of three fresh
runtimes per luapy variant) and the ratio
luapy/lupa, and luapy against the same program written by hand in Python,
for:
  * fib      recursive fib(27)
  * loop     fill a 100,000-element table, then sum it

It also measures what the budget accounting costs, honestly: against the
same program compiled with ``Options(count_steps=False)``, which leaves
out every step and depth check.  Both the ``standard`` profile with no
limits (what ``luapy`` runs) and the plugin ``sandbox`` profile with its
default budgets are measured, each interleaved with its unchecked twin.
"""

from __future__ import annotations

import sys

from bench.timing import best_of_copies
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

def _python_fib():
    def fib(n):
        if n < 2:
            return n
        return fib(n - 1) + fib(n - 2)
    return lambda: fib(27)


def _python_loop():
    def loop():
        t = []
        for i in range(1, 100001):
            t.append(i)
        total = 0
        for i in range(len(t)):
            total += t[i]
        return total
    return loop


#: The same programs written by hand in Python: the floor of any design
#: that compiles Lua to Python (issue #14 sets its targets as ratios to it).
HAND_WRITTEN = {"fib": _python_fib, "loop": _python_loop}

PROFILES = {
    "standard": lambda count_steps: Options(profile="standard", limits=UNLIMITED, count_steps=count_steps),
    "sandbox": lambda count_steps: Options(count_steps=count_steps),
}


def luapy_runner(source: str, count_steps: bool = True, profile: str = "standard"):
    return LuaRuntime(PROFILES[profile](count_steps)).execute(source)


def lupa_runner(source: str):
    try:
        from lupa import lua54
    except ImportError:
        return None
    return lua54.LuaRuntime().execute(source)


#: Fresh runtimes per luapy variant (see ``main``).
RUNTIMES = 3


def main(rounds: int = 10) -> dict:
    results = {}
    print(f"{'program':8} {'luapy s':>9} {'lupa s':>9} {'ratio':>7} {'python s':>9} {'/python':>8} "
          f"{'acct standard':>14} {'acct sandbox':>13}")
    for name, source in PROGRAMS.items():
        # Each luapy variant runs in RUNTIMES fresh runtimes and keeps its
        # best (``best_of_copies``): one runtime made the accounting figure
        # swing from -15% to +28%.
        runs = {(f"{profile} {checked}", copy): luapy_runner(source, checked == "on", profile)
                for copy in range(RUNTIMES) for profile in PROFILES for checked in ("on", "off")}
        reference = lupa_runner(source)
        if reference is not None:
            runs["lupa", 0] = reference
        runs["python", 0] = HAND_WRITTEN[name]()
        best = best_of_copies(rounds, runs)
        ours, theirs, python = best["standard on"], best.get("lupa"), best["python"]
        ratio = ours / theirs if theirs else None
        accounting = {profile: best[f"{profile} on"] / best[f"{profile} off"] - 1 for profile in PROFILES}
        results[name] = {"luapy": ours, "lupa": theirs, "ratio": ratio, "python": python,
                         "python_ratio": ours / python, "accounting": accounting}
        print(f"{name:8} {ours:9.4f} {theirs if theirs else float('nan'):9.4f} "
              f"{ratio if ratio else float('nan'):7.1f} {python:9.4f} {ours / python:8.1f} "
              f"{accounting['standard']:14.1%} {accounting['sandbox']:13.1%}")
    print("targets (issue #14): /python at most 3.5 (fib) and 3.0 (loop); accounting on fib at most 10%")
    return results


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:2]))
