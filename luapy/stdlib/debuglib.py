"""The ``debug`` library (manual §6.10): the standard profile only.

It reads the Lua stack off the Python one (``luapy.runtime.frames``), so
it can see and change any function's locals: exactly what the sandbox must
never offer, and why ``luapy.stdlib`` opens it in the standard profile
only.

Hooks run on ``sys.settrace``: nothing is traced until ``sethook`` sets a
hook, so programs that never set one pay nothing.  While a hook runs,
Python traces nothing, which is lua5.4's rule too (no hooks inside hooks).
"""

from __future__ import annotations

import dis
import inspect
import sys
import threading
import types
import weakref

from ..errors import LuaError
from . import corolib  # noqa: F401  (registers COROUTINE_BASE_CODES)
from ..runtime import collector, frames as frames_module, generators, helpers, ops
from ..runtime.args import (
    arg, arg_error, check_any, check_int, check_str, opt_int, register, type_error,
)
from ..runtime.frames import (
    CALLED, COROUTINE_BASE_CODES, TRANSFER, ForLine, QuietLine, active_locals, check_typed_local, code_lines,
    frames_outward, function_of_frame, is_hoisted_code, is_lua_code, is_vararg, parameter_count, parameter_names,
    proto_of_code, python_line, set_frame_local,
)
from .base import _run_handler
from ..runtime.values import (
    BUILTIN_CODES, Coroutine, Function, Table, Userdata, tostring_basic, type_name,
)

#: LUAI_MAXCCALLS, what ``setcstacklimit`` (a no-op since 5.4.1) returns.
C_STACK_LIMIT = 200
#: lua5.4's ``luaL_traceback``: levels shown before and after the "..." gap.
TRACEBACK_HEAD = 10
TRACEBACK_TAIL = 11
#: What a local or upvalue is called when its name is not known.
NO_NAME = "(no name)"


def open(st) -> Table:
    lib = Table()
    hooks = _Hooks(st)
    registry = Table()
    registry.set("_LOADED", st.loaded)
    registry.set(2, st.globals)
    # Where ldblib keeps each thread's hook: a table with weak keys (the
    # hooks themselves are kept by ``_Hooks``).
    hook_key = Table()
    hook_key.meta = Table()
    hook_key.meta.set("__mode", "k")
    registry.set("_HOOKKEY", hook_key)
    upvalue_ids: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

    def thread_and_args(args):
        """Split off an optional leading thread argument: ``(start frame, rest)``."""
        if args and isinstance(args[0], Coroutine):
            return _thread_top(st, args[0]), args[1:], 1
        return sys._getframe(1), args, 0  # the builtin's frame: level 0

    # -- getinfo ---------------------------------------------------------

    def getinfo(*args):
        start, rest, shift = thread_and_args(args)
        target = arg(rest, 1)
        what = arg(rest, 2)
        if what is None:
            what = "flnSrtu"
        elif type(what) is not str:
            type_error(args, 2 + shift, "getinfo", "string")
        if what.startswith(">") or any(option not in "SlnurtfL" for option in what):
            arg_error(2 + shift, "getinfo", "invalid option")
        if type(target) is Function:
            return (_function_info(target, None, what),)
        if type(target) not in (int, float):
            arg_error(1 + shift, "getinfo", "function or level expected")
        level = check_int(rest, 1, "getinfo")
        frame = _level_frame(level, start)
        if frame is None:
            return (None,)
        function = None
        if "f" in what or "u" in what:
            function = function_of_frame(frame)
            if function is None and type(start) is list:
                function = _suspended_function(args[0], start, frame)
            elif function is None and is_lua_code(frame.f_code):
                # A running coroutine's body: nothing outside it holds it.
                function = frames_module.function_by_proto(frame)
        return (_function_info(function, frame, what),)

    def _function_info(function, frame, what) -> Table:
        info = Table()
        code = frame.f_code if frame is not None else _code_of(function)
        lua = code is not None and is_lua_code(code)
        names = frame.f_globals if frame is not None else (function.raw.__globals__ if lua else None)
        proto = proto_of_code(code, names) if lua else None
        if "S" in what:
            if lua:
                main = proto.name == "main chunk"
                chunkname = names["CHUNKNAME"]
                info.set("source", names.get("SOURCE") or _source_of(chunkname))
                info.set("short_src", chunkname)
                info.set("what", "main" if main else "Lua")
                info.set("linedefined", 0 if main else proto.line)
                info.set("lastlinedefined", 0 if main else proto.last_line)
            else:
                info.set("source", "=[C]")
                info.set("short_src", "[C]")
                info.set("what", "C")
                info.set("linedefined", -1)
                info.set("lastlinedefined", -1)
        if "l" in what:
            info.set("currentline", _current_line(frame) if lua and frame is not None else -1)
        if "u" in what:
            if lua:
                info.set("nups", len(proto.upvalue_names))
                info.set("nparams", parameter_count(code))
                info.set("isvararg", is_vararg(code))
            else:
                info.set("nups", len(function.upvals) if function is not None and function.upvals else 0)
                info.set("nparams", 0)
                info.set("isvararg", True)
        if "n" in what:
            name, namewhat = _call_name(st, frame) if frame is not None else (None, "")
            info.set("name", name)
            info.set("namewhat", namewhat)
        if "t" in what:
            info.set("istailcall", frame is not None and _is_tail_called(frame))
        if "r" in what:
            first, values = TRANSFER.get(id(frame), (0, ())) if frame is not None else (0, ())
            info.set("ftransfer", first)
            info.set("ntransfer", parameter_count(code) if values is None else len(values))
        if "L" in what:
            if lua:
                active = Table()
                for line in _active_lines(code, names):
                    active.set(line, True)
                info.set("activelines", active)
        if "f" in what:
            info.set("func", function)
        return info

    # -- locals ------------------------------------------------------------

    def getlocal(*args):
        start, rest, shift = thread_and_args(args)
        target = arg(rest, 1)
        n = check_int(rest, 2, "getlocal")
        if type(target) is Function:
            # A function that isn't running: only its parameters have names.
            if target.proto is None:
                return (None,)
            names = parameter_names(target.proto, target.raw.__code__)
            return (names[n - 1] if 0 < n <= len(names) else None,)
        level = check_int(rest, 1, "getlocal")
        frame = _level_frame(level, start)
        if frame is None:
            arg_error(1 + shift, "getlocal", "level out of range")
        found = _find_local(frame, n)
        if found is None:
            return (None,)
        label, value, _ = found
        return label, value

    def setlocal(*args):
        start, rest, shift = thread_and_args(args)
        level = check_int(rest, 1, "setlocal")
        n = check_int(rest, 2, "setlocal")
        check_any(rest, 3, "setlocal")
        frame = _level_frame(level, start)
        if frame is None:
            arg_error(1 + shift, "setlocal", "level out of range")
        found = _find_local(frame, n)
        if found is None or found[2] is None:
            return (None,)
        label, _, python_name = found
        if type(python_name) is int:  # a vararg: a new ``va`` tuple
            varargs = list(frame.f_locals["va"])
            varargs[python_name] = rest[2]
            set_frame_local(frame, "va", tuple(varargs))
            return (label,)
        check_typed_local(frame, python_name, rest[2])
        set_frame_local(frame, python_name, rest[2])
        return (label,)

    # -- upvalues ----------------------------------------------------------

    def upvalue_cell(args, fname, n_index=2):
        function = arg(args, n_index - 1)
        if type(function) is not Function:
            type_error(args, n_index - 1, fname, "function")
        n = check_int(args, n_index, fname)
        cells = function.upvals
        if not cells or not 0 < n <= len(cells):
            return function, n, None
        return function, n, cells[n - 1]

    def upvalue_name(function, n) -> str:
        if function.proto is None:
            return ""  # a C function's upvalues have no names
        names = function.proto.upvalue_names
        return names[n - 1] if n <= len(names) else NO_NAME

    def getupvalue(*args):
        function, n, cell = upvalue_cell(args, "getupvalue")
        if cell is None:
            return (None,)
        return upvalue_name(function, n), cell[0]

    def setupvalue(*args):
        check_any(args, 3, "setupvalue")
        function, n, cell = upvalue_cell(args, "setupvalue")
        if cell is None or function.proto is None:
            # A builtin's upvalues are copies of what its Python closure
            # holds (``Function.upvals``): writing one would change nothing.
            return (None,)
        cell[0] = args[2]
        return (upvalue_name(function, n),)

    def upvalueid(*args):
        _, _, cell = upvalue_cell(args, "upvalueid")
        if cell is None:
            return (None,)
        # Light userdata compare by address: one per live cell.
        ident = upvalue_ids.get(id(cell))
        if ident is None or ident.cell is not cell:
            ident = upvalue_ids[id(cell)] = LightUserdata(cell)
        return (ident,)

    def upvaluejoin(*args):
        f1, n1, cell1 = upvalue_cell(args, "upvaluejoin", 2)
        f2, n2, cell2 = upvalue_cell(args, "upvaluejoin", 4)
        if f1.proto is None:
            arg_error(1, "upvaluejoin", "Lua function expected")
        if f2.proto is None:
            arg_error(3, "upvaluejoin", "Lua function expected")
        if cell1 is None:
            arg_error(2, "upvaluejoin", "invalid upvalue index")
        if cell2 is None:
            arg_error(4, "upvaluejoin", "invalid upvalue index")
        # The compiled body reads upvalue i through the Python closure
        # variable u<i>: point that at the other function's cell.
        raw = f1.raw
        free = raw.__code__.co_freevars
        name = f"u{n1 - 1}"
        if name in free:
            raw.__closure__[free.index(name)].cell_contents = cell2
        upvals = list(f1.upvals)
        upvals[n1 - 1] = cell2
        f1.upvals = tuple(upvals)
        return ()

    # -- metatables and user values ----------------------------------------

    def getmetatable(*args):
        value = check_any(args, 1, "getmetatable")
        return (ops.metatable(st, value),)

    def setmetatable(*args):
        value = arg(args, 1)
        meta = arg(args, 2)
        if meta is not None and type(meta) is not Table:
            type_error(args, 2, "setmetatable", "nil or table")
        t = type(value)
        if t is Table or t is Userdata:
            value.meta = meta
            if t is Table and st.collector is not None:
                st.collector.track(value, meta)
        elif t is str:
            st.string_meta = meta
        else:
            # Values of the other types don't carry one: their type does.
            key = type_name(value)
            if meta is None:
                st.type_metas.pop(key, None)
            else:
                st.type_metas[key] = meta
        return (value,)

    def getuservalue(*args):
        opt_int(args, 2, "getuservalue", 1)
        # Full userdata of luapy carry no user values: nil, and no 'true'.
        return (None,)

    def setuservalue(*args):
        target = arg(args, 1)
        if type(target) is LightUserdata:
            arg_error(1, "setuservalue", "userdata expected, got light userdata")
        if type(target) is not Userdata:
            type_error(args, 1, "setuservalue", "userdata")
        check_any(args, 2, "setuservalue")
        opt_int(args, 3, "setuservalue", 1)
        return (None,)

    # -- hooks ---------------------------------------------------------------

    def sethook(*args):
        target = None
        if args and isinstance(args[0], Coroutine):
            target, args = args[0], args[1:]
        hook = arg(args, 1)
        if hook is None:
            hooks.clear(target)
            return ()
        if type(hook) is not Function:
            type_error(args, 1, "sethook", "function")
        mask = check_str(args, 2, "sethook")
        count = opt_int(args, 3, "sethook", 0)
        hooks.set(target, hook, mask, count)
        return ()

    def gethook(*args):
        target = args[0] if args and isinstance(args[0], Coroutine) else None
        return hooks.get(target)

    # -- the rest ------------------------------------------------------------

    def traceback(*args):
        start, rest, shift = thread_and_args(args)
        message = arg(rest, 1)
        if message is not None and type(message) not in (str, int, float):
            return (message,)
        # Level 1 is traceback's caller; another coroutine is shown whole.
        level = opt_int(rest, 2, "traceback", 0 if shift else 1)
        text = _traceback(st, start, level)
        if message is not None:
            text = tostring_basic(message) + "\n" + text
        return (text,)

    def getregistry(*args):
        return (registry,)

    def setcstacklimit(*args):
        check_int(args, 1, "setcstacklimit")
        return (C_STACK_LIMIT,)

    def debug_debug(*args):
        # Reading commands from stdin would block a script; lua5.4 ends
        # the loop at EOF, which is what a non-interactive run sees.
        line = sys.stdin.readline() if sys.stdin is not None and sys.stdin.isatty() else ""
        while line and line.strip() != "cont":
            line = sys.stdin.readline()
        return ()

    functions = {
        "getinfo": getinfo, "getlocal": getlocal, "setlocal": setlocal,
        "getupvalue": getupvalue, "setupvalue": setupvalue,
        "upvalueid": upvalueid, "upvaluejoin": upvaluejoin,
        "getmetatable": getmetatable, "setmetatable": setmetatable,
        "getuservalue": getuservalue, "setuservalue": setuservalue,
        "sethook": sethook, "gethook": gethook, "traceback": traceback,
        "getregistry": getregistry, "setcstacklimit": setcstacklimit,
        "debug": debug_debug,
    }
    for name, func in functions.items():
        register(lib, name, func, f"debug.{name}")
    return lib


# ---------------------------------------------------------------- helpers


class LightUserdata:
    """What ``upvalueid`` returns: lua5.4's light userdata, a bare address
    (type "userdata", no metatable, equal only to itself)."""

    __slots__ = ("cell", "__weakref__")

    def __init__(self, cell):
        self.cell = cell


def _code_of(function):
    if function is None:
        return None
    if function.raw is not None:
        return function.raw.__code__
    return getattr(function.call, "__code__", None)


def _source_of(chunkname: str) -> str:
    """``source`` from the display name the compiler keeps (``short_src``)."""
    if chunkname.startswith('[string "') and chunkname.endswith('"]'):
        inner = chunkname[len('[string "'):-2]
        return inner[:-3] if inner.endswith("...") else inner
    return "@" + chunkname


def _active_lines(code, names: dict) -> list[int]:
    """The Lua lines a function's body has code on.  Its header line
    carries the Python prologue, which lua5.4 has no instruction for, so it
    counts only when the body is on it too (a one-line function)."""
    lines = names["LINES"]
    found = {int(lines[line]) for _, _, line in code.co_lines()
             if line is not None and 0 <= line < len(lines) and lines[line] > 0
             and type(lines[line]) is not QuietLine}
    proto = proto_of_code(code, names)
    if found and proto is not None and proto.name != "main chunk":
        if len(found) > 1:
            found.discard(proto.line)
        # lua5.4 always ends a function with a return on its ``end`` line,
        # which CPython leaves out after a ``return`` of the body's own.
        found.add(proto.last_line)
    return sorted(found)


#: The runtime's callers of metamethods: ``call_event`` knows the event;
#: the others call one event's (``_close`` when an error unwinds a block).
_CALL_EVENT = ops.call_event.__code__
_RUN_HANDLER = _run_handler.__code__
#: What calls a generic ``for``'s iterator (plain and generator form).
_FOR_ITERATOR_CALLERS = frozenset((helpers._for_steps.__code__, generators.GenericForSteps.step.__code__))
_METAMETHOD_CALLERS = {
    ops.index.__code__: "index", ops.setindex.__code__: "newindex",
    helpers._close.__code__: "close",
    # A finalizer: lua5.4 names it with its underscores.
    collector.Collector._run_pending.__code__: "__gc",
}


def _inner_code(function, name: str):
    return next(const for const in function.__code__.co_consts
                if type(const) is types.CodeType and const.co_name == name)


#: The loops that run a tail call (``return f()``) in place of the frame
#: that returned it, in plain and generator form.
_TAIL_RUNNERS = frozenset((_inner_code(helpers.tail_runner, "run_tail"),
                           _inner_code(generators.generator_namespace, "run_tail_gen")))


def _is_tail_called(frame) -> bool:
    """Whether a frame runs a function a tail call called (``istailcall``)."""
    caller = frame.f_back
    return caller is not None and caller.f_code in _TAIL_RUNNERS


def _suspended_function(coroutine, frames: list, frame):
    """The function a frame of a suspended coroutine runs (``frames``,
    innermost first): found in the frames below it, or the coroutine's
    body for the outermost."""
    index = next(i for i, each in enumerate(frames) if each is frame)
    function = function_of_frame(frame, frames[index + 1:])
    if function is None and not any(is_lua_code(each.f_code) for each in frames[index + 1:]):
        function = getattr(coroutine, "body", None) or frames_module.function_by_proto(frame)
    return function


def _call_name(st, frame, caller=None) -> tuple[str | None, str]:
    """How the calling Lua line names the function running in ``frame``
    (``name``/``namewhat`` of ``getinfo``), from its ``CALL_SITES``;
    ``caller`` is the calling level when ``frame`` has no ``f_back`` (a
    suspended coroutine's)."""
    if caller is None:
        caller = frame.f_back
    # A loop hoisted out of its function (``is_hoisted_code``) is that
    # function's code: its calls name their callees too.
    while caller is not None and not (is_lua_code(caller.f_code) or is_hoisted_code(caller.f_code)
                                      or caller.f_code in BUILTIN_CODES):
        # A metamethod is called by the runtime, not by a call site.
        code = caller.f_code
        if code is _FIRE_HOOK:
            return "?", "hook"
        if code in _FOR_ITERATOR_CALLERS:
            return "for iterator", "for iterator"
        if code is _RUN_HANDLER:   # xpcall's message handler: called from C
            return None, ""
        if code is _CALL_EVENT:
            return caller.f_locals["event"][2:], "metamethod"
        event = _METAMETHOD_CALLERS.get(code)
        if event == "close" and caller.f_locals.get("error") is not None:
            return None, ""   # an error unwinding: lua5.4 calls it from C
        if event is not None:
            return event, "metamethod"
        caller = caller.f_back
    if caller is None or not (is_lua_code(caller.f_code) or is_hoisted_code(caller.f_code)):
        return None, ""
    sites = caller.f_globals["CALL_SITES"].get(python_line(caller), ())
    if len(sites) != 1:
        return None, ""
    name, _, kind = sites[0]
    return name, kind


def _find_local(frame, n: int):
    """Local ``n`` of a Lua frame as ``(label, value, python name)``; a
    negative ``n`` is a vararg, whose python name is its index in ``va``."""
    code = frame.f_code
    if TRANSFER:
        first, values = TRANSFER.get(id(frame), (0, None))
        if values is not None and 0 < first <= n < first + len(values):
            label = "(temporary)" if is_lua_code(code) else "(C temporary)"
            return label, values[n - first], None
    if not is_lua_code(code):
        # A builtin's stack holds its arguments (lua5.4's C temporaries).
        values = _builtin_arguments(frame) if code in BUILTIN_CODES else []
        return ("(C temporary)", values[n - 1], None) if 0 < n <= len(values) else None
    if n < 0:
        varargs = frame.f_locals.get("va", ())
        if -n <= len(varargs):
            return "(vararg)", varargs[-n - 1], -n - 1
        return None
    found = active_locals(frame)
    if 0 < n <= len(found):
        if _line_entry(frame) < 0:  # a chunk loaded without debug information
            return ("(temporary)", *found[n - 1][1:])
        return found[n - 1]
    temporaries = _temporaries(frame)
    if 0 < n - len(found) <= len(temporaries):
        return temporaries[n - len(found) - 1]
    return None


def _temporaries(frame) -> list:
    """The values in use above a Lua frame's locals (lua5.4's
    ``(temporary)``): its operand temporaries (``_t<n>``) that hold one."""
    names = frame.f_locals
    # A global's table read into a temporary for the lookup is no value of
    # lua5.4's registers (it reads globals from the upvalue directly).
    proto = proto_of_code(frame.f_code, frame.f_globals)
    env = None
    if proto is not None and "_ENV" in proto.upvalue_names:
        cell = names.get(f"u{proto.upvalue_names.index('_ENV')}")
        env = cell[0] if type(cell) is list and cell else None
    found = sorted((int(name[2:]), name) for name, value in names.items()
                   if value is not None and value is not env and name[:2] == "_t" and name[2:].isdigit())
    return _declaring(frame, proto) + [("(temporary)", names[name], name) for _, name in found]


def _declaring(frame, proto) -> list:
    """The locals the running statement declares: lua5.4 has their
    registers already, as temporaries, until the statement ends (their
    range starts after its last line)."""
    if proto is None:
        return []
    line = frame.f_lineno
    lines = frame.f_globals["LINES"]
    if not 0 <= line < len(lines):
        return []
    here = lines[line]
    found = []
    for name, where, start, _ in frames_module.locvars(frame, proto):
        if start > line and all(lines[number] in (0, here) for number in range(line + 1, start)):
            value, _ = frames_module._local_value(frame.f_locals, where)
            found.append(("(temporary)", value, None))
    return found


def _builtin_arguments(frame) -> list:
    """The arguments a builtin's frame was called with (``self`` aside)."""
    code = frame.f_code
    names = frame.f_locals
    values = [names.get(name) for name in code.co_varnames[:code.co_argcount] if name != "self"]
    if code.co_flags & inspect.CO_VARARGS:
        values.extend(names.get(code.co_varnames[code.co_argcount + code.co_kwonlyargcount], ()))
    return values


def _lua_levels(start):
    """The Lua levels from Python frame ``start`` (or a suspended
    coroutine's frame list) outwards: frames of generated Lua functions and
    of builtins, innermost first.  Inside xpcall's message handler they are
    seen as lua5.4 sees them: the handler runs on top of the levels the
    error came up through (``frames.ERROR_FRAMES``), between it and ``xpcall``."""
    if type(start) is list:  # a suspended coroutine's frames
        yield from _lua_levels_of(start)
        return
    for frame in frames_outward(start):
        code = frame.f_code
        if code in BUILTIN_CODES or is_lua_code(code):
            yield frame
        elif code in COROUTINE_BASE_CODES:
            return      # a coroutine's levels end where it was resumed


def _lua_levels_of(frames):
    for frame in frames:
        code = frame.f_code
        if code in BUILTIN_CODES or is_lua_code(code):
            yield frame


def _level_frame(level: int, start):
    """The frame of Lua level ``level`` counted from ``start`` (level 0),
    or None past the stack."""
    if level < 0:
        return None
    for seen, frame in enumerate(_lua_levels(start)):
        if seen == level:
            return frame
    return None


def _current_line(frame) -> int:
    """The Lua line a frame is on, read through ``python_line``."""
    return int(_line_entry(frame))


def _line_entry(frame) -> int:
    """The ``LINES`` entry of where a frame is (a ``ForLine`` kept)."""
    lines = frame.f_globals["LINES"]
    number = python_line(frame)
    return lines[number] if 0 <= number < len(lines) else -1


def _thread_top(st, coroutine):
    """Where the levels of ``coroutine`` start: the caller's frame when it
    is the running one; for a suspended one, its generator frames,
    innermost first (a suspended generator's frame has no ``f_back``: the
    chain is its ``yield from`` delegation); for one dead from an error, the
    frames it died in; None when nothing is seen."""
    sched = getattr(st, "coroutines", None)
    if sched is not None and coroutine is sched.current:
        return sys._getframe(2)
    frames = []
    gen = getattr(coroutine, "gen", None)
    status = getattr(coroutine, "status", None)
    if status == "dead":
        return getattr(coroutine, "error_frames", None)  # where it died from an error
    if status != "suspended":
        return None
    while gen is not None and getattr(gen, "gi_frame", None) is not None:
        frames.append(gen.gi_frame)
        gen = gen.gi_yieldfrom
    frames.reverse()
    return frames or None


def _frame_label(st, frame, caller=None) -> str:
    code = frame.f_code
    if not is_lua_code(code):
        name = _global_name(st, code)
        if name is None:
            function = function_of_frame(frame)
            name = function.name if function is not None else None
        if name and name != "?":
            return f"[C]: in function '{name}'"
        return "[C]: in ?"
    names = frame.f_globals
    line = _current_line(frame)
    # Stripped code has no lines: lua5.4 shows just the source ("?:").
    where = f"{names['CHUNKNAME']}:{line}:" if line >= 0 else f"{names['CHUNKNAME']}:"
    proto = proto_of_code(code, names)
    if proto is not None and proto.name == "main chunk":
        return f"{where} in main chunk"
    name, namewhat = _call_name(st, frame, caller)
    if name:
        kind = "function" if namewhat == "global" else namewhat
        return f"{where} in {kind} '{name}'"
    line = proto.line if proto is not None else code_lines(code, names)[0]
    return f"{where} in function <{names['CHUNKNAME']}:{line}>"


def _global_name(st, code) -> str | None:
    """How lua5.4's traceback names a builtin: ``lib.name`` (or a global's
    ``name``) from ``package.loaded``, as lauxlib's ``pushglobalfuncname``."""
    for module, table in list(st.loaded.hash.items()):
        if type(table) is not Table:
            continue
        for key, value in list(table.hash.items()):
            if type(value) is Function and type(key) is str and value.proto is None and code in (
                    getattr(value.call, "__code__", None), getattr(getattr(value, "gen", None), "__code__", None)):
                return key if module == "_G" else f"{module}.{key}"
    return None


def _traceback(st, start, level: int) -> str:
    frames = list(_lua_levels(start)) if start is not None else []
    # A suspended coroutine's frames have no ``f_back``: each level's
    # caller is the next one.
    callers = dict(zip(map(id, frames), frames[1:])) if type(start) is list else {}
    frames = frames[level:] if level >= 0 else frames
    lines = ["stack traceback:"]
    if len(frames) > TRACEBACK_HEAD + TRACEBACK_TAIL:
        skipped = len(frames) - TRACEBACK_HEAD - TRACEBACK_TAIL
        shown = frames[:TRACEBACK_HEAD]
        lines += [f"\t{_frame_label(st, frame, callers.get(id(frame)))}" for frame in shown]
        lines.append(f"\t...\t(skipping {skipped} levels)")
        frames = frames[-TRACEBACK_TAIL:]
    lines += [f"\t{_frame_label(st, frame, callers.get(id(frame)))}" for frame in frames]
    return "\n".join(lines)


class _Hooks:
    """``sethook``/``gethook``: lua5.4's hooks are per thread (coroutine).

    Everything runs on one Python thread, traced through ``sys.settrace``:
    the running coroutine's hook is the one installed, and the scheduler
    (``corolib``) calls ``switch`` whenever another coroutine starts or
    stops running.  A new coroutine has no hook: ``lua_newthread`` copies
    the C hook, but ldblib's finds no Lua function for the new thread.  The
    main thread's hook is kept per Python thread (a runtime may be called
    from several)."""

    def __init__(self, st):
        self.st = st
        #: Python thread ident -> the setting of the main thread there...
        self.by_thread: dict[int, tuple] = {}
        #: ...and each coroutine's: ``(hook, mask, count, tracer)``.
        self.by_coroutine: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _running(self):
        """The running coroutine, or None for the main thread."""
        sched = getattr(self.st, "coroutines", None)
        if sched is None or sched.current is sched.main:
            return None
        return sched.current

    def _setting(self, coroutine):
        if coroutine is None:
            return self.by_thread.get(threading.get_ident())
        return self.by_coroutine.get(coroutine)

    def get(self, coroutine):
        setting = self._setting(coroutine if coroutine is not None else self._running())
        if setting is None:
            return (None,)
        return setting[:3]

    def clear(self, coroutine) -> None:
        running = self._running()
        if coroutine is not None and coroutine is not running:
            self.by_coroutine.pop(coroutine, None)
            self._unwatch_if_unhooked()
            return
        if running is None:
            self.by_thread.pop(threading.get_ident(), None)
        else:
            self.by_coroutine.pop(running, None)
        self._unwatch_if_unhooked()
        sys.settrace(None)
        frame = sys._getframe(1)
        while frame is not None:
            frame.f_trace = None
            frame.f_trace_opcodes = False
            frame = frame.f_back

    def set(self, coroutine, hook, mask: str, count: int) -> None:
        count = max(count, 0)
        self._watch_coroutines()
        running = self._running()
        if not ("c" in mask or "r" in mask or "l" in mask or count):
            self.clear(coroutine)
            return
        tracer = _Tracer(self.st, hook, mask, count)
        setting = (hook, mask, count, tracer)
        if coroutine is not None and coroutine is not running:
            self.by_coroutine[coroutine] = setting
            return
        if running is None:
            self.by_thread[threading.get_ident()] = setting
        else:
            self.by_coroutine[running] = setting
        sys.settrace(tracer.on_call)
        # Frames already running are traced from their next line on.  The
        # walk is bounded: under pytest-xdist's execnet worker the f_back
        # chain was seen never to end (fresh frame objects each step).
        frame, budget = sys._getframe(1), _MAX_FRAMES_WALKED
        while frame is not None and budget > 0:
            budget -= 1
            if is_lua_code(frame.f_code):
                frame.f_trace = tracer.in_lua
                # The line it is on was entered before the hook was set.
                tracer.last[frame] = (_current_line(frame), frame.f_lineno, False)
            elif tracer.returns and frame.f_code in BUILTIN_CODES:
                # sethook itself, and the builtins that called Lua: their
                # return is hooked as in lua5.4 (locals.lua:806).
                frame.f_trace = tracer.in_builtin
            frame = frame.f_back

    def _watch_coroutines(self) -> None:
        sched = getattr(self.st, "coroutines", None)
        if sched is not None:
            sched.on_switch = self.switch

    def _unwatch_if_unhooked(self) -> None:
        """With no hook left anywhere, coroutine switches need not call
        ``switch`` any more."""
        sched = getattr(self.st, "coroutines", None)
        if sched is not None and not self.by_thread and not self.by_coroutine:
            sched.on_switch = None

    def switch(self, coroutine) -> None:
        """``coroutine`` (the scheduler's main one for the main thread) runs
        now: its hook is the one installed."""
        sched = self.st.coroutines
        setting = self._setting(None if coroutine is sched.main else coroutine)
        sys.settrace(setting[3].on_call if setting is not None else None)


#: The most running frames ``sethook`` marks for tracing (deeper ones are
#: traced from their next call on): more than any Lua stack luapy allows.
_MAX_FRAMES_WALKED = 2_000_000


_YIELDS = {dis.opmap[name] for name in ("YIELD_VALUE", "YIELD_FROM") if name in dis.opmap}
_RESUME = dis.opmap.get("RESUME")


def _first_lined(frame, header: int, at: int) -> bool:
    """Whether Python line ``at`` is the first line with a Lua line after
    the loop header at ``header``: the loop's body starting again."""
    lines = frame.f_globals["LINES"]
    return header < at and not any(
        line > 0 and type(line) is not QuietLine for line in lines[header + 1:at])


def _suspends(frame) -> bool:
    """Whether a ``return`` event of a generator frame is a yield (the
    generator form of code in a coroutine suspending)."""
    code = frame.f_code
    lasti = frame.f_lasti
    return bool(code.co_flags & inspect.CO_GENERATOR) and 0 <= lasti < len(code.co_code) and \
        code.co_code[lasti] in _YIELDS


def _resumes(frame) -> bool:
    """Whether a ``call`` event of a generator frame resumes it."""
    code = frame.f_code
    if not code.co_flags & inspect.CO_GENERATOR:
        return False
    lasti = frame.f_lasti
    if _RESUME is None:  # Python 3.10: a new generator has run nothing
        return lasti >= 0
    codes = code.co_code
    return 0 <= lasti < len(codes) - 1 and codes[lasti] == _RESUME and codes[lasti + 1] & 3 != 0


class _Tracer:
    """Turns Python's trace events in generated code into Lua hook calls."""

    def __init__(self, st, hook, mask: str, count: int):
        self.st = st
        self.hook = hook
        self.calls = "c" in mask
        self.returns = "r" in mask
        self.lines = "l" in mask
        self.count = count
        self.countdown = count
        #: Python frame -> (Lua line, Python line, whether a numeric for's
        #: header was reached by a jump back) of its last line event.
        self.last: dict = {}
        #: Python frame -> the Python line of its last event counted.
        self.count_last: dict = {}
        #: A frame returned a tail call: the next call is it.
        self.tail_call = False

    def fire(self, event: str, line=None) -> None:
        ops.call(self.st, self.hook, (event, line) if line is not None else (event,))

    def on_call(self, frame, event, _):
        code = frame.f_code
        if is_lua_code(code):
            if self.calls and not _resumes(frame):
                self.fire_call(frame, "tail call" if self.tail_call else "call")
                self.tail_call = False
                if sys.gettrace() != self.on_call:
                    return self.replaced(frame)
            return self.in_lua
        if code in BUILTIN_CODES:
            if self.calls and not _resumes(frame):
                self.fire_call(frame, "call")
            return self.in_builtin if self.returns else None
        return None

    def count_line(self, frame, lua_line) -> None:
        """The count hook counts a Python line run as an instruction.  A
        numeric for's header is 4 when the loop starts (its three values
        and ``FORPREP``) and nothing when it jumps back: its body runs once
        per iteration, as lua5.4's ``FORLOOP`` does."""
        current = frame.f_lineno
        previous = self.count_last.get(frame, 0)
        self.count_last[frame] = current
        if type(lua_line) is not ForLine:
            steps = 1
        elif current > previous and type(frame.f_globals["LINES"][previous]) is not ForLine:
            steps = 4
        else:
            return
        for _ in range(steps):
            self.countdown -= 1
            if self.countdown <= 0:
                self.countdown = self.count
                self.fire("count")

    def line_event(self, frame, lua_line) -> None:
        """A new Lua line, or a jump back (a loop, even one on a single
        line, as lua5.4's ``pc <= oldpc``): the Python line is compared
        with the last one seen, fired or not."""
        previous = self.last.get(frame)
        current = frame.f_lineno
        back = False
        if previous is None:
            fire = True
        elif type(lua_line) is ForLine:
            # A numeric for's header (see ``ForLine``): a jump back to it
            # is remembered, through the headers of its chunks, for the
            # body's first line.
            fire = previous[0] != lua_line
            back = current < previous[1] or (previous[2] and type(previous[0]) is ForLine)
        else:
            fire = previous[0] != lua_line or current < previous[1] or (
                previous[2] and _first_lined(frame, previous[1], current))
        self.last[frame] = (lua_line, current, back)
        if fire:
            self.fire("line", int(lua_line))

    def line_event_without_lines(self, frame) -> None:
        """A chunk loaded without debug information: lua5.4 calls the line
        hook, with no line, for a function's first instruction and after a
        jump back, and never sees a line change."""
        previous = self.last.get(frame)
        current = frame.f_lineno
        self.last[frame] = (-1, current, False)
        if previous is None or current < previous[1]:
            self.fire("line")

    def replaced(self, frame):
        """The call hook set another hook (or none): the called frame is
        traced by that one (``_Hooks.set`` marked it), from its first line
        on."""
        trace = frame.f_trace
        tracer = getattr(trace, "__self__", None)
        if type(tracer) is _Tracer:
            tracer.last.pop(frame, None)
        return trace

    def fire_call(self, frame, event: str) -> None:
        """The call hook, with the function ``frame`` runs known to
        ``getinfo`` (``frames.CALLED``)."""
        function = function_of_frame(frame)
        if function is not None:
            CALLED[id(frame)] = function
        # The arguments: a Lua function's parameters, a builtin's stack.
        TRANSFER[id(frame)] = (1, None if is_lua_code(frame.f_code) else _builtin_arguments(frame))
        try:
            self.fire(event)
        finally:
            CALLED.pop(id(frame), None)
            TRANSFER.pop(id(frame), None)

    def in_builtin(self, frame, event, value):
        if event == "return" and self.returns and not _suspends(frame):
            self.fire_return(frame, value, len(_builtin_arguments(frame)) + 1)
        return self.in_builtin

    def fire_return(self, frame, value, first: int) -> None:
        """The return hook, with the values returned as the frame's
        temporaries from ``first`` on (``ftransfer``)."""
        TRANSFER[id(frame)] = (first, value if type(value) is tuple else ())
        try:
            self.fire("return")
        finally:
            TRANSFER.pop(id(frame), None)

    def in_lua(self, frame, event, value):
        if event == "line":
            lua_line = _line_entry(frame)
            if lua_line < 0:
                if self.lines:
                    self.line_event_without_lines(frame)
            elif lua_line > 0 and type(lua_line) is not QuietLine:
                if self.count:
                    self.count_line(frame, lua_line)
                if self.lines:
                    self.line_event(frame, lua_line)
        elif event == "return":
            if _suspends(frame):  # a coroutine yielding: no return in Lua
                return self.in_lua
            self.last.pop(frame, None)
            self.count_last.pop(frame, None)
            if type(value) is helpers.TailCall:
                # ``return f()``: this frame is gone, ``f`` runs in its
                # place (a "tail call" event, and no return of this one).
                self.tail_call = True
            elif self.returns:
                self.fire_return(frame, value, len(active_locals(frame)) + 1)
        return self.in_lua


#: The code that runs a hook: what it calls is named ``hook '?'``.
_FIRE_HOOK = _Tracer.fire.__code__

__all__ = ["open", "LuaError"]
