"""What exact budget accounting costs at the least, on fib, in CPython.

    python -m bench.bench_accounting_floor

Issue #14 asks budget checks to cost at most 10% on fib.  bench_core
measures luapy's code; this measures hand-written Python of the same shape
as luapy's single-result form of fib (``__s1``), with each piece of
accounting added alone, so the floor of any design that keeps the depth and
step budgets exact shows, whatever the compiler emits.  A per-call cost is
unavoidable: exact depth needs the level taken on entry and given back on
return, and exact steps need a count and a test per call.

Variants (each the same function body; percentages over ``bare``):

* ``bare``: no accounting (``Options(count_steps=False)``).
* ``depth, compare``: ``if (_depth := _depth + 1) > LIMIT`` and
  ``finally: _depth -= 1``, luapy's prologue with no step or time budget.
* ``depth + countdown``: ``_depth += 1``, ``if (_steps := _steps - 1) < 0``
  and ``finally: _depth -= 1``, luapy's prologue with a budget (sandbox).
* ``depth as argument``: the level passed to each self call as an extra
  argument and compared, no cell (a design that was considered).
* ``depth as argument + countdown``: the same with the step countdown.
* ``countdown only`` and ``depth only``: each half alone, for reference
  (neither is exact alone).
"""

from __future__ import annotations

import sys

from bench.timing import best_of_copies

N = 27
COPIES = 4

_BODY = """\
    _t1 = u0[0]
    _t3 = s(n - 1{extra}) if _t1 is me else None
    _t4 = u0[0]
    _t6 = s(n - 2{extra}) if _t4 is me else None
    return (_r if type(_t3) is int and type(_t6) is int and abs(_r := _t3 + _t6) <= 9223372036854775807 else None)
"""
_PLAIN = _BODY.format(extra="")
_PASSING = _BODY.format(extra=", _d + 1")


def _indent(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


def _function(params: str, prologue: str, body: str, give_back: bool) -> str:
    head = f"def s({params}):\n    nonlocal _depth, _steps\n    if n < 2: return n\n{prologue}"
    if give_back:
        return head + "    try:\n" + _indent(body, 4) + "    finally:\n        _depth -= 1\n"
    # The same try statement luapy's frame has for its error handler.
    return head + "    try:\n" + _indent(body, 4) + "    except KeyError:\n        raise\n"


COUNTDOWN = "    if (_steps := _steps - 1) < 0: check()\n"
VARIANTS = {
    "bare": _function("n", "", _PLAIN, False),
    "depth, compare": _function("n", "    if (_depth := _depth + 1) > 195000: check()\n", _PLAIN, True),
    "depth + countdown": _function("n", "    _depth += 1\n" + COUNTDOWN, _PLAIN, True),
    "depth as argument": _function("n, _d", "    if _d > 195000: check()\n", _PASSING, False),
    "depth as argument + countdown": _function("n, _d", COUNTDOWN, _PASSING, False),
    "countdown only": _function("n", COUNTDOWN, _PLAIN, False),
    "depth only": _function("n", "    _depth += 1\n", _PLAIN, True),
}


def build(variant: str):
    """A fresh ``fib(N)`` runner of ``variant``, its countdown re-armed
    every 200 calls as luapy's is in a sandbox."""
    source = ("def outer(u0, me, check_holder):\n    _depth = _steps = 0\n"
              "    def check():\n        check_holder[0]()\n"
              + _indent(VARIANTS[variant], 4) + "    return s\n")
    namespace: dict = {}
    exec(compile(source, f"<accounting {variant}>", "exec"), namespace)
    me = object()
    holder = [None]
    fib = namespace["outer"]([me], me, holder)
    steps = fib.__closure__[fib.__code__.co_freevars.index("_steps")]

    def rearm():
        steps.cell_contents = 200
    holder[0] = rearm
    if "argument" in variant:
        return lambda: fib(N, 1)
    return lambda: fib(N)


def main(rounds: int = 8) -> dict:
    runs = {(variant, copy): build(variant) for variant in VARIANTS for copy in range(COPIES)}
    best = best_of_copies(rounds, runs)
    bare = best["bare"]
    print(f"fib({N}) in hand-written Python, best of {rounds} rounds and {COPIES} copies")
    print(f"{'variant':32} {'ms':>7} {'over bare':>10}")
    for variant in VARIANTS:
        print(f"{variant:32} {best[variant] * 1000:7.1f} {best[variant] / bare - 1:10.1%}")
    print("target (issue #14): budget checks at most 10% on fib")
    return best


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
