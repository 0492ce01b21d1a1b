"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

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
