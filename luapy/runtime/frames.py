"""The Lua call stack, read from the Python one.

Each Lua function runs as one generated Python function (``luapy.compile``)
named ``__f<index>`` in a module whose file name starts ``<lua ``; its
module globals hold ``CHUNKNAME``, ``LINES`` (Python line -> Lua line),
``CALL_SITES`` and ``P<index>`` (the instantiator that knows the
function's ``Proto``).  A builtin is a Python function whose code is in
``BUILTIN_CODES``.  Every other Python frame (operators, call helpers,
pcall's machinery) is plumbing and no Lua level.

So a Lua level is found by walking ``sys._getframe`` and keeping the
frames of those two kinds, as ``helpers.lua_where`` does; this module adds
what ``debug`` needs on top: the function a frame runs, its prototype's
lines, its parameters and its locals.
"""

from __future__ import annotations

import gc
import sys

from ..errors import LuaError
from .values import BUILTIN_CODES, Function, Table, type_name

_CO_VARARGS = 0x04
_CO_GENERATOR = 0x20


class ForLine(int):
    """The Lua line of a numeric ``for``'s Python loop header in ``LINES``:
    an ``int`` to everything but the line hook.  lua5.4's ``FORLOOP`` is at
    the end of the body and jumps back into it, so the line hook sees a new
    line there only if the line changes, and then the body's first line
    again; a Python loop jumps back to its header instead
    (``debuglib._Tracer``)."""

    __slots__ = ()


class QuietLine(int):
    """The Lua line of generated bookkeeping in ``LINES`` (a call's depth
    and step accounting, a frame's handlers): errors raised there name it,
    but lua5.4 has no instruction there, so a line hook sees nothing."""

    __slots__ = ()


def is_lua_code(code) -> bool:
    return code.co_name.startswith(("__f", "__s")) and code.co_filename.startswith("<lua ")


def is_hoisted_code(code) -> bool:
    """A loop nested too deep, run as a function of its own (``hoist``):
    part of the Lua function that calls it, not a Lua level."""
    return code.co_name.startswith("__h") and code.co_filename.startswith("<lua ")


#: ``id`` of the Lua frames an error is unwinding while they close their
#: ``<close>`` variables: lua5.4 has already popped them by then, so the
#: ``__close`` handlers (and ``debug``) see the protected call's caller.
UNWINDING: set[int] = set()
#: The code of ``pcall``'s and ``xpcall``'s core (plain and generator
#: form), registered by the base library: where an error is caught.
PROTECTED_CODES: set = set()
#: The code that resumes (or closes) a coroutine, registered by the
#: coroutine library: where an error that nothing caught ends a coroutine.
COROUTINE_BASE_CODES: set = set()


#: While xpcall's message handler runs: ``id`` of the ``_run_handler``
#: frame that runs it -> the Python frames the error came up through,
#: innermost first.  lua5.4 runs the handler on top of the stack where the
#: error was raised; here the error has unwound those frames already, so
#: ``frames_outward`` splices them back in where the handler's stack meets
#: xpcall's, as the error's traceback object keeps them.
ERROR_FRAMES: dict[int, list] = {}
#: ...and each of those frames' Python line when the error left it (a frame
#: that is done reports its last instruction, not where it was): ``id`` -> line.
ERROR_LINES: dict[int, int] = {}


def python_line(frame) -> int:
    """Where a frame is: for one an error has left, where it left it."""
    if ERROR_LINES:
        line = ERROR_LINES.get(id(frame))
        if line is not None:
            return line
    return frame.f_lineno


def frames_outward(frame):
    """The Python frames from ``frame`` outwards as Lua sees its stack: with
    the frames an error came up through spliced in under a message handler
    (``ERROR_FRAMES``), and without the frames an error is unwinding while
    a ``__close`` runs (``past_unwound``)."""
    while frame is not None:
        if ERROR_FRAMES:
            spliced = ERROR_FRAMES.get(id(frame))
            if spliced is not None:
                yield from spliced
        if id(frame) in UNWINDING:
            frame = past_unwound(frame)
            continue
        yield frame
        frame = frame.f_back


def past_unwound(frame):
    """From a frame an error unwinds: the frame the error stops at (a
    protected call, or a coroutine's resumption), or None.

    lua5.4 closes a frame's variables once the error has popped every level
    up to the protected call, so a ``__close`` running then sees none of
    them; here they are still on the Python stack until the error leaves
    them, and are skipped."""
    while frame is not None and frame.f_code not in PROTECTED_CODES and frame.f_code not in COROUTINE_BASE_CODES:
        frame = frame.f_back
    return frame


def proto_of_code(code, names: dict):
    """The ``Proto`` whose body is ``code`` (from its module's ``P<index>``)."""
    instantiate = names.get("P" + code.co_name[3:])
    if instantiate is None:
        return None
    free = instantiate.__code__.co_freevars
    if "proto" not in free:
        return None
    return instantiate.__closure__[free.index("proto")].cell_contents


def locvars(frame, proto) -> tuple:
    """``proto.locvars`` of the form ``frame`` runs: a generator form's
    Python lines are its own (``Proto.gen_locvars``)."""
    return proto.gen_locvars if frame.f_code.co_flags & _CO_GENERATOR else proto.locvars


def code_lines(code, names: dict) -> tuple[int, int]:
    """The lowest and highest Lua line a function's body spans."""
    lines = names["LINES"]
    found = [int(lines[line]) for _, _, line in code.co_lines()
             if line is not None and 0 <= line < len(lines) and lines[line] > 0]
    return (min(found), max(found)) if found else (-1, -1)


def parameter_count(code) -> int:
    return code.co_argcount


def is_vararg(code) -> bool:
    return bool(code.co_flags & _CO_VARARGS) and code.co_varnames[code.co_argcount] == "va"


#: ``id`` of a frame whose call hook is running -> the function it runs,
#: found before the hook runs (a ``collectgarbage`` in the hook clears the
#: caller's temporaries it is found in).
CALLED: dict = {}


#: ``id`` of a frame whose call or return hook is running -> the values
#: transferred (``getinfo``'s ``ftransfer``/``ntransfer``): ``(first,
#: values)``, ``values`` None for a Lua function's parameters (its locals).
TRANSFER: dict = {}


def function_of_frame(frame, callers=None):
    """The ``Function`` a Lua frame runs, when it can be found.

    Python frames don't point back to their function object, so this looks
    where a caller keeps it: the call helpers' ``fn`` and the locals of the
    plumbing and the calling Lua frame between this frame and the next
    level, then the caller's upvalue cells and globals.  ``None`` if none of
    those holds it (e.g. a closure passed along and not kept anywhere).
    ``callers`` are the frames to look in instead of ``frame.f_back`` and
    on (a suspended coroutine's frames have none).
    """
    if CALLED:
        known = CALLED.get(id(frame))
        if known is not None:
            return known
    code = frame.f_code
    if code.co_name.startswith("__s"):
        # A single-result form is only called by its own function, which
        # its ``__me`` cell holds (``FunctionCompiler.single_result_form``).
        me = frame.f_locals.get("__me")
        if type(me) is Function:
            return me
    builtin = code in BUILTIN_CODES

    def matches(value) -> bool:
        if type(value) is not Function:
            return False
        if builtin:
            return getattr(value.call, "__code__", None) is code
        raw = value.raw
        if raw is not None and raw.__code__ is code:
            return True
        gen = getattr(value, "gen", None)    # its generator form, in a coroutine
        return gen is not None and getattr(gen, "raw", gen).__code__ is code

    if callers is None:
        callers = _outwards(frame.f_back)
    for caller in callers:
        values = list(caller.f_locals.values())
        for value in values:
            if matches(value):
                return value
        for value in values:
            if type(value) is list and len(value) == 1 and matches(value[0]):
                return value[0]  # a captured local's cell
            if type(value) in (tuple, list) and len(value) <= 16:
                for item in value:
                    if matches(item):
                        return item
        if is_lua_code(caller.f_code) or caller.f_code in BUILTIN_CODES:
            break
    return None


def function_by_proto(frame):
    """The ``Function`` a Lua frame runs, looked for among every function
    (slow: for a suspended coroutine's body, which nothing else holds):
    one of the frame's prototype whose upvalue cells the frame has."""
    proto = proto_of_code(frame.f_code, frame.f_globals)
    if proto is None:
        return None
    names = frame.f_locals
    cells = [names.get(f"u{index}") for index in range(len(proto.upvalue_names))]
    for value in gc.get_objects():
        if type(value) is Function and value.proto is proto and \
                all(a is b for a, b in zip(value.upvals or (), cells)):
            return value
    return None


def _outwards(frame):
    while frame is not None:
        yield frame
        frame = frame.f_back


def active_locals(frame) -> list[tuple[str, object, str | None]]:
    """The Lua locals active where a Lua frame is, in declaration order, as
    ``(name, value, Python local)``; the Python local is None for values
    that can't be written (a ``for`` loop's hidden state)."""
    proto = proto_of_code(frame.f_code, frame.f_globals)
    if proto is None:
        return []
    line = frame.f_lineno
    names = frame.f_locals
    found = []
    parameters = frame.f_code.co_argcount
    for index, (name, where, start, end) in enumerate(locvars(frame, proto)):
        # Parameters are in scope from the call on (a call hook runs on
        # the frame's first line, before the body's).
        if (start <= line or index < parameters) and line < end:
            found.append((name, *_local_value(names, where)))
    return found


def dead_locals(frame) -> list[str]:
    """The Python locals of a Lua frame that hold Lua locals out of scope
    where the frame is: never read again before being assigned (a goto
    can't jump into a local's scope), though Python keeps their values."""
    proto = proto_of_code(frame.f_code, frame.f_globals)
    if proto is None:
        return []
    line = frame.f_lineno
    live = {where for _, where, start, end in locvars(frame, proto) if start <= line < end}
    # A loop nested too deep runs in a function of its own (``hoist``),
    # sharing the body's variables as Python cells: its locals are left out
    # of ``Proto.locvars`` and the body's line is only where it was called,
    # so a shared variable may be live whatever that line says.
    live.update(frame.f_code.co_cellvars)
    # Parameters are in scope in the whole body, and before it (a call
    # hook runs on the frame's first line).
    live.update(frame.f_code.co_varnames[:frame.f_code.co_argcount])
    # A captured local's cell (``c<slot>``) is left alone: closures made in
    # its scope share it, and clearing it would clear their upvalue.
    return [name for name in frame.f_locals
            if len(name) > 1 and name[0] == "l" and name[1:].isdigit() and name not in live]


def parameter_names(proto, code) -> list[str]:
    """A Lua function's parameters' names (its first locals)."""
    return [name for name, *_ in proto.locvars[:code.co_argcount]]


def _local_value(names: dict, where) -> tuple[object, str | None]:
    if where is None:
        return None, None
    if type(where) is tuple:
        state, index = where
        return _for_state(names.get(state), index), None
    value = names.get(where)
    if where[0] == "c":
        value = value[0] if type(value) is list and value else None
    return value, where


#: The names ``luapy.runtime.helpers``' generic-for generators keep the
#: hidden state under: iterator, state, control and closing value.
_FOR_STATE_NAMES = ("iterator", "state", "control", "closing")


def _for_state(cell, index: int):
    """Hidden value ``index`` of a generic ``for`` from its generator (the
    weak reference GENFOR put in ``cell``); the innermost generator of a
    ``yield from`` chain holds the current control value."""
    steps = cell[0]() if cell else None
    name = _FOR_STATE_NAMES[index]
    value = None
    while steps is not None:
        frame = getattr(steps, "gi_frame", None)
        if frame is None:
            break
        if name in frame.f_locals:
            value = frame.f_locals[name]
        steps = getattr(steps, "gi_yieldfrom", None)
    return value


#: The types ``Proto.typed_locals`` names.
_TYPED = {"integer": int, "table": Table}


def check_typed_local(frame, name: str, value) -> None:
    """Refuse what ``debug.setlocal`` would write into a local whose type
    the compiled code relies on (``Proto.typed_locals``: a loop counter is
    an integer, a local only set by a constructor a table; and in a
    single-result form, ``Proto.single_typed_locals``, an integer
    parameter, which may have a lower bound)."""
    proto = proto_of_code(frame.f_code, frame.f_globals)
    expected = None
    if proto is not None:
        expected = proto.typed_locals.get(name)
        if expected is None and frame.f_code.co_name.startswith("__s"):
            expected = proto.single_typed_locals.get(name)
    if type(expected) is int and type(value) is int:   # an integer parameter's lower bound
        if value < expected:
            raise LuaError(f"cannot set local to {value}: luapy compiled it for integers >= {expected} only")
        return
    if type(expected) is int:
        expected = "integer"
    if expected is not None and type(value) is not _TYPED[expected]:
        raise LuaError(f"cannot set local to a {type_name(value)} value: luapy compiled it "
                       f"for {expected} values only")


def set_frame_local(frame, name: str, value) -> None:
    """Write a Python local of a running frame (a captured one is written
    through its cell and needs no frame write)."""
    if name[0] == "c":
        frame.f_locals[name][0] = value
        return
    if sys.version_info >= (3, 13):
        frame.f_locals[name] = value  # PEP 667: write-through
        return
    import ctypes

    frame.f_locals[name] = value
    ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))
