"""Pyodide (CPython compiled to WebAssembly) for the playground, its tests and ``make bench``.

Pyodide comes from the npm registry (``npm install pyodide``) into a cache
outside the repository, one folder per version, so a second run costs
nothing.  What runs inside it is a zip *bundle* of pure-Python files:
``luapy`` (with its grammar), ``lark``, the resolver's core (rules, pods,
plugin contract, chain and the worker-isolation probe) and the
playground's bridge.  The resolver's store, service, client and CLI are
left out on purpose: importing the core must not need them.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

PYODIDE_VERSION = "314.0.8"
REPO = Path(__file__).resolve().parent.parent
NODE_RUNNER = Path(__file__).resolve().parent / "run_node.mjs"

#: The resolver modules the playground needs; importing them must pull in
#: nothing else from ``resolver`` (the test checks).
RESOLVER_CORE = ("__init__", "rules", "podreader", "pods", "plugins", "chain", "workers")

#: Files of the npm package a page needs (the rest are typings, maps, demos).
PYODIDE_RUNTIME_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm",
                         "python_stdlib.zip", "pyodide-lock.json")


class PyodideUnavailable(Exception):
    """Node.js/npm are missing or the npm install failed (offline?)."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "luapy-pyodide" / PYODIDE_VERSION


def ensure_pyodide(timeout: float = 300) -> Path:
    """The npm package's folder (``.../node_modules/pyodide``), installing it once."""
    package = cache_dir() / "node_modules" / "pyodide"
    if all((package / name).is_file() for name in PYODIDE_RUNTIME_FILES):
        return package
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise PyodideUnavailable(f"{tool} is not installed (apt-get install nodejs npm)")
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text('{"private": true}\n')
    try:
        done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                               f"pyodide@{PYODIDE_VERSION}"],
                              cwd=root, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise PyodideUnavailable(f"npm install pyodide@{PYODIDE_VERSION} took over {timeout:g} s") from None
    if done.returncode != 0 or not (package / "pyodide.mjs").is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise PyodideUnavailable(f"npm install pyodide@{PYODIDE_VERSION} failed "
                                 f"(offline?): {' / '.join(tail)}")
    return package


def _lark_dir() -> Path:
    import lark
    return Path(lark.__file__).resolve().parent


def bundle_files(extra: dict[str, Path] | None = None) -> dict[str, Path]:
    """Archive name -> file on disk, for everything the bundle holds."""
    files: dict[str, Path] = {}
    for path in sorted((REPO / "luapy").rglob("*.py")):
        files[path.relative_to(REPO).as_posix()] = path
    files["luapy/grammar/lua.lark"] = REPO / "grammar" / "lua.lark"   # where a wheel puts it
    lark_dir = _lark_dir()
    for path in sorted(lark_dir.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".lark"):
            files["lark/" + path.relative_to(lark_dir).as_posix()] = path
    for module in RESOLVER_CORE:
        files[f"resolver/{module}.py"] = REPO / "resolver" / f"{module}.py"
    files["playground_bridge.py"] = Path(__file__).resolve().parent / "bridge.py"
    files.update(extra or {})
    return files


def build_bundle(extra: dict[str, Path] | None = None) -> bytes:
    """The bundle as zip bytes (stored in a fixed order, so builds are reproducible)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(bundle_files(extra).items()):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def parse_table_cache(folder: Path) -> Path:
    """Build luapy's LALR parse-table cache into ``folder`` (with this
    Python's lark) and return the file, so Pyodide can skip the analysis."""
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, LUAPY_CACHE_DIR=str(folder))
    subprocess.run([sys.executable, "-c",
                    "from luapy.parser import _load_table; _load_table()"],
                   cwd=REPO, env=env, check=True)
    (table,) = folder.glob("lua-lalr-*.json")
    return table


def run_in_node(script: str, workdir: Path, *, extra: dict[str, Path] | None = None,
                timeout: float = 600) -> dict:
    """Run Python ``script`` in Pyodide under Node.js with the bundle
    installed; the script's last stdout line must be a JSON object, which
    is returned (with ``load_seconds``, Pyodide's start-up time)."""
    package = ensure_pyodide()
    if shutil.which("node") is None:
        raise PyodideUnavailable("node is not installed (apt-get install nodejs)")
    workdir.mkdir(parents=True, exist_ok=True)
    bundle = workdir / "bundle.zip"
    bundle.write_bytes(build_bundle(extra))
    script_path = workdir / "script.py"
    script_path.write_text(script)
    done = subprocess.run(["node", str(NODE_RUNNER), str(package), str(bundle), str(script_path)],
                          capture_output=True, text=True, timeout=timeout)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"Pyodide run failed (exit {done.returncode}):\n"
                           f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    report = json.loads(lines[-1])
    report["stdout"] = lines[:-1]
    loaded = re.search(r"^pyodide-load-ms (\d+)$", done.stderr, re.M)
    report["load_seconds"] = int(loaded.group(1)) / 1000 if loaded else None
    return report
