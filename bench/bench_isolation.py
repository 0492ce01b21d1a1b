"""Per-pod cost of running a plugin in a worker process (``--isolation process``).

    python -m bench.bench_isolation [--calls 6000] [--rounds 3]

Calls the seed plugin (``examples/plugins/opengauss.lua``) on the pods of
``tests/data/pods-sample.json``, repeated to ``--calls``, through
``call_many`` (what a resolution pass does), in-process and in a worker
process at several batch sizes.  Reported, best of ``--rounds``
interleaved rounds: microseconds per pod, the extra cost per pod over
in-process, and the ratio.  Also: how long starting a worker (spawn and
plugin load) takes, and the worker's resident memory.

Wall time on a shared machine is noisy, so CPU time is reported too: the
parent's and the worker's (from ``/proc``), per pod.  Their sum is what
isolation costs the machine; the parent's share is what the service's own
work (HTTP, other plugins) competes with.
"""

from __future__ import annotations

import argparse
import os
import time

from bench.bench_plugin import PLUGIN, pod_documents
from bench.timing import cpu_seconds as _cpu_seconds, interleaved_best, rss_mb as _rss_mb
from resolver.plugins import LuaPlugin
from resolver.workers import BATCH_SIZE, WorkerPlugin

BATCH_SIZES = sorted({1, 8, 64, BATCH_SIZE, 1024})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args(argv)

    documents = [d.decode("latin-1") for d in pod_documents()]
    workload = documents * max(1, options.calls // len(documents))
    calls = len(workload)
    with open(PLUGIN, "rb") as handle:
        source = handle.read()

    in_process = LuaPlugin("opengauss", source)
    start_seconds = []  # the first includes starting the fork server
    workers = {}
    for size in BATCH_SIZES:
        started = time.perf_counter()
        workers[size] = WorkerPlugin("opengauss", source, batch_size=size, processes=1)  # one worker: the boundary per pod
        start_seconds.append(time.perf_counter() - started)
    try:
        expected = [r[:3] for r in in_process.call_many(documents)]
        for worker in workers.values():
            assert [r[:3] for r in worker.call_many(documents)] == expected, "a worker answers differently"

        def drain(plugin):
            def run():
                for _ in plugin.call_many(workload):
                    pass
            return run

        runs = {"in-process": (in_process, None)}
        runs.update({f"process, batch {size}" + (" *" if size == BATCH_SIZE else ""): (worker, worker.pid)
                     for size, worker in workers.items()})
        cpu = {}  # name -> (parent CPU, worker CPU) of its best round

        def timed(name, plugin, pid):
            run = drain(plugin)

            def run_and_count():
                parent, worker = time.process_time(), _cpu_seconds(pid)
                run()
                spent = (time.process_time() - parent, _cpu_seconds(pid) - worker)
                if sum(spent) < sum(cpu.get(name, (float("inf"), 0))):
                    cpu[name] = spent
            return run_and_count

        results = interleaved_best(options.rounds, {name: timed(name, *run) for name, run in runs.items()})
        base = results["in-process"]
        print(f"{calls} calls of the seed plugin over {len(documents)} pods, best of {options.rounds}"
              " (microseconds per pod)")
        print(f"{'':22} {'wall':>8} {'ratio':>6} {'CPU':>8} {'parent':>8} {'worker':>8} {'CPU ratio':>9}")
        base_cpu = sum(cpu["in-process"])
        for name, seconds in results.items():
            parent, worker = cpu[name]
            print(f"{name:22} {seconds / calls * 1e6:8.2f} {seconds / base:6.2f} "
                  f"{(parent + worker) / calls * 1e6:8.2f} {parent / calls * 1e6:8.2f} "
                  f"{worker / calls * 1e6:8.2f} {(parent + worker) / base_cpu:9.2f}")
        print(f"* the default batch size ({BATCH_SIZE})")
        rss = _rss_mb(workers[BATCH_SIZE].pid)
        print(f"starting a worker (fork + load): {min(start_seconds[1:]) * 1000:.0f} ms; the first, with "
              f"the fork server: {start_seconds[0] * 1000:.0f} ms"
              + (f"; a worker's resident memory: {rss:.0f} MB" if rss is not None else ""))
    finally:
        for worker in workers.values():
            worker.close()
        in_process.close()


if __name__ == "__main__":
    main()
