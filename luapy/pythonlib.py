"""The ``python`` Lua module of the trusted profile (lupa's).

``python.eval``, ``python.builtins`` (each unless the host turned it off),
``python.iter``, ``python.iterex``, ``python.enumerate``,
``python.as_attrgetter``, ``python.as_itemgetter``, ``python.as_function``,
``python.args`` and ``python.none``.  The sandbox never opens it.
"""

from __future__ import annotations

import builtins
import weakref

from .pyobjects import PythonArguments, PythonObjects, call_host, living, split_table
from .runtime.args import type_error
from .runtime.values import Function, Table


#: What ``next`` gives at the end of an iterator (``None`` is an item).
_END = object()


def python_eval(source, globals=None, locals=None):
    """Python's ``eval`` with a fresh namespace unless one is given (a bare
    ``eval`` would see this module's globals)."""
    return eval(source, {} if globals is None else globals, locals)


def open_python(runtime, bridge: PythonObjects, register_eval: bool, register_builtins: bool) -> Table:
    # The library lives in the runtime's State: it holds the runtime weakly,
    # as ``host_function`` does, or a suspended coroutine's thread (which
    # holds the State) would keep the runtime alive for ever.
    runtime = weakref.ref(runtime)
    lib = Table()
    none = bridge.wrap(None, False)

    def iterator(obj, enumerate_from=None, unpack=False):
        lua = living(runtime)
        it = call_host(lua, iter, (obj,))
        index = [enumerate_from]

        def step(*_):
            lua = living(runtime)
            return call_host(lua, next_values, (lua, it))

        def next_values(lua, it):
            item = next(it, _END)
            if item is _END:
                return (None,)
            values = item if unpack and isinstance(item, tuple) else (item,)
            converted = [lua._to_lua(v) for v in values]
            if index[0] is not None:
                index[0] += 1
                return (index[0] - 1, *converted)
            # nil ends a generic for: a None first value is python.none
            if converted and converted[0] is None:
                converted[0] = none
            return tuple(converted)
        return Function(step, "python.iter")

    def lua_iter(*args):
        return (iterator(bridge.checked(args, 1, "iter"), unpack=living(runtime)._unpack_tuples),)

    def lua_iterex(*args):
        return (iterator(bridge.checked(args, 1, "iterex"), unpack=True),)

    def lua_enumerate(*args):
        obj = bridge.checked(args, 1, "enumerate")
        start = args[1] if len(args) >= 2 and type(args[1]) is int else 0
        return (iterator(obj, enumerate_from=start, unpack=living(runtime)._unpack_tuples),)

    def as_attrgetter(*args):
        return (bridge.wrap(bridge.checked(args, 1, "as_attrgetter"), False),)

    def as_itemgetter(*args):
        return (bridge.wrap(bridge.checked(args, 1, "as_itemgetter"), True),)

    def as_function(*args):
        obj = bridge.wrap(bridge.checked(args, 1, "as_function"))
        return (Function(lambda *call_args: bridge.meta.get("__call").call(obj, *call_args), "python function"),)

    def lua_args(*args):
        if not args or type(args[0]) is not Table:
            type_error(args, 1, "args", "table")
        lua = living(runtime)
        positional, keywords = call_host(lua, lambda: split_table(lua._from_lua(args[0])), ())
        return (bridge.wrap(PythonArguments(positional, keywords), False),)

    for name, func in (("iter", lua_iter), ("iterex", lua_iterex), ("enumerate", lua_enumerate),
                       ("as_attrgetter", as_attrgetter), ("as_itemgetter", as_itemgetter),
                       ("as_function", as_function), ("args", lua_args)):
        lib.set(name, Function(func, name))
    lib.set("none", none)
    if register_eval:
        lib.set("eval", bridge.wrap(python_eval, False))
    if register_builtins:
        lib.set("builtins", bridge.wrap(builtins, False))
    return lib

__all__ = ["open_python", "python_eval"]
