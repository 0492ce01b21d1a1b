"""Every builtin, fed random arguments, raises only Lua errors.

Bad input from a plugin must never surface as a Python exception
(IndexError, TypeError, OverflowError, ...) escaping a builtin.
"""

from importlib import import_module

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from luapy.errors import LuaError, LuaLimitError
from luapy.options import Options
from luapy.runtime.state import State
from luapy.runtime.values import Function, Table
from luapy.stdlib import opener

VALUES = [None, True, False, 0, 1, -1, 3, 2 ** 63 - 1, -2 ** 63, 0.0, -0.0, 1.5,
          float("inf"), float("-inf"), float("nan"), 2.0 ** 63, "", "a", "10", "0x10",
          "%c", "*t", "!*t", "\xe4\xb8\xad", "\x80\xff", "1e400", "%d", "[", "%b", "(()"]

#: Builtins that act on the machine (files, processes) are left out.
SKIP = {"exit", "execute", "remove", "rename", "tmpname", "popen", "lines", "open", "read",
        "input", "output", "close", "write", "loadfile", "dofile", "print"}

LIBRARIES = ["mathlib", "oslib", "tablib", "utf8lib", "strlib", "base", "dkjson"]

arguments = hs.lists(
    hs.one_of(
        hs.sampled_from(VALUES),
        hs.integers(-2 ** 63, 2 ** 63 - 1),  # Lua integers are 64-bit
        hs.builds(lambda xs: Table(list(xs)), hs.lists(hs.sampled_from([1, 2.5, "s"]))),
        hs.just(Function(lambda *a: (True,))),
    ),
    max_size=5,
)


def _library(module_name: str, st: State) -> Table:
    module = import_module(f"luapy.stdlib.{module_name}")
    if module_name == "base":
        module.open(st)
        return st.globals
    return opener(module)(st)


@pytest.mark.parametrize("module_name", LIBRARIES)
@settings(max_examples=200, deadline=None)
@given(data=hs.data())
def test_builtins_raise_only_lua_errors(module_name, data):
    st = State(Options(profile="standard").with_limits(time=None, memory=10 ** 7, steps=10 ** 6))
    st.enter()
    library = _library(module_name, st)
    names = sorted(k for k, v in library.iter_items() if type(v) is Function and k not in SKIP)
    name = data.draw(hs.sampled_from(names))
    args = data.draw(arguments)
    try:
        library.get(name).call(*args)
    except (LuaError, LuaLimitError):
        pass
