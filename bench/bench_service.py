"""The live service under load, on loopback.

    python -m bench.bench_service [--readers 16] [--seconds 10] [--replacements 2000]

Starts ``resolver serve`` (waitress, 4 threads, the 60-pod sample) in a
subprocess and measures:

* throughput and latency of ``--readers`` concurrent clients (keep-alive
  connections) reading ``/v1/workloads`` and ``/v1/pods/NS/NAME`` for
  ``--seconds``, while another client replaces a plugin through the API
  every 0.2 s (each replacement is validated, stored and re-resolved);
* the service's resident memory (VmRSS) before and after
  ``--replacements`` plugin replacements through ``POST /v1/plugin/``.

Everything runs on 127.0.0.1 and every loop is bounded.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PODS = os.path.join(ROOT, "tests", "data", "pods-sample.json")
READ_PATHS = ("/v1/workloads", "/v1/pods/data/gauss-ha-sts-0", "/v1/workloads?namespace=kube-system")
PLUGIN = ('function GetWorkloadTypeAndName(m)\n'
          '  if m:find("gauss-ha", 1, true) then return "StatefulSet", "gauss-ha" end\n'
          '  return "", ""\nend\n-- version %d\n')


class Server:
    def __init__(self, workdir: str):
        env = dict(os.environ, PYTHONPATH=ROOT)
        env.pop("RESOLVER_TOKEN", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "resolver", "--store", os.path.join(workdir, "plugins.db"), "serve",
             "--listen", "127.0.0.1:0", "--pods", PODS, "--log-level", "warning"],
            env=env, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        match = re.search(r"url=http://([\d.]+):(\d+)", line)
        if not match:
            self.proc.kill()
            raise RuntimeError(f"the service did not start: {line}")
        self.host, self.port = match.group(1), int(match.group(2))
        # Keep reading its log so it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def rss_kib(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as handle:
            return int(re.search(r"VmRSS:\s+(\d+)", handle.read()).group(1))

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def upload(connection: http.client.HTTPConnection, version: int) -> None:
    boundary = "benchboundary"
    fields = [("NAME", "bench"), ("TYPE", "3"), ("USER", "2")]
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in fields)
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="IMAGE"; filename="bench.lua"\r\n\r\n'
             + PLUGIN % version + f"\r\n--{boundary}--\r\n").encode()
    connection.request("POST", "/v1/plugin/", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"upload {version}: HTTP {response.status}")


def wait_ready(server: Server) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        connection = server.connect()
        try:
            connection.request("GET", "/readyz")
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.05)
    raise RuntimeError("the service did not become ready")


def read_under_churn(server: Server, readers: int, seconds: float) -> dict:
    latencies: list[list[float]] = [[] for _ in range(readers)]
    errors = [0]
    stop = threading.Event()

    def reader(index: int) -> None:
        connection = server.connect()
        mine = latencies[index]
        i = index
        while not stop.is_set():
            path = READ_PATHS[i % len(READ_PATHS)]
            i += 1
            started = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    errors[0] += 1
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                connection.close()
                connection = server.connect()
                continue
            mine.append(time.perf_counter() - started)
        connection.close()

    def writer() -> None:
        connection = server.connect()
        version = 0
        while not stop.wait(0.2):
            version += 1
            upload(connection, version)
        connection.close()

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(readers)]
    threads.append(threading.Thread(target=writer))
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(60)
    elapsed = time.perf_counter() - started
    every = sorted(latency for mine in latencies for latency in mine)
    return {"requests": len(every), "errors": errors[0], "rps": len(every) / elapsed,
            "p50_ms": statistics.median(every) * 1000,
            "p99_ms": every[min(len(every) - 1, int(len(every) * 0.99))] * 1000}


def rss_over_replacements(server: Server, replacements: int) -> tuple[int, int, float]:
    connection = server.connect()
    upload(connection, 0)
    time.sleep(1.0)
    before = server.rss_kib()
    started = time.perf_counter()
    for version in range(1, replacements + 1):
        upload(connection, 100_000 + version)
    seconds = time.perf_counter() - started
    time.sleep(1.0)  # let the watcher load the last one
    connection.close()
    return before, server.rss_kib(), seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--replacements", type=int, default=2000)
    args = parser.parse_args(argv if argv is not None else [])
    with tempfile.TemporaryDirectory(prefix="bench-service-") as workdir:
        server = Server(workdir)
        try:
            wait_ready(server)
            load = read_under_churn(server, args.readers, args.seconds)
            print(f"{args.readers} readers for {args.seconds:g} s, a plugin replaced every 0.2 s: "
                  f"{load['requests']} requests, {load['rps']:.0f} req/s, p50 {load['p50_ms']:.1f} ms, "
                  f"p99 {load['p99_ms']:.1f} ms, {load['errors']} errors")
            before, after, seconds = rss_over_replacements(server, args.replacements)
            print(f"RSS {before / 1024:.1f} MiB before and {after / 1024:.1f} MiB after {args.replacements} "
                  f"plugin replacements through the API ({args.replacements / seconds:.0f}/s)")
        finally:
            server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
