"""``python -m bench`` (``make bench``): run every benchmark in this folder.

Each benchmark compares luapy with a reference measured side by side in the
same run (real Lua 5.4 through lupa when it is installed, or CPython's own
``json.loads``), so the ratios mean something on a noisy machine.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import time
from pathlib import Path


def main(selected: list[str]) -> int:
    names = sorted(module.name for module in pkgutil.iter_modules([str(Path(__file__).parent)])
                   if module.name.startswith("bench_"))
    if selected:
        names = [name for name in names if any(word in name for word in selected)]
    # The words pick benchmarks; each runs with its defaults (no options)
    # in a process of its own, so one's memory (a million coroutines, 100k
    # pods) is not in the next one's resident and peak figures.
    failed = 0
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        failed |= subprocess.run([sys.executable, "-m", f"bench.{name}"]).returncode != 0
        print(f"({time.perf_counter() - started:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
