"""Python values inside Lua: what the host hands over, and nothing else.

Two ways in, by profile:

* Every profile: a Python callable the host passes (as an argument,
  through ``globals()``, in a table) becomes a Lua function exactly as
  ``register_function`` makes one: arguments converted to Python, results
  back to Lua.  Passing it is the host's explicit act.
* The trusted profile only: any other Python object becomes a userdata
  whose indexing, assignment and calls reach the object (lupa's model),
  governed by ``attribute_filter`` / ``attribute_handlers``.

Either way a Python exception raised on the way becomes a ``LuaError``
that ``pcall`` catches (its message is ``"KeyError: 'x'"``); the host
finds the original as its ``__cause__``.  Dunder names are never reached
through attribute access.
"""

from __future__ import annotations

import weakref
from functools import wraps

from .errors import LuaError, LuaException
from .runtime.args import arg_error
from .runtime.values import Function, Table, Userdata

#: Exceptions that are not the Python code's failure but the interpreter's
#: own signals, handled where they land: a stack overflow, the memory
#: budget, the unwinding of a coroutine that ``coroutine.close`` ends while
#: it is suspended inside host code (a ``LuaException``).
_PASS_THROUGH = (LuaException, RecursionError, MemoryError)


def call_host(lua, func, args):
    """Call host code from Lua code of runtime ``lua``; a Python exception
    becomes a Lua error.

    The host sees an error as the API gives it (``LuaRuntime._for_host``:
    its message decoded, a table as a ``LuaTable``); one that host code
    raises or lets through goes back to Lua's view of it here.
    """
    try:
        return func(*args)
    except LuaError as error:
        lua._error_into_lua(error)
        raise
    except _PASS_THROUGH:
        raise
    except Exception as error:
        message = f"{type(error).__name__}: {_text_of(error)}"
        raise LuaError(lua._lua_text(message)) from error


def _text_of(error: BaseException) -> str:
    """``str(error)``, which a hostile exception may make fail."""
    try:
        return str(error)
    except Exception:
        return "<exception str() failed>"


def host_function(runtime, func, name: str, convert: bool = True) -> Function:
    """A Lua function that calls ``func`` (``register_function``'s wrapper).

    Holds the runtime weakly: the function lives in the runtime's state,
    which a suspended coroutine's thread keeps alive, and a strong
    reference back would keep the runtime (and its threads) for ever.
    """
    runtime = weakref.ref(runtime)
    if not convert:
        def call_raw(*args):
            return tuple(_as_results(call_host(living(runtime), func, args), True))
        return Function(call_raw, name)

    def call(*args):
        lua = living(runtime)
        return call_host(lua, _call_converted, (lua, func, args))
    return Function(call, name)


def living(runtime_ref):
    """The runtime a weak reference leads to.  It can be gone while its
    State still runs Lua code: a dropped runtime's suspended coroutines
    are unwound, and their ``__close`` handlers may call host functions."""
    lua = runtime_ref()
    if lua is None:
        raise LuaError("the LuaRuntime this Python function was given to is gone")
    return lua


def _call_converted(lua, func, args):
    result = func(*[lua._from_lua(a) for a in args])
    return tuple(lua._to_lua(r) for r in _as_results(result, lua._unpack_tuples))


def _as_results(result, unpack: bool):
    if unpack and isinstance(result, tuple):
        return result
    return (result,)


# -------------------------------------------------- lupa's Python helpers


class ProtocolWrapper:
    """``as_attrgetter(obj)`` / ``as_itemgetter(obj)``: how Lua indexes obj."""

    __slots__ = ("obj", "as_items")

    def __init__(self, obj, as_items: bool):
        self.obj = obj
        self.as_items = as_items


def as_attrgetter(obj) -> ProtocolWrapper:
    """Make Lua's ``obj[k]`` / ``obj.k`` read attributes (trusted profile)."""
    return ProtocolWrapper(obj, False)


def as_itemgetter(obj) -> ProtocolWrapper:
    """Make Lua's ``obj[k]`` / ``obj.k`` read items (trusted profile)."""
    return ProtocolWrapper(obj, True)


class PythonArguments:
    """``python.args{...}``: positional and keyword arguments for a call."""

    __slots__ = ("args", "kwargs")

    def __init__(self, args: tuple, kwargs: dict):
        self.args = args
        self.kwargs = kwargs


def split_table(table) -> tuple[tuple, dict]:
    """A LuaTable's ``1..#t`` as positional and string keys as keyword arguments."""
    n = len(table)
    args, kwargs = [None] * n, {}
    for key, value in table.items():
        if type(key) is int and 1 <= key <= n:
            args[key - 1] = value
        elif isinstance(key, (str, bytes)):
            kwargs[key.decode() if isinstance(key, bytes) else key] = value
        else:
            raise TypeError("table key is neither an integer nor a string")
    return tuple(args), kwargs


def unpacks_lua_table(func):
    """Let Lua call ``func{a, b=2}``: one table argument is unpacked into
    positional and keyword arguments (lupa's decorator)."""
    from .api import LuaTable

    @wraps(func)
    def wrapper(*args):
        if len(args) == 1 and isinstance(args[0], LuaTable):
            args, kwargs = split_table(args[0])
            return func(*args, **kwargs)
        return func(*args)
    return wrapper


def unpacks_lua_table_method(meth):
    """``unpacks_lua_table`` for methods (``self`` comes first)."""
    from .api import LuaTable

    @wraps(meth)
    def wrapper(self, *args):
        if len(args) == 1 and isinstance(args[0], LuaTable):
            args, kwargs = split_table(args[0])
            return meth(self, *args, **kwargs)
        return meth(self, *args)
    return wrapper


# ------------------------------------------- Python objects as userdata


def _is_dunder(name) -> bool:
    return isinstance(name, str) and name.startswith("__") and name.endswith("__")


class PythonObjects:
    """The trusted profile's bridge: Python objects as Lua userdata.

    One shared metatable; each object is wrapped once per protocol while
    Lua holds it, so ``python.none == python.none`` and identity survive
    round trips.
    """

    def __init__(self, runtime, attribute_filter=None, attribute_handlers=None):
        self._runtime = weakref.ref(runtime)
        self._filter = attribute_filter
        self._getter, self._setter = attribute_handlers or (None, None)
        self._wrapped: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        meta = Table()
        for event, handler in (("__index", self._index), ("__newindex", self._newindex),
                               ("__call", self._call), ("__tostring", self._tostring)):
            meta.set(event, Function(handler, event))
        meta.set("__name", "Python object")
        meta.set("__metatable", "Python object")  # getmetatable can't reach the handlers
        self.meta = meta

    def wrap(self, obj, as_items: bool | None = None) -> Userdata:
        if as_items is None:
            as_items = hasattr(obj, "__getitem__")
        key = (id(obj), as_items)
        userdata = self._wrapped.get(key)
        if userdata is None or userdata.payload[0] is not obj:
            userdata = Userdata((obj, as_items), self.meta)
            self._wrapped[key] = userdata
        return userdata

    def unwrap(self, value):
        """The Python object a userdata wraps, or ``None`` if it wraps none."""
        if type(value) is Userdata and value.meta is self.meta:
            return value.payload
        return None

    def checked(self, args, n: int, fname: str):
        payload = self.unwrap(args[n - 1]) if len(args) >= n else None
        if payload is None:
            arg_error(n, fname, "not a python object")
        return payload[0]

    # -- the metamethods: each runs its host side in one ``call_host`` ---

    def _index(self, userdata, key):
        lua = living(self._runtime)
        return (call_host(lua, self._get, (lua, userdata.payload, key)),)

    def _newindex(self, userdata, key, value):
        lua = living(self._runtime)
        call_host(lua, self._set, (lua, userdata.payload, key, value))
        return ()

    def _call(self, userdata, *args):
        lua = living(self._runtime)
        return call_host(lua, self._invoke, (lua, userdata.payload[0], args))

    def _tostring(self, userdata):
        lua = living(self._runtime)
        return (call_host(lua, lambda: lua._to_lua(str(userdata.payload[0])), ()),)

    def _get(self, lua, payload, key):
        obj, as_items = payload
        key = lua._from_lua(key)
        if self._getter is not None:
            _refuse_dunder(key)
            value = self._getter(obj, key)
        elif as_items:
            value = obj.__getitem__(key)
        else:
            value = getattr(obj, self._attribute_name(lua, obj, key, False))
        return lua._to_lua(value)

    def _set(self, lua, payload, key, value) -> None:
        obj, as_items = payload
        key, value = lua._from_lua(key), lua._from_lua(value)
        if self._setter is not None:
            _refuse_dunder(key)
            self._setter(obj, key, value)
        elif as_items:
            obj.__setitem__(key, value)
        else:
            setattr(obj, self._attribute_name(lua, obj, key, True), value)

    def _invoke(self, lua, func, args) -> tuple:
        positional, keywords = [], {}
        for value in args:
            value = lua._from_lua(value)
            if type(value) is PythonArguments:
                positional.extend(value.args)
                keywords.update(value.kwargs)
            else:
                positional.append(value)
        # Lua's obj:method(a) passes obj again: Python's bound method has it.
        if positional and getattr(func, "__self__", None) is positional[0] and hasattr(func, "__func__"):
            func = func.__func__
        result = func(*positional, **keywords)
        return tuple(lua._to_lua(r) for r in _as_results(result, lua._unpack_tuples))

    def _attribute_name(self, lua, obj, name, is_setting: bool) -> str:
        _refuse_dunder(name)
        if self._filter is not None:
            name = self._filter(obj, name, is_setting)
        if isinstance(name, bytes):
            name = name.decode(lua._source_encoding)
        _refuse_dunder(name)
        if not isinstance(name, str):
            raise TypeError(f"attribute name must be a string, not {type(name).__name__}")
        return name


def _refuse_dunder(name) -> None:
    if _is_dunder(name):
        raise AttributeError(f"access to '{name}' is not allowed")


__all__ = [
    "PythonArguments", "PythonObjects", "ProtocolWrapper", "as_attrgetter", "as_itemgetter",
    "call_host", "host_function", "living", "unpacks_lua_table", "unpacks_lua_table_method",
]
