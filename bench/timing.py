"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import os
import time


def best_of(function, repeat: int) -> float:
    """The best wall time of ``repeat`` runs: the least disturbed one."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


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


def best_of_copies(rounds: int, runs: dict) -> dict:
    """``interleaved_best`` over runs keyed ``(variant, copy)``: each
    variant's best over its copies.

    Identical code in one fresh ``LuaRuntime`` can run 10-40% slower than in
    another, for the whole life of that runtime (seen on fib and the seed
    plugin; cause unknown), so a single runtime per variant made ratios
    swing by as much.  Several copies, best kept, measure the code.
    """
    best = {}
    for (variant, _), seconds in interleaved_best(rounds, runs).items():
        best[variant] = min(best.get(variant, seconds), seconds)
    return best


def cpu_seconds(pid: int | None) -> float:
    """User plus system CPU time of a process (Linux ``/proc``), 0 if unknown."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int | str = "self") -> float | None:
    """Resident memory of a process (Linux ``/proc``), in MB; None if unknown."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
