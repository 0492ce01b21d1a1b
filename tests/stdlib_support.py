"""Helpers for unit tests that call library builtins directly."""

from __future__ import annotations

import pytest

from luapy.errors import LuaError
from luapy.options import Options
from luapy.runtime.state import State
from luapy.stdlib import opener


def library_caller(module, options: Options | None = None, enter: bool = False):
    """Open ``module`` on a fresh State: ``call(name, *args)`` runs a builtin.

    ``call.lib`` is the library table and ``call.st`` its State; with
    ``enter`` the State's budgets are armed first.
    """
    st = State(options or Options())
    if enter:
        st.enter()
    lib = opener(module)(st)

    def call(name, *args):
        return lib.get(name).call(*args)
    call.lib = lib
    call.st = st
    return call


def outcome_caller(st: State, lib):
    """``call(name, *args)``: ``("ok", results)`` or ``("err", message)``,
    each call under fresh budgets, as a call from Python would be."""

    def call(name, *args):
        st.enter()
        try:
            return ("ok", tuple(lib.get(name).call(*args)))
        except LuaError as e:
            return ("err", str(e.value))
        finally:
            st.leave(True)
    return call


def error_of(fn, *args):
    """The Lua error value ``fn(*args)`` raises."""
    with pytest.raises(LuaError) as info:
        fn(*args)
    return info.value.value


def run_both(source: str):
    """The results of ``source`` in luapy's standard profile and in lua5.4
    (lupa), to compare."""
    lupa = pytest.importorskip("lupa.lua54")
    from luapy import LuaRuntime

    ours = LuaRuntime(profile="standard").execute(source)
    reference = lupa.LuaRuntime().execute(source)
    return ours, reference
