"""Resolving real-size input: time and peak memory against a bare ``json.load``.

    python -m bench.bench_scale [--pods 10000,100000] [--yaml]

For each size, writes realistic pods (``bench.realistic_pods``: about 19 KB
each, as ``kubectl get pods -A -o json`` prints them), then runs, each in a
fresh process so that each peak RSS is its own:

* ``json.load``: the bare parse of the file, the reference;
* ``resolve``: ``resolver resolve FILE`` with an empty plugin store (the
  built-in rules), output to /dev/null: reading, resolving, printing.

Reported: wall time, CPU time (user + system, from ``wait4``) and peak RSS
(``ru_maxrss``) of each, and resolve's CPU time as a multiple of
``json.load``'s.  Goals (issue 12): at 100,000 pods, peak RSS at most
1 GB and CPU at most 1.5x ``json.load``.  Below about 10,000 pods the ratio
says little: resolve's fixed start-up (imports, opening the store: about
0.4 s of CPU) outweighs the parse.

``--yaml`` also times ``resolve`` of the same pods as YAML (``kubectl -o
yaml``), libyaml's parser against PyYAML's pure one, at the smallest size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.realistic_pods import write_pod_list  # noqa: E402

_JSON_LOAD = "import json, sys\nwith open(sys.argv[1], encoding='utf-8') as f:\n    json.load(f)\n"
_PURE_YAML = ("import sys, runpy\nimport resolver.podreader as r\nr.USE_LIBYAML = False\n"
              "sys.argv = ['resolver'] + sys.argv[1:]\nrunpy.run_module('resolver', run_name='__main__')\n")


def measure(argv: list[str]) -> dict:
    """Run ``argv`` with output discarded; its wall and CPU seconds and peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {code}: {stderr.strip()[-500:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


def _row(name: str, result: dict, reference: dict | None = None) -> str:
    ratio = f"{result['cpu'] / reference['cpu']:5.2f}x" if reference else "     -"
    return (f"  {name:<22} wall {result['wall']:7.1f} s   cpu {result['cpu']:7.1f} s ({ratio})   "
            f"peak RSS {result['rss_mb']:7.0f} MB")


def run_size(count: int, workdir: str, store: str, with_yaml: bool) -> None:
    path = os.path.join(workdir, f"pods-{count}.json")
    started = time.perf_counter()
    size = write_pod_list(count, path)
    print(f"{count} pods: {size / 1e6:.0f} MB ({size / count / 1000:.1f} KB per pod), "
          f"written in {time.perf_counter() - started:.0f} s", flush=True)
    try:
        reference = measure([sys.executable, "-c", _JSON_LOAD, path])
        print(_row("json.load", reference), flush=True)
        resolve = measure([sys.executable, "-m", "resolver", "--store", store, "resolve", path])
        print(_row("resolve", resolve, reference), flush=True)
        verdict = "meets" if resolve["rss_mb"] <= 1024 and resolve["cpu"] <= 1.5 * reference["cpu"] else "misses"
        print(f"  -> {verdict} the goal (peak RSS <= 1024 MB, cpu <= 1.5x json.load)", flush=True)
    finally:
        os.unlink(path)
    if with_yaml:
        yaml_path = os.path.join(workdir, f"pods-{count}.yaml")
        write_pod_list(count, yaml_path, as_yaml=True)
        try:
            fast = measure([sys.executable, "-m", "resolver", "--store", store, "resolve", yaml_path])
            print(_row("resolve YAML (libyaml)", fast, reference), flush=True)
            pure = measure([sys.executable, "-c", _PURE_YAML, "--store", store, "resolve", yaml_path])
            print(_row("resolve YAML (pure)", pure, reference), flush=True)
        finally:
            os.unlink(yaml_path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", default=os.environ.get("BENCH_SCALE_PODS", "10000,100000"),
                        help="comma-separated pod counts (default 10000,100000; env BENCH_SCALE_PODS)")
    parser.add_argument("--yaml", action="store_true", help="also time YAML input at the smallest size")
    args = parser.parse_args(argv if argv is not None else [])
    counts = sorted(int(word) for word in args.pods.split(","))
    workdir = tempfile.mkdtemp(prefix="bench-scale-")
    try:
        store = os.path.join(workdir, "store.db")
        from resolver.store import PluginStore
        PluginStore(store)  # an empty store: the built-in rules only
        for index, count in enumerate(counts):
            run_size(count, workdir, store, args.yaml and index == 0)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
