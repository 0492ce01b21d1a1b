"""``python -m bench`` (``make bench``): run every benchmark in this folder.

Each benchmark compares luapy with a reference measured side by side in the
same run (real Lua 5.4 through lupa when it is installed, or CPython's own
``json.loads``), so the ratios mean something on a noisy machine.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(selected: list[str]) -> int:
    names = sorted(module.name for module in pkgutil.iter_modules([str(Path(__file__).parent)])
                   if module.name.startswith("bench_"))
    if selected:
        names = [name for name in names if any(word in name for word in selected)]
    # The words pick benchmarks; each runs with its defaults, so the ones
    # that read options from the command line must not see them.
    sys.argv[1:] = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        module.main()
        print(f"({time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
