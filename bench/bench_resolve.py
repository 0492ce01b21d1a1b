"""Resolver benchmark: throughput, peak memory, and create-to-serving latency.

    python -m bench.bench_resolve [--pods 100000] [--serving-pods 60]

* Generates a PodList of ``--pods`` pods shaped like the sample
  (tests/data/pods-sample.json: each sample pod copied with a fresh
  name and uid).
* Resolves it on one core (one process, one thread), in a fresh subprocess
  per scenario so each peak RSS is its own:
    - ``seed``: the OpenGauss plugin from DeepFlow's docs;
    - ``three``: the three example plugins (Argo Rollouts, app label,
      Strimzi), which mostly return "", "";
    - ``builtin``: no plugins, for the baseline;
    - ``seed-process``: the seed plugin in a worker process (``resolver
      serve --isolation process``), to measure the per-call cost of the
      process boundary.  (Its peak RSS is the parent's only.)
  Reported: pods/s of the resolution itself (reading the file is timed
  separately) and peak RSS (``ru_maxrss``) of the whole run.
* Starts ``resolver serve`` on a loopback port, runs ``resolver plugin
  create`` against the same store, and times how long until the service
  answers with the new plugin's result; reported both from the moment the
  command returned and including the command's own run time.

Targets (issue 6): >= 10,000 pods/s with the seed plugin, >= 5,000 with three
plugins, <= 1 GB RSS, <= 1 s from create to serving.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "tests", "data", "pods-sample.json")
PLUGINS = os.path.join(ROOT, "examples", "plugins")
SCENARIOS = {
    "builtin": [],
    "seed": ["opengauss.lua"],
    "three": ["argo-rollouts.lua", "app-label.lua", "strimzi.lua"],
    # The seed plugin in a worker process (resolver serve --isolation process).
    "seed-process": ["opengauss.lua"],
}


def generate(count: int, path: str) -> None:
    with open(SAMPLE) as handle:
        sample = json.load(handle)["items"]
    items = []
    rng = uuid.UUID(int=0x5EED)
    for i in range(count):
        pod = json.loads(json.dumps(sample[i % len(sample)]))
        metadata = pod["metadata"]
        metadata["name"] = f"{metadata['name']}-{i // len(sample)}"
        metadata["uid"] = str(uuid.UUID(int=(rng.int + i) & ((1 << 128) - 1)))
        items.append(pod)
    with open(path, "w") as handle:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, handle)


def run_scenario(pods_path: str, plugin_files: list[str], isolation: str = "in-process") -> dict:
    """In this (fresh) process: load plugins, read pods, resolve; report."""
    sys.path.insert(0, ROOT)
    from resolver.chain import resolve_podset
    from resolver.plugins import LuaPlugin
    from resolver.pods import load_pods
    from resolver.workers import WorkerPlugin

    factory = WorkerPlugin if isolation == "process" else LuaPlugin

    plugins = []
    for name in plugin_files:
        with open(os.path.join(PLUGINS, name), "rb") as handle:
            plugins.append(factory(os.path.splitext(name)[0], handle.read()))
    started = time.perf_counter()
    podset = load_pods(pods_path)
    read_seconds = time.perf_counter() - started
    started = time.perf_counter()
    cpu_started = time.process_time()
    results, summary = resolve_podset(podset, plugins)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return {
        "pods": len(results), "read_seconds": round(read_seconds, 3),
        "resolve_seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),  # CPU of this process only
        "pods_per_second": round(len(results) / seconds),
        "plugin_calls": sum(p.stats.calls for p in plugins),
        "plugin_errors": sum(sum(p.stats.errors.values()) for p in plugins),
        "by_source": dict(summary.by_source),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def scenario_in_subprocess(pods_path: str, name: str) -> dict:
    isolation = "process" if name.endswith("-process") else "in-process"
    code = ("import json, sys; sys.path.insert(0, %r); from bench.bench_resolve import run_scenario; "
            "print(json.dumps(run_scenario(%r, %r, %r)))" % (ROOT, pods_path, SCENARIOS[name], isolation))
    # One core: the resolution runs in one thread of one process.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def create_to_serving(pods_path: str, repeats: int = 5) -> dict:
    """Time from ``resolver plugin create`` to the service serving the new answer."""
    workdir = tempfile.mkdtemp(prefix="bench-resolver-")
    env = dict(os.environ, PYTHONPATH=ROOT, RESOLVER_STORE=os.path.join(workdir, "plugins.db"))
    server = subprocess.Popen([sys.executable, "-m", "resolver", "serve", "--listen", "127.0.0.1:0",
                               "--pods", pods_path], env=env, stderr=subprocess.PIPE, text=True)
    url_box: list[str] = []
    ready = threading.Event()

    def read_log():
        for line in server.stderr:
            match = re.search(r"event=listening url=(\S+)", line)
            if match:
                url_box.append(match.group(1))
                ready.set()

    threading.Thread(target=read_log, daemon=True).start()
    try:
        if not ready.wait(60):
            raise RuntimeError("the service did not start")
        url = url_box[0]

        def get(path):
            with urllib.request.urlopen(url + path, timeout=10) as response:
                return json.load(response)

        def source():
            # generate() names copies "<sample name>-<round>".
            return get("/v1/pods/data/gauss-ha-sts-0-0").get("source")

        while get("/healthz")["resolutions"] < 1:
            time.sleep(0.01)
        after_command, including_command = [], []
        seed = os.path.join(PLUGINS, "opengauss.lua")
        for i in range(repeats):
            name = f"og{i}"
            before = time.perf_counter()
            subprocess.run([sys.executable, "-m", "resolver", "plugin", "create", "--type", "lua", "--image", seed,
                            "--name", name], env=env, check=True, capture_output=True)
            returned = time.perf_counter()
            while source() != f"plugin:{name}":
                time.sleep(0.005)
            served = time.perf_counter()
            after_command.append(served - returned)
            including_command.append(served - before)
            subprocess.run([sys.executable, "-m", "resolver", "plugin", "delete", name], env=env, check=True,
                           capture_output=True)
            while (source() or "").startswith("plugin:"):
                time.sleep(0.005)
        return {
            "after_command_max_s": round(max(after_command), 3),
            "after_command_mean_s": round(sum(after_command) / repeats, 3),
            "including_command_max_s": round(max(including_command), 3),
        }
    finally:
        server.terminate()
        server.wait(10)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_resolve", description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=100_000, help="pods to generate (default 100000)")
    parser.add_argument("--serving-pods", type=int, default=60,
                        help="pods the service holds for the create-to-serving measurement (default 60)")
    parser.add_argument("--scenarios", default="builtin,seed,three,seed-process")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-resolve-") as tmp:
        pods_path = os.path.join(tmp, "pods.json")
        generate(args.pods, pods_path)
        print(f"generated {args.pods} pods ({os.path.getsize(pods_path) / 1e6:.1f} MB)")
        reports = {}
        for name in args.scenarios.split(","):
            report = reports[name] = scenario_in_subprocess(pods_path, name)
            per_cpu = round(report["pods"] / report["cpu_seconds"]) if report["cpu_seconds"] else 0
            print(f"{name:12} {report['pods_per_second']:>7} pods/s ({per_cpu} per CPU-second)  "
                  f"resolve {report['resolve_seconds']:>6.2f} s  "
                  f"read {report['read_seconds']:>5.2f} s  peak RSS {report['peak_rss_mb']:>7.1f} MB  "
                  f"calls {report['plugin_calls']}  errors {report['plugin_errors']}")
        if "seed" in reports and "seed-process" in reports:
            local, remote = reports["seed"], reports["seed-process"]
            overhead = (remote["resolve_seconds"] - local["resolve_seconds"]) / max(remote["plugin_calls"], 1)
            print(f"process isolation costs {overhead * 1e6:.0f} us per plugin call")
        serving_path = os.path.join(tmp, "serving.json")
        generate(args.serving_pods, serving_path)
        timing = create_to_serving(serving_path)
        print(f"create-to-serving ({args.serving_pods} pods): max {timing['after_command_max_s']} s after the "
              f"command returned (mean {timing['after_command_mean_s']} s); max "
              f"{timing['including_command_max_s']} s including the command itself")
    return 0


if __name__ == "__main__":
    sys.exit(main())
