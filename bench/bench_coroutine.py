"""Coroutines: a resume/yield round trip, and many suspended coroutines.

    python -m bench.bench_coroutine [count]

Prints, side by side with real Lua 5.4 (lupa) when installed:
  * round trip   microseconds per ``resume`` + ``yield`` pair (a wrap'd
                 generator resumed in a loop), with the body a few calls
                 deep as well (every frame between resume and yield is a
                 generator to suspend);
  * suspended    ``count`` coroutines (default 1,000,000) started and left
                 suspended in one runtime: seconds, and bytes each by the
                 process's peak RSS growth and by what the memory budget
                 charged.
"""

from __future__ import annotations

import resource
import sys
import time

from bench.timing import interleaved_best
from luapy import Limits, LuaRuntime

ROUND_TRIPS = 100_000

ROUND_TRIP = """
    local depth = ...
    local function down(n) if n == 0 then coroutine.yield() else down(n - 1) end end
    local co = coroutine.wrap(function() while true do down(depth) end end)
    return function()
        for i = 1, %d do co() end
    end
""" % ROUND_TRIPS

SUSPENDED = """
    local count = ...
    local before = collectgarbage("count")
    held = {}
    local create, resume, yield = coroutine.create, coroutine.resume, coroutine.yield
    for i = 1, count do
        local co = create(function(x) yield(x) return x end)
        resume(co, i)
        held[i] = co
    end
    return #held, (collectgarbage("count") - before) * 1024
"""


def _lupa():
    try:
        from lupa import lua54
    except ImportError:
        return None
    return lua54.LuaRuntime()


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def round_trips(rounds: int = 7) -> dict:
    results = {}
    print(f"{'round trip':16} {'luapy us':>9} {'lupa us':>9} {'ratio':>7}")
    for depth in (0, 5):
        lua = LuaRuntime(limits=Limits(time=None))
        runs = {"luapy": lua.execute(ROUND_TRIP, depth)}
        lupa = _lupa()
        if lupa is not None:
            runs["lupa"] = lupa.execute(ROUND_TRIP, depth)
        best = interleaved_best(rounds, runs)
        ours = best["luapy"] / ROUND_TRIPS * 1e6
        theirs = best["lupa"] / ROUND_TRIPS * 1e6 if "lupa" in best else None
        label = f"{depth} calls deep"
        print(f"{label:16} {ours:9.2f} {theirs if theirs else float('nan'):9.2f} "
              f"{ours / theirs if theirs else float('nan'):7.1f}")
        results[depth] = {"luapy": ours, "lupa": theirs}
    return results


def suspended(count: int) -> dict:
    lua = LuaRuntime(profile="trusted", limits=Limits(steps=None, time=None, memory=1 << 40,
                                                      coroutines=count))
    rss_before = _peak_rss()
    started = time.perf_counter()
    suspended, charged = lua.execute(SUSPENDED, count)
    elapsed = time.perf_counter() - started
    assert suspended == count
    charged /= count
    grown = (_peak_rss() - rss_before) / count
    print(f"{count:,} suspended coroutines: {elapsed:.1f} s, "
          f"{grown:,.0f} bytes each by peak RSS, {charged:,.0f} charged to the memory budget "
          f"(with its slot in the table that holds it)")
    result = {"count": count, "seconds": elapsed, "rss_each": grown, "charged_each": charged}
    lupa = _lupa()
    if lupa is not None:
        started = time.perf_counter()
        lupa.execute(SUSPENDED, count)
        print(f"  lupa: {time.perf_counter() - started:.1f} s")
    return result


def main(count: int = 1_000_000) -> dict:
    return {"round_trip": round_trips(), "suspended": suspended(count)}


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
