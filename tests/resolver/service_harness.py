"""A real ``resolver serve`` on a loopback port, for the service tests and the bench."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SAMPLE = os.path.join(ROOT, "tests", "data", "pods-sample.json")
SEED = os.path.join(ROOT, "examples", "plugins", "opengauss.lua")
TOKEN = "s3cret-token"


class Service:
    """``resolver serve`` in a subprocess, its log lines collected."""

    def __init__(self, tmp_path, *extra, pods=SAMPLE, token=TOKEN, env=None, wait_for_pass=True):
        self.store_path = str(tmp_path / "plugins.db")
        self.env = dict(os.environ, PYTHONPATH=ROOT, RESOLVER_STORE=self.store_path)
        self.env.pop("RESOLVER_TOKEN", None)
        self.env.update(env or {})
        args = [sys.executable, "-m", "resolver", "serve", "--listen", "127.0.0.1:0"]
        if pods:
            args += ["--pods", pods]
        if token:
            args += ["--token", token]
        self.proc = subprocess.Popen(args + list(extra), env=self.env, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._listening = threading.Event()
        self.url = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        assert self._listening.wait(20), self.lines
        if wait_for_pass:
            self.wait_for(lambda: self.get("/healthz")["resolutions"] >= (1 if pods else 0))

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            match = re.search(r'event=listening url=(\S+)|"event": "listening", "url": "([^"]+)"', line)
            if match:
                self.url = match.group(1) or match.group(2)
                self._listening.set()

    def log_ended(self) -> list[str]:
        """The whole log, once the process has exited and it is all read."""
        self._reader.join(10)
        return self.lines

    def request(self, method, path, body=None, headers=None, timeout=30):
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def get(self, path):
        status, body = self.request("GET", path)
        assert status == 200, (status, body)
        return json.loads(body)

    def wait_for(self, condition, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                if condition():
                    return time.monotonic()
            except (AssertionError, KeyError, OSError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time; log:\n" + "\n".join(self.lines[-20:]))
            time.sleep(0.01)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def cli(service, *args):
    return subprocess.run([sys.executable, "-m", "resolver", *args], env=service.env,
                          capture_output=True, text=True, timeout=60)


def metric_samples(text):
    """``{'name{label="v",...}': value}`` from Prometheus text, labels sorted."""
    from prometheus_client.parser import text_string_to_metric_families
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[sample.name + (f"{{{labels}}}" if labels else "")] = sample.value
    return samples


def multipart(fields, filename="p.lua"):
    boundary = "xXxBOUNDARYxXx"
    parts = []
    for key, value in fields.items():
        disposition = f'form-data; name="{key}"' + (f'; filename="{filename}"' if key == "IMAGE" else "")
        parts.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
                     + (value if isinstance(value, bytes) else value.encode()) + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


